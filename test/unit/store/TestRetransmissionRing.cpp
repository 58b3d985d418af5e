#include "sluice/rtp/SeqMath.hpp"
#include "sluice/store/RetransmissionRing.hpp"
#include "sluice/util/Clock.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

using sluice::rtp::SeqUnwrapper;
using sluice::store::PacketPool;
using sluice::store::PacketRef;
using sluice::store::RetransmissionRing;
using sluice::store::RingWindowConfig;
using sluice::util::ManualClock;

namespace {

// A 12-byte RTP header (V=2, PT=96, SSRC 0x11223344) plus 4 payload bytes.
PacketRef MakePacket(PacketPool& pool, uint16_t seq) {
  PacketRef p = pool.Allocate();
  if (!p)
    return p; // at the pool's cap: the caller sees an empty handle
  const uint8_t bytes[16] = {0x80,
                             0x60,
                             uint8_t(seq >> 8),
                             uint8_t(seq & 0xff),
                             0x00,
                             0x00,
                             0x10,
                             0x00,
                             0x11,
                             0x22,
                             0x33,
                             0x44,
                             0xde,
                             0xad,
                             0xbe,
                             0xef};
  std::memcpy(p.MutableData(), bytes, sizeof(bytes));
  p.SetLength(sizeof(bytes));
  return p;
}

uint16_t SeqOf(const PacketRef& p) {
  return uint16_t(p.Data()[2] << 8 | p.Data()[3]);
}

PacketPool::Config RoomyPool() {
  PacketPool::Config c;
  c.byteCap = uint64_t{64} << 20;
  return c;
}

} // namespace

TEST_CASE("window = clamp(k*rtt + margin, floor, ceiling) per kind", "[store][ring]") {
  RetransmissionRing video(RingWindowConfig::Video());
  REQUIRE(video.WindowMs() == 1000); // unknown RTT: the ceiling, safe for NACKs
  video.SetRtt(1);
  REQUIRE(video.WindowMs() == 100); // LAN: the floor
  video.SetRtt(300);
  REQUIRE(video.WindowMs() == 940);
  video.SetRtt(5000);
  REQUIRE(video.WindowMs() == 1000);

  RetransmissionRing audio(RingWindowConfig::Audio());
  REQUIRE(audio.WindowMs() == 500);
  audio.SetRtt(10);
  REQUIRE(audio.WindowMs() == 60);
  audio.SetRtt(100);
  REQUIRE(audio.WindowMs() == 220);
  REQUIRE(audio.GetStats().maxBuckets == 4);
  REQUIRE(video.GetStats().maxBuckets == 32);

  // A bad config still yields a window within [floor, max(floor, ceiling)].
  RingWindowConfig odd{std::nan(""), 0, 300, 200, 0};
  RetransmissionRing weird(odd);
  REQUIRE(weird.WindowMs() == 300);
  weird.SetRtt(100);
  REQUIRE(weird.WindowMs() == 300);
  REQUIRE(weird.GetStats().maxBuckets == 1);
}

TEST_CASE("in-order packets are found by extended seq, absent ones are not", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  for (int64_t s = 1000; s < 1100; ++s)
    REQUIRE(ring.Insert(s, MakePacket(pool, uint16_t(s)), 5000));
  REQUIRE(ring.PacketsHeld() == 100);
  REQUIRE(pool.GetStats().slotsInUse == 100); // the ring holds the only refs
  for (int64_t s = 1000; s < 1100; ++s) {
    PacketRef p = ring.Lookup(s, 5000);
    REQUIRE(p);
    REQUIRE(SeqOf(p) == uint16_t(s));
    REQUIRE(p.ExtSeq() == s);
  }
  REQUIRE(ring.Lookup(999, 5000).Empty());
  REQUIRE(ring.Lookup(1100, 5000).Empty());
  REQUIRE(ring.Insert(1100, PacketRef(), 5000) == false); // pool drop upstream
}

