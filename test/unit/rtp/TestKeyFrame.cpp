#include "sluice/rtp/KeyFrame.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

using sluice::rtp::IsH264KeyFrame;
using sluice::rtp::IsH265KeyFrame;
using sluice::rtp::IsKeyFrame;
using sluice::rtp::IsVp8KeyFrame;
using sluice::rtp::IsVp9KeyFrame;
using sluice::rtp::KeyFrameCodec;

namespace {

using Bytes = std::vector<uint8_t>;

// Copies `b` (or its first `n` bytes) into a heap block of exactly that size,
// so ASan reports any read past the end.
class Exact {
public:
  Exact(const Bytes& b, size_t n) : len_(n), data_(new uint8_t[n]) {
    if (n > 0)
      std::memcpy(data_.get(), b.data(), n);
  }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return len_; }

private:
  size_t len_;
  std::unique_ptr<uint8_t[]> data_;
};

bool Vp8(const Bytes& b) {
  const Exact e(b, b.size());
  return IsVp8KeyFrame(e.data(), e.size());
}
bool Vp9(const Bytes& b) {
  const Exact e(b, b.size());
  return IsVp9KeyFrame(e.data(), e.size());
}
bool H264(const Bytes& b) {
  const Exact e(b, b.size());
  return IsH264KeyFrame(e.data(), e.size());
}
bool H265(const Bytes& b) {
  const Exact e(b, b.size());
  return IsH265KeyFrame(e.data(), e.size());
}

constexpr KeyFrameCodec kCodecs[] = {KeyFrameCodec::Vp8, KeyFrameCodec::Vp9, KeyFrameCodec::H264,
                                     KeyFrameCodec::H265};

// VP8 payload header (RFC 7741 §4.3) of a key frame: |Size0|H|VER|P| with
// P=0, then the key frame start code 9d 01 2a (RFC 6386 §9.1).
// Inter frame: P=1.
constexpr uint8_t kVp8Key = 0x50;
constexpr uint8_t kVp8Inter = 0x51;

// clang-format off
// Samples for the truncation sweep: every prefix of each is parsed by every codec.
const std::vector<Bytes> kSamples = {
    // VP8: X=1, I L T K, 15-bit picture id, TL0PICIDX, TID/Y/KEYIDX, payload header.
    {0x90, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Key, 0x02, 0x00, 0x9D, 0x01, 0x2A},
    {0x90, 0x80, 0x13, kVp8Key, 0x01},
    {0x10, kVp8Key, 0x02, 0x00},
    // VP9
    {0x88, 0x80, 0x01, 0x00},
    // H264: STAP-A with SEI then IDR; FU-A start of IDR.
    {0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x03, 0x65, 0x88, 0x84},
    {0x7C, 0x85, 0x88, 0x84},
    {0x65, 0x88, 0x84},
    // H265: AP with VPS then IDR_W_RADL; FU start of CRA.
    {0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0C, 0x00, 0x03, 0x26, 0x01, 0xAF},
    {0x62, 0x01, 0x95, 0xAF},
    {0x26, 0x01, 0xAF},
    // Length fields that claim far more than is there.
    {0x78, 0xFF, 0xFF, 0x65},
    {0x60, 0x01, 0xFF, 0xFF, 0x26, 0x01},
};
// clang-format on

} // namespace

// ---------------------------------------------------------------------------
// VP8, RFC 7741 §4.2 payload descriptor:
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID | (REQUIRED)
//       +-+-+-+-+-+-+-+-+
//  X:   |I|L|T|K| RSV   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
//  I:   |M| PictureID   | (OPTIONAL, 7 bits, or 15 when M=1)
//       +-+-+-+-+-+-+-+-+
//  L:   |   TL0PICIDX   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
//  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
// A key frame starts partition 0 (S=1, PID=0) and its payload header has P=0
// (RFC 7741 §4.3, RFC 6386 §9.1).
//
// Picture id / TL0PICIDX / TID bytes below are odd where possible, so a parser
// that lands on one of them instead of the payload header reads P=1 and fails.

