// DirectTransport: media over the channel itself, no socket. The controller
// injects RTP with producer.send() (PRODUCER_SEND) and RTCP with
// transport.sendRtcp() (TRANSPORT_SEND_RTCP); what consumers and producers of
// this transport would send to a remote becomes a notification instead:
// CONSUMER_RTP (handler id: the consumer, found by the SSRC the consumer wrote
// into the header) and DIRECTTRANSPORT_RTCP.
//
// Injected RTP takes the same path as RTP from a socket (ReceiveRtp →
// listener → producer → one pool slot). Bounds: a packet either way above
// maxMessageSize is dropped (tooLarge); outgoing notifications are droppable,
// so a controller that does not keep up costs counted drops (channelFull),
// never a queue beyond SLUICE_CHANNEL_OUT_LIMIT.
#pragma once

#include <memory>
#include <string>

#include "directTransport_generated.h"
#include "sluice/transport/Transport.hpp"

namespace sluice::transport {

class DirectTransport final : public Transport {
public:
  // mediasoup's default for createDirectTransport().
  static constexpr uint32_t kDefaultMaxMessageSize = 262144;

  // nullptr with *error (SCTP asked for).
  static std::unique_ptr<DirectTransport>
  Create(const router::Context& context, std::string id, TransportOwner& owner,
         const FBS::DirectTransport::DirectTransportOptions& options, std::string* error);

  // MediaPort
  void SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
               const store::PacketRef& hold, bool retransmission) override;
  void SendRtcp(const uint8_t* data, size_t len) override;
  // The controller is always there to receive.
  bool CanSend() const override { return true; }
  void ReceiveControllerRtp(const uint8_t* data, size_t len) override;

  // TRANSPORT_SEND_RTCP (transport.sendRtcp()).
  void HandleNotification(const FBS::Notification::Notification& notification) override;

  // DirectTransport_DumpResponse (also the CREATE_DIRECTTRANSPORT response).
  flatbuffers::Offset<FBS::DirectTransport::DumpResponse>
  FillDump(flatbuffers::FlatBufferBuilder& b);

private:
  DirectTransport(const router::Context& context, std::string id, TransportOwner& owner,
                  uint32_t maxMessageSize);

  bool HandleKindRequest(channel::Request& request) override;
  void AddToCensus(TransportCensus& census) const override;
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);
  // Sends a droppable notification built in the writer's notification
  // builder; false (counted in channelFull) when the channel refused it.
  bool NotifyDroppable(std::string_view handlerId, FBS::Notification::Event event,
                       FBS::Notification::Body type, flatbuffers::Offset<void> body);

  uint32_t maxMessageSize_;
};

} // namespace sluice::transport
