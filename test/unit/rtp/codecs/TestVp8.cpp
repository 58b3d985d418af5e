// VP8 descriptor (RFC 7741 §4.2): parse every field combination from byte
// literals, reject every truncation, write/re-parse, and the per-consumer
// rewrite: continuity across dropped temporal layers, stream switches, the
// 15-bit PictureID and 8-bit TL0PICIDX wraps, and retransmission.
#include "CodecTestUtil.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"

#include <catch2/catch.hpp>

using namespace sluice::rtp::codecs;
using sluice::rtp::codecs::test::Bytes;
using sluice::rtp::codecs::test::Exact;

namespace {

constexpr uint8_t kKey = 0x10;   // payload header: P=0 (key frame)
constexpr uint8_t kInter = 0x11; // P=1

std::optional<Vp8Descriptor> Parse(const Bytes& b) {
  const Exact e(b);
  return ParseVp8(e.data(), e.size());
}

// Every strict prefix of a valid packet whose descriptor ends at `descLen`
// must be rejected up to and including descLen (the payload byte is needed).
void CheckTruncations(const Bytes& b, size_t descLen) {
  for (size_t n = 0; n <= descLen; ++n) {
    INFO("prefix " << n);
    const Exact e(b, n);
    CHECK_FALSE(ParseVp8(e.data(), e.size()));
  }
}

Vp8Descriptor Frame(uint16_t pid, uint8_t tl0, uint8_t tid, bool key = false) {
  Vp8Descriptor d;
  d.extended = d.hasPictureId = d.pictureIdLong = d.hasTl0PicIdx = d.hasTid = true;
  d.start = true;
  d.pictureId = pid;
  d.tl0PicIdx = tl0;
  d.tid = tid;
  d.keyFrame = key;
  return d;
}

} // namespace

TEST_CASE("VP8: minimal descriptor", "[rtp][codecs][vp8]") {
  const auto d = Parse({0x10, kKey, 0x02});
  REQUIRE(d);
  CHECK_FALSE(d->extended);
  CHECK(d->start);
  CHECK(d->partitionId == 0);
  CHECK(d->size == 1);
  CHECK(d->keyFrame);
  CHECK_FALSE(d->hasPictureId);

  const auto n = Parse({0x24, 0xAA}); // N, PID 4, not a start
  REQUIRE(n);
  CHECK(n->nonReference);
  CHECK_FALSE(n->start);
  CHECK(n->partitionId == 4);
  CHECK_FALSE(n->keyFrame);
  CheckTruncations({0x10, kKey}, 1);
}

TEST_CASE("VP8: 7-bit and 15-bit PictureID", "[rtp][codecs][vp8]") {
  const Bytes shortPid = {0x90, 0x80, 0x13, kKey};
  auto d = Parse(shortPid);
  REQUIRE(d);
  CHECK(d->hasPictureId);
  CHECK_FALSE(d->pictureIdLong);
  CHECK(d->pictureId == 0x13);
  CHECK(d->size == 3);
  CHECK(d->keyFrame);
  CheckTruncations(shortPid, 3);

  const Bytes longPid = {0x90, 0x80, 0xFF, 0xFE, kInter};
  d = Parse(longPid);
  REQUIRE(d);
  CHECK(d->pictureIdLong);
  CHECK(d->pictureId == 0x7FFE);
  CHECK(d->size == 4);
  CHECK_FALSE(d->keyFrame);
  CheckTruncations(longPid, 4);
}

