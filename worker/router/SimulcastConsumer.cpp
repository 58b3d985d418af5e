#include "sluice/router/SimulcastConsumer.hpp"

#include "sluice/router/Producer.hpp"

namespace sluice::router {

namespace {

constexpr size_t kMaxEncodings = 32; // activeMask_ bits

} // namespace

SimulcastConsumer::SimulcastConsumer(const Context& context, std::string id, Producer& producer,
                                     MediaPort& port, ConsumerParams params,
                                     const FBS::Transport::ConsumeRequest& request)
    : LayeredConsumer(context, std::move(id), producer, port, std::move(params), request,
                      static_cast<uint8_t>(std::min(producer.StreamCount(), kMaxEncodings))) {
  SetStreams(&stream_, 1);
  OnSourceScores(context.NowMs());
  Start();
}

void SimulcastConsumer::OnSourceScores(uint64_t nowMs) {
  Producer* producer = SourceProducer();
  if (producer == nullptr)
    return;
  activeMask_ = 0;
  for (size_t i = 0; i < SpatialLayers(); ++i)
    if (const RecvStream* s = producer->StreamAt(i); s != nullptr && s->Active(nowMs))
      activeMask_ |= 1u << i;
  const bool changed = ChooseTarget([&](int16_t s) { return (activeMask_ >> s & 1u) != 0; });
  if (target_.spatial < 0) {
    SetCurrent(-1, -1);
    stream_.RequireSync();
    return;
  }
  stream_.SetSourceIdx(static_cast<uint32_t>(target_.spatial));
  if (changed && target_.spatial != current_.spatial && Active())
    RequestKeyFrame(stream_, nowMs);
}

void SimulcastConsumer::OnRtp(RecvStream& stream, const rtp::RtpPacket& packet,
                              const store::PacketRef& slot, int64_t extSeq,
                              const rtp::codecs::CodecPacket& cp, uint64_t nowMs) {
  const auto idx = static_cast<int16_t>(stream.Params().encodingIdx);
  if (idx >= SpatialLayers())
    return;
  if ((activeMask_ >> idx & 1u) == 0)
    OnSourceScores(nowMs); // an encoding (re)appeared
  if (cp.malformed) {
    if (idx == current_.spatial) {
      stream_.CountDiscarded();
      SkipPacket(extSeq, cp);
    }
    return;
  }
  bool switching = false;
  if (idx != current_.spatial) {
    if (idx != target_.spatial)
      return;
    if (!cp.keyFrame) {
      AskKeyFrame(stream_, nowMs);
      return;
    }
    stream_.RequireSync();
    switching = true;
  }
  SendLayer(stream, packet, slot, extSeq, cp, nowMs, idx, switching, 0xFF);
}

size_t SimulcastConsumer::FootprintBytes() const {
  return sizeof(*this) + BaseFootprintBytes();
}

} // namespace sluice::router
