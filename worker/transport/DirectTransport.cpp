#include "sluice/transport/DirectTransport.hpp"

#include <cstring>

#include "notification_generated.h"
#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"

namespace sluice::transport {

namespace {

uint32_t ReadSsrc(const uint8_t* head) {
  return (uint32_t{head[8]} << 24) | (uint32_t{head[9]} << 16) | (uint32_t{head[10]} << 8) |
         uint32_t{head[11]};
}

} // namespace

DirectTransport::DirectTransport(const router::Context& context, std::string id,
                                 TransportOwner& owner, uint32_t maxMessageSize)
    : Transport(context, std::move(id), owner), maxMessageSize_(maxMessageSize) {}

std::unique_ptr<DirectTransport>
DirectTransport::Create(const router::Context& context, std::string id, TransportOwner& owner,
                        const FBS::DirectTransport::DirectTransportOptions& options,
                        std::string* error) {
  const auto& base = *options.base();
  if (base.enable_sctp()) {
    *error = "enableSctp is not supported: data channels are not implemented yet";
    return nullptr;
  }
  const uint32_t maxMessageSize = base.max_message_size().value_or(kDefaultMaxMessageSize);
  std::unique_ptr<DirectTransport> t(
      new DirectTransport(context, std::move(id), owner, maxMessageSize));
  // TRANSPORT_SEND_RTCP is addressed to the transport (the registry entry
  // goes with the request handler's when the transport is destroyed).
  context.registry->AddNotificationHandler(t->Id(), t.get());
  return t;
}

// --- controller -> worker ----------------------------------------------------------

void DirectTransport::ReceiveControllerRtp(const uint8_t* data, size_t len) {
  const uint64_t now = context_.NowMs();
  if (len > maxMessageSize_) {
    ++drops_.tooLarge;
    SLUICE_WARN("producer.send() of %zu bytes dropped: above maxMessageSize %u", len,
                maxMessageSize_);
    return;
  }
  CountReceived(len, now);
  // The bytes sit in the channel's frame buffer for this call only:
  // ReceiveRtp copies them into a pool slot, as it does a socket's buffer.
  const uint64_t badBefore = drops_.badRtp;
  ReceiveRtp(data, len, now);
  if (drops_.badRtp != badBefore)
    SLUICE_WARN("producer.send() of %zu bytes dropped: not a valid RTP packet", len);
}

void DirectTransport::HandleNotification(const FBS::Notification::Notification& notification) {
  const auto* body = notification.body_as_Transport_SendRtcpNotification();
  if (notification.event() != FBS::Notification::Event::TRANSPORT_SEND_RTCP || body == nullptr) {
    SLUICE_WARN("DirectTransport %s: unexpected notification (event %u)", Id().c_str(),
                static_cast<unsigned>(notification.event()));
    return;
  }
  const auto* data = body->data();
  if (data->size() > maxMessageSize_) {
    ++drops_.tooLarge;
    SLUICE_WARN("sendRtcp() of %u bytes dropped: above maxMessageSize %u", data->size(),
                maxMessageSize_);
    return;
  }
  const uint64_t now = context_.NowMs();
  CountReceived(data->size(), now);
  const uint64_t badBefore = drops_.badRtcp;
  ReceiveRtcp(data->data(), data->size(), now);
  if (drops_.badRtcp != badBefore)
    SLUICE_WARN("sendRtcp() of %u bytes: not a valid RTCP compound packet", data->size());
}

// --- worker -> controller ----------------------------------------------------------

bool DirectTransport::NotifyDroppable(std::string_view handlerId, FBS::Notification::Event event,
                                      FBS::Notification::Body type,
                                      flatbuffers::Offset<void> body) {
  if (context_.writer->Notify(handlerId, event, type, body))
    return true;
  ++drops_.channelFull;
  return false;
}

void DirectTransport::SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail,
                              size_t tailLen, const store::PacketRef& hold, bool retransmission) {
  (void)hold; // the bytes are copied into the notification before this returns
  const size_t len = headLen + tailLen;
  if (headLen < rtp::RtpPacket::kFixedHeaderSize)
    return;
  if (len > maxMessageSize_) {
    ++drops_.tooLarge;
    return;
  }
  // The consumer wrote its own SSRC (or its RTX SSRC) into the header: that
  // names the consumer whose 'rtp' event this is.
  const router::Consumer* consumer = ConsumerBySsrc(ReadSsrc(head));
  if (consumer == nullptr)
    return;
  // Like every kind, the transport-wide seq when the consumer negotiated it.
  head = StampTransportSeq(head, headLen, len);
  // Header and payload straight into the notification's byte vector: the
  // builder's buffer is reused frame after frame, so the only copy is the one
  // into the output queue, which is bounded by the channel's limit.
  auto& b = context_.writer->NotificationBuilder();
  uint8_t* out = nullptr;
  const auto data = b.CreateUninitializedVector<uint8_t>(len, &out);
  std::memcpy(out, head, headLen);
  if (tailLen != 0)
    std::memcpy(out + headLen, tail, tailLen);
  const auto body = FBS::Consumer::CreateRtpNotification(b, data);
  if (NotifyDroppable(consumer->Id(), FBS::Notification::Event::CONSUMER_RTP,
                      FBS::Notification::Body::Consumer_RtpNotification, body.Union()))
    CountSent(len, true, retransmission, context_.NowMs());
}

