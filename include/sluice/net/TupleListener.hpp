// The socket listeners of an ICE endpoint, as one: a UDP datagram and an
// RFC 4571 frame are both a packet received on a Tuple, and a TCP connection
// going away is that tuple closing. A WebRtcTransport on its own sockets and a
// WebRtcServer on shared ones both receive this way.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/net/TcpConnection.hpp"
#include "sluice/net/TcpServer.hpp"
#include "sluice/net/Tuple.hpp"
#include "sluice/net/UdpSocket.hpp"

namespace sluice::net {

class TupleListener : public UdpSocket::Listener, public TcpServer::Listener {
public:
  // One datagram or frame received on `tuple`; data is valid during the call
  // only and may be modified in place (SRTP decrypt).
  virtual void ReceivePacket(const Tuple& tuple, uint8_t* data, size_t len) = 0;
  // The TCP connection behind `tuple` is going away: drop every use of it.
  virtual void TupleClosed(const Tuple& tuple) = 0;

private:
  void OnUdpDatagram(UdpSocket& socket, uint8_t* data, size_t len, const Endpoint& from) final {
    ReceivePacket(Tuple{&socket, nullptr, from}, data, len);
  }
  void OnTcpFrame(TcpServer& /*server*/, TcpConnection& connection, uint8_t* data,
                  size_t len) final {
    ReceivePacket(Tuple{nullptr, &connection, connection.Remote()}, data, len);
  }
  void OnTcpConnectionClosed(TcpServer& /*server*/, TcpConnection& connection) final {
    TupleClosed(Tuple{nullptr, &connection, connection.Remote()});
  }
};

} // namespace sluice::net
