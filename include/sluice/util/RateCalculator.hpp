// Bitrate over the last second, in fixed 100 ms buckets.
//
// 96 bytes, no allocation: streams and transports keep several of these
// (rtp/rtx, in/out). Buckets older than the window are cleared lazily when
// time moves on, so a silent stream reads 0 without a timer.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::util {

class RateCalculator {
public:
  static constexpr uint32_t kWindowMs = 1000;
  static constexpr uint32_t kBuckets = 10;
  static constexpr uint32_t kBucketMs = kWindowMs / kBuckets;

  void Update(uint32_t bytes, uint64_t nowMs) {
    Advance(nowMs);
    buckets_[static_cast<size_t>((nowMs / kBucketMs) % kBuckets)] += bytes;
    total_ += bytes;
  }

  // Bits per second over the window ending now.
  uint32_t Rate(uint64_t nowMs) {
    Advance(nowMs);
    return static_cast<uint32_t>(std::min<uint64_t>(total_ * 8ull * 1000ull / kWindowMs, UINT32_MAX));
  }

private:
  void Advance(uint64_t nowMs) {
    const uint64_t bucket = nowMs / kBucketMs;
    if (bucket <= newest_)
      return;
    const uint64_t steps = bucket - newest_;
    if (steps >= kBuckets) {
      buckets_.fill(0);
      total_ = 0;
    } else {
      for (uint64_t b = newest_ + 1; b <= bucket; ++b) {
        uint64_t& slot = buckets_[static_cast<size_t>(b % kBuckets)];
        total_ -= slot;
        slot = 0;
      }
    }
    newest_ = bucket;
  }

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t total_ = 0;
  uint64_t newest_ = 0;
};

} // namespace sluice::util