TEST_CASE("KeyFrame VP8: minimal descriptor", "[rtp][keyframe][vp8]") {
  CHECK(Vp8({0x10, kVp8Key, 0x02, 0x00, 0x9D, 0x01, 0x2A}));
  CHECK_FALSE(Vp8({0x10, kVp8Inter, 0x02, 0x00}));
  // S=0: a continuation packet of partition 0, never the start of a frame.
  CHECK_FALSE(Vp8({0x00, kVp8Key, 0x02, 0x00}));
  // S=1 but PID=1: start of partition 1, the payload header is not here.
  CHECK_FALSE(Vp8({0x11, kVp8Key, 0x02, 0x00}));
  CHECK_FALSE(Vp8({0x17, kVp8Key}));
  // N (non-reference) does not change the answer; key frames are reference
  // frames in practice, but the payload header is what says "key".
  CHECK(Vp8({0x30, kVp8Key}));
  // R bits are ignored.
  CHECK(Vp8({0x58, kVp8Key}));
}

TEST_CASE("KeyFrame VP8: X byte without I/L/T/K", "[rtp][keyframe][vp8]") {
  CHECK(Vp8({0x90, 0x00, kVp8Key}));
  CHECK_FALSE(Vp8({0x90, 0x00, kVp8Inter}));
  // RSV bits of the X byte do not add fields.
  CHECK(Vp8({0x90, 0x0F, kVp8Key}));
}

TEST_CASE("KeyFrame VP8: I with 7-bit and 15-bit picture ids", "[rtp][keyframe][vp8]") {
  // M=0: one byte of picture id (0x13), payload header next.
  CHECK(Vp8({0x90, 0x80, 0x13, kVp8Key, 0x01, 0x01}));
  CHECK_FALSE(Vp8({0x90, 0x80, 0x13, kVp8Inter, 0x01}));
  // M=1: two bytes (0x8123 -> picture id 0x0123), payload header after both.
  CHECK(Vp8({0x90, 0x80, 0x81, 0x23, kVp8Key, 0x01}));
  CHECK_FALSE(Vp8({0x90, 0x80, 0x81, 0x23, kVp8Inter}));
  // A 15-bit id whose second byte looks like a key payload header: the parser
  // must skip it and read the real (inter) header.
  CHECK_FALSE(Vp8({0x90, 0x80, 0x80, 0x50, kVp8Inter}));
  // A 7-bit id followed by a key header: must not skip two bytes.
  CHECK(Vp8({0x90, 0x80, 0x7F, kVp8Key, 0x01}));
  // Largest ids.
  CHECK(Vp8({0x90, 0x80, 0xFF, 0xFF, kVp8Key}));
  CHECK(Vp8({0x90, 0x80, 0x7F, kVp8Key}));
}

TEST_CASE("KeyFrame VP8: L, T, K each add one byte", "[rtp][keyframe][vp8]") {
  CHECK(Vp8({0x90, 0x40, 0x07, kVp8Key}));       // L: TL0PICIDX
  CHECK(Vp8({0x90, 0x20, 0x41, kVp8Key}));       // T: TID/Y/KEYIDX
  CHECK(Vp8({0x90, 0x10, 0x01, kVp8Key}));       // K: same byte
  CHECK(Vp8({0x90, 0x30, 0x61, kVp8Key}));       // T and K share one byte
  CHECK(Vp8({0x90, 0x60, 0x07, 0x41, kVp8Key})); // L and T
  CHECK_FALSE(Vp8({0x90, 0x40, 0x07, kVp8Inter}));
  CHECK_FALSE(Vp8({0x90, 0x30, 0x61, kVp8Inter}));
  // T and K together are one byte, not two: the byte after it is the header.
  CHECK_FALSE(Vp8({0x90, 0x30, 0x61, kVp8Inter, kVp8Key}));
}

TEST_CASE("KeyFrame VP8: all of I (15-bit), L, T, K", "[rtp][keyframe][vp8]") {
  // X=1 S=1 PID=0 | I L T K | M=1 pid 0x0123 | TL0PICIDX 5 | TID=0 Y=1 KEYIDX=1 | header.
  CHECK(Vp8({0x90, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Key, 0x02, 0x00, 0x9D, 0x01, 0x2A}));
  CHECK_FALSE(Vp8({0x90, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Inter, 0x02, 0x00}));
  // Same with a 7-bit id.
  CHECK(Vp8({0x90, 0xF0, 0x13, 0x05, 0x21, kVp8Key}));
  CHECK_FALSE(Vp8({0x90, 0xF0, 0x13, 0x05, 0x21, kVp8Inter}));
  // Not a start of partition 0 even with the full descriptor.
  CHECK_FALSE(Vp8({0x80, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Key}));
  CHECK_FALSE(Vp8({0x92, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Key}));
}

