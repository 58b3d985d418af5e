// Microbenchmarks of the store's per-packet work: pool allocate + release,
// ring insert in steady state (including the release of the packet that
// falls out of the window), ring lookup (a NACK), the idle timer, and the
// per-consumer send record.
#include "sluice/store/PacketPool.hpp"
#include "sluice/store/RetransmissionRing.hpp"
#include "sluice/store/SendRecord.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

using namespace sluice::store;

namespace {

PacketPool::Config BenchPool() {
  PacketPool::Config c;
  c.byteCap = uint64_t{256} << 20;
  return c;
}

void BM_PoolAllocateRelease(benchmark::State& state) {
  PacketPool pool(BenchPool());
  PacketRef warm = pool.Allocate();
  for (auto _ : state) {
    PacketRef p = pool.Allocate();
    benchmark::DoNotOptimize(p.Data());
  }
}
BENCHMARK(BM_PoolAllocateRelease);

// 512 packets alive at once, released oldest first: free lists spread over
// several slabs, closer to a ring's pattern than one hot slot.
void BM_PoolAllocateReleaseSpread(benchmark::State& state) {
  PacketPool pool(BenchPool());
  std::vector<PacketRef> window(512);
  size_t i = 0;
  for (auto _ : state) {
    window[i] = pool.Allocate(); // releases the packet 512 allocations old
    benchmark::DoNotOptimize(window[i].Data());
    i = (i + 1) & 511;
  }
}
BENCHMARK(BM_PoolAllocateReleaseSpread);

// Steady 150 pps stream in a 940 ms window (~141 packets): each iteration is
// one insert, with the time step of one packet and the window's release of
// the oldest. Packets come from 256 pre-allocated handles (the bench keeps a
// reference, so this measures the ring alone, not the pool).
void BM_RingInsert(benchmark::State& state) {
  PacketPool pool(BenchPool());
  RetransmissionRing ring;
  ring.SetRtt(300);
  std::vector<PacketRef> packets(256);
  for (PacketRef& p : packets)
    p = pool.Allocate();
  int64_t seq = 0;
  for (auto _ : state) {
    ring.Insert(seq, packets[uint64_t(seq) & 255], uint64_t(seq) * 20 / 3);
    ++seq;
  }
  state.counters["held"] = double(ring.PacketsHeld());
}
BENCHMARK(BM_RingInsert);

// The full store step: allocate + insert + the window's release to the pool.
void BM_RingInsertWithAllocate(benchmark::State& state) {
  PacketPool pool(BenchPool());
  RetransmissionRing ring;
  ring.SetRtt(300);
  int64_t seq = 0;
  for (auto _ : state) {
    ring.Insert(seq, pool.Allocate(), uint64_t(seq) * 20 / 3);
    ++seq;
  }
  state.counters["held"] = double(ring.PacketsHeld());
}
BENCHMARK(BM_RingInsertWithAllocate);

void BM_RingLookup(benchmark::State& state) {
  PacketPool pool(BenchPool());
  RetransmissionRing ring;
  for (int64_t s = 0; s < 1000; ++s)
    ring.Insert(s, pool.Allocate(), 1000);
  uint32_t x = 1;
  for (auto _ : state) {
    x = x * 1664525u + 1013904223u;
    PacketRef p = ring.Lookup(int64_t((x >> 8) % 1000), 1100);
    benchmark::DoNotOptimize(p.Data());
  }
}
BENCHMARK(BM_RingLookup);

// The silence timer on a ring with nothing to release.
void BM_RingExpireIdle(benchmark::State& state) {
  PacketPool pool(BenchPool());
  RetransmissionRing ring;
  for (int64_t s = 0; s < 100; ++s)
    ring.Insert(s, pool.Allocate(), 1000);
  for (auto _ : state)
    ring.Expire(1500);
}
BENCHMARK(BM_RingExpireIdle);

void BM_SendRecordAddLookup(benchmark::State& state) {
  SendRecord record;
  uint16_t out = 65000;
  int64_t producer = 1'000'000;
  for (auto _ : state) {
    record.Add(out, SendRecord::Sent{producer, 12345, {}});
    auto r = record.Lookup(uint16_t(out - 7));
    benchmark::DoNotOptimize(r);
    ++out;
    ++producer;
  }
}
BENCHMARK(BM_SendRecordAddLookup);

} // namespace

BENCHMARK_MAIN();
