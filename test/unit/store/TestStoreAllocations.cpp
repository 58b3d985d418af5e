// ARCHITECTURE.md (zero allocations per packet) for the store: after warm-up, storing, looking up,
// expiring and recording packets makes no allocator call at all. Linked with AllocCounter.cpp,
// which counts every global operator new.
#include "../AllocCounter.hpp"
#include "sluice/rtp/SeqMath.hpp"
#include "sluice/store/PacketPool.hpp"
#include "sluice/store/RetransmissionRing.hpp"
#include "sluice/store/SendRecord.hpp"
#include "sluice/util/Clock.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <vector>

using namespace sluice;
using store::PacketPool;
using store::PacketRef;
using store::RetransmissionRing;
using store::RingWindowConfig;
using store::SendRecord;

namespace {

constexpr int kStreams = 8; // 6 video at 150 pps, 2 audio at 50 pps
constexpr int kConsumersPerStream = 3;

struct Stream {
  std::unique_ptr<RetransmissionRing> ring;
  rtp::SeqUnwrapper unwrap;
  uint16_t rawSeq;
  uint32_t everyTicks; // sends on ticks divisible by this (1 tick = 20/3 ms)
  SendRecord* consumers[kConsumersPerStream];
  uint16_t outSeq[kConsumersPerStream];
};

struct Counters {
  uint64_t packets = 0, stored = 0, nacks = 0, retransmittable = 0, drops = 0;
};

class Simulation {
public:
  Simulation() : pool_(PoolConfig()), clock_(0) {
    for (int c = 0; c < kStreams * kConsumersPerStream; ++c)
      records_.push_back(std::make_unique<SendRecord>());
    for (int i = 0; i < kStreams; ++i) {
      const bool audio = i >= 6;
      Stream s;
      s.ring = std::make_unique<RetransmissionRing>(audio ? RingWindowConfig::Audio()
                                                          : RingWindowConfig::Video());
      s.rawSeq = uint16_t(65535 - i * 7); // all of them wrap early on
      s.everyTicks = audio ? 3 : 1;
      for (int c = 0; c < kConsumersPerStream; ++c) {
        s.consumers[c] = records_[i * kConsumersPerStream + c].get();
        s.outSeq[c] = uint16_t(1000 * c + 65500);
      }
      streams_.push_back(std::move(s));
    }
  }

  // One tick = 20/3 ms: every stream due sends one packet, each consumer
  // records it, some consumers NACK a recent one. Timers run every 20 ms.
  void Tick(Counters& n) {
    ++tick_;
    clock_.SetMs(tick_ * 20 / 3);
    const uint64_t now = clock_.NowMs();
    for (Stream& s : streams_) {
      if (tick_ % s.everyTicks != 0)
        continue;
      ++n.packets;
      PacketRef p = pool_.Allocate();
      if (!p) {
        ++n.drops;
        continue;
      }
      const uint16_t seq = s.rawSeq++;
      std::memset(p.MutableData(), 0, 200);
      p.MutableData()[2] = uint8_t(seq >> 8);
      p.MutableData()[3] = uint8_t(seq);
      p.SetLength(200);
      const int64_t ext = s.unwrap.Unwrap(seq);
      n.stored += s.ring->Insert(ext, p, now);
      for (int c = 0; c < kConsumersPerStream; ++c)
        s.consumers[c]->Add(s.outSeq[c]++, SendRecord::Sent{ext, uint32_t(c) * 90000u, {}});
      if ((tick_ + ext) % 5 == 0) { // a NACK from one consumer
        const int c = int(tick_ % kConsumersPerStream);
        auto sent = s.consumers[c]->Lookup(uint16_t(s.outSeq[c] - 1 - tick_ % 7));
        ++n.nacks;
        if (sent && !s.ring->Lookup(sent->producerExtSeq, now).Empty())
          ++n.retransmittable;
      }
    }
    if (tick_ % 3 == 0) {
      for (Stream& s : streams_)
        s.ring->Expire(now);
      pool_.Tick(now);
    }
    if (tick_ % 1500 == 0) // every 10 s the largest consumer RTT moves
      for (Stream& s : streams_)
        s.ring->SetRtt(uint32_t(80 + (tick_ / 1500) % 5 * 10));
  }

  const PacketPool& Pool() const { return pool_; }

private:
  static PacketPool::Config PoolConfig() {
    PacketPool::Config c;
    c.byteCap = uint64_t{32} << 20;
    return c;
  }

  PacketPool pool_;
  util::ManualClock clock_;
  std::vector<std::unique_ptr<SendRecord>> records_;
  std::vector<Stream> streams_;
  uint64_t tick_ = 0;
};

} // namespace

TEST_CASE("store: zero allocator calls per packet after warm-up", "[store][alloc]") {
  auto sim = std::make_unique<Simulation>();
  Counters warm;
  for (int i = 0; i < 9000; ++i) // 60 s: a full RTT cycle, seq wrap, timers
    sim->Tick(warm);
  const uint64_t slabsMapped = sim->Pool().GetStats().slabsMapped;

  Counters n;
  uint64_t allocs = 0;
  {
    test::AllocScope scope;
    for (int i = 0; i < 20000; ++i) // 133 s of 6 x 150 + 2 x 50 pps
      sim->Tick(n);
    allocs = scope.Count();
  }
  INFO("packets " << n.packets << " nacks " << n.nacks);
  REQUIRE(n.packets >= 100'000);
  REQUIRE(n.stored == n.packets);
  REQUIRE(n.drops == 0);
  REQUIRE(n.nacks > 10'000);
  REQUIRE(n.retransmittable == n.nacks); // recent seqs are always answered
  REQUIRE(allocs == 0);
  REQUIRE(sim->Pool().GetStats().slabsMapped == slabsMapped); // no mmap either
}