TEST_CASE("KeyFrame VP8: descriptor with no payload header is not a key frame",
          "[rtp][keyframe][vp8]") {
  CHECK_FALSE(Vp8({}));
  CHECK_FALSE(Vp8({0x10}));
  CHECK_FALSE(Vp8({0x90}));
  CHECK_FALSE(Vp8({0x90, 0x00}));
  CHECK_FALSE(Vp8({0x90, 0x80}));
  CHECK_FALSE(Vp8({0x90, 0x80, 0x13}));
  CHECK_FALSE(Vp8({0x90, 0x80, 0x81}));
  CHECK_FALSE(Vp8({0x90, 0x80, 0x81, 0x23}));
  CHECK_FALSE(Vp8({0x90, 0xF0, 0x81, 0x23, 0x05}));
  CHECK_FALSE(Vp8({0x90, 0xF0, 0x81, 0x23, 0x05, 0x21}));
  // Exact length: the header is the last byte.
  CHECK(Vp8({0x90, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Key}));
}

// ---------------------------------------------------------------------------
// VP9, RFC 9628 §4.2 (draft-ietf-payload-vp9) first descriptor byte:
//   |I|P|L|F|B|E|V|Z|
// P=1: inter-picture predicted. B=1: first packet of a frame.

TEST_CASE("KeyFrame VP9: P=0 at B=1 is a key frame", "[rtp][keyframe][vp9]") {
  CHECK(Vp9({0x08}));                   // B
  CHECK(Vp9({0x0C, 0x00}));             // B E: single-packet frame
  CHECK(Vp9({0x8A, 0x80, 0x01, 0x00})); // I (15-bit pid) B V
  CHECK(Vp9({0x09}));                   // B Z
  CHECK_FALSE(Vp9({0x48}));             // P=1 with B
  CHECK_FALSE(Vp9({0xCC, 0x80, 0x01})); // I P B E
  CHECK_FALSE(Vp9({0x00}));             // P=0 but not the start of a frame
  CHECK_FALSE(Vp9({0x04}));             // only E
  CHECK_FALSE(Vp9({0xB7}));             // everything but P and B
  CHECK_FALSE(Vp9({}));
}

// ---------------------------------------------------------------------------
// H264, RFC 6184 §1.3 NAL unit header: |F|NRI|Type|. Key: IDR slice (5) or SPS (7).

TEST_CASE("KeyFrame H264: single NAL unit packets (RFC 6184 §5.6)", "[rtp][keyframe][h264]") {
  CHECK(H264({0x65, 0x88, 0x84, 0x00}));       // IDR slice, NRI=3
  CHECK(H264({0x25, 0x88}));                   // IDR slice, NRI=1
  CHECK(H264({0x67, 0x42, 0xC0, 0x1F}));       // SPS
  CHECK_FALSE(H264({0x68, 0xCE, 0x3C, 0x80})); // PPS
  CHECK_FALSE(H264({0x41, 0x9A, 0x02}));       // non-IDR slice
  CHECK_FALSE(H264({0x01, 0x9A}));             // non-IDR slice, NRI=0
  CHECK_FALSE(H264({0x06, 0x05, 0xFF}));       // SEI
  CHECK_FALSE(H264({0x09, 0xF0}));             // access unit delimiter
  CHECK_FALSE(H264({0x00}));                   // type 0: unspecified
  CHECK_FALSE(H264({}));
  // Only the header byte is needed.
  CHECK(H264({0x65}));
}