TEST_CASE("seqs from an unwrapper across the wrap, sweeping start points", "[store][ring]") {
  PacketPool pool(RoomyPool());
  for (uint32_t start = 65536 - 70; start < 65536 + 5; ++start) {
    RetransmissionRing ring;
    ring.SetRtt(300);
    SeqUnwrapper unwrap;
    std::vector<int64_t> ext;
    uint64_t now = 1'000'000;
    for (uint32_t i = 0; i < 300; ++i, ++now) {
      const uint16_t raw = uint16_t(start + i);
      ext.push_back(unwrap.Unwrap(raw));
      REQUIRE(ring.Insert(ext.back(), MakePacket(pool, raw), now));
    }
    REQUIRE(ext.front() == int64_t(start % 65536));
    for (size_t i = 1; i < ext.size(); ++i)
      REQUIRE(ext[i] == ext[i - 1] + 1);
    for (uint32_t i = 0; i < 300; ++i) {
      PacketRef p = ring.Lookup(ext[i], now);
      REQUIRE(p);
      REQUIRE(SeqOf(p) == uint16_t(start + i));
    }
    REQUIRE(ring.Lookup(ext.front() - 1, now).Empty());
    REQUIRE(ring.Lookup(ext.back() + 1, now).Empty());
    REQUIRE(ring.Lookup(ext.back() + 65536, now).Empty());
  }
  REQUIRE(pool.GetStats().slotsInUse == 0);
}

TEST_CASE("reordering and loss around the wrap", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  SeqUnwrapper unwrap;
  // 2 is lost; 65532/65533 and 0/1 swap; 65534 arrives after the wrap.
  const uint16_t arrival[] = {65530, 65531, 65533, 65532, 65535, 1, 0, 3, 4, 65534, 5};
  uint64_t now = 10'000;
  for (uint16_t raw : arrival)
    REQUIRE(ring.Insert(unwrap.Unwrap(raw), MakePacket(pool, raw), now++));
  REQUIRE(ring.PacketsHeld() == 11);
  for (int64_t e = 65530; e <= 65536 + 5; ++e) {
    PacketRef p = ring.Lookup(e, now);
    if (e == 65536 + 2) {
      REQUIRE(p.Empty());
      continue;
    }
    REQUIRE(p);
    REQUIRE(SeqOf(p) == uint16_t(e));
  }
}

TEST_CASE("an unwrapper can go below zero before the first packet", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  SeqUnwrapper unwrap;
  const int64_t a = unwrap.Unwrap(0);
  const int64_t b = unwrap.Unwrap(65535); // late packet from before the start
  const int64_t c = unwrap.Unwrap(65471); // 65 back: bucket -2, not -1
  REQUIRE(b == -1);
  REQUIRE(c == -65);
  REQUIRE(ring.Insert(a, MakePacket(pool, 0), 100));
  REQUIRE(ring.Insert(b, MakePacket(pool, 65535), 101));
  REQUIRE(ring.Insert(c, MakePacket(pool, 65471), 102));
  REQUIRE(SeqOf(ring.Lookup(-1, 102)) == 65535);
  REQUIRE(SeqOf(ring.Lookup(-65, 102)) == 65471);
  REQUIRE(ring.Lookup(-2, 102).Empty());
  REQUIRE(ring.Lookup(-64, 102).Empty());
  REQUIRE(ring.GetStats().bucketsHeld == 3);
}

TEST_CASE("a duplicate of a live packet keeps the first copy", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  ring.SetRtt(0); // 100 ms window
  PacketRef first = MakePacket(pool, 10);
  REQUIRE(ring.Insert(10, first, 0));
  PacketRef dup = MakePacket(pool, 10);
  REQUIRE_FALSE(ring.Insert(10, dup, 50));
  REQUIRE(ring.GetStats().duplicates == 1);
  REQUIRE(ring.Lookup(10, 60).SameSlot(first));
  // The first copy's arrival time counts: gone at 101 though the dup came at 50.
  REQUIRE(ring.Lookup(10, 100));
  REQUIRE(ring.Lookup(10, 101).Empty());
  REQUIRE(ring.PacketsHeld() == 1);
}

