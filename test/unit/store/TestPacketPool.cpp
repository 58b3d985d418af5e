#include "sluice/store/PacketPool.hpp"
#include "sluice/store/RetransmissionRing.hpp"
#include "sluice/util/Clock.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using sluice::store::PacketPool;
using sluice::store::PacketRef;

namespace {

PacketPool::Config SmallConfig(uint64_t slabs, uint32_t spare = 0, uint64_t holdMs = 1000) {
  PacketPool::Config c;
  c.byteCap = slabs * PacketPool::kSlabBytes;
  c.spareSlabs = spare;
  c.holdMs = holdMs;
  return c;
}

// Which slab (by the pointer of the first slot we saw in it) a handle lives in.
bool InSlab(const PacketRef& ref, const uint8_t* slabFirstData) {
  const uint8_t* p = ref.Data();
  return p >= slabFirstData && p < slabFirstData + PacketPool::kSlabBytes;
}

// Pages of one slab resident in memory (mincore), given the data pointer of
// the slab's first slot.
size_t ResidentPages(const uint8_t* slabFirstData) {
  constexpr size_t kPage = 4096;
  uint8_t* base = const_cast<uint8_t*>(slabFirstData) - 64; // the slot header
  unsigned char vec[PacketPool::kSlabBytes / kPage];
  REQUIRE(mincore(base, PacketPool::kSlabBytes, vec) == 0);
  size_t n = 0;
  for (unsigned char v : vec)
    n += v & 1;
  return n;
}

uint64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

} // namespace

TEST_CASE("slot geometry is what the header documents", "[store][pool]") {
  PacketPool pool(SmallConfig(4));
  REQUIRE(PacketPool::kSlotBytes >= 1500 + 2 + 16 + 4);
  REQUIRE(PacketPool::kSlotStride == 1664);
  REQUIRE(PacketPool::kSlabBytes == 26 * 4096);
  PacketRef a = pool.Allocate();
  REQUIRE(a);
  REQUIRE(a.Length() == 0);
  REQUIRE(reinterpret_cast<uintptr_t>(a.Data()) % 64 == 0);
  REQUIRE(a.SetLength(PacketRef::kCapacity));
  REQUIRE_FALSE(a.SetLength(PacketRef::kCapacity + 1));
  REQUIRE(a.Length() == PacketRef::kCapacity);
}

TEST_CASE("copies share one slot; the last release frees it", "[store][pool]") {
  PacketPool pool(SmallConfig(4));
  PacketRef a = pool.Allocate();
  std::memcpy(a.MutableData(), "\x80\x60\x00\x01", 4);
  REQUIRE(a.SetLength(4));
  REQUIRE(a.RefCount() == 1);
  REQUIRE(pool.GetStats().slotsInUse == 1);
  {
    PacketRef b = a;
    REQUIRE(a.RefCount() == 2);
    REQUIRE(b.SameSlot(a));
    REQUIRE(b.Data()[3] == 0x01);
    PacketRef c(std::move(b));
    REQUIRE(b.Empty());
    REQUIRE(c.RefCount() == 2);
    c = c; // self-assignment keeps the reference
    REQUIRE(c.RefCount() == 2);
  }
  REQUIRE(a.RefCount() == 1);
  REQUIRE(pool.GetStats().slotsInUse == 1);

  PacketRef d = pool.Allocate();
  d = a; // d's own slot is released, a's is shared
  REQUIRE(pool.GetStats().slotsInUse == 1);
  REQUIRE(a.RefCount() == 2);
  a.Reset();
  REQUIRE(a.Empty());
  REQUIRE(d.RefCount() == 1);
  REQUIRE(pool.GetStats().slotsInUse == 1);
  d.Reset();
  REQUIRE(pool.GetStats().slotsInUse == 0);

  // A released slot is reused first (LIFO within the slab): hot in cache.
  PacketRef e = pool.Allocate();
  PacketRef f = pool.Allocate();
  const uint8_t* fData = f.Data();
  f.Reset();
  PacketRef g = pool.Allocate();
  REQUIRE(g.Data() == fData);
  REQUIRE(g.Length() == 0);
}

