// The two halves of forwarding a layered video stream (simulcast, SVC,
// temporal layers) from the one stored packet:
//
//  - ReadCodecPacket: what a received packet says about its layers, read
//    once by the producer and handed to every consumer of the stream.
//  - WritePayloadHead: the payload head ONE consumer sends in place of the
//    stored one (its own PictureID / TL0PICIDX, its own marker bit), a pure
//    function of (stored packet, LayerRewrite). A consumer keeps the
//    LayerRewrite with the sequence numbers it used it for, so a
//    retransmission rebuilds the very bytes the first send had.
//
// The codec is chosen once per stream (CodecKind); nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/rtp/codecs/CodecKind.hpp"
#include "sluice/rtp/codecs/PictureIdRewriter.hpp"

namespace sluice::rtp::codecs {

struct CodecPacket {
  bool keyFrame = false;
  bool malformed = false;    // the codec's descriptor did not parse: not forwarded by layer choice
  uint8_t spatial = 0;       // VP9 SID
  uint8_t temporal = 0;      // VP8 / VP9 TID; H264: the frame-marking TID
  bool temporalSync = true;  // a consumer may raise its temporal layer to `temporal` here
  bool spatialSync = false;  // VP9: P=0 at the start of a layer frame (an up-switch point)
  bool frameStart = true;    // first packet of a (layer) frame
  bool frameEnd = true;      // last packet of a (layer) frame (VP9 E; others: the marker)
  bool hasPictureId = false; // carries a PictureID (VP8, VP9)
  PictureIdIn ids;           // its PictureID / TL0PICIDX, for a consumer's rewriter
  bool dtx = false;          // Opus: a DTX packet (a consumer with ignoreDtx skips it)
};

// `frameMarkingId`: the negotiated id of the frame-marking extension (0:
// none), where H264 carries its temporal layer.
CodecPacket ReadCodecPacket(CodecKind codec, const RtpPacket& packet, uint8_t frameMarkingId);

// One consumer's rewrite of the packets it sends, constant over a run of
// output sequence numbers.
struct LayerRewrite {
  uint16_t pidDelta = 0;      // added to the source PictureID (mod 2^15)
  uint8_t tl0Delta = 0;       // added to TL0PICIDX (mod 2^8)
  uint8_t maxSpatial = 0xFF;  // VP9: the E bit of this SID ends the picture (marker)
  uint8_t maxTemporal = 0xFF; // packets above it were not sent (a resend refuses them)
  bool operator==(const LayerRewrite& o) const {
    return pidDelta == o.pidDelta && tl0Delta == o.tl0Delta && maxSpatial == o.maxSpatial &&
           maxTemporal == o.maxTemporal;
  }
};

// Writes the payload head a consumer sends for `packet` under `rw`: into
// `dst` the bytes that replace the first `*skip` payload bytes, and in
// `*marker` the RTP marker bit. Codecs with nothing to rewrite write 0 bytes
// and skip 0. Returns false when the packet must not go out under `rw` (a
// layer above its caps, a descriptor that no longer parses, no room).
// `frameMarkingId`: where the stored packet carries frame marking (H264 SVC
// reads the end of a layer frame there to move the marker, as VP9 does).
bool WritePayloadHead(CodecKind codec, const RtpPacket& packet, const LayerRewrite& rw,
                      uint8_t* dst, size_t cap, size_t* written, size_t* skip, bool* marker,
                      uint8_t frameMarkingId = 0);

} // namespace sluice::rtp::codecs