TEST_CASE("a dead packet held behind a late one is replaced by a re-send", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  ring.SetRtt(0); // 100 ms
  REQUIRE(ring.Insert(10, MakePacket(pool, 10), 0));
  REQUIRE(ring.Insert(5, MakePacket(pool, 5), 90)); // reordered, arrives late
  ring.Expire(150);                                 // 10 is dead, but the walk stops at live 5
  REQUIRE(ring.PacketsHeld() == 2);
  REQUIRE(ring.Lookup(10, 150).Empty());
  PacketRef again = MakePacket(pool, 10);
  REQUIRE(ring.Insert(10, again, 150));
  REQUIRE(ring.Lookup(10, 150).SameSlot(again));
  REQUIRE(ring.PacketsHeld() == 2);
  ring.Expire(191); // 5 dies, the walk reaches the live re-send of 10
  REQUIRE(ring.PacketsHeld() == 1);
  ring.Expire(251);
  REQUIRE(ring.PacketsHeld() == 0);
  REQUIRE(ring.BucketsHeld() == 0);
}

TEST_CASE("lookup enforces the window exactly, without waiting for Expire", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  ring.SetRtt(300); // 940 ms
  REQUIRE(ring.Insert(2, MakePacket(pool, 2), 1000));
  REQUIRE(ring.Lookup(2, 1940));
  REQUIRE(ring.Lookup(2, 1941).Empty());
  // A window that shrinks and grows back does not resurrect a packet, even
  // one still held behind a late arrival: the horizon only moves forward.
  REQUIRE(ring.Insert(1, MakePacket(pool, 1), 1450));
  ring.SetRtt(0);
  ring.Expire(1500); // horizon 1400: 2 is dead, the walk stops at live 1
  REQUIRE(ring.PacketsHeld() == 2);
  ring.SetRtt(300);
  REQUIRE(ring.Lookup(2, 1500).Empty());
  REQUIRE(ring.Lookup(1, 1500));
}

TEST_CASE("a huge jump releases everything without walking the gap", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RetransmissionRing ring;
  for (int64_t s = 0; s < 200; ++s)
    ring.Insert(s, MakePacket(pool, uint16_t(s)), 1000);
  // Within the packet bound a forward gap keeps the old packets.
  REQUIRE(ring.Insert(700, MakePacket(pool, 700), 1000));
  REQUIRE(ring.PacketsHeld() == 201);
  REQUIRE(ring.Lookup(199, 1000));

  const int64_t far = 10'000'000'000LL;
  REQUIRE(ring.Insert(far, MakePacket(pool, 7), 1001));
  auto s = ring.GetStats();
  REQUIRE(s.packetsHeld == 1);
  REQUIRE(s.bucketsHeld == 1);
  REQUIRE(s.releasedByCapacity == 201);
  REQUIRE(pool.GetStats().slotsInUse == 1);
  REQUIRE(ring.Lookup(150, 1001).Empty());
  REQUIRE(ring.Lookup(far, 1001));
  // The old stream's stragglers are now too old to store.
  REQUIRE_FALSE(ring.Insert(199, MakePacket(pool, 199), 1002));
  REQUIRE(ring.GetStats().rejectedTooOld == 1);
  // Just inside the bound (32 buckets of 64) is accepted.
  REQUIRE(ring.Insert(far - 31 * 64, MakePacket(pool, 1), 1002));
  REQUIRE_FALSE(ring.Insert(far - 33 * 64, MakePacket(pool, 2), 1002));
}

