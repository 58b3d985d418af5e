#include "sluice/rtp/SeqMath.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>
#include <vector>

using sluice::rtp::ForwardDiff;
using sluice::rtp::IsNewer;
using sluice::rtp::SeqUnwrapper;
using sluice::rtp::TsUnwrapper;

// The API is constexpr: these fail the build, not the run.
static_assert(ForwardDiff<uint16_t>(65535, 1) == 2);
static_assert(ForwardDiff<uint16_t>(1, 65535) == 65534);
static_assert(ForwardDiff<uint32_t>(0xFFFFFF00u, 0x10u) == 0x110u);
static_assert(IsNewer<uint16_t>(0, 65535));
static_assert(!IsNewer<uint16_t>(65535, 0));

TEST_CASE("ForwardDiff counts forward modulo 2^N", "[rtp][seqmath]") {
  CHECK(ForwardDiff<uint16_t>(10, 10) == 0);
  CHECK(ForwardDiff<uint16_t>(10, 11) == 1);
  CHECK(ForwardDiff<uint16_t>(11, 10) == 65535);
  CHECK(ForwardDiff<uint16_t>(65534, 3) == 5);
  CHECK(ForwardDiff<uint32_t>(0xFFFFFFFFu, 0) == 1);
  CHECK(ForwardDiff<uint32_t>(0, 0xFFFFFFFFu) == 0xFFFFFFFFu);
  CHECK(ForwardDiff<uint32_t>(0xFFFFFF00u, 0x00000100u) == 0x200u);
}

TEST_CASE("IsNewer follows the half-range rule across the wrap", "[rtp][seqmath]") {
  CHECK(IsNewer<uint16_t>(1, 0));
  CHECK_FALSE(IsNewer<uint16_t>(0, 1));
  CHECK_FALSE(IsNewer<uint16_t>(7, 7));
  CHECK(IsNewer<uint16_t>(2, 65534));
  CHECK_FALSE(IsNewer<uint16_t>(65534, 2));
  CHECK(IsNewer<uint16_t>(0x7FFF, 0));       // just under half ahead
  CHECK_FALSE(IsNewer<uint16_t>(0x8001, 0)); // just over half: behind
  CHECK(IsNewer<uint16_t>(0, 0x8001));
  CHECK(IsNewer<uint32_t>(0x10u, 0xFFFFFF00u));
  CHECK_FALSE(IsNewer<uint32_t>(0xFFFFFF00u, 0x10u));
  CHECK(IsNewer<uint32_t>(0x7FFFFFFFu, 0));
  CHECK_FALSE(IsNewer<uint32_t>(0x80000001u, 0));
}

TEST_CASE("IsNewer tie at exactly half: the larger raw value is newer", "[rtp][seqmath]") {
  CHECK(IsNewer<uint16_t>(0x8000, 0));
  CHECK_FALSE(IsNewer<uint16_t>(0, 0x8000));
  CHECK(IsNewer<uint16_t>(0xFFFF, 0x7FFF));
  CHECK_FALSE(IsNewer<uint16_t>(0x7FFF, 0xFFFF));
  CHECK(IsNewer<uint32_t>(0x80000000u, 0));
  CHECK_FALSE(IsNewer<uint32_t>(0, 0x80000000u));
}

TEST_CASE("IsNewer: exactly one direction holds for distinct values", "[rtp][seqmath]") {
  // Every distance, from start points spread over the whole range.
  for (uint32_t a = 0; a < 65536; a += 4099) {
    for (uint32_t d = 1; d < 65536; ++d) {
      const auto x = static_cast<uint16_t>(a);
      const auto y = static_cast<uint16_t>(a + d);
      const bool xy = IsNewer(x, y);
      const bool yx = IsNewer(y, x);
      REQUIRE(xy != yx);
      REQUIRE(yx == (d < 0x8000 || (d == 0x8000 && y > x)));
    }
  }
}

