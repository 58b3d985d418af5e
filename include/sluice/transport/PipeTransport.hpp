// PipeTransport: one router's media to another router (same worker, another
// worker, another host) over one UDP tuple, RTCP muxed on it. The controller
// pairs two of them: each reports its local tuple, each is CONNECTed to the
// other's. Producers on it are the far side's pipe consumers replayed with
// their SSRCs; consumers on it are pipe consumers.
//
// enableRtx only tells the controller (dump `rtx`) to give pipe consumers
// RTX and NACK feedback; the worker repairs whatever the parameters say.
// enableSrtp keys both directions in AEAD_AES_256_GCM, the one suite
// mediasoup uses on pipes; CONNECT must bring the far side's key in it.
//
// Packets from any other address than the connected remote are dropped and
// counted, as is everything before CONNECT. Sends share PlainTransport's
// path (SrtpLink): header from scratch + payload from the pool slot.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "pipeTransport_generated.h"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/transport/SrtpLink.hpp"
#include "sluice/transport/Transport.hpp"

namespace sluice::transport {

class PipeTransport final : public Transport, private net::UdpSocket::Listener {
public:
  // nullptr with *error (no free port, socket failure).
  static std::unique_ptr<PipeTransport>
  Create(const router::Context& context, std::string id, TransportOwner& owner,
         const FBS::PipeTransport::PipeTransportOptions& options, std::string* error);
  ~PipeTransport() override;

  // MediaPort
  void SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
               const store::PacketRef& hold, bool retransmission) override;
  void SendRtcp(const uint8_t* data, size_t len) override;
  bool CanSend() const override { return remote_.has_value(); }

  // PipeTransport_DumpResponse (also the CREATE_PIPETRANSPORT response).
  flatbuffers::Offset<FBS::PipeTransport::DumpResponse> FillDump(flatbuffers::FlatBufferBuilder& b);

private:
  PipeTransport(const router::Context& context, std::string id, TransportOwner& owner);

  bool HandleKindRequest(channel::Request& request) override;
  void AddKindDrops(Drops& drops) const override;
  void AddToCensus(TransportCensus& census) const override;
  void HandleConnect(channel::Request& request);
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);

  void OnUdpDatagram(net::UdpSocket& socket, uint8_t* data, size_t len,
                     const net::Endpoint& from) override;
  flatbuffers::Offset<FBS::Transport::Tuple> FillTuple(flatbuffers::FlatBufferBuilder& b) const;

  std::unique_ptr<net::UdpSocket> socket_;
  std::string announcedAddress_;
  bool rtx_ = false;
  std::optional<net::Endpoint> remote_;
  SrtpLink srtp_;
};

} // namespace sluice::transport
