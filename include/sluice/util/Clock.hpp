// Time source for everything that keeps time in the worker.
//
// Invariant: NowMs() never goes backwards. Production code reads the libuv
// loop time (cached once per loop iteration, so many packets in one wake-up
// share one reading); tests use ManualClock to jump hours without sleeping.
#pragma once

#include <cstdint>

namespace sluice::util {

class Clock {
public:
  virtual ~Clock() = default;
  // Milliseconds on a monotonic scale with an arbitrary origin.
  virtual uint64_t NowMs() const = 0;
};

// A clock the test moves by hand.
class ManualClock final : public Clock {
public:
  explicit ManualClock(uint64_t startMs = 1000) : nowMs_(startMs) {}
  uint64_t NowMs() const override { return nowMs_; }
  void AdvanceMs(uint64_t ms) { nowMs_ += ms; }
  void SetMs(uint64_t ms) {
    if (ms > nowMs_)
      nowMs_ = ms;
  }

private:
  uint64_t nowMs_;
};

// Monotonic wall clock (CLOCK_MONOTONIC), for code that runs without a loop.
class SteadyClock final : public Clock {
public:
  uint64_t NowMs() const override;
};

} // namespace sluice::util

namespace sluice::util {

// Wall-clock (CLOCK_REALTIME) milliseconds since the Unix epoch: only for
// NTP timestamps in RTCP sender reports, never for intervals.
uint64_t WallClockMs();

} // namespace sluice::util