TEST_CASE("VP8: TL0PICIDX, TID/Y, KEYIDX combinations", "[rtp][codecs][vp8]") {
  // L only.
  auto d = Parse({0x90, 0x40, 0xFE, kKey});
  REQUIRE(d);
  CHECK(d->hasTl0PicIdx);
  CHECK(d->tl0PicIdx == 0xFE);
  CHECK(d->size == 3);
  // T only: TID 2, Y.
  d = Parse({0x90, 0x20, 0xA0, kKey});
  REQUIRE(d);
  CHECK(d->hasTid);
  CHECK(d->tid == 2);
  CHECK(d->layerSync);
  CHECK_FALSE(d->hasKeyIdx);
  // K only: KEYIDX 0x1F; the TID bits are not taken.
  d = Parse({0x90, 0x10, 0xDF, kKey});
  REQUIRE(d);
  CHECK(d->hasKeyIdx);
  CHECK(d->keyIdx == 0x1F);
  CHECK(d->tid == 0);
  CHECK(d->size == 3);
  // Everything: I (15-bit), L, T, K.
  const Bytes all = {0x90, 0xF0, 0x81, 0x23, 0x05, 0x65, kKey, 0x00};
  d = Parse(all);
  REQUIRE(d);
  CHECK(d->pictureId == 0x0123);
  CHECK(d->tl0PicIdx == 0x05);
  CHECK(d->tid == 1);
  CHECK(d->layerSync);
  CHECK(d->keyIdx == 5);
  CHECK(d->size == 6);
  CHECK(d->keyFrame);
  CheckTruncations(all, 6);
  // I (7-bit) + L + T.
  const Bytes mix = {0x90, 0xE0, 0x7F, 0x00, 0x40, kInter};
  d = Parse(mix);
  REQUIRE(d);
  CHECK(d->pictureId == 0x7F);
  CHECK(d->tl0PicIdx == 0);
  CHECK(d->tid == 1);
  CHECK(d->size == 5);
  CheckTruncations(mix, 5);
}

TEST_CASE("VP8: key frame needs S=1, PID=0, P=0", "[rtp][codecs][vp8]") {
  CHECK(Parse({0x10, kKey})->keyFrame);
  CHECK_FALSE(Parse({0x00, kKey})->keyFrame); // not a start
  CHECK_FALSE(Parse({0x11, kKey})->keyFrame); // partition 1
  CHECK_FALSE(Parse({0x10, kInter})->keyFrame);
}

TEST_CASE("VP8: write always uses the 15-bit PictureID and re-parses", "[rtp][codecs][vp8]") {
  const Bytes in = {0xB0, 0xE0, 0x13, 0x07, 0x80, kKey}; // N, I (7-bit), L, T (TID 2)
  const auto d = Parse(in);
  REQUIRE(d);
  uint8_t out[16];
  const size_t n = WriteVp8Descriptor(*d, PictureIdOut{0x1234, 0x42}, out, sizeof(out));
  REQUIRE(n == 6); // grew by one: 7-bit became 15-bit
  CHECK(Bytes(out, out + n) == Bytes{0xB0, 0xE0, 0x92, 0x34, 0x42, 0x80});
  out[n] = kKey;
  const auto back = ParseVp8(out, n + 1);
  REQUIRE(back);
  CHECK(back->pictureIdLong);
  CHECK(back->pictureId == 0x1234);
  CHECK(back->tl0PicIdx == 0x42);
  CHECK(back->tid == 2);
  CHECK(back->nonReference);
  CHECK(back->keyFrame);
  // Too small a buffer writes nothing.
  CHECK(WriteVp8Descriptor(*d, PictureIdOut{}, out, 5) == 0);
  // No X: one byte, unchanged.
  const auto plain = Parse({0x10, kKey});
  CHECK(WriteVp8Descriptor(*plain, PictureIdOut{}, out, 1) == 1);
  CHECK(out[0] == 0x10);
}

TEST_CASE("VP8 rewrite: first stream keeps its ids", "[rtp][codecs][vp8][rewrite]") {
  Vp8Rewriter rw;
  PictureIdOut out;
  REQUIRE(rw.Rewrite(Frame(100, 7, 0, true), false, &out));
  CHECK(out.pictureId == 100);
  CHECK(out.tl0PicIdx == 7);
  REQUIRE(rw.Rewrite(Frame(101, 7, 1), false, &out));
  CHECK(out.pictureId == 101);
}

