#include <catch2/catch.hpp>

#include <vector>

#include "sluice/router/NackGenerator.hpp"
#include "sluice/rtp/SeqMath.hpp"

using sluice::router::NackGenerator;
using sluice::router::NackGeneratorConfig;
using sluice::rtp::SeqUnwrapper;

namespace {

std::vector<uint16_t> Collect(NackGenerator& g, uint64_t nowMs, size_t cap = 64) {
  std::vector<uint16_t> out(cap);
  out.resize(g.Collect(nowMs, out.data(), cap));
  return out;
}

using Seqs = std::vector<uint16_t>;

} // namespace

TEST_CASE("NackGenerator: a gap is NACKed at once, retried after the RTT, filled by RTX") {
  NackGenerator g;
  g.SetRtt(50);
  CHECK_FALSE(g.OnPacket(100, 0));
  CHECK_FALSE(g.OnPacket(101, 10));
  CHECK_FALSE(g.OnPacket(104, 20)); // 102, 103 missing
  CHECK(g.Missing() == 2);
  CHECK(Collect(g, 20) == Seqs{102, 103});
  CHECK(Collect(g, 21).empty());
  CHECK(Collect(g, 69).empty()); // 49 ms < rtt
  CHECK(Collect(g, 70) == Seqs{102, 103});
  CHECK(g.OnPacket(103, 80)); // repaired
  CHECK(g.Missing() == 1);
  CHECK(Collect(g, 120) == Seqs{102});
  CHECK(g.OnPacket(102, 125));
  CHECK(g.Missing() == 0);
  CHECK_FALSE(g.OnPacket(102, 126)); // duplicate of a repaired one
  CHECK_FALSE(g.OnPacket(104, 126)); // duplicate of the highest
  CHECK_FALSE(g.OnPacket(50, 126));  // older than anything tracked
  const auto& s = g.GetStats();
  CHECK(s.requested == 5);
  CHECK(s.recovered == 2);
  CHECK(s.lateArrivals == 0);
  CHECK(s.abandoned == 0);
  CHECK_FALSE(g.TakeKeyFrameNeeded());
}

TEST_CASE("NackGenerator: a packet that was merely reordered is never NACKed") {
  NackGenerator g;
  g.OnPacket(1, 0);
  g.OnPacket(3, 1);
  g.OnPacket(5, 2);
  CHECK(g.OnPacket(2, 3));
  CHECK(g.OnPacket(4, 3));
  CHECK(Collect(g, 3).empty());
  CHECK(g.GetStats().lateArrivals == 2);
  CHECK(g.GetStats().recovered == 0);
  CHECK(g.GetStats().requested == 0);
}

TEST_CASE("NackGenerator: retry interval is max(rtt, minRetryMs), default RTT until SetRtt") {
  NackGeneratorConfig config;
  config.minRetryMs = 20;
  config.defaultRttMs = 100;
  NackGenerator g(config);
  g.OnPacket(0, 0);
  g.OnPacket(2, 0);
  CHECK(Collect(g, 0) == Seqs{1});
  CHECK(Collect(g, 99).empty());
  CHECK(Collect(g, 100) == Seqs{1});
  g.SetRtt(5); // below the floor
  CHECK(Collect(g, 119).empty());
  CHECK(Collect(g, 120) == Seqs{1});
  g.SetRtt(300);
  CHECK(Collect(g, 419).empty());
  CHECK(Collect(g, 420) == Seqs{1});
  CHECK(g.GetStats().requested == 4);
}

TEST_CASE("NackGenerator: maxRetries and maxAgeMs abandon entries and ask for a key frame") {
  NackGeneratorConfig config;
  config.maxRetries = 3;
  config.minRetryMs = 20;
  config.maxAgeMs = 1000;
  NackGenerator g(config);
  g.SetRtt(10);
  g.OnPacket(10, 0);
  g.OnPacket(12, 0); // 11 missing since 0
  CHECK(Collect(g, 0) == Seqs{11});
  CHECK(Collect(g, 20) == Seqs{11});
  CHECK(Collect(g, 40) == Seqs{11});
  CHECK(Collect(g, 59).empty()); // not due yet: kept though at maxRetries
  CHECK(g.Missing() == 1);
  CHECK_FALSE(g.TakeKeyFrameNeeded());
  CHECK(Collect(g, 60).empty()); // due again with 3 retries spent: abandoned
  CHECK(g.Missing() == 0);
  CHECK(g.GetStats().abandoned == 1);
  CHECK(g.GetStats().requested == 3);
  CHECK(g.TakeKeyFrameNeeded());
  CHECK_FALSE(g.TakeKeyFrameNeeded());
  CHECK_FALSE(g.OnPacket(11, 70)); // too late: not tracked any more

  // Age: 13 goes missing at 500, 15 at 900; at 1500 only 13 has aged out.
  g.OnPacket(14, 500);
  g.OnPacket(16, 900);
  CHECK(Collect(g, 900) == Seqs{13, 15});
  CHECK(Collect(g, 1480) == Seqs{13, 15});
  CHECK(Collect(g, 1500) == Seqs{15});
  CHECK(g.GetStats().abandoned == 2);
  CHECK(g.TakeKeyFrameNeeded());
  CHECK(Collect(g, 1900).empty()); // 15 aged out too
  CHECK(g.GetStats().abandoned == 3);
  CHECK(g.Missing() == 0);
}

