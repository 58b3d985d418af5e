// Receive rate reported by feedback: bytes by arrival time (receiver clock)
// over the last kWindowUs, in kBuckets fixed buckets.
//
// This is R_hat of draft-ietf-rmcat-gcc-02 §5.5, what got through the
// bottleneck, which a decrease is based on. Arrivals older than the window
// are dropped; an arrival far outside it (before it by kResetUs or more, a
// receiver clock that went back) starts the measurement over. Rate() is 0
// until the samples span kMinSpanUs: a few packets give no rate.
#pragma once

#include <array>
#include <cstdint>

namespace sluice::bwe {

class AckedRate {
public:
  static constexpr int64_t kBucketUs = 50'000;
  static constexpr uint32_t kBuckets = 10;
  static constexpr int64_t kWindowUs = kBucketUs * kBuckets;
  static constexpr int64_t kMinSpanUs = 200'000;
  static constexpr int64_t kResetUs = 2'000'000;

  void Add(int64_t arrivalUs, uint32_t bytes);
  uint32_t Rate() const;
  void Reset();

private:
  void Start(int64_t arrivalUs);

  std::array<uint64_t, kBuckets> bytes_{};
  uint64_t total_ = 0;
  int64_t originUs_ = 0; // arrival the bucket indexes count from
  int64_t firstUs_ = 0;  // first arrival since the measurement began
  int64_t newestUs_ = 0; // latest arrival
  int64_t newestBucket_ = 0;
  bool started_ = false;
};

} // namespace sluice::bwe
