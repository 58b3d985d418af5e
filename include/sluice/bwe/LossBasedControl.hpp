// Loss-based bound (draft-ietf-rmcat-gcc-02 §6).
//
// Losses are counted over windows of at least kWindowUs and kMinPackets
// (fewer packets say nothing reliable). At each window's end, with p the
// window's loss fraction:
//   p > 10%: bound = min(bound, target) × (1 - 0.5 p)   (back off)
//   p <  2%: bound × 1.05                              (room to grow)
//   else   : hold
// Backing off starts from the current target, so a bound that grew high
// during a clean period bites at once. Growth stops at twice the target:
// the bound must stay a number that means something.
#pragma once

#include <cstdint>

namespace sluice::bwe {

class LossBasedControl {
public:
  static constexpr int64_t kWindowUs = 500'000;
  static constexpr uint32_t kMinPackets = 20;
  static constexpr double kHighLoss = 0.10;
  static constexpr double kLowLoss = 0.02;
  static constexpr double kGrowth = 1.05;
  static constexpr double kCeilingBps = 4e9; // rates must stay uint32_t

  LossBasedControl(uint32_t initialBps, uint32_t minBps, uint32_t maxBps);

  void SetBounds(uint32_t minBps, uint32_t maxBps);
  void SetRate(uint32_t bps);
  // One feedback's new packets: how many, how many lost; targetBps: what
  // the estimator currently allows (the back-off base).
  void OnPackets(uint32_t packets, uint32_t lost, int64_t nowUs, uint32_t targetBps);

  uint32_t Rate() const { return static_cast<uint32_t>(rate_); }
  double LossFraction() const { return lossFraction_; }

private:
  double Clamp(double bps) const;

  double rate_;
  double minBps_;
  double maxBps_;
  double lossFraction_ = 0;
  uint32_t packets_ = 0;
  uint32_t lost_ = 0;
  int64_t windowStartUs_ = 0;
  bool windowOpen_ = false;
};

} // namespace sluice::bwe