TEST_CASE("NackGenerator: cap limits one Collect; the rest stays due, oldest first") {
  NackGenerator g;
  g.OnPacket(0, 0);
  g.OnPacket(11, 0); // 1..10 missing
  CHECK(Collect(g, 0, 4) == Seqs{1, 2, 3, 4});
  CHECK(Collect(g, 1, 4) == Seqs{5, 6, 7, 8});
  CHECK(Collect(g, 2, 4) == Seqs{9, 10});
  CHECK(Collect(g, 3, 4).empty());
  CHECK(g.GetStats().requested == 10);
  uint16_t none[1];
  CHECK(g.Collect(500, none, 0) == 0);
}

TEST_CASE("NackGenerator: across the 16-bit wrap, from every start point near it") {
  for (uint32_t start = 65520; start <= 65536 + 4; ++start) {
    CAPTURE(start);
    NackGenerator g;
    SeqUnwrapper u;
    uint64_t now = 0;
    auto feed = [&](uint32_t raw) { return g.OnPacket(u.Unwrap(uint16_t(raw)), now++); };
    // Send start .. start+20, losing start+5..start+7 and start+15 (raw mod 2^16).
    std::vector<uint16_t> lost;
    for (uint32_t i = 0; i <= 20; ++i) {
      if ((i >= 5 && i <= 7) || i == 15) {
        lost.push_back(uint16_t(start + i));
        continue;
      }
      feed(start + i);
    }
    CHECK(g.Missing() == 4);
    CHECK(Collect(g, now) == lost);
    // Repair across the wrap, out of order.
    CHECK(feed(start + 15));
    CHECK(feed(start + 6));
    CHECK(g.Missing() == 2);
    CHECK(Collect(g, now + 200) == Seqs{uint16_t(start + 5), uint16_t(start + 7)});
    CHECK(g.GetStats().recovered == 2);
  }
}

TEST_CASE("NackGenerator: a jump wider than maxTracked clears the list and wants a key frame") {
  NackGenerator g; // maxTracked 512
  SeqUnwrapper u;
  g.OnPacket(u.Unwrap(65530), 0);
  g.OnPacket(u.Unwrap(65532), 0); // 65531 missing
  CHECK(g.Missing() == 1);
  // 65532 + 514 wraps to 510: a gap of 513 seqs.
  CHECK_FALSE(g.OnPacket(u.Unwrap(uint16_t(65532 + 514)), 1));
  CHECK(g.Missing() == 0);
  CHECK(g.GetStats().overflows == 1);
  CHECK(g.TakeKeyFrameNeeded());
  CHECK_FALSE(g.TakeKeyFrameNeeded());
  CHECK(Collect(g, 1).empty());
  // Exactly maxTracked missing still fits.
  g.OnPacket(u.Unwrap(uint16_t(510 + 513)), 2);
  CHECK(g.Missing() == 512);
  CHECK(g.GetStats().overflows == 1);
  const auto seqs = Collect(g, 2, 1024);
  REQUIRE(seqs.size() == 512);
  CHECK(seqs.front() == 511);
  CHECK(seqs.back() == 1022);
  // A jump of half the sequence space (as after a sender restart, unwrapped).
  g.OnPacket(u.Unwrap(uint16_t(1023 + 30000)), 3);
  CHECK(g.Missing() == 0);
  CHECK(g.GetStats().overflows == 2);
}

TEST_CASE("NackGenerator: the bound pushes out the oldest entries (abandoned)") {
  NackGeneratorConfig config;
  config.maxTracked = 8;
  NackGenerator g(config);
  const size_t bytes = g.MemoryBytes();
  CHECK(bytes == 8 * 32);
  g.OnPacket(0, 0);
  g.OnPacket(6, 0);  // 1..5
  g.OnPacket(12, 0); // 7..11: 10 missing, 2 oldest pushed out
  CHECK(g.Missing() == 8);
  CHECK(g.GetStats().abandoned == 2);
  CHECK(g.TakeKeyFrameNeeded());
  CHECK(Collect(g, 0) == Seqs{3, 4, 5, 7, 8, 9, 10, 11});
  CHECK_FALSE(g.OnPacket(1, 1));
  CHECK(g.OnPacket(3, 1));
  CHECK(g.MemoryBytes() == bytes);
}

TEST_CASE("NackGenerator: storage is fixed at construction under sustained loss") {
  NackGenerator g;
  const size_t bytes = g.MemoryBytes();
  CHECK(bytes == 512 * 32);
  SeqUnwrapper u;
  uint16_t raw = 60000;
  uint16_t out[64];
  for (uint64_t now = 0; now < 20000; ++now) {
    // Every 7th packet lost, every 3rd of those repaired late.
    if (now % 7 != 3)
      g.OnPacket(u.Unwrap(raw), now);
    if (now % 21 == 10)
      g.OnPacket(u.Unwrap(uint16_t(raw - 7)), now);
    ++raw;
    if (now % 10 == 0)
      g.Collect(now, out, 64);
    REQUIRE(g.Missing() <= 512);
  }
  CHECK(g.MemoryBytes() == bytes);
  CHECK(g.GetStats().requested > 0);
  CHECK(g.GetStats().abandoned > 0); // unrepaired ones hit maxRetries / maxAge
}

TEST_CASE("NackGenerator: Reset forgets the stream but keeps counting") {
  NackGenerator g;
  g.OnPacket(100, 0);
  g.OnPacket(103, 0);
  Collect(g, 0);
  g.OnPacket(2000, 1); // overflow
  g.Reset();
  CHECK(g.Missing() == 0);
  CHECK_FALSE(g.TakeKeyFrameNeeded());
  CHECK_FALSE(g.OnPacket(5, 2)); // new reference, no gap from 2000
  CHECK_FALSE(g.OnPacket(6, 2));
  CHECK(g.Missing() == 0);
  CHECK(g.GetStats().requested == 2);
  CHECK(g.GetStats().overflows == 1);
}
