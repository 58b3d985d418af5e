// PlainTransport: RTP and RTCP over UDP to one remote, given by CONNECT or
// learned from the first packet (comedia), with RTCP on the RTP port
// (rtcpMux) or its own port, and optional SRTP keyed by the connect
// parameters (ours: random, in srtpParameters; the remote's: from CONNECT).
// The suite CONNECT names is the session's both ways: if it is not the one
// offered, ours is re-keyed in it and srtpParameters reports the new pair.
//
// Packets from any other address than the remote's are dropped and counted.
// Outgoing SRTP is encrypted in a per-thread scratch buffer, never in a pool
// slot; plain RTP goes out as header (scratch) + payload (slot).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plainTransport_generated.h"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/transport/SrtpLink.hpp"
#include "sluice/transport/Transport.hpp"

namespace sluice::transport {

class PlainTransport final : public Transport, private net::UdpSocket::Listener {
public:
  // nullptr with *error (bad listen ip, no free port, SCTP asked for, bad SRTP suite).
  static std::unique_ptr<PlainTransport>
  Create(const router::Context& context, std::string id, TransportOwner& owner,
         const FBS::PlainTransport::PlainTransportOptions& options, std::string* error);
  ~PlainTransport() override;

  // MediaPort
  void SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
               const store::PacketRef& hold, bool retransmission) override;
  void SendRtcp(const uint8_t* data, size_t len) override;
  bool CanSend() const override { return tuple_.has_value(); }

  // PlainTransport_DumpResponse (also the CREATE_PLAINTRANSPORT response).
  flatbuffers::Offset<FBS::PlainTransport::DumpResponse>
  FillDump(flatbuffers::FlatBufferBuilder& b);

private:
  PlainTransport(const router::Context& context, std::string id, TransportOwner& owner);

  bool HandleKindRequest(channel::Request& request) override;
  void AddKindDrops(Drops& drops) const override;
  void AddToCensus(TransportCensus& census) const override;
  void HandleConnect(channel::Request& request);
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);

  void OnUdpDatagram(net::UdpSocket& socket, uint8_t* data, size_t len,
                     const net::Endpoint& from) override;
  bool AcceptFrom(bool rtcpSocket, const net::Endpoint& from);
  void NotifyTuple(bool rtcp);
  flatbuffers::Offset<FBS::Transport::Tuple> FillTuple(flatbuffers::FlatBufferBuilder& b,
                                                       bool rtcp) const;

  std::unique_ptr<net::UdpSocket> rtpSocket_;
  std::unique_ptr<net::UdpSocket> rtcpSocket_; // none with rtcpMux
  std::string announcedAddress_;
  std::string rtcpAnnouncedAddress_;
  bool rtcpMux_ = true;
  bool comedia_ = false;
  bool connected_ = false;
  std::optional<net::Endpoint> tuple_;
  std::optional<net::Endpoint> rtcpTuple_;
  SrtpLink srtp_;
};

} // namespace sluice::transport
