#include "sluice/transport/ListenInfo.hpp"

#include "sluice/net/Address.hpp"

namespace sluice::transport {

bool ParseListenInfo(const FBS::Transport::ListenInfo& info, const router::Context& context,
                     ListenSpec* out, std::string* error) {
  out->protocol = info.protocol();
  out->ip = info.ip()->str();
  if (!net::IsValidIp(out->ip)) {
    *error = "invalid listenInfo.ip '" + out->ip + "'";
    return false;
  }
  const auto* announced = info.announced_address();
  out->announcedAddress = announced != nullptr ? announced->str() : std::string();
  out->port = info.port();
  out->minPort = context.rtcMinPort;
  out->maxPort = context.rtcMaxPort;
  if (const auto* range = info.port_range(); range != nullptr && range->min() != 0) {
    if (range->max() < range->min()) {
      *error = "listenInfo.portRange.max < min";
      return false;
    }
    out->minPort = range->min();
    out->maxPort = range->max();
  }
  out->ipv6Only = info.flags()->ipv6_only();
  out->reusePort = info.flags()->udp_reuse_port();
  out->sendBufferSize = info.send_buffer_size();
  out->recvBufferSize = info.recv_buffer_size();
  return true;
}

net::UdpSocket::Options ListenSpec::UdpOptions() const {
  net::UdpSocket::Options o;
  o.ip = ip;
  o.port = port;
  o.minPort = minPort;
  o.maxPort = maxPort;
  o.ipv6Only = ipv6Only;
  o.reusePort = reusePort;
  o.sendBufferSize = sendBufferSize;
  o.recvBufferSize = recvBufferSize;
  return o;
}

net::TcpServer::Options ListenSpec::TcpOptions(const router::Context& context) const {
  net::TcpServer::Options o;
  o.ip = ip;
  o.port = port;
  o.minPort = minPort;
  o.maxPort = maxPort;
  o.ipv6Only = ipv6Only;
  o.maxConnections = context.tcpMaxConnections;
  o.sendQueueLimit = context.tcpSendQueueBytes;
  o.sendBufferSize = sendBufferSize;
  o.recvBufferSize = recvBufferSize;
  return o;
}

flatbuffers::Offset<FBS::Transport::Tuple>
FillUdpTuple(flatbuffers::FlatBufferBuilder& b, const net::UdpSocket& socket,
             const std::string& announced, const std::optional<net::Endpoint>& remote) {
  const std::string local = announced.empty() ? socket.LocalIp() : announced;
  const std::string remoteIp = remote ? remote->Ip() : std::string();
  return FBS::Transport::CreateTupleDirect(
      b, local.c_str(), socket.LocalPort(), remote ? remoteIp.c_str() : nullptr,
      remote ? remote->Port() : 0, FBS::Transport::Protocol::UDP);
}

} // namespace sluice::transport
