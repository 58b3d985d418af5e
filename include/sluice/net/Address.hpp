// IPv4/IPv6 addresses by value, for sockets and transport tuples.
//
// An Endpoint is a sockaddr_storage plus its length: no heap, copyable,
// comparable (family + address + port; IPv6 also compares the scope id).
// Normalisation: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) always becomes
// the plain IPv4 address, whether it comes from a string or from the kernel
// (a dual-stack "::" socket reports IPv4 peers that way). So one peer
// compares equal whichever socket family saw it, and sending to it from a
// dual-stack IPv6 socket still works (Linux accepts AF_INET destinations
// there unless IPV6_V6ONLY is set).
//
// Bad input (an unparsable ip, a family other than AF_INET/AF_INET6, a null
// pointer) gives nullopt / 0 / false, never an exception.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::net {

struct Endpoint {
  sockaddr_storage storage{};
  socklen_t len = 0; // 0: empty; else sizeof(sockaddr_in) or sizeof(sockaddr_in6)

  const sockaddr* Sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  bool Empty() const { return len == 0; }
  int Family() const { return len == 0 ? 0 : storage.ss_family; }
  // For dumps and logs only: Ip() allocates.
  std::string Ip() const;
  uint16_t Port() const;

  bool operator==(const Endpoint& other) const;
  bool operator!=(const Endpoint& other) const { return !(*this == other); }

  static std::optional<Endpoint> FromSockaddr(const sockaddr* sa);
  // nullopt when ip is not a numeric IPv4/IPv6 address (no DNS, no zone ids).
  static std::optional<Endpoint> FromIpPort(std::string_view ip, uint16_t port);
};

bool IsValidIp(std::string_view ip);
// AF_INET, AF_INET6, or 0 when ip is not valid. "::ffff:1.2.3.4" is AF_INET.
int IpFamily(std::string_view ip);

// An Endpoint in 28 bytes instead of 132, for storage multiplied by a count
// (queued datagrams, per-socket state). Holds only AF_INET/AF_INET6.
struct PackedAddress {
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr{};
  socklen_t len = 0;

  // False (and left empty) for an empty endpoint.
  bool Assign(const Endpoint& endpoint);
  Endpoint ToEndpoint() const;
};

} // namespace sluice::net
