// A listening TCP socket for ICE-TCP passive candidates (RFC 6544) on the
// worker's libuv loop, owning the connections it accepts (TcpConnection.hpp).
//
// Accept: the non-blocking listening fd is watched by a uv_poll_t; each
// wake-up accepts at most kMaxAcceptsPerWake connections. Beyond
// maxConnections live connections an accepted fd is closed at once and
// counted in `rejected`, so a server never holds more than maxConnections
// connections, each bounded (send queue <= sendQueueLimit, receive buffer <=
// one frame).
//
// Ports follow UdpSocket's rules: `port` != 0 binds exactly that port, else a
// random start in [minPort, maxPort] and each port tried once. SO_REUSEADDR is
// set (a port whose old connections sit in TIME_WAIT can be bound again; a
// listening one cannot). sendBufferSize / recvBufferSize are set on the
// listening socket and inherited by accepted ones. TCP_NODELAY is set on
// every connection: frames are written whole, Nagle would only add latency.
//
// Lifetime: ~TcpServer closes the listening fd and every connection at once
// (OnTcpConnectionClosed for each); it may run inside OnTcpFrame. Handles
// outlive the objects until libuv's close callbacks: run the loop once more
// before uv_loop_close.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/net/Address.hpp"
#include "sluice/net/TcpConnection.hpp"

namespace sluice::net {

class TcpServer {
public:
  static constexpr size_t kMaxAcceptsPerWake = 16;
  static constexpr int kBacklog = 128;

  class Listener {
  public:
    virtual ~Listener() = default;
    // A complete RFC 4571 frame from `connection`; data is valid during the
    // call only and may be modified in place (SRTP decrypt). The callee may
    // call server.CloseConnection(connection) (no further frame of it is
    // delivered) or destroy the server.
    virtual void OnTcpFrame(TcpServer& server, TcpConnection& connection, uint8_t* data,
                            size_t len) = 0;
    // The connection is going away (peer closed, error, CloseConnection or
    // ~TcpServer); its fd is already closed, SendFrame on it is refused, and it
    // is destroyed right after this returns: drop every Tuple naming it.
    virtual void OnTcpConnectionClosed(TcpServer& server, TcpConnection& connection) = 0;
  };

  struct Options {
    std::string ip;                            // listen ip ("0.0.0.0", "127.0.0.1", "::", ...)
    uint16_t port = 0;                         // != 0: exactly this port
    uint16_t minPort = 10000, maxPort = 59999; // used when port == 0
    bool ipv6Only = false;                     // IPV6_V6ONLY (IPv6 listen ips only)
    size_t maxConnections = 64;                // further accepts are closed at once
    size_t sendQueueLimit = 256 * 1024;        // per connection, bytes (< 4 GiB)
    uint32_t sendBufferSize = 0, recvBufferSize = 0; // 0: kernel default
  };

  struct Counters {
    uint64_t accepted = 0;
    uint64_t rejected = 0; // over maxConnections
    uint64_t closed = 0;   // connections closed, whatever the cause
    uint64_t acceptErrors = 0;
  };

  // nullptr with *error (if error != nullptr) set on failure:
  //   "invalid IP '<ip>'", "invalid port range [min:<a>, max:<b>]",
  //   "invalid sendQueueLimit <n>",
  //   "no more available ports [protocol:tcp, ip:'<ip>', numAttempt:<n>]",
  //   "bind() failed [protocol:tcp, ip:'<ip>', port:<p>]: <reason>",
  //   "listen() failed [protocol:tcp, ip:'<ip>', port:<p>]: <reason>",
  //   "socket() failed: ...", "setsockopt(<name>) failed: ...".
  static std::unique_ptr<TcpServer> Open(uv_loop_t* loop, const Options& options,
                                         Listener* listener, std::string* error);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  const std::string& LocalIp() const { return localIp_; }
  uint16_t LocalPort() const { return local_.Port(); }
  const Endpoint& LocalEndpoint() const { return local_; }

  // Closes at once (fd, queue, OnTcpConnectionClosed); the object is
  // destroyed now, or after the delivery unwinds when called from inside its
  // own OnTcpFrame. No-op for a connection already closing.
  void CloseConnection(TcpConnection& connection);
  size_t ConnectionCount() const { return connections_.size(); }
  const Counters& GetCounters() const { return counters_; }

private:
  friend class TcpConnection;
  struct PollHandle;

  TcpServer(uv_loop_t* loop, Listener* listener, const Options& options, int fd)
      : loop_(loop), listener_(listener), fd_(fd), maxConnections_(options.maxConnections),
        sendQueueLimit_(static_cast<uint32_t>(options.sendQueueLimit)) {}

  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnHandleClosed(uv_handle_t* handle);
  void AcceptBurst();
  void Adopt(int fd, const sockaddr_storage& peer);

  uv_loop_t* loop_;
  Listener* listener_;
  PollHandle* handle_{nullptr}; // freed by OnHandleClosed after uv_close
  int fd_;
  bool wildcard_{false}; // 0.0.0.0 / ::: each connection has its own local address
  size_t maxConnections_;
  uint32_t sendQueueLimit_;
  std::vector<TcpConnection*> connections_; // owned; TcpConnection::index_ is the slot
  Endpoint local_;
  std::string localIp_;
  Counters counters_;
};

} // namespace sluice::net