TEST_CASE("Unwrapper: first value unwraps to itself, Last and Reset", "[rtp][seqmath]") {
  SeqUnwrapper u;
  CHECK_FALSE(u.Last().has_value());
  CHECK(u.Unwrap(1234) == 1234);
  REQUIRE(u.Last().has_value());
  CHECK(*u.Last() == 1234);
  CHECK(u.Unwrap(1240) == 1240);
  CHECK(*u.Last() == 1240);
  u.Reset();
  CHECK_FALSE(u.Last().has_value());
  CHECK(u.Unwrap(65000) == 65000);
  CHECK(u.Unwrap(5) == 65536 + 5);
}

TEST_CASE("SeqUnwrapper starting one packet before the wrap", "[rtp][seqmath]") {
  SeqUnwrapper u;
  CHECK(u.Unwrap(65534) == 65534);
  CHECK(u.Unwrap(65535) == 65535);
  CHECK(u.Unwrap(0) == 65536);
  CHECK(u.Unwrap(1) == 65537);
  // Late packet from before the wrap, then back to the new cycle.
  CHECK(u.Unwrap(65535) == 65535);
  CHECK(u.Unwrap(2) == 65538);
}

TEST_CASE("SeqUnwrapper: packet older than the first one across a backward wrap",
          "[rtp][seqmath]") {
  SeqUnwrapper u;
  CHECK(u.Unwrap(0) == 0);
  CHECK(u.Unwrap(65535) == -1);
  CHECK(u.Unwrap(65533) == -3);
  CHECK(u.Unwrap(1) == 1);
  CHECK(u.Unwrap(2) == 2);

  SeqUnwrapper v;
  CHECK(v.Unwrap(3) == 3);
  CHECK(v.Unwrap(65530) == -6);
  CHECK(v.Unwrap(4) == 4);
}

TEST_CASE("SeqUnwrapper: exact-half jumps stay consistent", "[rtp][seqmath]") {
  SeqUnwrapper u;
  CHECK(u.Unwrap(0) == 0);
  CHECK(u.Unwrap(0x8000) == 0x8000); // tie: larger raw is newer, forward
  CHECK(u.Unwrap(0) == 0);           // tie: 0 is older than 0x8000, back
  CHECK(u.Unwrap(0x8000) == 0x8000);
  CHECK(u.Unwrap(0xFFFF) == 0xFFFF);
  // Tie again; the raw 0x7FFF is smaller than 0xFFFF, so it is the older one.
  CHECK(u.Unwrap(0x7FFF) == 0x7FFF);
}

// Extended numbers start, start+step, ... with every 5th lost, pairs swapped
// every 3rd position and, every 37th position, a late duplicate of the packet
// `lateBy` positions back. Returns the arrival order as extended values.
std::vector<int64_t> Arrivals(int64_t start, int64_t count, int64_t step, size_t lateBy) {
  std::vector<int64_t> sent;
  for (int64_t i = 0; i < count; ++i) {
    if (i % 5 != 4)
      sent.push_back(start + i * step);
  }
  for (size_t i = 1; i + 1 < sent.size(); i += 3)
    std::swap(sent[i], sent[i + 1]);
  std::vector<int64_t> order;
  order.reserve(sent.size() + sent.size() / 37 + 1);
  for (size_t i = 0; i < sent.size(); ++i) {
    if (i >= lateBy && i % 37 == 0)
      order.push_back(sent[i - lateBy]);
    order.push_back(sent[i]);
  }
  return order;
}