TEST_CASE("VP8 rewrite: dropped temporal layers leave no PictureID gap",
          "[rtp][codecs][vp8][rewrite]") {
  // L1T3 pattern TID 0,2,1,2,0,...; target TID 0: only TID 0 frames go out.
  const uint8_t tids[] = {0, 2, 1, 2};
  Vp8Rewriter rw;
  PictureIdOut out;
  uint16_t expectPid = 500;
  uint8_t tl0 = 10;
  for (uint16_t i = 0; i < 40; ++i) {
    const uint8_t tid = tids[i % 4];
    if (tid == 0 && i > 0)
      ++tl0;
    const auto d = Frame(static_cast<uint16_t>(500 + i), tl0, tid, i == 0);
    if (tid > 0) {
      CHECK(rw.Drop(d));
      CHECK_FALSE(rw.Drop(d)); // a second packet of the same frame counts once
      continue;
    }
    REQUIRE(rw.Rewrite(d, false, &out));
    CHECK(out.pictureId == expectPid);
    CHECK(out.tl0PicIdx == tl0); // TL0PICIDX untouched: no TID 0 frame was dropped
    ++expectPid;
  }
}

TEST_CASE("VP8 rewrite: a dropped TID 0 frame stays a gap", "[rtp][codecs][vp8][rewrite]") {
  Vp8Rewriter rw;
  PictureIdOut out;
  REQUIRE(rw.Rewrite(Frame(10, 1, 0, true), false, &out));
  CHECK_FALSE(rw.Drop(Frame(11, 2, 0)));
  REQUIRE(rw.Rewrite(Frame(12, 3, 0), false, &out));
  CHECK(out.pictureId == 12);
  CHECK(out.tl0PicIdx == 3);
}

TEST_CASE("VP8 rewrite: stream switch continues at last + 1", "[rtp][codecs][vp8][rewrite]") {
  Vp8Rewriter rw;
  PictureIdOut out;
  REQUIRE(rw.Rewrite(Frame(1000, 50, 0, true), false, &out));
  REQUIRE(rw.Rewrite(Frame(1001, 50, 1), false, &out));
  CHECK(out.pictureId == 1001);
  // Switch to a stream with unrelated numbering, at its key frame.
  REQUIRE(rw.Rewrite(Frame(20000, 200, 0, true), true, &out));
  CHECK(out.pictureId == 1002);
  CHECK(out.tl0PicIdx == 51);
  REQUIRE(rw.Rewrite(Frame(20000, 200, 0, true), false, &out)); // its second packet
  CHECK(out.pictureId == 1002);
  REQUIRE(rw.Rewrite(Frame(20001, 200, 1), false, &out));
  CHECK(out.pictureId == 1003);
  CHECK(out.tl0PicIdx == 51);
  REQUIRE(rw.Rewrite(Frame(20002, 201, 0), false, &out));
  CHECK(out.tl0PicIdx == 52);
  // And back, after a drop on the second stream.
  CHECK(rw.Drop(Frame(20003, 201, 1)));
  REQUIRE(rw.Rewrite(Frame(1010, 55, 0, true), true, &out));
  CHECK(out.pictureId == 1005);
  CHECK(out.tl0PicIdx == 53);
}

TEST_CASE("VP8 rewrite: 15-bit PictureID and 8-bit TL0PICIDX wraps",
          "[rtp][codecs][vp8][rewrite]") {
  for (uint16_t start : {uint16_t{32766}, uint16_t{32767}, uint16_t{0x7F00}}) {
    for (uint8_t tl0Start : {uint8_t{254}, uint8_t{255}}) {
      INFO("start " << start << " tl0 " << int(tl0Start));
      Vp8Rewriter rw;
      PictureIdOut out;
      // An earlier stream sent up to `start`; switch onto one at 5 / 0.
      REQUIRE(rw.Rewrite(Frame(start, tl0Start, 0, true), false, &out));
      uint16_t pid = 5;
      uint8_t tl0 = 0;
      uint16_t expect = start;
      uint8_t expectTl0 = tl0Start;
      for (int i = 0; i < 600; ++i) {
        const uint8_t tid = (i % 2 == 0) ? 0 : 1;
        if (tid == 0 && i > 0) {
          ++tl0;
        }
        const auto d = Frame(pid, tl0, tid, i == 0);
        if (i % 4 == 3) { // drop every other TID 1 frame
          CHECK(rw.Drop(d));
        } else {
          REQUIRE(rw.Rewrite(d, i == 0, &out));
          expect = static_cast<uint16_t>((expect + 1) & 0x7FFF);
          if (tid == 0)
            ++expectTl0;
          CHECK(out.pictureId == expect);
          CHECK(out.tl0PicIdx == expectTl0);
        }
        pid = static_cast<uint16_t>((pid + 1) & 0x7FFF);
      }
    }
  }
}