TEST_CASE("KeyFrame H264: STAP-A (RFC 6184 §5.7.1)", "[rtp][keyframe][h264]") {
  // |STAP-A hdr| size | NALU | size | NALU | ...
  // SPS, PPS, IDR: the usual first packet of a key frame.
  CHECK(H264({0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00, 0x04, 0x68, 0xCE, 0x3C, 0x80, 0x00,
              0x03, 0x65, 0x88, 0x84}));
  // SEI then IDR: the IDR is found in the second aggregation unit.
  CHECK(H264({0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x03, 0x65, 0x88, 0x84}));
  // PPS then non-IDR: not a key frame.
  CHECK_FALSE(H264({0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x41, 0x9A}));
  // A one-byte NAL unit as the last unit.
  CHECK(H264({0x78, 0x00, 0x01, 0x06, 0x00, 0x01, 0x65}));
  // Zero-size unit: malformed, stop.
  CHECK_FALSE(H264({0x78, 0x00, 0x00, 0x65, 0x88}));
  // First unit claims more than is there: malformed, even with an IDR byte in range.
  CHECK_FALSE(H264({0x78, 0x00, 0x09, 0x65, 0x88}));
  // Second unit truncated after an SEI.
  CHECK_FALSE(H264({0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x05, 0x65, 0x88}));
  // Header only, or a size with no unit.
  CHECK_FALSE(H264({0x78}));
  CHECK_FALSE(H264({0x78, 0x00}));
  CHECK_FALSE(H264({0x78, 0x00, 0x01}));
}

TEST_CASE("KeyFrame H264: FU-A (RFC 6184 §5.8)", "[rtp][keyframe][h264]") {
  // FU indicator |F|NRI|28|, FU header |S|E|R|Type|.
  CHECK(H264({0x7C, 0x85, 0x88, 0x84}));       // S, IDR
  CHECK(H264({0x7C, 0x87, 0x42}));             // S, SPS
  CHECK(H264({0x7C, 0xC5, 0x88}));             // S and E both (a one-fragment FU)
  CHECK_FALSE(H264({0x7C, 0x05, 0x88, 0x84})); // middle fragment of an IDR
  CHECK_FALSE(H264({0x7C, 0x45, 0x88}));       // end fragment of an IDR
  CHECK_FALSE(H264({0x7C, 0x81, 0x9A}));       // start of a non-IDR slice
  CHECK_FALSE(H264({0x7C}));                   // indicator without header
  CHECK(H264({0x7C, 0x85}));                   // header is enough
}

TEST_CASE("KeyFrame H264: packetisation types not handled are not key frames",
          "[rtp][keyframe][h264]") {
  // STAP-B (25), MTAP16 (26), MTAP24 (27), FU-B (29), reserved (30, 31):
  // not used by WebRTC (packetization-mode 0/1), so never gated on.
  CHECK_FALSE(H264({0x79, 0x00, 0x00, 0x00, 0x03, 0x65, 0x88, 0x84}));
  CHECK_FALSE(H264({0x7A, 0x00, 0x00}));
  CHECK_FALSE(H264({0x7B, 0x00, 0x00}));
  CHECK_FALSE(H264({0x7D, 0x85, 0x00, 0x00}));
  CHECK_FALSE(H264({0x7E, 0x65}));
  CHECK_FALSE(H264({0x7F, 0x65}));
}

// ---------------------------------------------------------------------------
// H265, RFC 7798 §1.1.4 NAL unit header:
//   |F|   Type    |  LayerId  | TID |   (16 bits)
// IRAP types 16-21: BLA_W_LP, BLA_W_RADL, BLA_N_LP, IDR_W_RADL, IDR_N_LP, CRA_NUT.
// Header byte 0 = Type << 1 (LayerId 0); byte 1 = TID+1 = 0x01.

