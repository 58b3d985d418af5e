#include "sluice/bwe/TrendlineFilter.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::bwe {

void TrendlineFilter::Update(double delayVariationMs, int64_t arrivalUs) {
  if (!haveFirst_) {
    firstArrivalUs_ = arrivalUs;
    haveFirst_ = true;
  }
  ++samples_;
  accumulated_ += delayVariationMs;
  smoothed_ = kSmoothing * smoothed_ + (1 - kSmoothing) * accumulated_;

  x_[head_] = static_cast<double>(arrivalUs - firstArrivalUs_) / 1000.0;
  y_[head_] = smoothed_;
  head_ = (head_ + 1) % kWindow;
  size_ = std::min(size_ + 1, kWindow);
  if (size_ < kWindow)
    return;

  double meanX = 0;
  double meanY = 0;
  for (size_t i = 0; i < kWindow; ++i) {
    meanX += x_[i];
    meanY += y_[i];
  }
  meanX /= kWindow;
  meanY /= kWindow;
  double covariance = 0;
  double spread = 0;
  for (size_t i = 0; i < kWindow; ++i) {
    covariance += (x_[i] - meanX) * (y_[i] - meanY);
    spread += (x_[i] - meanX) * (x_[i] - meanX);
  }
  // All points at one arrival time (a burst the grouping did not merge):
  // no slope to read, keep the last one.
  if (spread > 1e-9 && std::isfinite(covariance))
    slope_ = covariance / spread;
  const double scale = static_cast<double>(std::min(samples_, kMaxScale));
  trend_ = slope_ * scale * kGain;
}

void TrendlineFilter::Reset() {
  *this = TrendlineFilter{};
}

} // namespace sluice::bwe
