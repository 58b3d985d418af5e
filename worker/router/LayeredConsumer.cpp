#include "sluice/router/LayeredConsumer.hpp"

#include "sluice/router/Producer.hpp"

#include <algorithm>

namespace sluice::router {

namespace {

using rtp::codecs::CodecKind;

// The codecs whose payload head a layered consumer rewrites (PictureID,
// TL0PICIDX, VP9 end of picture) or checks on resend (H264 SVC layers);
// plain H264 needs neither.
CodecKind RewriteCodec(CodecKind codec) {
  return codec == CodecKind::Vp8 || codec == CodecKind::Vp9 || codec == CodecKind::H264Svc
             ? codec
             : CodecKind::Unknown;
}

} // namespace

LayeredConsumer::LayeredConsumer(const Context& context, std::string id, Producer& producer,
                                 MediaPort& port, ConsumerParams params,
                                 const FBS::Transport::ConsumeRequest& request,
                                 uint8_t spatialLayers)
    : Consumer(context, std::move(id), producer, port, std::move(params), request),
      stream_(0, Params().encodings[0].ssrc, Params().encodings[0].rtxSsrc, 0,
              RewriteCodec(Params().codec.codecKind), SeqMapper::kLayeredSegments),
      spatialLayers_(std::max<uint8_t>(1, spatialLayers)),
      temporalLayers_(ModeOf(request).temporalLayers),
      closePidGaps_(Params().codec.codecKind == CodecKind::Vp8) {
  stream_.SetFrameMarkingId(producer.FrameMarkingId());
  preferred_ = LayerPair{int16_t(spatialLayers_ - 1), int16_t(temporalLayers_ - 1)};
  if (const auto* p = request.preferred_layers())
    SetPreferredLayers(p->spatial_layer(), p->temporal_layer()
                                               ? std::optional<uint8_t>(*p->temporal_layer())
                                               : std::nullopt);
}

ScalabilityMode LayeredConsumer::ModeOf(const FBS::Transport::ConsumeRequest& request) {
  const auto* encodings = request.rtp_parameters()->encodings();
  const auto* mode = encodings->size() > 0 ? encodings->Get(0)->scalability_mode() : nullptr;
  return ScalabilityMode::Parse(mode != nullptr ? mode->string_view() : "");
}

void LayeredConsumer::SetPreferredLayers(uint8_t spatial, std::optional<uint8_t> temporal) {
  preferred_.spatial = std::min<int16_t>(spatial, int16_t(spatialLayers_ - 1));
  preferred_.temporal =
      std::min<int16_t>(temporal.value_or(temporalLayers_ - 1), int16_t(temporalLayers_ - 1));
  OnSourceScores(Ctx().NowMs());
}

void LayeredConsumer::SkipPacket(int64_t extSeq, const rtp::codecs::CodecPacket& cp) {
  if (stream_.SyncRequired())
    return; // nothing sent from this source yet
  stream_.Skip(extSeq);
  if (closePidGaps_ && cp.hasPictureId && cp.temporal > 0)
    ids_.DropFrame(cp.ids);
}

void LayeredConsumer::SendLayer(RecvStream& stream, const rtp::RtpPacket& packet,
                                const store::PacketRef& slot, int64_t extSeq,
                                const rtp::codecs::CodecPacket& cp, uint64_t nowMs, int16_t spatial,
                                bool switching, uint8_t maxSpatial) {
  if (stream_.SyncRequired() && !cp.keyFrame) {
    Forward(stream_, stream, packet, slot, extSeq, false, nowMs); // waits; asks for a key frame
    return;
  }
  // One temporal layer signalled: TIDs are not ours to act on.
  const uint8_t tid = temporalLayers_ > 1 ? cp.temporal : 0;
  if (tid >= temporalLayers_) {
    stream_.CountDiscarded(); // a layer beyond the scalability mode
    SkipPacket(extSeq, cp);
    return;
  }
  int16_t temporal = current_.temporal;
  if (switching)
    temporal = target_.temporal; // a key frame: every layer may start here
  else if (cp.frameStart && target_.temporal < temporal)
    temporal = target_.temporal;
  else if (cp.frameStart && cp.temporalSync && tid == temporal + 1 && tid <= target_.temporal)
    temporal = tid;
  if (tid > temporal) {
    SkipPacket(extSeq, cp);
    SetCurrent(spatial, temporal);
    return;
  }
  rtp::codecs::LayerRewrite rw;
  // With one temporal layer signalled every TID was sent: a resend takes any.
  rw.maxTemporal = temporalLayers_ > 1 ? static_cast<uint8_t>(temporal) : uint8_t{0xFF};
  rw.maxSpatial = maxSpatial;
  if (cp.hasPictureId) {
    rtp::codecs::PictureIdOut out;
    if (!ids_.Forward(cp.ids, switching || stream_.SyncRequired(), &out)) {
      stream_.CountDiscarded(); // a late packet of a frame it cannot map
      return;
    }
    rw.pidDelta = static_cast<uint16_t>((out.pictureId - cp.ids.pictureId) &
                                        rtp::codecs::PictureIdRewriter::kPidMask);
    rw.tl0Delta = static_cast<uint8_t>(out.tl0PicIdx - cp.ids.tl0PicIdx);
  }
  if (Forward(stream_, stream, packet, slot, extSeq, cp.keyFrame, nowMs, rw))
    SetCurrent(spatial, temporal);
}

void LayeredConsumer::SetCurrent(int16_t spatial, int16_t temporal) {
  if (spatial < 0)
    temporal = -1;
  const LayerPair now{spatial, temporal};
  if (now == current_)
    return;
  current_ = now;
  NotifyLayers(spatial < 0 ? std::nullopt : std::optional<LayerPair>(now));
}

Consumer::Layers LayeredConsumer::DumpLayers() const {
  auto opt = [](int16_t v) {
    return v < 0 ? flatbuffers::Optional<int16_t>() : flatbuffers::Optional<int16_t>(v);
  };
  Layers l;
  l.preferredSpatial = opt(preferred_.spatial);
  l.preferredTemporal = opt(preferred_.temporal);
  l.targetSpatial = opt(target_.spatial);
  l.targetTemporal = opt(target_.temporal);
  l.currentSpatial = opt(current_.spatial);
  l.currentTemporal = opt(current_.temporal);
  return l;
}

} // namespace sluice::router
