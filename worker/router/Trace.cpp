#include "sluice/router/Trace.hpp"

#include "notification_generated.h"

namespace sluice::router {

namespace {

flatbuffers::Offset<FBS::RtpPacket::Dump> PacketDump(flatbuffers::FlatBufferBuilder& b,
                                                     const rtp::RtpPacket& p, bool keyFrame) {
  return FBS::RtpPacket::CreateDump(b, p.PayloadType(), p.SequenceNumber(), p.Timestamp(),
                                    p.Marker(), p.Ssrc(), keyFrame, p.Size(), p.PayloadSize());
}

// The schema repeats the same trace tables in FBS.Producer and FBS.Consumer;
// these name one namespace's so a single Emit builds either.
struct ProducerTables {
  using Type = FBS::Producer::TraceEventType;
  using Info = FBS::Producer::TraceInfo;
  static constexpr auto kEvent = FBS::Notification::Event::PRODUCER_TRACE;
  static constexpr auto kBody = FBS::Notification::Body::Producer_TraceNotification;
  static auto Rtp(flatbuffers::FlatBufferBuilder& b, flatbuffers::Offset<FBS::RtpPacket::Dump> d,
                  bool rtx) {
    return FBS::Producer::CreateRtpTraceInfo(b, d, rtx).Union();
  }
  static auto KeyFrame(flatbuffers::FlatBufferBuilder& b,
                       flatbuffers::Offset<FBS::RtpPacket::Dump> d, bool rtx) {
    return FBS::Producer::CreateKeyFrameTraceInfo(b, d, rtx).Union();
  }
  static auto Pli(flatbuffers::FlatBufferBuilder& b, uint32_t ssrc) {
    return FBS::Producer::CreatePliTraceInfo(b, ssrc).Union();
  }
  static auto Fir(flatbuffers::FlatBufferBuilder& b, uint32_t ssrc) {
    return FBS::Producer::CreateFirTraceInfo(b, ssrc).Union();
  }
  static auto Notification(flatbuffers::FlatBufferBuilder& b, Type type, uint64_t nowMs,
                           FBS::Common::TraceDirection direction, Info infoType,
                           flatbuffers::Offset<void> info) {
    return FBS::Producer::CreateTraceNotification(b, type, nowMs, direction, infoType, info)
        .Union();
  }
};

struct ConsumerTables {
  using Type = FBS::Consumer::TraceEventType;
  using Info = FBS::Consumer::TraceInfo;
  static constexpr auto kEvent = FBS::Notification::Event::CONSUMER_TRACE;
  static constexpr auto kBody = FBS::Notification::Body::Consumer_TraceNotification;
  static auto Rtp(flatbuffers::FlatBufferBuilder& b, flatbuffers::Offset<FBS::RtpPacket::Dump> d,
                  bool rtx) {
    return FBS::Consumer::CreateRtpTraceInfo(b, d, rtx).Union();
  }
  static auto KeyFrame(flatbuffers::FlatBufferBuilder& b,
                       flatbuffers::Offset<FBS::RtpPacket::Dump> d, bool rtx) {
    return FBS::Consumer::CreateKeyFrameTraceInfo(b, d, rtx).Union();
  }
  static auto Pli(flatbuffers::FlatBufferBuilder& b, uint32_t ssrc) {
    return FBS::Consumer::CreatePliTraceInfo(b, ssrc).Union();
  }
  static auto Fir(flatbuffers::FlatBufferBuilder& b, uint32_t ssrc) {
    return FBS::Consumer::CreateFirTraceInfo(b, ssrc).Union();
  }
  static auto Notification(flatbuffers::FlatBufferBuilder& b, Type type, uint64_t nowMs,
                           FBS::Common::TraceDirection direction, Info infoType,
                           flatbuffers::Offset<void> info) {
    return FBS::Consumer::CreateTraceNotification(b, type, nowMs, direction, infoType, info)
        .Union();
  }
};

template <typename T>
void Emit(channel::ChannelWriter& writer, std::string_view id, typename T::Type type, bool out,
          uint32_t ssrc, uint64_t nowMs, const rtp::RtpPacket* packet, bool keyFrame, bool isRtx) {
  using E = typename T::Type;
  using I = typename T::Info;
  auto& b = writer.NotificationBuilder();
  I infoType = I::NONE;
  flatbuffers::Offset<void> info = 0;
  if (type == E::RTP || type == E::KEYFRAME) {
    if (packet == nullptr)
      return;
    const auto dump = PacketDump(b, *packet, keyFrame || type == E::KEYFRAME);
    infoType = type == E::RTP ? I::RtpTraceInfo : I::KeyFrameTraceInfo;
    info = type == E::RTP ? T::Rtp(b, dump, isRtx) : T::KeyFrame(b, dump, isRtx);
  } else if (type == E::PLI) {
    infoType = I::PliTraceInfo;
    info = T::Pli(b, ssrc);
  } else if (type == E::FIR) {
    infoType = I::FirTraceInfo;
    info = T::Fir(b, ssrc);
  } // NACK (and the producer's SR) carry no info table
  const auto direction =
      out ? FBS::Common::TraceDirection::DIRECTION_OUT : FBS::Common::TraceDirection::DIRECTION_IN;
  writer.Notify(id, T::kEvent, T::kBody,
                T::Notification(b, type, nowMs, direction, infoType, info));
}

} // namespace

void EmitConsumerTrace(channel::ChannelWriter& writer, std::string_view id,
                       FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc, uint64_t nowMs,
                       const rtp::RtpPacket* packet, bool keyFrame) {
  Emit<ConsumerTables>(writer, id, type, out, ssrc, nowMs, packet, keyFrame, false);
}

void EmitProducerTrace(channel::ChannelWriter& writer, std::string_view id,
                       FBS::Producer::TraceEventType type, bool out, uint32_t ssrc, uint64_t nowMs,
                       const rtp::RtpPacket* packet, bool keyFrame, bool isRtx) {
  Emit<ProducerTables>(writer, id, type, out, ssrc, nowMs, packet, keyFrame, isRtx);
}

void EmitTransportBweTrace(channel::ChannelWriter& writer, std::string_view id, uint64_t nowMs,
                           FBS::Transport::BweType bweType, uint32_t desiredBps,
                           uint32_t minBps, uint32_t maxBps, uint32_t startBps,
                           uint32_t availableBps) {
  auto& b = writer.NotificationBuilder();
  // No padding toward a bitrate is sent yet (probing): max padding 0.
  const auto info = FBS::Transport::CreateBweTraceInfo(b, bweType, desiredBps, desiredBps, minBps,
                                                       maxBps, startBps, 0, availableBps);
  const auto notification = FBS::Transport::CreateTraceNotification(
      b, FBS::Transport::TraceEventType::BWE, nowMs, FBS::Common::TraceDirection::DIRECTION_OUT,
      FBS::Transport::TraceInfo::BweTraceInfo, info.Union());
  writer.Notify(id, FBS::Notification::Event::TRANSPORT_TRACE,
                FBS::Notification::Body::Transport_TraceNotification, notification.Union());
}

} // namespace sluice::router
