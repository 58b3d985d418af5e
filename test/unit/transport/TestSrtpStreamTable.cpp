#include <catch2/catch.hpp>

#include <cstdint>

#include "sluice/transport/SrtpStreamTable.hpp"

using sluice::transport::EstimateSrtpIndex;
using sluice::transport::SrtpReplayWindow;
using sluice::transport::SrtpStreamTable;
using Verdict = SrtpReplayWindow::Verdict;

TEST_CASE("SrtpStreamTable: index estimate follows RFC 3711 Appendix A across the wrap") {
  // s_l < 32768: a SEQ more than half behind belongs to ROC - 1.
  CHECK(EstimateSrtpIndex(0x10005, 0x0007) == 0x10007u);
  CHECK(EstimateSrtpIndex(0x10005, 0xFFF0) == 0x0FFF0u);
  CHECK(EstimateSrtpIndex(0x10005, 0x8005) == 0x18005u); // exactly half: forward (RFC)
  // s_l >= 32768: a SEQ more than half ahead-by-wrap belongs to ROC + 1.
  CHECK(EstimateSrtpIndex(0xFFFA, 0x0003) == 0x10003u);
  CHECK(EstimateSrtpIndex(0xFFFA, 0xFFF0) == 0x0FFF0u);
  CHECK(EstimateSrtpIndex(0xFFFA, 0x7FFA) == 0x07FFAu); // exactly half: backward (RFC)
  // Behind the very first packet across a backward wrap, or past ROC 2^32 - 1.
  CHECK_FALSE(EstimateSrtpIndex(0x0005, 0xFFF0));
  CHECK_FALSE(EstimateSrtpIndex(0xFFFFFFFFFFF0ull, 0x0001));
  CHECK(EstimateSrtpIndex(0xFFFFFFFFFFF0ull, 0xFFF1) == 0xFFFFFFFFFFF1ull);
}

TEST_CASE("SrtpStreamTable: 128-packet replay window") {
  SrtpReplayWindow w;
  CHECK(w.Empty());
  CHECK(w.Check(1000) == Verdict::Ok);
  w.Commit(1000);
  CHECK(w.Check(1000) == Verdict::Replayed);
  CHECK(w.Check(999) == Verdict::Ok);
  CHECK(w.Check(1000 - 127) == Verdict::Ok);
  CHECK(w.Check(1000 - 128) == Verdict::TooOld);
  w.Commit(990);
  CHECK(w.Check(990) == Verdict::Replayed);
  for (uint64_t shift : {1u, 63u, 64u, 65u, 127u}) {
    SrtpReplayWindow v;
    v.Commit(500);
    v.Commit(499);
    v.Commit(500 + shift);
    CAPTURE(shift);
    CHECK(v.Check(500) == Verdict::Replayed);
    CHECK(v.Check(499) == (shift + 1 < 128 ? Verdict::Replayed : Verdict::TooOld));
    CHECK(v.Check(498) == (shift + 2 < 128 ? Verdict::Ok : Verdict::TooOld));
    CHECK(v.Check(500 + shift) == Verdict::Replayed);
    CHECK(v.Highest() == 500 + shift);
  }
  SrtpReplayWindow far;
  far.Commit(10);
  far.Commit(10 + 1000);
  CHECK(far.Check(10) == Verdict::TooOld);
  CHECK(far.Check(1009) == Verdict::Ok);
}

TEST_CASE("SrtpStreamTable: bounded, Add on a full table returns nullptr") {
  SrtpStreamTable<SrtpReplayWindow> t(3);
  CHECK(t.Find(7) == nullptr);
  auto* a = t.Add(7);
  REQUIRE(a);
  CHECK(a->Empty());
  REQUIRE(t.Add(8));
  REQUIRE(t.Add(9));
  CHECK(t.Add(10) == nullptr);
  CHECK(t.Find(7) == a);
  CHECK(t.Find(9) != nullptr);
  CHECK(t.Find(10) == nullptr);
  CHECK(t.Size() == 3);
  CHECK(t.MemoryBytes() == 3 * (4 + sizeof(SrtpReplayWindow)));
  SrtpStreamTable<SrtpReplayWindow> none(0);
  CHECK(none.Find(1) == nullptr);
  CHECK(none.Add(1) == nullptr);
}

TEST_CASE(
    "SrtpStreamTable: storage grows by doubling on new SSRCs only, entries kept, up to the cap") {
  SrtpStreamTable<SrtpReplayWindow> t(100);
  CHECK(t.MemoryBytes() == 0);
  const size_t entry = 4 + sizeof(SrtpReplayWindow);
  size_t expected = 0;
  for (uint32_t ssrc = 1000; ssrc < 1100; ++ssrc) {
    auto* w = t.Add(ssrc);
    REQUIRE(w);
    REQUIRE(w->Empty());
    w->Commit(ssrc); // a distinct state per SSRC
    const size_t n = t.Size();
    expected = n <= 4 ? 4 : n <= 8 ? 8 : n <= 16 ? 16 : n <= 32 ? 32 : n <= 64 ? 64 : 100;
    REQUIRE(t.MemoryBytes() == expected * entry);
  }
  CHECK(t.Add(5) == nullptr); // full at the cap
  for (uint32_t ssrc = 1000; ssrc < 1100; ++ssrc) {
    auto* w = t.Find(ssrc);
    REQUIRE(w);
    CHECK(w->Highest() == ssrc); // the state moved with it
    CHECK(w->Check(ssrc) == SrtpReplayWindow::Verdict::Replayed);
  }
}