TEST_CASE("the byte cap refuses allocations and counts the drops", "[store][pool]") {
  PacketPool pool(SmallConfig(2));
  REQUIRE(pool.GetStats().byteCap == 2 * PacketPool::kSlabBytes);
  std::vector<PacketRef> held;
  for (int i = 0; i < 128; ++i) {
    held.push_back(pool.Allocate());
    REQUIRE(held.back());
  }
  PacketRef refused = pool.Allocate();
  REQUIRE(refused.Empty());
  REQUIRE(pool.Allocate().Empty());
  auto s = pool.GetStats();
  REQUIRE(s.dropsAtCap == 2);
  REQUIRE(s.slabsHeld == 2);
  REQUIRE(s.bytesHeld == 2 * PacketPool::kSlabBytes);
  REQUIRE(s.slotsInUse == 128);

  held.pop_back();
  REQUIRE(pool.Allocate());
  REQUIRE(pool.GetStats().dropsAtCap == 2);

  // A cap below one slab still allows one slab (the pool must be usable).
  PacketPool tiny(SmallConfig(0));
  REQUIRE(tiny.GetStats().byteCap == PacketPool::kSlabBytes);
  REQUIRE(tiny.Allocate());
}

TEST_CASE("allocation prefers the fullest slab so others drain", "[store][pool]") {
  PacketPool pool(SmallConfig(8));
  std::vector<PacketRef> a, b;
  for (int i = 0; i < 64; ++i)
    a.push_back(pool.Allocate());
  for (int i = 0; i < 64; ++i)
    b.push_back(pool.Allocate());
  const uint8_t* aBase = a.front().Data();
  const uint8_t* bBase = b.front().Data();
  REQUIRE(InSlab(a.back(), aBase));
  REQUIRE_FALSE(InSlab(b.back(), aBase));

  // Slab A gets 10 free slots, slab B 20: A is fuller.
  a.resize(54);
  b.resize(44);
  std::vector<PacketRef> fresh;
  for (int i = 0; i < 10; ++i) {
    fresh.push_back(pool.Allocate());
    REQUIRE(InSlab(fresh.back(), aBase));
  }
  // A is full now; B is the only partial slab.
  fresh.push_back(pool.Allocate());
  REQUIRE(InSlab(fresh.back(), bBase));
  REQUIRE(pool.GetStats().slabsHeld == 2);

  // Draining B entirely makes it a spare slab.
  b.clear();
  fresh.pop_back();
  auto s = pool.GetStats();
  REQUIRE(s.spareSlabs == 1);
  REQUIRE(s.slotsInUse == 64);
}

