// A bottleneck link simulated in virtual time, for the estimator's tests.
//
// The sender paces 1200-byte packets at the estimator's TargetBps(). Each
// packet may be lost at random (lossRate), then waits in a FIFO queue that
// drains at capacityBps (tail drop beyond maxQueueUs of queued data), then
// travels propagationUs. The receiver stamps arrivals on its own clock
// (clockOffsetUs ahead of ours) and every 100 ms the sender gets feedback
// about the packets whose fate is known by then (one more propagationUs
// back). Knobs: reorder swaps arrival times of neighbours, duplicate hands
// every feedback over twice.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <utility>
#include <vector>

#include "sluice/bwe/SendSideEstimator.hpp"

namespace sluice::test {

struct LinkConfig {
  double capacityBps = 2'000'000;
  int64_t propagationUs = 25'000;
  double lossRate = 0;
  int64_t maxQueueUs = 1'000'000;
  int64_t clockOffsetUs = 987'654'321;
  double reorderRate = 0;
  bool duplicate = false;
  uint32_t seed = 1;
};

class LinkSim {
public:
  static constexpr uint32_t kPacketBytes = 1200;
  static constexpr int64_t kFeedbackUs = 100'000;

  LinkSim(bwe::SendSideEstimator& estimator, const LinkConfig& config)
      : est_(estimator), cfg_(config), rng_(config.seed) {}

  LinkConfig& Config() { return cfg_; }
  int64_t Now() const { return nowUs_; }
  // Queuing delay a packet sent now would see.
  int64_t QueueDelayUs() const { return linkFreeUs_ > nowUs_ ? linkFreeUs_ - nowUs_ : 0; }
  uint64_t SentPackets() const { return sent_; }

  // Runs until untilUs of virtual time; after each feedback calls
  // afterFeedback(nowUs).
  template <typename F> void Run(int64_t untilUs, F&& afterFeedback) {
    while (true) {
      const int64_t t = std::min(nextSendUs_, nextFeedbackUs_);
      if (t > untilUs)
        break;
      nowUs_ = t;
      if (t == nextSendUs_) {
        Send();
        const double target = std::max<uint32_t>(est_.TargetBps(), 1000);
        nextSendUs_ += static_cast<int64_t>(kPacketBytes * 8 * 1e6 / target);
      } else {
        Feedback();
        afterFeedback(nowUs_);
        nextFeedbackUs_ += kFeedbackUs;
      }
    }
    nowUs_ = untilUs;
  }

private:
  struct InFlight {
    int64_t sendUs;
    int64_t noticeUs; // when the receiver knows its fate
    int64_t arrivalUs;
  };

  void Send() {
    ++sent_;
    const int64_t t = nowUs_;
    if (uniform_(rng_) < cfg_.lossRate) {
      inFlight_.push_back({t, t + cfg_.propagationUs, bwe::kLost});
      return;
    }
    const int64_t start = std::max(t, linkFreeUs_);
    if (start - t > cfg_.maxQueueUs) {
      inFlight_.push_back({t, t + cfg_.propagationUs, bwe::kLost});
      return;
    }
    linkFreeUs_ = start + static_cast<int64_t>(kPacketBytes * 8 * 1e6 / cfg_.capacityBps);
    const int64_t arrival = linkFreeUs_ + cfg_.propagationUs;
    inFlight_.push_back({t, arrival, arrival + cfg_.clockOffsetUs});
  }

  void Feedback() {
    batch_.clear();
    const int64_t cutoff = nowUs_ - cfg_.propagationUs;
    while (!inFlight_.empty() && inFlight_.front().noticeUs <= cutoff) {
      const InFlight& f = inFlight_.front();
      batch_.push_back({f.sendUs, f.arrivalUs, kPacketBytes, false});
      inFlight_.pop_front();
    }
    for (size_t i = 1; i < batch_.size(); ++i) {
      if (batch_[i].arrivalUs != bwe::kLost && batch_[i - 1].arrivalUs != bwe::kLost &&
          uniform_(rng_) < cfg_.reorderRate)
        std::swap(batch_[i].arrivalUs, batch_[i - 1].arrivalUs);
    }
    est_.OnFeedback(batch_.data(), batch_.size(), nowUs_);
    if (cfg_.duplicate)
      est_.OnFeedback(batch_.data(), batch_.size(), nowUs_);
    est_.OnRtt(static_cast<uint32_t>((2 * cfg_.propagationUs + QueueDelayUs()) / 1000), nowUs_);
  }

  bwe::SendSideEstimator& est_;
  LinkConfig cfg_;
  std::mt19937 rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  std::deque<InFlight> inFlight_;
  std::vector<bwe::PacketFeedback> batch_;
  int64_t nowUs_ = 0;
  int64_t nextSendUs_ = 0;
  int64_t nextFeedbackUs_ = kFeedbackUs;
  int64_t linkFreeUs_ = 0;
  uint64_t sent_ = 0;
};

} // namespace sluice::test
