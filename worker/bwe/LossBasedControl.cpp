#include "sluice/bwe/LossBasedControl.hpp"

#include <algorithm>

namespace sluice::bwe {

LossBasedControl::LossBasedControl(uint32_t initialBps, uint32_t minBps, uint32_t maxBps)
    : rate_(initialBps), minBps_(minBps), maxBps_(maxBps) {
  rate_ = Clamp(rate_);
}

void LossBasedControl::SetBounds(uint32_t minBps, uint32_t maxBps) {
  minBps_ = minBps;
  maxBps_ = maxBps;
  rate_ = Clamp(rate_);
}

void LossBasedControl::SetRate(uint32_t bps) {
  rate_ = Clamp(bps);
}

double LossBasedControl::Clamp(double bps) const {
  bps = std::min(bps, maxBps_ > 0 ? maxBps_ : kCeilingBps);
  return std::max(bps, minBps_);
}

void LossBasedControl::OnPackets(uint32_t packets, uint32_t lost, int64_t nowUs,
                                 uint32_t targetBps) {
  if (packets == 0)
    return;
  if (!windowOpen_) {
    windowStartUs_ = nowUs;
    windowOpen_ = true;
  }
  packets_ += packets;
  lost_ += std::min(lost, packets);
  if (nowUs - windowStartUs_ < kWindowUs || packets_ < kMinPackets)
    return;

  const double p = static_cast<double>(lost_) / packets_;
  lossFraction_ = p;
  const double target = targetBps;
  if (p > kHighLoss)
    rate_ = std::min(rate_, target) * (1 - 0.5 * p);
  else if (p < kLowLoss && rate_ < 2 * target)
    rate_ = std::min(rate_ * kGrowth, 2 * target);
  rate_ = Clamp(rate_);
  packets_ = 0;
  lost_ = 0;
  windowStartUs_ = nowUs;
}

} // namespace sluice::bwe
