#include "sluice/router/SvcConsumer.hpp"

#include "sluice/router/Producer.hpp"

namespace sluice::router {

SvcConsumer::SvcConsumer(const Context& context, std::string id, Producer& producer,
                         MediaPort& port, ConsumerParams params,
                         const FBS::Transport::ConsumeRequest& request)
    : LayeredConsumer(context, std::move(id), producer, port, std::move(params), request,
                      ModeOf(request).spatialLayers) {
  SetStreams(&stream_, 1);
  OnSourceScores(context.NowMs());
  Start();
}

void SvcConsumer::OnSourceScores(uint64_t nowMs) {
  Producer* producer = SourceProducer();
  if (producer == nullptr)
    return;
  const RecvStream* s = producer->StreamAt(0);
  sourceActive_ = s != nullptr && s->Active(nowMs);
  ChooseTarget([&](int16_t) { return sourceActive_; });
  if (target_.spatial < 0) {
    SetCurrent(-1, -1);
    stream_.RequireSync();
  }
}

int16_t SvcConsumer::NextSpatial(const rtp::codecs::CodecPacket& cp, uint64_t nowMs,
                                 bool* switching) {
  const int16_t current = current_.spatial;
  const int16_t target = target_.spatial;
  *switching = false;
  if (current < 0 || stream_.SyncRequired()) {
    *switching = cp.keyFrame;
    return cp.keyFrame ? target : current;
  }
  const bool pictureStart = cp.frameStart && cp.spatial == 0;
  if (target < current && pictureStart)
    return target;
  if (target > current) {
    // Up only where the whole picture can be taken from its first packet on
    // (its marker bits depend on it): a key picture. A switching-up point of
    // an upper layer alone (P=0 there) comes after the picture's lower layers
    // already went out with their marker set, so it is not used.
    if (pictureStart && cp.keyFrame)
      return target;
    AskKeyFrame(stream_, nowMs);
  }
  return current;
}

void SvcConsumer::OnRtp(RecvStream& stream, const rtp::RtpPacket& packet,
                        const store::PacketRef& slot, int64_t extSeq,
                        const rtp::codecs::CodecPacket& cp, uint64_t nowMs) {
  if (stream.Params().encodingIdx != 0)
    return;
  if (!sourceActive_)
    OnSourceScores(nowMs);
  if (cp.malformed || cp.spatial >= SpatialLayers()) {
    stream_.CountDiscarded(); // no descriptor, or a layer beyond the scalability mode
    SkipPacket(extSeq, cp);
    return;
  }
  if (target_.spatial < 0)
    return;
  bool switching = false;
  const int16_t spatial = NextSpatial(cp, nowMs, &switching);
  if (spatial < 0 || cp.spatial > spatial) {
    if (spatial >= 0)
      SkipPacket(extSeq, cp);
    else
      AskKeyFrame(stream_, nowMs);
    return;
  }
  SendLayer(stream, packet, slot, extSeq, cp, nowMs, spatial, switching,
            static_cast<uint8_t>(spatial));
}

size_t SvcConsumer::FootprintBytes() const {
  return sizeof(*this) + BaseFootprintBytes();
}

} // namespace sluice::router
