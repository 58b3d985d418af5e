#include "sluice/rtp/codecs/LayeredPayload.hpp"

#include "sluice/rtp/KeyFrame.hpp"
#include "sluice/rtp/codecs/H264.hpp"
#include "sluice/rtp/codecs/Opus.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

namespace sluice::rtp::codecs {

namespace {

PictureIdOut Shifted(const PictureIdIn& in, const LayerRewrite& rw) {
  return PictureIdOut{
      static_cast<uint16_t>((in.pictureId + rw.pidDelta) & PictureIdRewriter::kPidMask),
      static_cast<uint8_t>(in.tl0PicIdx + rw.tl0Delta)};
}

CodecPacket ReadVp8(const RtpPacket& packet) {
  CodecPacket cp;
  const auto d = ParseVp8(packet.Payload(), packet.PayloadSize());
  if (!d) {
    cp.malformed = true;
    return cp;
  }
  cp.keyFrame = d->keyFrame;
  cp.temporal = d->hasTid ? d->tid : 0;
  // RFC 7741 §4.2, Y: this frame depends only on TL0 frames, so layer
  // `temporal` may be joined here; TID 0 frames always can be.
  cp.temporalSync = cp.temporal == 0 || d->layerSync || d->keyFrame;
  cp.frameStart = d->start && d->partitionId == 0;
  cp.frameEnd = packet.Marker();
  cp.hasPictureId = d->hasPictureId;
  cp.ids = Vp8Rewriter::Ids(*d);
  return cp;
}

CodecPacket ReadVp9(const RtpPacket& packet) {
  CodecPacket cp;
  const auto d = ParseVp9(packet.Payload(), packet.PayloadSize());
  if (!d) {
    cp.malformed = true;
    return cp;
  }
  cp.keyFrame = d->keyFrame;
  cp.spatial = d->sid;
  cp.temporal = d->tid;
  cp.temporalSync = d->tid == 0 || IsTemporalSwitchingUpPoint(*d) || d->keyFrame;
  cp.spatialSync = IsSpatialSwitchingUpPoint(*d);
  cp.frameStart = d->beginOfFrame;
  cp.frameEnd = d->endOfFrame;
  cp.hasPictureId = d->hasPictureId;
  cp.ids = Vp9Rewriter::Ids(*d);
  return cp;
}

CodecPacket ReadH264(const RtpPacket& packet, uint8_t frameMarkingId) {
  CodecPacket cp;
  const auto h = ParseH264(packet.Payload(), packet.PayloadSize());
  if (!h) {
    cp.malformed = true;
    return cp;
  }
  cp.keyFrame = h->keyFrame;
  cp.frameStart = h->fuStart;
  cp.frameEnd = packet.Marker();
  if (frameMarkingId != 0) {
    const auto ext = packet.GetExtension(frameMarkingId);
    if (ext) {
      const auto fm = ParseFrameMarking(ext.data, ext.size);
      if (fm) {
        cp.temporal = fm->tid;
        cp.temporalSync = fm->tid == 0 || fm->baseLayerSync || fm->independent;
        cp.frameStart = fm->start;
        cp.frameEnd = fm->end;
      }
    }
  }
  return cp;
}

} // namespace

CodecPacket ReadCodecPacket(CodecKind codec, const RtpPacket& packet, uint8_t frameMarkingId) {
  switch (codec) {
  case CodecKind::Vp8:
    return ReadVp8(packet);
  case CodecKind::Vp9:
    return ReadVp9(packet);
  case CodecKind::H264:
  case CodecKind::H264Svc:
    return ReadH264(packet, frameMarkingId);
  case CodecKind::Opus: {
    CodecPacket cp;
    cp.dtx = IsOpusDtx(packet.Payload(), packet.PayloadSize());
    return cp;
  }
  default:
    return CodecPacket{};
  }
}

bool WritePayloadHead(CodecKind codec, const RtpPacket& packet, const LayerRewrite& rw,
                      uint8_t* dst, size_t cap, size_t* written, size_t* skip, bool* marker) {
  *written = 0;
  *skip = 0;
  *marker = packet.Marker();
  switch (codec) {
  case CodecKind::Vp8: {
    const auto d = ParseVp8(packet.Payload(), packet.PayloadSize());
    if (!d || (d->hasTid ? d->tid : 0) > rw.maxTemporal)
      return false;
    *written = WriteVp8Descriptor(*d, Shifted(Vp8Rewriter::Ids(*d), rw), dst, cap);
    *skip = d->size;
    return *written != 0;
  }
  case CodecKind::Vp9: {
    const auto d = ParseVp9(packet.Payload(), packet.PayloadSize());
    if (!d || d->tid > rw.maxTemporal || d->sid > rw.maxSpatial)
      return false;
    *written =
        WriteVp9Descriptor(packet.Payload(), *d, Shifted(Vp9Rewriter::Ids(*d), rw), dst, cap);
    *skip = d->size;
    *marker = ForwardedMarker(*d, packet.Marker(), rw.maxSpatial);
    return *written != 0;
  }
  default:
    return true;
  }
}

} // namespace sluice::rtp::codecs
