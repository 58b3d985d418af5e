#include "sluice/bwe/OveruseDetector.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::bwe {

BandwidthUsage OveruseDetector::Detect(double trend, int64_t sendDeltaUs, int64_t arrivalUs) {
  if (trend > threshold_) {
    overUs_ += std::clamp<int64_t>(sendDeltaUs, 0, kMaxStepUs);
    ++overCount_;
    // Above γ long enough and not falling back: the queue keeps growing.
    if (overUs_ >= kOveruseUs && overCount_ > 1 && trend >= previousTrend_)
      state_ = BandwidthUsage::Overusing;
  } else if (trend < -threshold_) {
    overUs_ = 0;
    overCount_ = 0;
    state_ = BandwidthUsage::Underusing;
  } else {
    overUs_ = 0;
    overCount_ = 0;
    state_ = BandwidthUsage::Normal;
  }
  previousTrend_ = trend;
  Adapt(trend, arrivalUs);
  return state_;
}

void OveruseDetector::Adapt(double trend, int64_t arrivalUs) {
  const int64_t stepUs =
      haveLast_ ? std::clamp<int64_t>(arrivalUs - lastArrivalUs_, 0, kMaxStepUs) : 0;
  lastArrivalUs_ = arrivalUs;
  haveLast_ = true;
  const double magnitude = std::fabs(trend);
  if (magnitude > threshold_ + kMaxJumpMs)
    return;
  const double gain = magnitude < threshold_ ? kDown : kUp;
  threshold_ += gain * (magnitude - threshold_) * (static_cast<double>(stepUs) / 1000.0);
  threshold_ = std::clamp(threshold_, kMinThresholdMs, kMaxThresholdMs);
}

void OveruseDetector::Reset() {
  // The threshold describes the path's jitter, which a receiver clock jump
  // does not change: keep it.
  const double threshold = threshold_;
  *this = OveruseDetector{};
  threshold_ = threshold;
}

} // namespace sluice::bwe