TEST_CASE("the packet bound caps the ring at a high packet rate", "[store][ring]") {
  PacketPool pool(RoomyPool());
  RingWindowConfig config = RingWindowConfig::Video();
  config.maxPackets = 256; // 4 buckets
  RetransmissionRing ring(config);
  for (int64_t s = 0; s < 5000; ++s) {
    ring.Insert(s, MakePacket(pool, uint16_t(s)), 1000); // all in one ms
    REQUIRE(ring.PacketsHeld() <= 256);
    REQUIRE(ring.BucketsHeld() <= 4);
  }
  REQUIRE(ring.PacketsHeld() > 192);
  REQUIRE(ring.Lookup(4999, 1000));
  REQUIRE(ring.Lookup(4999 - 192, 1000));
  REQUIRE(ring.Lookup(4999 - 256, 1000).Empty());
  REQUIRE(ring.GetStats().releasedByCapacity == 5000 - ring.PacketsHeld());
}

TEST_CASE("silence: the timer releases everything", "[store][ring]") {
  const auto totals0 = RetransmissionRing::ThreadTotals();
  PacketPool pool(RoomyPool());
  ManualClock clock(50'000);
  RetransmissionRing ring;
  ring.SetRtt(50); // 190 ms
  for (int64_t s = 0; s < 100; ++s) {
    ring.Insert(s, MakePacket(pool, uint16_t(s)), clock.NowMs());
    clock.AdvanceMs(1);
  }
  REQUIRE(ring.PacketsHeld() == 100);
  clock.AdvanceMs(100);
  ring.Expire(clock.NowMs());        // the first ~10 ms of packets are out
  REQUIRE(ring.PacketsHeld() == 90); // horizon 50010: 50000..50009 went
  clock.AdvanceMs(3'600'000);        // an hour of silence
  ring.Expire(clock.NowMs());
  auto s = ring.GetStats();
  REQUIRE(s.packetsHeld == 0);
  REQUIRE(s.bucketsHeld == 0);
  REQUIRE(s.releasedByTimer == 100);
  REQUIRE(pool.GetStats().slotsInUse == 0);
  REQUIRE(RetransmissionRing::ThreadTotals().releasedByTimer - totals0.releasedByTimer == 100);
  // The stream resumes where it left off.
  REQUIRE(ring.Insert(100, MakePacket(pool, 100), clock.NowMs()));
  REQUIRE(ring.Lookup(100, clock.NowMs()));
}

TEST_CASE("a ring whose RTT drops from 300 to 20 ms shrinks", "[store][ring]") {
  PacketPool pool(RoomyPool());
  ManualClock clock(0);
  RetransmissionRing ring;
  int64_t seq = 0;
  auto stream = [&](uint64_t ms) { // 150 pps, timer every 20 ms
    for (uint64_t i = 0; i < ms * 150 / 1000; ++i) {
      ++seq;
      clock.SetMs(uint64_t(seq) * 20 / 3);
      ring.Insert(seq, MakePacket(pool, uint16_t(seq)), clock.NowMs());
      if (seq % 3 == 0)
        ring.Expire(clock.NowMs());
    }
  };
  ring.SetRtt(300); // 940 ms ~ 141 packets
  stream(5000);
  REQUIRE(ring.PacketsHeld() >= 135);
  REQUIRE(ring.PacketsHeld() <= 150);
  REQUIRE(ring.BucketsHeld() >= 3);
  const auto totalsBefore = RetransmissionRing::ThreadTotals();

  ring.SetRtt(20); // 100 ms ~ 15 packets
  ring.Expire(clock.NowMs());
  REQUIRE(ring.PacketsHeld() <= 16);
  REQUIRE(ring.BucketsHeld() <= 2);
  stream(2000);
  REQUIRE(ring.PacketsHeld() >= 13);
  REQUIRE(ring.PacketsHeld() <= 16);
  REQUIRE(ring.BucketsHeld() <= 2);
  REQUIRE(pool.GetStats().slotsInUse == ring.PacketsHeld());
  REQUIRE(RetransmissionRing::ThreadTotals().bucketsHeld < totalsBefore.bucketsHeld);
}

TEST_CASE("thread totals add up every ring of the thread", "[store][ring]") {
  const auto t0 = RetransmissionRing::ThreadTotals();
  PacketPool pool(RoomyPool());
  {
    RetransmissionRing a, b(RingWindowConfig::Audio());
    for (int64_t s = 0; s < 70; ++s)
      a.Insert(s, MakePacket(pool, uint16_t(s)), 0);
    for (int64_t s = 0; s < 5; ++s)
      b.Insert(s, MakePacket(pool, uint16_t(s)), 0);
    const auto t = RetransmissionRing::ThreadTotals();
    REQUIRE(t.rings - t0.rings == 2);
    REQUIRE(t.packetsHeld - t0.packetsHeld == 75);
    REQUIRE(t.bucketsHeld - t0.bucketsHeld == 3);
  }
  const auto t = RetransmissionRing::ThreadTotals();
  REQUIRE(t.rings == t0.rings);
  REQUIRE(t.packetsHeld == t0.packetsHeld);
  REQUIRE(t.bucketsHeld == t0.bucketsHeld);
  REQUIRE(t.bucketsCached <= RetransmissionRing::kBucketCacheMax);
  RetransmissionRing::TrimBucketCache();
  REQUIRE(RetransmissionRing::ThreadTotals().bucketsCached == 0);
}

namespace {

constexpr uint64_t kHourMs = 3'600'000;

struct HourMax {
  uint64_t packets = 0, buckets = 0, slots = 0, slabs = 0;
  void Take(const RetransmissionRing& r, const PacketPool& p) {
    const auto ps = p.GetStats();
    packets = std::max(packets, r.PacketsHeld());
    buckets = std::max(buckets, r.BucketsHeld());
    slots = std::max(slots, ps.slotsInUse);
    slabs = std::max(slabs, ps.slabsHeld);
  }
};

// "About equal": within 10% or 2 units, whichever is larger.
bool AboutEqual(uint64_t a, uint64_t b) {
  const uint64_t tol = std::max<uint64_t>(2, std::max(a, b) / 10);
  return (a > b ? a - b : b - a) <= tol;
}

PacketPool::Config SoakPool() {
  PacketPool::Config c;
  c.byteCap = uint64_t{16} << 20;
  c.spareSlabs = 2;
  c.holdMs = 5000;
  return c;
}

// One producer stream for a day: 150 pps starting one packet before the seq
// wrap, 1% loss, 1% reordering (a packet held back behind the next), NACK
// lookups for 10% of packets, RTT sweeping 20..300..20 ms every 10 minutes,
// a 30 s silence every ~37 minutes, timers every 20 ms.
class SoakStream {
public:
  SoakStream() : pool_(SoakPool()), clock_(0), sentExt_(1024, INT64_MIN), sentAt_(1024, 0) {}

  // Sends packet n; false once the day is over.
  bool Step(uint64_t n) {
    if (n > 0 && n % 333'000 == 0)
      silenceMs_ += 30'000;
    clock_.SetMs(n * 20 / 3 + silenceMs_);
    const uint64_t now = clock_.NowMs();
    if (now >= 24 * kHourMs)
      return false;
    for (; nextTimerMs_ <= now; nextTimerMs_ += 20) {
      ring_.Expire(nextTimerMs_);
      pool_.Tick(nextTimerMs_);
    }
    if (now >= nextRttMs_) {
      const uint64_t phase = (now / 10'000) % 60;
      ring_.SetRtt(uint32_t(20 + (phase < 30 ? phase : 60 - phase) * 280 / 30));
      nextRttMs_ = now + 10'000;
    }
    const uint16_t seq = raw_++;
    const uint32_t dice = Random() % 100;
    if (dice != 0) // else: lost on the way in
      Receive(seq, dice, now);
    hours[now / kHourMs].Take(ring_, pool_);
    return true;
  }

  std::vector<HourMax> hours = std::vector<HourMax>(24);
  uint64_t insertFailures = 0, nacksChecked = 0, nackMisses = 0;
  const PacketPool& Pool() const { return pool_; }

private:
  uint32_t Random() { return (rng_ = rng_ * 1664525u + 1013904223u) >> 8; }

  void Receive(uint16_t seq, uint32_t dice, uint64_t now) {
    PacketRef p = MakePacket(pool_, seq);
    const int64_t ext = unwrap_.Unwrap(seq);
    if (dice == 1 && heldBack_.Empty()) { // arrives after the next one
      heldBack_ = std::move(p);
      heldBackExt_ = ext;
      return;
    }
    Store(ext, p, now);
    if (!heldBack_.Empty()) {
      Store(heldBackExt_, heldBack_, now);
      heldBack_.Reset();
    }
    if (dice < 10)
      Nack(ext - 1 - int64_t(Random() % 10), now);
  }

  void Store(int64_t ext, const PacketRef& p, uint64_t now) {
    if (!ring_.Insert(ext, p, now))
      ++insertFailures; // counted, not REQUIREd: 13 M iterations
    sentExt_[uint64_t(ext) & 1023] = ext;
    sentAt_[uint64_t(ext) & 1023] = now;
  }

  // Within the 100 ms floor a packet that was sent must be found.
  void Nack(int64_t want, uint64_t now) {
    const size_t i = uint64_t(want) & 1023;
    if (sentExt_[i] != want || now - sentAt_[i] > 100)
      return;
    ++nacksChecked;
    PacketRef got = ring_.Lookup(want, now);
    if (got.Empty() || SeqOf(got) != uint16_t(want))
      ++nackMisses;
  }

  PacketPool pool_;
  ManualClock clock_;
  RetransmissionRing ring_;
  SeqUnwrapper unwrap_;
  uint16_t raw_ = 65535;
  uint32_t rng_ = 0x12345678;
  std::vector<int64_t> sentExt_;
  std::vector<uint64_t> sentAt_;
  PacketRef heldBack_;
  int64_t heldBackExt_ = 0;
  uint64_t silenceMs_ = 0, nextTimerMs_ = 20, nextRttMs_ = 0;
};

} // namespace

// A day of video (the seq wraps ~200 times): occupancy of the ring and the
// pool must be flat — the last hour's peak is the first hour's — and recent
// packets are always found.
TEST_CASE("24 hours at 150 pps: pool and ring occupancy stay flat", "[store][ring][soak]") {
  auto stream = std::make_unique<SoakStream>();
  for (uint64_t n = 0; stream->Step(n); ++n) {
  }
  REQUIRE(stream->insertFailures == 0);
  REQUIRE(stream->nacksChecked > 100'000);
  REQUIRE(stream->nackMisses == 0);
  const HourMax& first = stream->hours.front();
  const HourMax& last = stream->hours.back();
  INFO("first hour: packets " << first.packets << " buckets " << first.buckets << " slots "
                              << first.slots << " slabs " << first.slabs);
  INFO("last hour: packets " << last.packets << " buckets " << last.buckets << " slots "
                             << last.slots << " slabs " << last.slabs);
  REQUIRE(first.packets >= 135);
  REQUIRE(first.packets <= 160); // 940 ms at 150 pps plus reordering slack
  REQUIRE(AboutEqual(first.packets, last.packets));
  REQUIRE(AboutEqual(first.buckets, last.buckets));
  REQUIRE(AboutEqual(first.slots, last.slots));
  REQUIRE(AboutEqual(first.slabs, last.slabs));
  for (const HourMax& h : stream->hours) {
    REQUIRE(h.packets <= first.packets + 2);
    REQUIRE(h.slabs <= first.slabs + 2);
  }
  REQUIRE(stream->Pool().GetStats().dropsAtCap == 0);
}
