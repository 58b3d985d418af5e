// libFuzzer target: the layered forwarding entry points (LayeredPayload.hpp)
// on arbitrary RTP packets, for every codec: ReadCodecPacket, then
// WritePayloadHead under a rewrite taken from the input; when it writes, the
// rewritten payload (new head + the stored payload after `skip`) must read
// back as the same layers, and the marker may only be raised for VP9.
//
// Input: [codec][frameMarkingId][pidDeltaHi][pidDeltaLo][tl0Delta][maxSpatial]
// [maxTemporal][RTP packet ...].
#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/rtp/codecs/LayeredPayload.hpp"

#include <cstdint>
#include <cstring>

using namespace sluice::rtp;
using namespace sluice::rtp::codecs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 7)
    return 0;
  const auto codec = static_cast<CodecKind>(data[0] % 7);
  const uint8_t fmId = data[1] % 16;
  LayerRewrite rw;
  rw.pidDelta = static_cast<uint16_t>(data[2] << 8 | data[3]);
  rw.tl0Delta = data[4];
  rw.maxSpatial = data[5];
  rw.maxTemporal = data[6];
  const auto packet = RtpPacket::Parse(data + 7, size - 7);
  if (!packet)
    return 0;
  const CodecPacket cp = ReadCodecPacket(codec, *packet, fmId);
  static uint8_t head[2048];
  size_t written = 0, skip = 0;
  bool marker = false;
  if (!WritePayloadHead(codec, *packet, rw, head, sizeof(head), &written, &skip, &marker))
    return 0;
  if (skip > packet->PayloadSize())
    __builtin_trap();
  if (marker && !packet->Marker() && codec != CodecKind::Vp9)
    __builtin_trap();
  if (cp.malformed || (codec != CodecKind::Vp8 && codec != CodecKind::Vp9))
    return 0;
  // Rebuild the packet as a consumer sends it and read it again.
  static uint8_t out[4096];
  const size_t headerLen = packet->HeaderSize();
  const size_t rest = packet->PayloadSize() - skip;
  if (headerLen + written + rest > sizeof(out))
    return 0;
  std::memcpy(out, packet->Data(), headerLen);
  std::memcpy(out + headerLen, head, written);
  std::memcpy(out + headerLen + written, packet->Payload() + skip, rest);
  out[0] &= 0xDF; // no padding: the stored payload already excludes it
  const auto again = RtpPacket::Parse(out, headerLen + written + rest);
  if (!again)
    __builtin_trap();
  const CodecPacket cp2 = ReadCodecPacket(codec, *again, fmId);
  if (cp2.malformed || cp2.temporal != cp.temporal || cp2.spatial != cp.spatial ||
      cp2.keyFrame != cp.keyFrame || cp2.hasPictureId != cp.hasPictureId)
    __builtin_trap();
  if (cp.hasPictureId &&
      cp2.ids.pictureId != ((cp.ids.pictureId + rw.pidDelta) & PictureIdRewriter::kPidMask))
    __builtin_trap();
  return 0;
}
