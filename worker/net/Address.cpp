#include "sluice/net/Address.hpp"
#include "sluice/net/Tuple.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace sluice::net {

namespace {

// Longest text inet_pton can accept ("ffff:...:255.255.255.255").
constexpr size_t kMaxIpText = INET6_ADDRSTRLEN;

Endpoint MakeV4(const in_addr& addr, uint16_t portNetOrder) {
  Endpoint e;
  auto* sin = reinterpret_cast<sockaddr_in*>(&e.storage);
  sin->sin_family = AF_INET;
  sin->sin_port = portNetOrder;
  sin->sin_addr = addr;
  e.len = sizeof(sockaddr_in);
  return e;
}

// IPv6 or, when v4-mapped, the IPv4 address it maps.
Endpoint MakeV6(const in6_addr& addr, uint16_t portNetOrder, uint32_t flowinfo, uint32_t scope) {
  if (IN6_IS_ADDR_V4MAPPED(&addr)) {
    in_addr v4;
    std::memcpy(&v4, &addr.s6_addr[12], sizeof(v4));
    return MakeV4(v4, portNetOrder);
  }
  Endpoint e;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = portNetOrder;
  sin6->sin6_flowinfo = flowinfo;
  sin6->sin6_addr = addr;
  sin6->sin6_scope_id = scope;
  e.len = sizeof(sockaddr_in6);
  return e;
}

// Copies ip into a NUL-terminated stack buffer; false when it cannot be an ip.
bool ToCString(std::string_view ip, char (&out)[kMaxIpText + 1]) {
  if (ip.empty() || ip.size() > kMaxIpText)
    return false;
  if (std::memchr(ip.data(), '\0', ip.size()) != nullptr)
    return false;
  std::memcpy(out, ip.data(), ip.size());
  out[ip.size()] = '\0';
  return true;
}

} // namespace

std::string Endpoint::Ip() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (len == sizeof(sockaddr_in) && storage.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
  } else if (len == sizeof(sockaddr_in6) && storage.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
  }
  return text;
}

uint16_t Endpoint::Port() const {
  if (len == sizeof(sockaddr_in) && storage.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (len == sizeof(sockaddr_in6) && storage.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

bool Endpoint::operator==(const Endpoint& other) const {
  if (len != other.len)
    return false;
  if (len == 0)
    return true;
  if (storage.ss_family != other.storage.ss_family)
    return false;
  if (storage.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (storage.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage);
    return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

std::optional<Endpoint> Endpoint::FromSockaddr(const sockaddr* sa) {
  if (sa == nullptr)
    return std::nullopt;
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof(sin));
    return MakeV4(sin.sin_addr, sin.sin_port);
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof(sin6));
    return MakeV6(sin6.sin6_addr, sin6.sin6_port, sin6.sin6_flowinfo, sin6.sin6_scope_id);
  }
  return std::nullopt;
}

std::optional<Endpoint> Endpoint::FromIpPort(std::string_view ip, uint16_t port) {
  char text[kMaxIpText + 1];
  if (!ToCString(ip, text))
    return std::nullopt;
  in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1)
    return MakeV4(v4, htons(port));
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) == 1)
    return MakeV6(v6, htons(port), 0, 0);
  return std::nullopt;
}

bool IsValidIp(std::string_view ip) {
  return IpFamily(ip) != 0;
}

int IpFamily(std::string_view ip) {
  const auto e = Endpoint::FromIpPort(ip, 0);
  return e ? e->Family() : 0;
}

bool PackedAddress::Assign(const Endpoint& endpoint) {
  if (endpoint.len == sizeof(sockaddr_in) && endpoint.storage.ss_family == AF_INET) {
    std::memcpy(&addr.v4, &endpoint.storage, sizeof(sockaddr_in));
    len = sizeof(sockaddr_in);
    return true;
  }
  if (endpoint.len == sizeof(sockaddr_in6) && endpoint.storage.ss_family == AF_INET6) {
    std::memcpy(&addr.v6, &endpoint.storage, sizeof(sockaddr_in6));
    len = sizeof(sockaddr_in6);
    return true;
  }
  len = 0;
  return false;
}

Endpoint PackedAddress::ToEndpoint() const {
  Endpoint e;
  if (len == sizeof(sockaddr_in) || len == sizeof(sockaddr_in6)) {
    std::memcpy(&e.storage, &addr, len);
    e.len = len;
  }
  return e;
}

} // namespace sluice::net

// --- Tuple ---------------------------------------------------------------------------

namespace sluice::net {

uint64_t Tuple::Hash() const {
  // FNV-1a over what operator== compares.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  const uintptr_t sockets[2] = {reinterpret_cast<uintptr_t>(udp), reinterpret_cast<uintptr_t>(tcp)};
  mix(sockets, sizeof(sockets));
  const uint16_t port = remote.Port();
  mix(&port, sizeof(port));
  if (remote.Family() == AF_INET)
    mix(&reinterpret_cast<const sockaddr_in*>(&remote.storage)->sin_addr, 4);
  else if (remote.Family() == AF_INET6)
    mix(&reinterpret_cast<const sockaddr_in6*>(&remote.storage)->sin6_addr, 16);
  return h;
}

} // namespace sluice::net
