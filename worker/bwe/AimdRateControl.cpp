#include "sluice/bwe/AimdRateControl.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::bwe {

namespace {
// Capacity tracking: weight of a new decrease, spread bounds (normalized
// variance, kbit/s) so the "near" band is neither a point nor everything.
constexpr double kCapacityWeight = 0.05;
constexpr double kMinCapacityVar = 0.4;
constexpr double kMaxCapacityVar = 2.5;
constexpr double kBandSigmas = 3;
// The draft sizes the expected packet from a 30 fps video stream whose
// frames are cut into MTU-sized packets.
constexpr double kFramesPerSecond = 30;
constexpr double kMtuBits = 1200 * 8;
constexpr double kMinAdditiveBits = 1000;
constexpr double kAckedHeadroom = 1.5;
constexpr double kAckedSlackBps = 10'000;
} // namespace

AimdRateControl::AimdRateControl(uint32_t initialBps, uint32_t minBps, uint32_t maxBps)
    : rate_(initialBps), minBps_(minBps), maxBps_(maxBps) {
  rate_ = Clamp(rate_);
}

void AimdRateControl::SetBounds(uint32_t minBps, uint32_t maxBps) {
  minBps_ = minBps;
  maxBps_ = maxBps;
  rate_ = Clamp(rate_);
}

void AimdRateControl::SetRate(uint32_t bps) {
  rate_ = Clamp(bps);
}

double AimdRateControl::Clamp(double bps) const {
  bps = std::min(bps, maxBps_ > 0 ? maxBps_ : kCeilingBps);
  return std::max(bps, minBps_);
}

void AimdRateControl::Transition(BandwidthUsage usage) {
  switch (usage) {
  case BandwidthUsage::Overusing:
    state_ = State::Decrease;
    break;
  case BandwidthUsage::Underusing:
    state_ = State::Hold;
    break;
  case BandwidthUsage::Normal:
    state_ = state_ == State::Decrease ? State::Hold : State::Increase;
    break;
  }
}

void AimdRateControl::Update(BandwidthUsage usage, uint32_t ackedBps, int64_t nowUs) {
  const int64_t stepUs = haveLast_ ? std::clamp<int64_t>(nowUs - lastUpdateUs_, 0, kMaxStepUs) : 0;
  lastUpdateUs_ = nowUs;
  haveLast_ = true;
  Transition(usage);
  if (state_ == State::Increase)
    Increase(ackedBps, static_cast<double>(stepUs) / 1e6);
  else if (state_ == State::Decrease)
    Decrease(ackedBps);
  rate_ = Clamp(rate_);
}

double AimdRateControl::ExpectedPacketBits() const {
  const double frameBits = rate_ / kFramesPerSecond;
  const double packetsPerFrame = std::ceil(frameBits / kMtuBits);
  return packetsPerFrame > 0 ? frameBits / packetsPerFrame : kMtuBits;
}

bool AimdRateControl::NearCapacity(double ackedBps) {
  if (capacityKbps_ <= 0 || ackedBps <= 0)
    return false;
  const double kbps = ackedBps / 1000;
  const double sigma = std::sqrt(capacityVar_ * capacityKbps_);
  // More came through than the decreases ever saw: the path got better,
  // what we learned is stale; ramp again.
  if (kbps > capacityKbps_ + kBandSigmas * sigma) {
    capacityKbps_ = -1;
    return false;
  }
  return kbps >= capacityKbps_ - kBandSigmas * sigma;
}

void AimdRateControl::Increase(double ackedBps, double seconds) {
  double next;
  if (NearCapacity(ackedBps)) {
    const double responseSeconds = (rttMs_ + 100.0) / 1000.0;
    const double share = 0.5 * std::min(seconds / responseSeconds, 1.0);
    next = rate_ + std::max(kMinAdditiveBits, share * ExpectedPacketBits());
  } else {
    next = rate_ * std::pow(1 + kIncreasePerSecond, seconds);
  }
  if (ackedBps > 0)
    next = std::min(next, std::max(rate_, kAckedHeadroom * ackedBps + kAckedSlackBps));
  rate_ = std::max(rate_, next);
}

void AimdRateControl::Decrease(double ackedBps) {
  if (ackedBps <= 0) {
    rate_ *= kBeta;
    return;
  }
  LearnCapacity(ackedBps);
  rate_ = std::min(rate_, kBeta * ackedBps);
}

void AimdRateControl::LearnCapacity(double ackedBps) {
  const double kbps = ackedBps / 1000;
  if (capacityKbps_ > 0) {
    const double sigma = std::sqrt(capacityVar_ * capacityKbps_);
    // Far below what we knew: the path got worse, forget the old figure.
    if (kbps < capacityKbps_ - kBandSigmas * sigma)
      capacityKbps_ = -1;
  }
  if (capacityKbps_ <= 0) {
    capacityKbps_ = kbps;
    return;
  }
  capacityKbps_ = (1 - kCapacityWeight) * capacityKbps_ + kCapacityWeight * kbps;
  const double deviation = capacityKbps_ - kbps;
  const double normalized = deviation * deviation / std::max(capacityKbps_, 1.0);
  capacityVar_ = (1 - kCapacityWeight) * capacityVar_ + kCapacityWeight * normalized;
  capacityVar_ = std::clamp(capacityVar_, kMinCapacityVar, kMaxCapacityVar);
}

} // namespace sluice::bwe
