// Send-side bandwidth estimate of one transport (draft-ietf-rmcat-gcc-02):
// how many bits per second we may send toward the receiver.
//
// Composed of small units, fed by transport-cc feedback:
//   InterArrival     packet groups -> delay variation d(i)
//   TrendlineFilter  d(i) -> queuing delay trend (arrival-time filter)
//   OveruseDetector  trend vs adaptive threshold -> Normal/Under/Overusing
//   AimdRateControl  usage + acked rate -> delay-based rate
//   AckedRate        arrivals -> receive rate the feedback reports
//   LossBasedControl loss fraction -> loss-based bound
// TargetBps() = min(delay-based, loss-based, REMB if one came), clamped to
// [minBps, maxBps].
//
// Feedback is validated, not trusted: packets sent no later than what an
// earlier feedback covered (duplicate or reordered feedback), or with times
// too far from zero to subtract safely, are ignored and counted. A receiver
// clock that jumps (reference-time wrap) resets the delay measurement only.
// A REMB before any transport-cc feedback is the estimate (a receiver that
// negotiated only REMB); afterwards it is an upper bound.
// All state is fixed in size: no allocation after construction.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/bwe/AckedRate.hpp"
#include "sluice/bwe/AimdRateControl.hpp"
#include "sluice/bwe/InterArrival.hpp"
#include "sluice/bwe/LossBasedControl.hpp"
#include "sluice/bwe/OveruseDetector.hpp"
#include "sluice/bwe/TrendlineFilter.hpp"

namespace sluice::bwe {

inline constexpr int64_t kLost = INT64_MIN;

struct PacketFeedback {
  int64_t sendUs;    // when we sent it (our monotonic clock, µs)
  int64_t arrivalUs; // when the receiver got it (receiver's clock, µs); kLost if lost
  uint32_t size;     // bytes on the wire
  bool probe;        // a probing packet (for the prober; here it counts like any other)
};

class SendSideEstimator {
public:
  struct Config {
    uint32_t initialBps = 600'000;
    uint32_t minBps = 30'000;
    uint32_t maxBps = 0; // 0: no cap
  };
  using Usage = BandwidthUsage;

  // Times whose magnitude exceeds this are refused: differences of two
  // accepted times cannot overflow (about 146,000 years either way).
  static constexpr int64_t kMaxAbsTimeUs = int64_t{1} << 62;

  explicit SendSideEstimator(const Config& config);

  // One feedback's packets in transport-seq order (only those this sender recorded).
  void OnFeedback(const PacketFeedback* packets, size_t count, int64_t nowUs);
  void OnRtt(uint32_t rttMs, int64_t nowUs);
  // A REMB from a receiver without transport-cc: taken as an upper bound.
  void OnRemb(uint64_t bps, int64_t nowUs);
  void SetBounds(uint32_t minBps, uint32_t maxBps); // maxBps 0: no cap

  uint32_t TargetBps() const;
  uint32_t DelayBasedBps() const { return aimd_.Rate(); }
  uint32_t LossBasedBps() const { return loss_.Rate(); }
  uint32_t AckedBps() const { return ackedBps_; }
  Usage GetUsage() const { return usage_; }
  double LossFraction() const { return loss_.LossFraction(); }

  // Diagnostics.
  uint64_t IgnoredPackets() const { return ignoredPackets_; }
  uint64_t Discontinuities() const { return interArrival_.Discontinuities(); }
  double ThresholdMs() const { return detector_.ThresholdMs(); }
  double Trend() const { return trendline_.Trend(); }

private:
  // c already checked (a max below the min raised to it).
  SendSideEstimator(const Config& c, int checked);

  enum class DelaySample : uint8_t { None, Normal, Overused };
  // Feeds one received packet to the delay path and the acked rate.
  DelaySample OnReceived(const PacketFeedback& p);
  static bool SaneTime(int64_t us) { return us > -kMaxAbsTimeUs && us < kMaxAbsTimeUs; }

  InterArrival interArrival_;
  TrendlineFilter trendline_;
  OveruseDetector detector_;
  AimdRateControl aimd_;
  AckedRate acked_;
  LossBasedControl loss_;
  uint32_t minBps_;
  uint32_t maxBps_;
  uint32_t rembBps_ = 0;
  uint32_t ackedBps_ = 0;
  Usage usage_ = Usage::Normal;
  int64_t coveredSendUs_ = INT64_MIN; // latest send time an earlier feedback reported
  uint64_t ignoredPackets_ = 0;
  bool haveFeedback_ = false;
  bool haveRemb_ = false;
};

} // namespace sluice::bwe
