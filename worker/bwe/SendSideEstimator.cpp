#include "sluice/bwe/SendSideEstimator.hpp"

#include <algorithm>

namespace sluice::bwe {

namespace {
SendSideEstimator::Config Checked(SendSideEstimator::Config c) {
  if (c.maxBps != 0 && c.maxBps < c.minBps)
    c.maxBps = c.minBps;
  return c;
}
} // namespace

SendSideEstimator::SendSideEstimator(const Config& config)
    : SendSideEstimator(Checked(config), 0) {}

SendSideEstimator::SendSideEstimator(const Config& c, int /*checked*/)
    : aimd_(c.initialBps, c.minBps, c.maxBps), loss_(c.initialBps, c.minBps, c.maxBps),
      minBps_(c.minBps), maxBps_(c.maxBps) {}

SendSideEstimator::DelaySample SendSideEstimator::OnReceived(const PacketFeedback& p) {
  GroupDelta delta{};
  DelaySample sample = DelaySample::None;
  switch (interArrival_.OnPacket(p.sendUs, p.arrivalUs, &delta)) {
  case InterArrival::Result::None:
    break;
  case InterArrival::Result::Discontinuity:
    // Nothing measured on the old receiver clock compares with the new one.
    trendline_.Reset();
    detector_.Reset();
    acked_.Reset();
    break;
  case InterArrival::Result::Delta: {
    const double variationMs =
        static_cast<double>(delta.arrivalDeltaUs - delta.sendDeltaUs) / 1000.0;
    trendline_.Update(variationMs, delta.arrivalUs);
    sample = DelaySample::Normal;
    if (trendline_.Ready() && detector_.Detect(trendline_.Trend(), delta.sendDeltaUs,
                                               delta.arrivalUs) == Usage::Overusing)
      sample = DelaySample::Overused;
    break;
  }
  }
  acked_.Add(p.arrivalUs, p.size);
  return sample;
}

void SendSideEstimator::OnFeedback(const PacketFeedback* packets, size_t count, int64_t nowUs) {
  if (packets == nullptr)
    return;
  int64_t latestSendUs = coveredSendUs_;
  uint32_t fresh = 0;
  uint32_t lost = 0;
  bool sampled = false;
  bool overused = false;
  for (size_t i = 0; i < count; ++i) {
    const PacketFeedback& p = packets[i];
    // Covered by an earlier feedback (a duplicate, or feedback that arrived
    // out of order), or out of send order: counting it again would skew the
    // loss and rate figures. A packet sent in the same microsecond as the
    // last one an earlier feedback reported is lost to this rule; one
    // packet's information, at worst.
    const bool lostPacket = p.arrivalUs == kLost;
    if (!SaneTime(p.sendUs) || p.sendUs <= coveredSendUs_ || p.sendUs < latestSendUs ||
        (!lostPacket && !SaneTime(p.arrivalUs))) {
      ++ignoredPackets_;
      continue;
    }
    latestSendUs = p.sendUs;
    ++fresh;
    if (lostPacket) {
      ++lost;
      continue;
    }
    const DelaySample sample = OnReceived(p);
    sampled |= sample != DelaySample::None;
    overused |= sample == DelaySample::Overused;
  }
  coveredSendUs_ = latestSendUs;
  if (fresh == 0)
    return;
  haveFeedback_ = true;
  ackedBps_ = acked_.Rate();
  if (sampled) {
    // An overuse anywhere in this feedback counts, even if the last group
    // already read normal: one decision per feedback must not miss it.
    usage_ = overused ? Usage::Overusing : detector_.State();
    aimd_.Update(usage_, ackedBps_, nowUs);
  }
  loss_.OnPackets(fresh, lost, nowUs, TargetBps());
}

void SendSideEstimator::OnRtt(uint32_t rttMs, int64_t /*nowUs*/) {
  aimd_.SetRtt(std::clamp<uint32_t>(rttMs, 1, 10'000));
}

void SendSideEstimator::OnRemb(uint64_t bps, int64_t /*nowUs*/) {
  rembBps_ = static_cast<uint32_t>(std::min<uint64_t>(bps, UINT32_MAX));
  haveRemb_ = true;
  if (!haveFeedback_) {
    // No transport-cc from this receiver: its REMB is the only estimate.
    aimd_.SetRate(rembBps_);
    loss_.SetRate(rembBps_);
  }
}

void SendSideEstimator::SetBounds(uint32_t minBps, uint32_t maxBps) {
  const Config c = Checked(Config{0, minBps, maxBps});
  minBps_ = c.minBps;
  maxBps_ = c.maxBps;
  aimd_.SetBounds(minBps_, maxBps_);
  loss_.SetBounds(minBps_, maxBps_);
}

uint32_t SendSideEstimator::TargetBps() const {
  uint32_t target = std::min(aimd_.Rate(), loss_.Rate());
  if (haveRemb_)
    target = std::min(target, rembBps_);
  if (maxBps_ != 0)
    target = std::min(target, maxBps_);
  return std::max(target, minBps_);
}

} // namespace sluice::bwe
