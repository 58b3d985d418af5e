// A FBS.Transport.ListenInfo checked once and turned into socket options:
// where a transport or WebRtcServer listens (ip, exact port or port range,
// socket flags and buffer sizes) and what it announces instead of the ip.
#pragma once

#include <optional>
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

// The same checks for every listen info of a create request, before anything
// is opened, so bad input answers TypeError (as the Node library expects)
// while failures to open (port in use) stay Error. nullptr entries pass.
template <typename Infos>
bool CheckListenInfos(const Infos& infos, const router::Context& context, std::string* error) {
  for (const FBS::Transport::ListenInfo* info : infos) {
    ListenSpec spec;
    if (info != nullptr && !ParseListenInfo(*info, context, &spec, error))
      return false;
  }
  return true;
}

// The FBS.Transport.Tuple of a UDP socket: the announced address (the
// socket's ip when empty) and port, and the remote once known.
flatbuffers::Offset<FBS::Transport::Tuple> FillUdpTuple(flatbuffers::FlatBufferBuilder& b,
                                                        const net::UdpSocket& socket,
                                                        const std::string& announced,
                                                        const std::optional<net::Endpoint>& remote);

} // namespace sluice::transport
