// Arrival-time filter: the trend of the queuing delay
// (draft-ietf-rmcat-gcc-02 §5.3 describes a Kalman filter; this is the
// linear-regression alternative, which needs no noise model).
//
// Every group sample d(i) adds to an accumulated delay (the queuing delay up
// to a constant); that is smoothed exponentially and the last kWindow points
// (arrival time, smoothed delay) get a least-squares line. Its slope is how
// fast the bottleneck queue grows (ms of delay per ms): 0.1 means we send
// about 10% above what the link drains. The detector compares a scaled slope
// against its threshold: slope × min(samples, kMaxScale) × kGain, so a young
// filter (few samples) speaks softly.
// Fixed-size window: no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::bwe {

class TrendlineFilter {
public:
  static constexpr size_t kWindow = 20;
  static constexpr double kSmoothing = 0.9;
  static constexpr double kGain = 4.0;
  static constexpr uint32_t kMaxScale = 60;

  // One sample: delay variation d(i) in ms, the group's arrival time (µs).
  void Update(double delayVariationMs, int64_t arrivalUs);
  void Reset();

  // The window is full: Trend() means something.
  bool Ready() const { return size_ == kWindow; }
  // Scaled slope, in the detector's (ms-like) units.
  double Trend() const { return trend_; }
  double Slope() const { return slope_; }

private:
  std::array<double, kWindow> x_{}; // ms since firstArrivalUs_
  std::array<double, kWindow> y_{}; // smoothed accumulated delay, ms
  size_t head_ = 0;
  size_t size_ = 0;
  double accumulated_ = 0;
  double smoothed_ = 0;
  double slope_ = 0;
  double trend_ = 0;
  uint32_t samples_ = 0;
  int64_t firstArrivalUs_ = 0;
  bool haveFirst_ = false;
};

} // namespace sluice::bwe