TEST_CASE("SeqUnwrapper: sweep start points over the range, loss and reordering",
          "[rtp][seqmath]") {
  // Two wraps from each start; starts every 509 plus the ones hugging the wrap.
  std::vector<int64_t> starts = {0, 1, 65534, 65535, 0x7FFF, 0x8000};
  for (int64_t s = 0; s < 65536; s += 509)
    starts.push_back(s);
  for (int64_t start : starts) {
    const std::vector<int64_t> order = Arrivals(start, 2 * 65536 + 100, 1, 10);
    SeqUnwrapper u;
    const int64_t first = order.front();
    for (int64_t ext : order) {
      const int64_t got = u.Unwrap(static_cast<uint16_t>(ext));
      // The first value unwraps to itself (first < 2^16 here), all others
      // keep their true distance to it.
      if (got != ext) {
        INFO("start " << start << " ext " << ext << " first " << first);
        REQUIRE(got == ext);
      }
    }
  }
}

TEST_CASE("SeqUnwrapper: a late packet from before the wrap arrives first", "[rtp][seqmath]") {
  for (uint32_t start = 65500; start < 65536 + 40; ++start) {
    SeqUnwrapper u;
    const int64_t s = u.Unwrap(static_cast<uint16_t>(start)); // == start mod 2^16
    REQUIRE(s == static_cast<int64_t>(start & 0xFFFF));
    // Older packets across the (backward) wrap, then newer across the forward one.
    for (int64_t d = -60; d <= 60; d += 7) {
      const int64_t want = s + d;
      REQUIRE(u.Unwrap(static_cast<uint16_t>(start + d)) == want);
    }
  }
}

TEST_CASE("SeqUnwrapper follows a long stream through many wraps", "[rtp][seqmath]") {
  SeqUnwrapper u;
  int64_t prev = u.Unwrap(65534);
  for (int64_t ext = 65535; ext < 65534 + 20 * 65536; ext += 3) {
    const int64_t got = u.Unwrap(static_cast<uint16_t>(ext));
    REQUIRE(got == ext);
    REQUIRE(got > prev);
    prev = got;
  }
}

TEST_CASE("TsUnwrapper across the 32-bit wrap", "[rtp][seqmath]") {
  TsUnwrapper u;
  CHECK(u.Unwrap(0xFFFFFF00u) == 0xFFFFFF00LL);
  CHECK(u.Unwrap(0xFFFFFFFFu) == 0xFFFFFFFFLL);
  CHECK(u.Unwrap(0x00000000u) == 0x100000000LL);
  CHECK(u.Unwrap(0x00000BB8u) == 0x100000BB8LL);
  CHECK(u.Unwrap(0xFFFFFF80u) == 0xFFFFFF80LL); // reordered, before the wrap
  CHECK(u.Unwrap(0x00001770u) == 0x100001770LL);

  TsUnwrapper back;
  CHECK(back.Unwrap(0x00000010u) == 0x10);
  CHECK(back.Unwrap(0xFFFFFFF0u) == -0x10); // older than the first, backward wrap
}

TEST_CASE("TsUnwrapper: sweep start points, video clock steps, loss and reordering",
          "[rtp][seqmath]") {
  // 90 kHz video at 30 fps advances 3000 per frame; 5 wraps of 2^32 would be
  // 7 million frames, so use a big step (2^28 + 3000) to wrap quickly and a
  // small one starting at 0xFFFFFF00.
  std::vector<int64_t> starts = {0xFFFFFF00LL, 0xFFFFFFFFLL, 0, 0x7FFFFFFFLL};
  for (int64_t s = 0; s < (int64_t{1} << 32); s += 0x0FFFFFF1LL)
    starts.push_back(s);
  for (int64_t start : starts) {
    // A late packet must stay within half the circle: 10 packets back for
    // the small step, 2 for the big one.
    for (int64_t step : {int64_t{3000}, (int64_t{1} << 28) + 3000}) {
      const size_t lateBy = step > 3000 ? 2 : 10;
      const std::vector<int64_t> order = Arrivals(start, 200, step, lateBy);
      TsUnwrapper u;
      for (int64_t ext : order) {
        INFO("start " << start << " step " << step << " ext " << ext);
        REQUIRE(u.Unwrap(static_cast<uint32_t>(ext)) == ext);
      }
    }
  }
}
