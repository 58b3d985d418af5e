#include "sluice/rtp/codecs/LayeredPayload.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

using namespace sluice::rtp;
using namespace sluice::rtp::codecs;

namespace {

std::vector<uint8_t> Packet(const std::vector<uint8_t>& payload, bool marker, uint8_t extId = 0,
                            std::vector<uint8_t> ext = {}) {
  std::vector<uint8_t> p = {0x80, static_cast<uint8_t>(96 | (marker ? 0x80 : 0)),
                            0x12, 0x34,
                            0,    0,
                            0x10, 0,
                            0xAA, 0xBB,
                            0xCC, 0xDD};
  if (extId != 0) {
    p[0] |= 0x10;
    const size_t words = (1 + ext.size() + 3) / 4;
    p.insert(p.end(), {0xBE, 0xDE, 0, static_cast<uint8_t>(words)});
    p.push_back(static_cast<uint8_t>(extId << 4 | (ext.size() - 1)));
    p.insert(p.end(), ext.begin(), ext.end());
    while ((p.size() - 12) % 4 != 0)
      p.push_back(0);
  }
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

RtpPacket View(const std::vector<uint8_t>& bytes) {
  auto v = RtpPacket::Parse(bytes.data(), bytes.size());
  REQUIRE(v.has_value());
  return *v;
}

// VP8: X, I (15-bit 0x7FFE), L (TL0PICIDX 0xFF), T (TID 2, Y), start of partition 0, then a
// non-key frame payload header.
const std::vector<uint8_t> kVp8 = {0x90, 0xE0, 0xFF, 0xFE, 0xFF, 0xA0, 0x11, 0x04, 0x00, 0x55};

} // namespace

TEST_CASE("ReadCodecPacket: VP8 layers, sync and PictureID", "[codecs][layered]") {
  const auto bytes = Packet(kVp8, true);
  const auto cp = ReadCodecPacket(CodecKind::Vp8, View(bytes), 0);
  CHECK_FALSE(cp.malformed);
  CHECK_FALSE(cp.keyFrame);
  CHECK(cp.temporal == 2);
  CHECK(cp.temporalSync); // Y
  CHECK(cp.frameStart);
  CHECK(cp.frameEnd);
  CHECK(cp.hasPictureId);
  CHECK(cp.ids.pictureId == 0x7FFE);
  CHECK(cp.ids.tl0PicIdx == 0xFF);
  // A descriptor cut short is malformed, never a guess.
  const auto cut = Packet({0x90, 0xE0, 0xFF}, false);
  CHECK(ReadCodecPacket(CodecKind::Vp8, View(cut), 0).malformed);
}

TEST_CASE("WritePayloadHead: VP8 ids shifted with wrap; caps refuse", "[codecs][layered]") {
  const auto bytes = Packet(kVp8, false);
  const auto packet = View(bytes);
  LayerRewrite rw;
  rw.pidDelta = 3; // 0x7FFE + 3 wraps to 1
  rw.tl0Delta = 2; // 0xFF + 2 wraps to 1
  uint8_t dst[64];
  size_t written = 0, skip = 0;
  bool marker = true;
  REQUIRE(WritePayloadHead(CodecKind::Vp8, packet, rw, dst, sizeof(dst), &written, &skip, &marker));
  CHECK(skip == 6);
  CHECK_FALSE(marker);
  std::vector<uint8_t> out(dst, dst + written);
  out.insert(out.end(), kVp8.begin() + static_cast<long>(skip), kVp8.end());
  const auto d = ParseVp8(out.data(), out.size());
  REQUIRE(d.has_value());
  CHECK(d->pictureId == 1);
  CHECK(d->tl0PicIdx == 1);
  CHECK(d->tid == 2);
  CHECK(d->layerSync);
  rw.maxTemporal = 1; // TID 2 was not sent under this rewrite: no resend of it
  CHECK_FALSE(
      WritePayloadHead(CodecKind::Vp8, packet, rw, dst, sizeof(dst), &written, &skip, &marker));
  CHECK_FALSE(
      WritePayloadHead(CodecKind::Vp8, packet, LayerRewrite{}, dst, 3, &written, &skip, &marker));
}

TEST_CASE("WritePayloadHead: VP9 marker moves to the top forwarded spatial layer",
          "[codecs][layered]") {
  // Non-flexible, I (15-bit), L: TID 0, SID 1, B and E; TL0PICIDX 7.
  const std::vector<uint8_t> sid1 = {0xAC, 0x80, 0x05, 0x02, 0x07, 0x42};
  const auto bytes = Packet(sid1, false);
  const auto packet = View(bytes);
  const auto cp = ReadCodecPacket(CodecKind::Vp9, packet, 0);
  CHECK(cp.spatial == 1);
  CHECK(cp.frameEnd);
  uint8_t dst[64];
  size_t written = 0, skip = 0;
  bool marker = false;
  LayerRewrite rw;
  rw.maxSpatial = 1;
  REQUIRE(WritePayloadHead(CodecKind::Vp9, packet, rw, dst, sizeof(dst), &written, &skip, &marker));
  CHECK(marker); // end of the highest layer sent ends the picture
  rw.maxSpatial = 2;
  REQUIRE(WritePayloadHead(CodecKind::Vp9, packet, rw, dst, sizeof(dst), &written, &skip, &marker));
  CHECK_FALSE(marker);
  rw.maxSpatial = 0;
  CHECK_FALSE(
      WritePayloadHead(CodecKind::Vp9, packet, rw, dst, sizeof(dst), &written, &skip, &marker));
}

TEST_CASE("ReadCodecPacket: H264 temporal layer from frame marking", "[codecs][layered]") {
  // IDR slice (type 5) alone; frame marking S E I, TID 1 (short form).
  const auto bytes = Packet({0x65, 0x88, 0x80}, true, 3, {0xE1});
  const auto cp = ReadCodecPacket(CodecKind::H264, View(bytes), 3);
  CHECK(cp.keyFrame);
  CHECK(cp.temporal == 1);
  CHECK(cp.temporalSync); // independent
  uint8_t dst[8];
  size_t written = 9, skip = 9;
  bool marker = false;
  CHECK(WritePayloadHead(CodecKind::H264, View(bytes), LayerRewrite{}, dst, sizeof(dst), &written,
                         &skip, &marker));
  CHECK(written == 0);
  CHECK(skip == 0);
  CHECK(marker);
}

TEST_CASE("ReadCodecPacket: H264 SVC layers from the NAL unit header SVC extension",
          "[codecs][layered]") {
  // Coded slice extension (type 20): S=0 I=1 PRID=0 | N=1 DID=2 QID=0 | TID=1 U D O RR.
  const auto single = Packet({0x74, 0x40, 0xA0, 0x20, 0x88}, false);
  auto cp = ReadCodecPacket(CodecKind::H264Svc, View(single), 0);
  CHECK_FALSE(cp.malformed);
  CHECK(cp.spatial == 2);
  CHECK(cp.temporal == 1);
  CHECK(cp.keyFrame); // idr_flag
  // The same unit as the first of a STAP-A, and as an FU-A start fragment.
  const auto stap = Packet({0x18, 0x00, 0x05, 0x74, 0x00, 0x90, 0x40, 0x88}, false);
  cp = ReadCodecPacket(CodecKind::H264Svc, View(stap), 0);
  CHECK(cp.spatial == 1);
  CHECK(cp.temporal == 2);
  CHECK_FALSE(cp.keyFrame);
  const auto fua = Packet({0x7C, 0x94, 0x00, 0x80, 0x60, 0x88}, false);
  cp = ReadCodecPacket(CodecKind::H264Svc, View(fua), 0);
  CHECK(cp.spatial == 0);
  CHECK(cp.temporal == 3);
  // A resend keeps to the caps it was sent under.
  uint8_t dst[8];
  size_t written = 0, skip = 0;
  bool marker = false;
  LayerRewrite rw;
  rw.maxSpatial = 1;
  CHECK_FALSE(WritePayloadHead(CodecKind::H264Svc, View(single), rw, dst, sizeof(dst), &written,
                               &skip, &marker));
  rw.maxSpatial = 2;
  CHECK(WritePayloadHead(CodecKind::H264Svc, View(single), rw, dst, sizeof(dst), &written, &skip,
                         &marker));
}

TEST_CASE("WritePayloadHead: H264 SVC marker at the end of the highest layer sent",
          "[codecs][layered]") {
  // DID 1, TID 0 slice extension; frame marking (id 3) S=1 E=1, TID 0.
  const auto bytes = Packet({0x74, 0x00, 0x90, 0x00, 0x88}, false, 3, {0xC0});
  uint8_t dst[8];
  size_t written = 0, skip = 0;
  bool marker = false;
  LayerRewrite rw;
  rw.maxSpatial = 1;
  REQUIRE(WritePayloadHead(CodecKind::H264Svc, View(bytes), rw, dst, sizeof(dst), &written, &skip,
                           &marker, 3));
  CHECK(marker);
  rw.maxSpatial = 2; // a higher layer follows in this access unit
  REQUIRE(WritePayloadHead(CodecKind::H264Svc, View(bytes), rw, dst, sizeof(dst), &written, &skip,
                           &marker, 3));
  CHECK_FALSE(marker);
  // Without frame marking the end of a layer frame is unknown: the sender's marker stays.
  rw.maxSpatial = 1;
  REQUIRE(WritePayloadHead(CodecKind::H264Svc, View(bytes), rw, dst, sizeof(dst), &written, &skip,
                           &marker, 0));
  CHECK_FALSE(marker);
}
