#include "sluice/net/Address.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>

using sluice::net::Endpoint;
using sluice::net::IpFamily;
using sluice::net::IsValidIp;
using sluice::net::PackedAddress;

TEST_CASE("net: Endpoint parses IPv4", "[net][address]") {
  const auto e = Endpoint::FromIpPort("192.0.2.7", 40000);
  REQUIRE(e);
  REQUIRE(e->Family() == AF_INET);
  REQUIRE(e->len == sizeof(sockaddr_in));
  REQUIRE(e->Ip() == "192.0.2.7");
  REQUIRE(e->Port() == 40000);
  const auto* sin = reinterpret_cast<const sockaddr_in*>(e->Sa());
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&sin->sin_addr);
  REQUIRE(bytes[0] == 192);
  REQUIRE(bytes[3] == 7);
  REQUIRE(ntohs(sin->sin_port) == 40000);
}

TEST_CASE("net: Endpoint parses IPv6 and normalises v4-mapped", "[net][address]") {
  const auto e = Endpoint::FromIpPort("2001:db8::1", 5004);
  REQUIRE(e);
  REQUIRE(e->Family() == AF_INET6);
  REQUIRE(e->len == sizeof(sockaddr_in6));
  REQUIRE(e->Ip() == "2001:db8::1");
  REQUIRE(e->Port() == 5004);

  const auto any = Endpoint::FromIpPort("::", 0);
  REQUIRE(any);
  REQUIRE(any->Ip() == "::");

  const auto mapped = Endpoint::FromIpPort("::ffff:10.1.2.3", 9);
  REQUIRE(mapped);
  REQUIRE(mapped->Family() == AF_INET);
  REQUIRE(mapped->Ip() == "10.1.2.3");
  REQUIRE(*mapped == *Endpoint::FromIpPort("10.1.2.3", 9));

  // The kernel's form of a v4 peer on a dual-stack socket compares equal too.
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(9);
  REQUIRE(inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr) == 1);
  const auto fromKernel = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&sin6));
  REQUIRE(fromKernel);
  REQUIRE(*fromKernel == *mapped);
}

TEST_CASE("net: Endpoint compares family, address and port", "[net][address]") {
  const auto a = *Endpoint::FromIpPort("127.0.0.1", 1000);
  REQUIRE(a == *Endpoint::FromIpPort("127.0.0.1", 1000));
  REQUIRE(a != *Endpoint::FromIpPort("127.0.0.1", 1001));
  REQUIRE(a != *Endpoint::FromIpPort("127.0.0.2", 1000));
  REQUIRE(a != *Endpoint::FromIpPort("::1", 1000));
  REQUIRE(*Endpoint::FromIpPort("::1", 1000) == *Endpoint::FromIpPort("0:0::1", 1000));
  REQUIRE(*Endpoint::FromIpPort("::1", 1000) != *Endpoint::FromIpPort("::2", 1000));
  REQUIRE(Endpoint() == Endpoint());
  REQUIRE(Endpoint().Empty());
  REQUIRE(a != Endpoint());
  REQUIRE(Endpoint().Port() == 0);
  REQUIRE(Endpoint().Ip().empty());

  // Round trip through sockaddr and through the packed form.
  const auto copy = Endpoint::FromSockaddr(a.Sa());
  REQUIRE(copy);
  REQUIRE(*copy == a);
  PackedAddress packed;
  REQUIRE(packed.Assign(a));
  REQUIRE(packed.len == sizeof(sockaddr_in));
  REQUIRE(packed.ToEndpoint() == a);
  const auto v6 = *Endpoint::FromIpPort("fe80::abcd", 7);
  REQUIRE(packed.Assign(v6));
  REQUIRE(packed.ToEndpoint() == v6);
  REQUIRE_FALSE(packed.Assign(Endpoint()));
  REQUIRE(packed.ToEndpoint().Empty());
  REQUIRE(sizeof(PackedAddress) <= 32);
}

TEST_CASE("net: bad ips are refused", "[net][address]") {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "localhost", "::g", "1.2.3.4 ",
                          " ::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9"}) {
    INFO(bad);
    REQUIRE_FALSE(Endpoint::FromIpPort(bad, 1));
    REQUIRE_FALSE(IsValidIp(bad));
    REQUIRE(IpFamily(bad) == 0);
  }
  // Embedded NUL and over-long text.
  REQUIRE_FALSE(IsValidIp(std::string_view("1.2.3.4\0", 8)));
  REQUIRE_FALSE(IsValidIp(std::string(200, '1')));
  REQUIRE(IpFamily("0.0.0.0") == AF_INET);
  REQUIRE(IpFamily("::") == AF_INET6);
  REQUIRE(IpFamily("::ffff:1.2.3.4") == AF_INET);
  REQUIRE(IsValidIp("255.255.255.255"));

  REQUIRE_FALSE(Endpoint::FromSockaddr(nullptr));
  sockaddr_storage other{};
  other.ss_family = AF_UNIX;
  REQUIRE_FALSE(Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&other)));
}
