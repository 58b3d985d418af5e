// One path to a remote peer, as ICE sees it: a local UDP socket plus the
// remote endpoint, or one accepted TCP connection (whose remote endpoint is
// fixed). Plain value, no ownership: whoever owns the socket or connection
// must drop every Tuple naming it before destroying it.
#pragma once

#include <cstdint>
#include <cstring>

#include "sluice/net/Address.hpp"

namespace sluice::net {

class UdpSocket;
class TcpConnection;

struct Tuple {
  UdpSocket* udp = nullptr;     // set for UDP tuples
  TcpConnection* tcp = nullptr; // set for TCP tuples
  Endpoint remote;

  bool IsTcp() const { return tcp != nullptr; }
  bool operator==(const Tuple& other) const {
    return udp == other.udp && tcp == other.tcp && remote == other.remote;
  }
  bool operator!=(const Tuple& other) const { return !(*this == other); }

  // Stable for the tuple's life; the WebRtcServer dump's tuple_hash.
  uint64_t Hash() const;
};

} // namespace sluice::net