TEST_CASE("empty slabs go back to the OS after the hold time, keeping the spares",
          "[store][pool]") {
  PacketPool pool(SmallConfig(16, /*spare=*/1, /*holdMs=*/1000));
  std::vector<PacketRef> held;
  for (int i = 0; i < 5 * 64; ++i)
    held.push_back(pool.Allocate());
  REQUIRE(pool.GetStats().slabsHeld == 5);
  held.clear();
  REQUIRE(pool.GetStats().spareSlabs == 5);

  pool.Tick(10'000); // first sight of the empty slabs: stamps them
  REQUIRE(pool.GetStats().slabsHeld == 5);
  pool.Tick(10'999);
  REQUIRE(pool.GetStats().slabsHeld == 5);
  pool.Tick(11'000);
  auto s = pool.GetStats();
  REQUIRE(s.slabsHeld == 1);
  REQUIRE(s.spareSlabs == 1);
  REQUIRE(s.coldSlabs == 1); // the spare keeps its mapping, not its pages
  REQUIRE(s.bytesTouched == 0);
  REQUIRE(s.slabsReturned == 4);
  REQUIRE(s.bytesHeld == PacketPool::kSlabBytes);
  REQUIRE(s.slotsCapacity == 64);

  // The spare is reused without a new mapping.
  PacketRef again = pool.Allocate();
  REQUIRE(pool.GetStats().slabsMapped == 5);
  again.Reset();

  // A slab that empties between ticks is held for the full hold time from
  // the tick that first saw it, never less.
  for (int i = 0; i < 2 * 64; ++i)
    held.push_back(pool.Allocate());
  REQUIRE(pool.GetStats().slabsHeld == 2);
  held.clear();
  pool.Tick(20'500);
  pool.Tick(21'499);
  REQUIRE(pool.GetStats().slabsHeld == 2);
  pool.Tick(21'500);
  REQUIRE(pool.GetStats().slabsHeld == 1);
  REQUIRE(pool.GetStats().slabsReturned == 5);
  REQUIRE(pool.GetStats().coldSlabs == 1);
}

TEST_CASE("a fresh slab touches only the pages of the slots in use", "[store][pool][pages]") {
  PacketPool pool(SmallConfig(4));
  std::vector<PacketRef> held;
  auto fill = [&] {
    held.push_back(pool.Allocate());
    std::memset(held.back().MutableData(), 0x5a, PacketPool::kSlotBytes);
  };
  fill();
  const uint8_t* base = held.front().Data();
  // One slot (1,664 bytes) written: one page of the slab's 26.
  REQUIRE(ResidentPages(base) == 1);
  for (int i = 1; i < 5; ++i)
    fill();
  // Five slots of 1,664 bytes span 8,320 bytes: three pages.
  REQUIRE(ResidentPages(base) == 3);
  REQUIRE(pool.GetStats().bytesTouched == 3 * 4096);
  // Freed slots are reused (most recent first) before another is carved.
  const uint8_t* last = held.back().Data();
  held.pop_back();
  held.push_back(pool.Allocate());
  REQUIRE(held.back().Data() == last);
  REQUIRE(pool.GetStats().bytesTouched == 3 * 4096);
}

TEST_CASE("a spare slab not needed for the hold time gives its pages back and keeps its mapping",
          "[store][pool][pages]") {
  PacketPool pool(SmallConfig(8, /*spare=*/2, /*holdMs=*/1000));
  std::vector<PacketRef> held;
  for (int i = 0; i < 2 * 64; ++i) {
    held.push_back(pool.Allocate());
    std::memset(held.back().MutableData(), 0xab, PacketPool::kSlotBytes);
  }
  const uint8_t* a = held.front().Data();
  const uint8_t* b = held.back().Data() - 63 * PacketPool::kSlotStride;
  REQUIRE(ResidentPages(a) == 26);
  REQUIRE(ResidentPages(b) == 26);
  held.clear();
  pool.Tick(0);
  pool.Tick(999);
  REQUIRE(ResidentPages(a) == 26); // within the hold time: warm, resident
  REQUIRE(pool.GetStats().coldSlabs == 0);
  pool.Tick(1000);
  auto s = pool.GetStats();
  REQUIRE(s.slabsHeld == 2); // both are spares: mapped...
  REQUIRE(s.coldSlabs == 2); // ...but cold
  REQUIRE(s.slabsCooled == 2);
  REQUIRE(s.bytesTouched == 0);
  REQUIRE(ResidentPages(a) == 0);
  REQUIRE(ResidentPages(b) == 0);

  // The next burst reuses the mappings (no mmap) and touches pages again
  // only as slots are carved; the bytes read back as zero, not stale data.
  held.push_back(pool.Allocate());
  REQUIRE(pool.GetStats().slabsMapped == 2);
  REQUIRE(pool.GetStats().coldSlabs == 1);
  REQUIRE(held.back().Data()[100] == 0);
  REQUIRE(held.back().Length() == 0);

  // Cold again later; a later Tick does not cool it twice.
  held.clear();
  pool.Tick(5000);
  pool.Tick(6000);
  pool.Tick(9000);
  REQUIRE(pool.GetStats().coldSlabs == 2);
  REQUIRE(pool.GetStats().slabsCooled == 3);
}

TEST_CASE("a warm empty slab is taken before a cold one", "[store][pool][pages]") {
  PacketPool pool(SmallConfig(8, /*spare=*/2, /*holdMs=*/1000));
  std::vector<PacketRef> held;
  for (int i = 0; i < 64; ++i)
    held.push_back(pool.Allocate());
  const uint8_t* coldBase = held.front().Data();
  held.clear();
  pool.Tick(0);
  pool.Tick(1000); // cold now
  for (int i = 0; i < 64; ++i)
    held.push_back(pool.Allocate()); // takes the cold one back
  REQUIRE(InSlab(held.front(), coldBase));
  PacketRef other = pool.Allocate(); // a second slab
  const uint8_t* warmBase = other.Data();
  REQUIRE_FALSE(InSlab(other, coldBase));
  held.clear();
  pool.Tick(2000);
  pool.Tick(3000); // the first slab empty since 2000: cold; the second in use
  other.Reset();   // the second empties now: warm
  PacketRef next = pool.Allocate();
  REQUIRE(InSlab(next, warmBase));
}

TEST_CASE("a slab reused during its hold time is not returned", "[store][pool]") {
  PacketPool pool(SmallConfig(16, /*spare=*/0, /*holdMs=*/1000));
  std::vector<PacketRef> held;
  for (int i = 0; i < 64; ++i)
    held.push_back(pool.Allocate());
  held.clear();
  pool.Tick(0);
  PacketRef keep = pool.Allocate(); // takes the empty slab back into use
  pool.Tick(5000);
  REQUIRE(pool.GetStats().slabsHeld == 1);
  REQUIRE(pool.GetStats().slabsReturned == 0);
  keep.Reset();
  pool.Tick(5001);
  pool.Tick(6000);
  REQUIRE(pool.GetStats().slabsHeld == 1);
  pool.Tick(6001);
  REQUIRE(pool.GetStats().slabsHeld == 0);
}

TEST_CASE("high water tracks the peak of slots in use", "[store][pool]") {
  PacketPool pool(SmallConfig(8));
  std::vector<PacketRef> held;
  for (int i = 0; i < 100; ++i)
    held.push_back(pool.Allocate());
  held.resize(50);
  for (int i = 0; i < 10; ++i)
    held.push_back(pool.Allocate());
  auto s = pool.GetStats();
  REQUIRE(s.highWaterSlots == 100);
  REQUIRE(s.slotsInUse == 60);
  for (int i = 0; i < 60; ++i)
    held.push_back(pool.Allocate());
  REQUIRE(pool.GetStats().highWaterSlots == 120);
  REQUIRE(pool.GetStats().slotsCapacity == 128);
}

TEST_CASE("the thread's pool is one per thread and configurable before first use",
          "[store][pool]") {
  PacketPool& p1 = PacketPool::ForThread();
  PacketPool& p2 = PacketPool::ForThread();
  REQUIRE(&p1 == &p2);
  REQUIRE_FALSE(PacketPool::ConfigureThread(PacketPool::Config()));
  REQUIRE(p1.GetConfig().byteCap == PacketPool::Config().byteCap);
}

// Many streams' worth of packets, then few: slabs drain (fullest-first
// allocation concentrates the survivors) and go back to the OS, and both
// the pool's bytes and the process RSS fall back near the pre-peak level.
TEST_CASE("after a peak the pool returns its slabs and RSS falls", "[store][pool][peak]") {
  using sluice::store::RetransmissionRing;
  using sluice::store::RingWindowConfig;
  PacketPool pool(SmallConfig(4096, /*spare=*/4, /*holdMs=*/2000));
  sluice::util::ManualClock clock(0);
  constexpr int kFew = 10, kMany = 200, kPps = 150;
  std::vector<std::unique_ptr<RetransmissionRing>> rings;
  std::vector<int64_t> seqs(kMany, 0);
  for (int i = 0; i < kMany; ++i) {
    rings.push_back(std::make_unique<RetransmissionRing>(RingWindowConfig::Video()));
    rings.back()->SetRtt(300); // 940 ms window: ~141 packets per stream
  }
  uint64_t refused = 0;
  // Every ~1/kPps s each active stream sends one 1200-byte packet.
  auto run = [&](int streams, uint64_t ms) {
    for (uint64_t t = 0; t < ms; t += 1000 / kPps) {
      clock.AdvanceMs(1000 / kPps);
      for (int i = 0; i < streams; ++i) {
        PacketRef p = pool.Allocate();
        if (!p) {
          ++refused;
          continue;
        }
        std::memset(p.MutableData(), i, 1200);
        p.SetLength(1200);
        rings[i]->Insert(seqs[i]++, p, clock.NowMs());
      }
      for (int i = streams; i < kMany; ++i)
        rings[i]->Expire(clock.NowMs());
      pool.Tick(clock.NowMs());
    }
  };

  run(kFew, 5000);
  const auto baseline = pool.GetStats();
  const uint64_t rssBaseline = RssBytes();

  run(kMany, 5000);
  const auto peak = pool.GetStats();
  const uint64_t rssPeak = RssBytes();
  REQUIRE(refused == 0);
  REQUIRE(peak.slotsInUse > 15 * baseline.slotsInUse);
  REQUIRE(peak.bytesHeld > 10 * baseline.bytesHeld);
  REQUIRE(rssPeak > rssBaseline + 30 * 1024 * 1024);

  run(kFew, 10000);
  REQUIRE(refused == 0);
  const auto after = pool.GetStats();
  REQUIRE(after.slotsInUse <= baseline.slotsInUse + kFew * 2);
  // Back to the baseline within the spare reserve plus a slab of rounding.
  REQUIRE(after.bytesHeld <= baseline.bytesHeld + 5 * PacketPool::kSlabBytes);
  REQUIRE(after.slabsReturned > peak.slabsHeld / 2);
  REQUIRE(after.highWaterSlots == peak.highWaterSlots);
  // The OS got the pages back: RSS fell by most of the peak's growth.
  REQUIRE(RssBytes() < rssBaseline + (rssPeak - rssBaseline) / 5);
  rings.clear();
}
