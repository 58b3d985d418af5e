// What UdpSocket and TcpServer share when they open a socket: errno text, the
// failed-Open result, setsockopt with an error naming the option, and the port
// choice (an exact port, or every port of a range once, from a random start).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sluice/net/Address.hpp"

namespace sluice::net {

std::string ErrnoText(int err);

// How an Open() fails: *error (when given) says why, and there is no object.
template <typename T> std::unique_ptr<T> OpenFailed(std::string* error, std::string message) {
  if (error != nullptr)
    *error = std::move(message);
  return nullptr;
}

// false with *error = "setsockopt(<label>) failed: <reason>".
bool SetSocketOption(int fd, int level, int name, int value, const char* label, std::string* error);

void SetEndpointPort(Endpoint& endpoint, uint16_t port);

enum class PortAttempt { Bound, InUse, Failed };

// How a bind()/listen() errno counts: EADDRINUSE moves on to the next port;
// so does EACCES while walking a range (a privileged port the process may not
// bind, reachable with rtcMinPort 0 or a low portRange); anything else (an ip
// that is not local, a fixed port we may not bind) fails at once.
PortAttempt BindFailure(int err, uint16_t requestedPort);

// With port != 0 tries exactly that port; else tries each port of
// [minPort, maxPort] once, starting at a random one, until `attempt` answers
// Bound (true) or Failed (false; attempt set *error). InUse moves on; a fixed
// port in use fails with attempt's own *error; a range with every port in use
// fails with "no more available ports [protocol:<protocol>, ip:'<ip>',
// numAttempt:<n>]"; an empty range with "invalid port range [min:<a>, max:<b>]".
bool ChoosePort(uint16_t port, uint16_t minPort, uint16_t maxPort, const char* protocol,
                const std::string& ip, const std::function<PortAttempt(uint16_t)>& attempt,
                std::string* error);

// Watches `fd` for readability with a heap-allocated Handle {uv_poll_t poll;
// Owner* owner;} whose poll.data points at itself (so the owner can die inside
// its own callback and the handle outlive it until libuv's close callback).
// nullptr with *error on failure (nothing left registered with the loop).
template <typename Handle, typename Owner>
Handle* WatchReadable(uv_loop_t* loop, int fd, Owner* owner, uv_poll_cb onPoll,
                      std::string* error) {
  auto* handle = new Handle;
  handle->owner = owner;
  int err = uv_poll_init_socket(loop, &handle->poll, fd);
  if (err != 0) {
    delete handle; // never registered with the loop
    if (error != nullptr)
      *error = std::string("uv_poll_init_socket() failed: ") + uv_strerror(err);
    return nullptr;
  }
  handle->poll.data = handle;
  err = uv_poll_start(&handle->poll, UV_READABLE, onPoll);
  if (err != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
    if (error != nullptr)
      *error = std::string("uv_poll_start() failed: ") + uv_strerror(err);
    return nullptr;
  }
  return handle;
}

} // namespace sluice::net
