#include "sluice/router/Trace.hpp"

#include "notification_generated.h"

namespace sluice::router {

namespace {

flatbuffers::Offset<FBS::RtpPacket::Dump> PacketDump(flatbuffers::FlatBufferBuilder& b,
                                                     const rtp::RtpPacket& p, bool keyFrame) {
  return FBS::RtpPacket::CreateDump(b, p.PayloadType(), p.SequenceNumber(), p.Timestamp(),
                                    p.Marker(), p.Ssrc(), keyFrame, p.Size(), p.PayloadSize());
}

FBS::Common::TraceDirection Direction(bool out) {
  return out ? FBS::Common::TraceDirection::DIRECTION_OUT
             : FBS::Common::TraceDirection::DIRECTION_IN;
}

} // namespace

void EmitConsumerTrace(channel::ChannelWriter& writer, std::string_view id,
                       FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc,
                       uint64_t nowMs, const rtp::RtpPacket* packet, bool keyFrame) {
  using T = FBS::Consumer::TraceEventType;
  using Info = FBS::Consumer::TraceInfo;
  auto& b = writer.NotificationBuilder();
  Info infoType = Info::NONE;
  flatbuffers::Offset<void> info = 0;
  switch (type) {
  case T::RTP:
  case T::KEYFRAME:
    if (packet == nullptr)
      return;
    if (type == T::RTP) {
      infoType = Info::RtpTraceInfo;
      info = FBS::Consumer::CreateRtpTraceInfo(b, PacketDump(b, *packet, keyFrame), false).Union();
    } else {
      infoType = Info::KeyFrameTraceInfo;
      info = FBS::Consumer::CreateKeyFrameTraceInfo(b, PacketDump(b, *packet, true), false)
                 .Union();
    }
    break;
  case T::PLI:
    infoType = Info::PliTraceInfo;
    info = FBS::Consumer::CreatePliTraceInfo(b, ssrc).Union();
    break;
  case T::FIR:
    infoType = Info::FirTraceInfo;
    info = FBS::Consumer::CreateFirTraceInfo(b, ssrc).Union();
    break;
  case T::NACK:
    break;
  }
  const auto body =
      FBS::Consumer::CreateTraceNotification(b, type, nowMs, Direction(out), infoType, info);
  writer.Notify(id, FBS::Notification::Event::CONSUMER_TRACE,
                FBS::Notification::Body::Consumer_TraceNotification, body.Union());
}

void EmitProducerTrace(channel::ChannelWriter& writer, std::string_view id,
                       FBS::Producer::TraceEventType type, bool out, uint32_t ssrc,
                       uint64_t nowMs, const rtp::RtpPacket* packet, bool keyFrame, bool isRtx) {
  using T = FBS::Producer::TraceEventType;
  using Info = FBS::Producer::TraceInfo;
  auto& b = writer.NotificationBuilder();
  Info infoType = Info::NONE;
  flatbuffers::Offset<void> info = 0;
  switch (type) {
  case T::RTP:
  case T::KEYFRAME:
    if (packet == nullptr)
      return;
    if (type == T::RTP) {
      infoType = Info::RtpTraceInfo;
      info = FBS::Producer::CreateRtpTraceInfo(b, PacketDump(b, *packet, keyFrame), isRtx)
                 .Union();
    } else {
      infoType = Info::KeyFrameTraceInfo;
      info = FBS::Producer::CreateKeyFrameTraceInfo(b, PacketDump(b, *packet, true), isRtx)
                 .Union();
    }
    break;
  case T::PLI:
    infoType = Info::PliTraceInfo;
    info = FBS::Producer::CreatePliTraceInfo(b, ssrc).Union();
    break;
  case T::FIR:
    infoType = Info::FirTraceInfo;
    info = FBS::Producer::CreateFirTraceInfo(b, ssrc).Union();
    break;
  case T::NACK:
  case T::SR:
    break;
  }
  const auto body =
      FBS::Producer::CreateTraceNotification(b, type, nowMs, Direction(out), infoType, info);
  writer.Notify(id, FBS::Notification::Event::PRODUCER_TRACE,
                FBS::Notification::Body::Producer_TraceNotification, body.Union());
}

} // namespace sluice::router