TEST_CASE("KeyFrame H265: single NAL unit packets (RFC 7798 §4.4.1)", "[rtp][keyframe][h265]") {
  for (uint8_t type = 16; type <= 21; ++type) {
    INFO("type " << int(type));
    CHECK(H265({static_cast<uint8_t>(type << 1), 0x01, 0xAF}));
  }
  CHECK_FALSE(H265({0x02, 0x01, 0xAF})); // TRAIL_R (1)
  CHECK_FALSE(H265({0x00, 0x01, 0xAF})); // TRAIL_N (0)
  CHECK_FALSE(H265({0x1E, 0x01}));       // 15, just below IRAP
  CHECK_FALSE(H265({0x2C, 0x01}));       // 22, RSV_IRAP_VCL22: not claimed
  CHECK_FALSE(H265({0x40, 0x01, 0x0C})); // VPS (32)
  CHECK_FALSE(H265({0x42, 0x01, 0x01})); // SPS (33)
  CHECK_FALSE(H265({0x44, 0x01, 0xC1})); // PPS (34)
  CHECK_FALSE(H265({0x4E, 0x01, 0x05})); // prefix SEI (39)
  // LayerId's top bit sits in byte 0's LSB; it does not change the type.
  CHECK(H265({0x27, 0x01}));
  CHECK(H265({0x26, 0x01})); // header only
  // Byte 0 alone is not a complete NAL unit header.
  CHECK_FALSE(H265({0x26}));
  CHECK_FALSE(H265({}));
}

TEST_CASE("KeyFrame H265: aggregation packets (RFC 7798 §4.4.2)", "[rtp][keyframe][h265]") {
  // PayloadHdr (type 48) | size | NALU | size | NALU ...
  // VPS, SPS, PPS, IDR_W_RADL.
  CHECK(H265({0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0C, 0x00, 0x03, 0x42, 0x01,
              0x01, 0x00, 0x03, 0x44, 0x01, 0xC1, 0x00, 0x03, 0x26, 0x01, 0xAF}));
  // CRA as the first unit.
  CHECK(H265({0x60, 0x01, 0x00, 0x02, 0x2A, 0x01}));
  // Parameter sets and a trailing picture: not a key frame.
  CHECK_FALSE(H265({0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0C, 0x00, 0x03, 0x02, 0x01, 0xAF}));
  // A unit shorter than a NAL unit header: malformed.
  CHECK_FALSE(H265({0x60, 0x01, 0x00, 0x01, 0x26, 0x00, 0x02, 0x26, 0x01}));
  CHECK_FALSE(H265({0x60, 0x01, 0x00, 0x00, 0x26, 0x01}));
  // Claims more than is there.
  CHECK_FALSE(H265({0x60, 0x01, 0x00, 0x04, 0x26, 0x01}));
  CHECK_FALSE(H265({0x60, 0x01}));
  CHECK_FALSE(H265({0x60, 0x01, 0x00}));
  CHECK_FALSE(H265({0x60, 0x01, 0x00, 0x02}));
}

TEST_CASE("KeyFrame H265: fragmentation units (RFC 7798 §4.4.3)", "[rtp][keyframe][h265]") {
  // PayloadHdr (type 49) | FU header |S|E|FuType| | ...
  CHECK(H265({0x62, 0x01, 0x93, 0xAF}));       // S, IDR_W_RADL (19)
  CHECK(H265({0x62, 0x01, 0x95}));             // S, CRA (21)
  CHECK(H265({0x62, 0x01, 0x90}));             // S, BLA_W_LP (16)
  CHECK(H265({0x62, 0x01, 0xD3}));             // S and E
  CHECK_FALSE(H265({0x62, 0x01, 0x13, 0xAF})); // middle fragment
  CHECK_FALSE(H265({0x62, 0x01, 0x53, 0xAF})); // end fragment
  CHECK_FALSE(H265({0x62, 0x01, 0x81, 0xAF})); // start of TRAIL_R
  CHECK_FALSE(H265({0x62, 0x01, 0xA0}));       // start of VPS (32)
  CHECK_FALSE(H265({0x62, 0x01}));             // no FU header
}

TEST_CASE("KeyFrame H265: PACI (50) and reserved types are not key frames",
          "[rtp][keyframe][h265]") {
  CHECK_FALSE(H265({0x64, 0x01, 0x26, 0x01, 0x00, 0x26, 0x01}));
  CHECK_FALSE(H265({0x7E, 0x01, 0x26, 0x01}));
}

// ---------------------------------------------------------------------------

