// The header must compile on its own: it is the first include here.
#include "sluice/util/RateCalculator.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

using sluice::util::RateCalculator;

// The window is the current 100 ms bucket plus the nine before it, so a rate
// read at the end of a bucket covers a full second and one read just after a
// bucket boundary covers 900 ms of traffic.

TEST_CASE("RateCalculator: layout and constants", "[util][rate]") {
  STATIC_REQUIRE(RateCalculator::kWindowMs == 1000);
  STATIC_REQUIRE(RateCalculator::kBuckets * RateCalculator::kBucketMs == RateCalculator::kWindowMs);
  CHECK(sizeof(RateCalculator) <= 96);
  RateCalculator r;
  CHECK(r.Rate(0) == 0);
  CHECK(r.Rate(123456789) == 0);
}

TEST_CASE("RateCalculator: a constant rate reads as bits per second", "[util][rate]") {
  // 125 bytes every 10 ms = 12,500 B/s = 100,000 bit/s.
  RateCalculator r;
  const uint64_t t0 = 10000;
  uint64_t t = t0;
  for (; t < t0 + 2000; t += 10)
    r.Update(125, t);
  t -= 10; // last update at t0 + 1990: bucket full, window exactly one second
  CHECK(r.Rate(t) == 100000);
  // Next bucket, nothing sent yet: the oldest bucket fell out, 900 ms remain.
  CHECK(r.Rate(t + 10) == 90000);
  // Continue the stream: back to the full rate at each bucket's end.
  for (uint64_t u = t + 10; u < t + 1010; u += 10)
    r.Update(125, u);
  CHECK(r.Rate(t + 1000) == 100000);
}

TEST_CASE("RateCalculator: start near zero time", "[util][rate]") {
  RateCalculator r;
  for (uint64_t t = 0; t < 1000; t += 10)
    r.Update(100, t);
  CHECK(r.Rate(999) == 80000);
  CHECK(r.Rate(1000) == 72000);
}

TEST_CASE("RateCalculator: the window slides, old buckets fall out", "[util][rate]") {
  RateCalculator r;
  r.Update(1000, 10050); // bucket 100
  r.Update(500, 10550);  // bucket 105
  CHECK(r.Rate(10550) == 12000);
  CHECK(r.Rate(10999) == 12000); // bucket 109: both still inside
  CHECK(r.Rate(11000) == 4000);  // bucket 110 replaces 100
  CHECK(r.Rate(11499) == 4000);
  CHECK(r.Rate(11500) == 0); // bucket 115 replaces 105

  SECTION("a jump of several buckets clears exactly the ones skipped") {
    RateCalculator s;
    s.Update(100, 20000); // bucket 200
    s.Update(200, 20300); // 203
    s.Update(400, 20600); // 206
    CHECK(s.Rate(20600) == 5600);
    CHECK(s.Rate(21250) == 4800); // bucket 212: 200 and 201-202 gone
    CHECK(s.Rate(21550) == 3200); // 215: 203 gone
    CHECK(s.Rate(21599) == 3200);
    CHECK(s.Rate(21600) == 0); // 216: 206 gone
  }

  SECTION("reads do not change the rate; updates in the same bucket add up") {
    RateCalculator s;
    s.Update(10, 30000);
    CHECK(s.Rate(30000) == 80);
    CHECK(s.Rate(30000) == 80);
    s.Update(10, 30099);
    CHECK(s.Rate(30099) == 160);
  }
}

TEST_CASE("RateCalculator: a long silence reads 0 and restarts cleanly", "[util][rate]") {
  RateCalculator r;
  for (uint64_t t = 5000; t < 7000; t += 20)
    r.Update(1200, t);
  CHECK(r.Rate(6999) > 0);

  SECTION("bucket by bucket, the last bucket falls out one window later") {
    for (uint64_t t = 7000; t < 7900; t += 100)
      CHECK(r.Rate(t) > 0); // buckets 70..78: bucket 69 (6900-6980) still in
    CHECK(r.Rate(7899) == 5 * 1200 * 8);
    CHECK(r.Rate(7900) == 0); // bucket 79: 69 gone
  }
  SECTION("a jump longer than the window clears everything at once") {
    CHECK(r.Rate(6999 + 60000) == 0);
    // New traffic counts alone.
    r.Update(100, 70000);
    CHECK(r.Rate(70000) == 800);
  }
  SECTION("hours later, by an injected clock") {
    const uint64_t later = 6999 + 5ull * 3600 * 1000;
    r.Update(250, later);
    CHECK(r.Rate(later) == 2000);
    CHECK(r.Rate(later + 1000) == 0);
  }
  SECTION("a jump of exactly kBuckets buckets") {
    CHECK(r.Rate(7900) == 0); // from bucket 69 straight to 79
  }
}

TEST_CASE("RateCalculator: large byte counts do not overflow the window total", "[util][rate]") {
  // 50 MB per bucket, 500 MB per window: 4e9 bit/s, within uint32_t, but
  // total * 8 * 1000 would overflow 32-bit arithmetic.
  RateCalculator r;
  const uint64_t t0 = 100000;
  for (uint64_t b = 0; b < 10; ++b)
    r.Update(50000000, t0 + b * 100);
  CHECK(r.Rate(t0 + 999) == 4000000000u);
  CHECK(r.Rate(t0 + 1000) == 3600000000u);
  CHECK(r.Rate(t0 + 1899) == 400000000u); // only bucket t0 + 900 left
  CHECK(r.Rate(t0 + 1900) == 0);

  // The largest single update is carried exactly until it falls out.
  RateCalculator s;
  // 536,870,910 bytes, then one more: 4,294,967,288 bit/s, the largest
  // multiple of 8 that fits the uint32_t result.
  constexpr uint32_t kBig = std::numeric_limits<uint32_t>::max() / 8 - 1;
  s.Update(kBig, t0);
  CHECK(s.Rate(t0) == kBig * 8u);
  s.Update(1, t0 + 500);
  CHECK(s.Rate(t0 + 999) == 4294967288u);
  CHECK(s.Rate(t0 + 1000) == 8);
  CHECK(s.Rate(t0 + 1500) == 0);
}

// Found by this test: the rate was cast down modulo 2^32 and a bucket could
// wrap. Now buckets are 64-bit and the rate saturates.
TEST_CASE("RateCalculator: a rate above 2^32 bit/s saturates", "[util][rate]") {
  RateCalculator r;
  r.Update(600000000, 50000);
  CHECK(r.Rate(50000) == std::numeric_limits<uint32_t>::max());

  RateCalculator s;
  s.Update(std::numeric_limits<uint32_t>::max(), 50000);
  s.Update(std::numeric_limits<uint32_t>::max(), 50050); // same bucket
  CHECK(s.Rate(50050) == std::numeric_limits<uint32_t>::max());
  for (uint64_t t = 50100; t <= 51000; t += 100)
    s.Rate(t); // slide one bucket at a time so the slot is subtracted, not cleared
  s.Update(1, 51000);
  CHECK(s.Rate(51000) == 8);
}