TEST_CASE("VP8 rewrite: 7-bit source ids extend across their wrap", "[rtp][codecs][vp8][rewrite]") {
  Vp8Rewriter rw;
  PictureIdOut out;
  Vp8Descriptor d = Frame(120, 0, 0, true);
  d.pictureIdLong = false;
  REQUIRE(rw.Rewrite(d, false, &out));
  CHECK(out.pictureId == 120);
  for (uint16_t i = 1; i < 300; ++i) {
    d.pictureId = static_cast<uint16_t>((120 + i) & 0x7F);
    d.keyFrame = false;
    REQUIRE(rw.Rewrite(d, false, &out));
    CHECK(out.pictureId == 120 + i);
  }
}

TEST_CASE("VP8 rewrite: late packets map like their frame; too late is refused",
          "[rtp][codecs][vp8][rewrite]") {
  Vp8Rewriter rw;
  PictureIdOut a, b, late;
  REQUIRE(rw.Rewrite(Frame(10, 1, 0, true), false, &a));
  CHECK(rw.Drop(Frame(11, 1, 1)));
  REQUIRE(rw.Rewrite(Frame(12, 2, 0), false, &b));
  CHECK(b.pictureId == 11);
  // A late packet of frame 10 after the drop still maps to 10.
  REQUIRE(rw.Rewrite(Frame(10, 1, 0), false, &late));
  CHECK(late.pictureId == 10);
  // Frame 11 was dropped; a late packet of it cannot be forwarded consistently.
  CHECK_FALSE(rw.Rewrite(Frame(11, 1, 1), false, &late));
  // Past the history, old frames are refused.
  for (uint16_t pid = 13; pid < 13 + PictureIdRewriter::kHistory; ++pid)
    REQUIRE(rw.Rewrite(Frame(pid, 2, 1), false, &late));
  CHECK_FALSE(rw.Rewrite(Frame(10, 1, 0), false, &late));
}

TEST_CASE("VP8 rewrite: a retransmission rebuilds the same bytes", "[rtp][codecs][vp8][rewrite]") {
  // The consumer keeps each sent packet's PictureIdOut (3 bytes); the writer
  // is pure, so whatever happened since, the same bytes come out.
  const Bytes pkt = {0x90, 0xE0, 0x80, 0x64, 0x09, 0x40, kInter, 0xAB};
  const auto d = ParseVp8(pkt.data(), pkt.size());
  REQUIRE(d);
  Vp8Rewriter rw;
  PictureIdOut first;
  REQUIRE(rw.Rewrite(Frame(90, 8, 0, true), false, &first));
  CHECK(rw.Drop(Frame(99, 8, 1)));
  PictureIdOut sent;
  REQUIRE(rw.Rewrite(*d, false, &sent));
  uint8_t a[16], b[16];
  const size_t na = WriteVp8Descriptor(*d, sent, a, sizeof(a));
  // Later: more drops and a switch move the offsets ...
  PictureIdOut other;
  CHECK(rw.Drop(Frame(101, 9, 1)));
  REQUIRE(rw.Rewrite(Frame(7000, 3, 0, true), true, &other));
  // ... and the NACKed packet is rebuilt from what was stored.
  const size_t nb = WriteVp8Descriptor(*d, sent, b, sizeof(b));
  REQUIRE(na == nb);
  CHECK(Bytes(a, a + na) == Bytes(b, b + nb));
  CHECK(Bytes(a, a + na) == Bytes{0x90, 0xE0, 0x80, 0x63, 0x09, 0x40});
}