TEST_CASE("KeyFrame: IsKeyFrame dispatches by codec; Unknown is always true", "[rtp][keyframe]") {
  const Bytes vp8 = {0x10, kVp8Key};
  const Bytes h264 = {0x65, 0x88};
  CHECK(IsKeyFrame(KeyFrameCodec::Vp8, vp8.data(), vp8.size()));
  CHECK_FALSE(IsKeyFrame(KeyFrameCodec::Vp9, vp8.data(), vp8.size())); // 0x10 is F, not B
  CHECK(IsKeyFrame(KeyFrameCodec::H264, h264.data(), h264.size()));
  CHECK_FALSE(IsKeyFrame(KeyFrameCodec::H265, h264.data(), h264.size())); // type 50 (PACI)
  CHECK(IsKeyFrame(KeyFrameCodec::Unknown, nullptr, 0));
  CHECK(IsKeyFrame(KeyFrameCodec::Unknown, h264.data(), h264.size()));
  // Known codecs with nothing to read say no, even with a null pointer.
  for (auto codec : kCodecs)
    CHECK_FALSE(IsKeyFrame(codec, nullptr, 0));
}

TEST_CASE("KeyFrame: every prefix of every sample is read in bounds", "[rtp][keyframe][bounds]") {
  // Run under ASan: each prefix sits in a heap block of exactly its size.
  for (const auto& sample : kSamples) {
    for (size_t n = 0; n <= sample.size(); ++n) {
      const Exact e(sample, n);
      for (auto codec : kCodecs)
        (void)IsKeyFrame(codec, e.data(), e.size());
    }
  }
  // Truncating a STAP-A / AP inside a unit never turns it into a key frame.
  const Bytes stap = {0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x03, 0x65, 0x88, 0x84};
  for (size_t n = 0; n < stap.size(); ++n) {
    const Exact e(stap, n);
    INFO("STAP-A prefix " << n);
    CHECK_FALSE(IsH264KeyFrame(e.data(), e.size()));
  }
  const Bytes ap = {0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0C, 0x00, 0x03, 0x26, 0x01, 0xAF};
  for (size_t n = 0; n < ap.size(); ++n) {
    const Exact e(ap, n);
    INFO("AP prefix " << n);
    CHECK_FALSE(IsH265KeyFrame(e.data(), e.size()));
  }
  // Likewise a VP8 descriptor cut before its payload header.
  const Bytes vp8 = {0x90, 0xF0, 0x81, 0x23, 0x05, 0x21, kVp8Key};
  for (size_t n = 0; n < vp8.size(); ++n) {
    const Exact e(vp8, n);
    INFO("VP8 prefix " << n);
    CHECK_FALSE(IsVp8KeyFrame(e.data(), e.size()));
  }
}

TEST_CASE("KeyFrame: all inputs of up to 2 bytes, and random short ones, read in bounds",
          "[rtp][keyframe][bounds]") {
  for (uint32_t v = 0; v < 0x100; ++v) {
    const Exact e(Bytes{static_cast<uint8_t>(v)}, 1);
    for (auto codec : kCodecs)
      (void)IsKeyFrame(codec, e.data(), e.size());
  }
  for (uint32_t v = 0; v < 0x10000; ++v) {
    const Exact e(Bytes{static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}, 2);
    for (auto codec : kCodecs)
      (void)IsKeyFrame(codec, e.data(), e.size());
  }
  // Random 3..16 byte payloads, with the first byte drawn from the values that
  // send each parser down its longest path (VP8 X, STAP-A, FU-A, AP, FU).
  std::mt19937 rng(12345);
  const uint8_t firsts[] = {0x90, 0xB0, 0x78, 0x18, 0x7C, 0x60, 0x62, 0x61};
  for (int i = 0; i < 200000; ++i) {
    Bytes b(3 + rng() % 14);
    for (auto& x : b)
      x = static_cast<uint8_t>(rng());
    b[0] = firsts[rng() % sizeof(firsts)];
    if (rng() % 2)
      b[1] = static_cast<uint8_t>(0xF0 | (b[1] & 0x0F)); // VP8 I L T K; H265 AP/FU byte 1
    if (rng() % 2)
      b[2] = static_cast<uint8_t>(b[2] & 0x01); // small STAP-A / AP sizes
    const Exact e(b, b.size());
    for (auto codec : kCodecs)
      (void)IsKeyFrame(codec, e.data(), e.size());
  }
  SUCCEED("no out-of-bounds read reported");
}
