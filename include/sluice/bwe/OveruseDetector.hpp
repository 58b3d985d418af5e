// Over-use detector with an adaptive threshold (draft-ietf-rmcat-gcc-02 §5.4).
//
// The threshold γ follows |m| (the filter's trend): up quickly (K_u) when the
// trend leaves it, down slowly (K_d) otherwise, so a path with jittery
// delay does not read as congested and a calm one reacts to small growth.
// Samples more than kMaxJumpMs beyond γ do not move it (one spike must not
// make the detector deaf). γ stays within [kMinThresholdMs, kMaxThresholdMs].
// Overusing is declared once m has stayed above γ for kOveruseUs of send time
// and did not shrink since the last sample; Underusing when m < -γ.
#pragma once

#include <cstdint>

namespace sluice::bwe {

enum class BandwidthUsage : uint8_t { Normal, Underusing, Overusing };

class OveruseDetector {
public:
  static constexpr double kInitialThresholdMs = 12.5;
  static constexpr double kMinThresholdMs = 6;
  static constexpr double kMaxThresholdMs = 600;
  static constexpr double kUp = 0.01;      // K_u, per ms
  static constexpr double kDown = 0.00018; // K_d, per ms
  static constexpr double kMaxJumpMs = 15;
  static constexpr int64_t kMaxStepUs = 100'000; // longest time step of one adaptation
  static constexpr int64_t kOveruseUs = 10'000;

  // One trend sample: m, the send-time span of the group it came from, and
  // its arrival time (receiver clock) for the threshold's time step.
  BandwidthUsage Detect(double trend, int64_t sendDeltaUs, int64_t arrivalUs);
  void Reset();

  BandwidthUsage State() const { return state_; }
  double ThresholdMs() const { return threshold_; }

private:
  void Adapt(double trend, int64_t arrivalUs);

  double threshold_ = kInitialThresholdMs;
  double previousTrend_ = 0;
  int64_t overUs_ = 0; // send time spent above γ
  uint32_t overCount_ = 0;
  int64_t lastArrivalUs_ = 0;
  bool haveLast_ = false;
  BandwidthUsage state_ = BandwidthUsage::Normal;
};

} // namespace sluice::bwe
