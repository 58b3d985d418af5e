// libFuzzer target: the send-side estimator (bwe/SendSideEstimator.hpp) fed
// feedback, RTT, REMB and bounds decoded from the input. The times come from
// the receiver, so anything goes: steps back and forth, jumps of 2^40 µs,
// the int64 extremes. Whatever comes, the target must stay within the bounds
// last set and every rate must be a number. A violation aborts; ASan and
// UBSan catch the rest.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sluice/bwe/SendSideEstimator.hpp"

using namespace sluice::bwe;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzSendSideEstimator: check failed: %s (line %d)\n", #cond,           \
                   __LINE__);                                                                      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

struct Reader {
  const uint8_t* p;
  size_t left;
  bool Empty() const { return left == 0; }
  uint8_t U8() {
    if (left == 0)
      return 0;
    --left;
    return *p++;
  }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) << 16 | U16(); }
};

// A time step: mostly small, sometimes wild.
int64_t Step(Reader& r) {
  const uint8_t kind = r.U8();
  switch (kind & 7) {
  case 0:
    return -static_cast<int64_t>(r.U16()) * 10;
  case 1:
    return int64_t{1} << 40;
  case 2:
    return -(int64_t{1} << 40);
  default:
    return static_cast<int64_t>(r.U16()) * ((kind >> 3) + 1);
  }
}

int64_t Extreme(uint8_t k, int64_t usual) {
  switch (k) {
  case 0xf0:
    return INT64_MAX;
  case 0xf1:
    return INT64_MIN;
  case 0xf2:
    return INT64_MIN + 1;
  default:
    return usual;
  }
}

PacketFeedback gPackets[128];

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  SendSideEstimator::Config config;
  config.initialBps = r.U32();
  config.minBps = r.U32() % 1'000'000;
  config.maxBps = r.U32() % 50'000'000;
  SendSideEstimator est(config);
  uint32_t minBps = config.minBps;
  uint32_t maxBps =
      config.maxBps != 0 && config.maxBps < config.minBps ? config.minBps : config.maxBps;
  int64_t now = 0;
  int64_t send = 0;
  int64_t arrival = static_cast<int64_t>(r.U32()) << 16;
  while (!r.Empty()) {
    const uint8_t op = r.U8();
    now += r.U16();
    switch (op % 5) {
    case 0:
    case 1: {
      const size_t n = r.U8() % 128;
      for (size_t i = 0; i < n; ++i) {
        send += Step(r);
        arrival += Step(r);
        const uint8_t k = r.U8();
        gPackets[i] = PacketFeedback{Extreme(k, send), k == 0xf3 ? kLost : Extreme(r.U8(), arrival),
                                     static_cast<uint32_t>(r.U16()), (k & 1) != 0};
      }
      est.OnFeedback(gPackets, n, now);
      break;
    }
    case 2:
      est.OnRtt(r.U32(), now);
      break;
    case 3:
      est.OnRemb(static_cast<uint64_t>(r.U32()) << (r.U8() % 32), now);
      break;
    case 4:
      minBps = r.U32() % 1'000'000;
      maxBps = r.U32() % 50'000'000;
      est.SetBounds(minBps, maxBps);
      if (maxBps != 0 && maxBps < minBps)
        maxBps = minBps;
      break;
    }
    const uint32_t target = est.TargetBps();
    FUZZ_CHECK(target >= minBps);
    FUZZ_CHECK(maxBps == 0 || target <= maxBps);
    FUZZ_CHECK(std::isfinite(est.LossFraction()));
    FUZZ_CHECK(est.LossFraction() >= 0 && est.LossFraction() <= 1);
    FUZZ_CHECK(std::isfinite(est.ThresholdMs()) && std::isfinite(est.Trend()));
  }
  return 0;
}
