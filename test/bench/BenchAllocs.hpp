// Allocator calls per benchmark iteration, read from test/alloc's LD_PRELOAD
// counter (its ALLOCCOUNT_FILE); 0 when the binary runs without it:
//   export ALLOCCOUNT_FILE=/tmp/ac
//   LD_PRELOAD=$PWD/build/test/alloc/libsluice-alloccount.so build/test/bench/BenchRtp
#pragma once

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace sluice::bench {

// Live allocation count from the LD_PRELOAD counter, 0 without it.
inline uint64_t Allocs() {
  static const int fd = [] {
    const char* path = std::getenv("ALLOCCOUNT_FILE");
    return path ? open(path, O_RDONLY) : -1;
  }();
  uint64_t n = 0;
  if (fd >= 0 && pread(fd, &n, sizeof(n), 0) != sizeof(n))
    n = 0;
  return n;
}

// Sets the "allocs" counter: allocator calls per iteration since `before`.
inline void ReportAllocs(benchmark::State& state, uint64_t before) {
  state.counters["allocs"] =
      double(Allocs() - before) / double(state.iterations() == 0 ? 1 : state.iterations());
}

} // namespace sluice::bench
