#include "sluice/net/SocketSetup.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace sluice::net {

namespace {

// xorshift64*, seeded per thread from the clock and pid: port choice only
// needs to differ between workers, not to be unpredictable.
uint64_t NextRandom() {
  static thread_local uint64_t state = 0;
  if (state == 0) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    state = (uint64_t(ts.tv_nsec) ^ (uint64_t(ts.tv_sec) << 30) ^ (uint64_t(getpid()) << 48)) | 1u;
  }
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

} // namespace

std::string ErrnoText(int err) {
  return std::strerror(err);
}

bool SetSocketOption(int fd, int level, int name, int value, const char* label,
                     std::string* error) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
    return true;
  if (error != nullptr)
    *error = std::string("setsockopt(") + label + ") failed: " + ErrnoText(errno);
  return false;
}

void SetEndpointPort(Endpoint& endpoint, uint16_t port) {
  if (endpoint.Family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&endpoint.storage)->sin_port = htons(port);
  else if (endpoint.Family() == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&endpoint.storage)->sin6_port = htons(port);
}

PortAttempt BindFailure(int err, uint16_t requestedPort) {
  if (err == EADDRINUSE || (err == EACCES && requestedPort == 0))
    return PortAttempt::InUse;
  return PortAttempt::Failed;
}

bool ChoosePort(uint16_t port, uint16_t minPort, uint16_t maxPort, const char* protocol,
                const std::string& ip, const std::function<PortAttempt(uint16_t)>& attempt,
                std::string* error) {
  if (port != 0)
    return attempt(port) == PortAttempt::Bound;
  if (minPort == 0 || minPort > maxPort) {
    if (error != nullptr)
      *error = "invalid port range [min:" + std::to_string(minPort) +
               ", max:" + std::to_string(maxPort) + "]";
    return false;
  }
  const uint32_t range = uint32_t(maxPort) - minPort + 1;
  const uint32_t start = static_cast<uint32_t>(NextRandom() % range);
  for (uint32_t i = 0; i < range; ++i) {
    switch (attempt(static_cast<uint16_t>(minPort + (start + i) % range))) {
    case PortAttempt::Bound:
      // Ports tried before were in use: their bind errors are not this call's.
      if (error != nullptr)
        error->clear();
      return true;
    case PortAttempt::Failed:
      return false;
    case PortAttempt::InUse:
      break;
    }
  }
  if (error != nullptr)
    *error = std::string("no more available ports [protocol:") + protocol + ", ip:'" + ip +
             "', numAttempt:" + std::to_string(range) + "]";
  return false;
}

} // namespace sluice::net
