// Delay-based rate controller (draft-ietf-rmcat-gcc-02 §5.5).
//
// A state machine driven by the detector's signal:
//   signal \ state  Hold       Increase   Decrease
//   Overusing       Decrease   Decrease   Decrease
//   Normal          Increase   Increase   Hold
//   Underusing      Hold       Hold       Hold
// Increase is multiplicative (kIncreasePerSecond, about 8%/s) while the link
// capacity is unknown, and additive (half an expected packet per response
// time, RTT + 100 ms) once the acked rate is near the rates seen at past
// decreases: near convergence we creep, far from it we ramp. Decrease sets
// the rate to kBeta × the acked rate (what actually came through the
// bottleneck), never upward. Underusing holds: the queue is draining and
// the acked rate overstates what the path carries steadily.
// An increase may not take the rate beyond 1.5 × the acked rate (+10 kbit/s):
// a sender that uses only part of the estimate cannot prove the rest.
#pragma once

#include <cstdint>

#include "sluice/bwe/OveruseDetector.hpp"

namespace sluice::bwe {

class AimdRateControl {
public:
  static constexpr double kIncreasePerSecond = 0.08;
  static constexpr double kBeta = 0.85;
  static constexpr int64_t kMaxStepUs = 1'000'000;
  static constexpr uint32_t kDefaultRttMs = 200;
  // Without a configured maximum: rates must stay uint32_t.
  static constexpr double kCeilingBps = 4e9;

  AimdRateControl(uint32_t initialBps, uint32_t minBps, uint32_t maxBps);

  void SetBounds(uint32_t minBps, uint32_t maxBps);
  void SetRtt(uint32_t rttMs) { rttMs_ = rttMs; }
  // Takes a rate from elsewhere (a REMB while no feedback came).
  void SetRate(uint32_t bps);
  // One step; ackedBps 0 when not known yet.
  void Update(BandwidthUsage usage, uint32_t ackedBps, int64_t nowUs);

  uint32_t Rate() const { return static_cast<uint32_t>(rate_); }
  // The link capacity the decreases measured, 0 while unknown.
  uint32_t LinkCapacityBps() const {
    return capacityKbps_ > 0 ? static_cast<uint32_t>(capacityKbps_ * 1000) : 0;
  }

private:
  enum class State : uint8_t { Hold, Increase, Decrease };

  void Transition(BandwidthUsage usage);
  void Increase(double ackedBps, double seconds);
  void Decrease(double ackedBps);
  void LearnCapacity(double ackedBps);
  bool NearCapacity(double ackedBps);
  double ExpectedPacketBits() const;
  double Clamp(double bps) const;

  double rate_;
  double minBps_;
  double maxBps_; // 0: no cap
  // Mean (kbit/s) and variance (normalized by the mean) of the acked rate at
  // decreases: the capacity estimate that picks additive over multiplicative.
  double capacityKbps_ = -1;
  double capacityVar_ = 0.4;
  uint32_t rttMs_ = kDefaultRttMs;
  int64_t lastUpdateUs_ = 0;
  bool haveLast_ = false;
  State state_ = State::Increase;
};

} // namespace sluice::bwe
