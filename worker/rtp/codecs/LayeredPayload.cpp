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

// RFC 6190 §1.1.3: the 3-byte NAL unit header SVC extension that follows the
// NAL unit header of a prefix (14) or coded slice extension (20) NAL unit.
//   |S|I| PRID(6) |N| DID(3) | QID(4) | TID(3) |U|D|O| RR |
// DID is the spatial (dependency) layer, TID the temporal one, I the
// idr_flag. Returns false when the first NAL unit carries none.
bool ReadSvcExtension(const uint8_t* p, size_t len, CodecPacket* cp) {
  if (len < 1)
    return false;
  size_t off = 0;
  uint8_t type = p[0] & 0x1F;
  if (type == 24) { // STAP-A: the first aggregated unit
    if (len < 4)
      return false;
    off = 3;
    type = p[off] & 0x1F;
  } else if (type == 28) { // FU-A: the extension opens the start fragment
    if (len < 2 || (p[1] & 0x80) == 0)
      return false;
    type = p[1] & 0x1F;
    off = 1; // the extension follows the FU header as it would the NAL header
  }
  if (type != 14 && type != 20)
    return false;
  if (len < off + 4)
    return false;
  const uint8_t* e = p + off + 1;
  cp->spatial = (e[1] >> 4) & 0x07;
  cp->temporal = (e[2] >> 5) & 0x07;
  cp->keyFrame = cp->keyFrame || (e[0] & 0x40) != 0;
  cp->spatialSync = (e[0] & 0x40) != 0;
  return true;
}

} // namespace

CodecPacket ReadCodecPacket(CodecKind codec, const RtpPacket& packet, uint8_t frameMarkingId) {
  switch (codec) {
  case CodecKind::Vp8:
    return ReadVp8(packet);
  case CodecKind::Vp9:
    return ReadVp9(packet);
  case CodecKind::H264:
    return ReadH264(packet, frameMarkingId);
  case CodecKind::H264Svc: {
    CodecPacket cp = ReadH264(packet, frameMarkingId);
    if (!cp.malformed)
      ReadSvcExtension(packet.Payload(), packet.PayloadSize(), &cp);
    return cp;
  }
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
                      uint8_t* dst, size_t cap, size_t* written, size_t* skip, bool* marker,
                      uint8_t frameMarkingId) {
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
  case CodecKind::H264Svc: {
    // Nothing to rewrite in the payload; a resend still keeps to the caps.
    CodecPacket cp = ReadH264(packet, frameMarkingId);
    if (!ReadSvcExtension(packet.Payload(), packet.PayloadSize(), &cp))
      return true;
    if (cp.spatial > rw.maxSpatial || cp.temporal > rw.maxTemporal)
      return false;
    // The end of the highest layer sent ends the access unit (frame marking E).
    *marker =
        packet.Marker() || (frameMarkingId != 0 && cp.frameEnd && cp.spatial >= rw.maxSpatial);
    return true;
  }
  default:
    return true;
  }
}

} // namespace sluice::rtp::codecs
