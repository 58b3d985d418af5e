// A FBS.Transport.ListenInfo checked once and turned into socket options:
// where a transport or WebRtcServer listens (ip, exact port or port range,
// socket flags and buffer sizes) and what it announces instead of the ip.
#pragma once

#include <string>

#include "sluice/net/TcpServer.hpp"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/router/Context.hpp"
#include "transport_generated.h"

namespace sluice::transport {

struct ListenSpec {
  FBS::Transport::Protocol protocol = FBS::Transport::Protocol::UDP;
  std::string ip;
  std::string announcedAddress; // empty: announce ip
  uint16_t port = 0;            // != 0: exactly this port
  uint16_t minPort = 10000, maxPort = 59999;
  bool ipv6Only = false;
  bool reusePort = false; // UDP only
  uint32_t sendBufferSize = 0, recvBufferSize = 0;

  const std::string& Announced() const { return announcedAddress.empty() ? ip : announcedAddress; }
  net::UdpSocket::Options UdpOptions() const;
  // TCP limits (connections, send queue bytes) from the worker's settings.
  net::TcpServer::Options TcpOptions(const router::Context& context) const;
};

// false with *error ("invalid listenInfo.ip '...'", "listenInfo.portRange.max < min").
// Port 0 without a range uses the worker's rtcMinPort..rtcMaxPort.
bool ParseListenInfo(const FBS::Transport::ListenInfo& info, const router::Context& context,
                     ListenSpec* out, std::string* error);

} // namespace sluice::transport