void DirectTransport::SendRtcp(const uint8_t* data, size_t len) {
  if (len > maxMessageSize_) {
    ++drops_.tooLarge;
    return;
  }
  auto& b = context_.writer->NotificationBuilder();
  const auto vector = b.CreateVector(data, len);
  const auto body = FBS::DirectTransport::CreateRtcpNotification(b, vector);
  if (NotifyDroppable(Id(), FBS::Notification::Event::DIRECTTRANSPORT_RTCP,
                      FBS::Notification::Body::DirectTransport_RtcpNotification, body.Union()))
    CountSent(len, false, false, context_.NowMs());
}

// --- requests -------------------------------------------------------------------------

bool DirectTransport::HandleKindRequest(channel::Request& request) {
  using FBS::Request::Method;
  switch (request.Method()) {
  case Method::TRANSPORT_DUMP:
    if (channel::CheckBodyType(request, FBS::Request::Body::NONE))
      HandleDump(request);
    return true;
  case Method::TRANSPORT_GET_STATS:
    if (channel::CheckBodyType(request, FBS::Request::Body::NONE))
      HandleGetStats(request);
    return true;
  // The Node library refuses these for a DirectTransport before asking (no
  // network path to limit); a raw request gets the same answer.
  case Method::TRANSPORT_SET_MAX_INCOMING_BITRATE:
    request.Error("setMaxIncomingBitrate() not implemented in DirectTransport");
    return true;
  case Method::TRANSPORT_SET_MAX_OUTGOING_BITRATE:
    request.Error("setMaxOutgoingBitrate() not implemented in DirectTransport");
    return true;
  case Method::TRANSPORT_SET_MIN_OUTGOING_BITRATE:
    request.Error("setMinOutgoingBitrate() not implemented in DirectTransport");
    return true;
  default:
    return false;
  }
}

flatbuffers::Offset<FBS::DirectTransport::DumpResponse>
DirectTransport::FillDump(flatbuffers::FlatBufferBuilder& b) {
  const auto base = FillBaseDump(b, true, maxMessageSize_);
  return FBS::DirectTransport::CreateDumpResponse(b, base);
}

void DirectTransport::HandleDump(channel::Request& request) {
  const auto dump = FillDump(request.Builder());
  request.Accept(FBS::Response::Body::DirectTransport_DumpResponse, dump.Union());
}

void DirectTransport::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const auto base = FillBaseStats(b, context_.NowMs());
  const auto stats = FBS::DirectTransport::CreateGetStatsResponse(b, base);
  request.Accept(FBS::Response::Body::DirectTransport_GetStatsResponse, stats.Union());
}

void DirectTransport::AddToCensus(TransportCensus& census) const {
  ++census.directTransports;
}

} // namespace sluice::transport
