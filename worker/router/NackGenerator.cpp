#include "sluice/router/NackGenerator.hpp"

#include <algorithm>

namespace sluice::router {

NackGenerator::NackGenerator(const NackGeneratorConfig& config)
    : config_(config), rttMs_(config.defaultRttMs) {
  // A bound of 0 would track nothing; keep one entry so every path is uniform.
  config_.maxTracked = std::max<uint32_t>(config_.maxTracked, 1);
  entries_.reserve(config_.maxTracked);
}

bool NackGenerator::OnPacket(int64_t extSeq, uint64_t nowMs) {
  if (!started_) {
    started_ = true;
    highest_ = extSeq;
    return false;
  }
  if (extSeq > highest_) {
    const uint64_t gap = static_cast<uint64_t>(extSeq - highest_) - 1;
    if (gap > config_.maxTracked) {
      // Too much lost to repair by NACK: start over from here with a key frame.
      entries_.clear();
      ++stats_.overflows;
      keyFrameNeeded_ = true;
    } else if (gap > 0) {
      const size_t room = config_.maxTracked - entries_.size();
      if (gap > room)
        Abandon(gap - room);
      for (int64_t seq = highest_ + 1; seq < extSeq; ++seq)
        entries_.push_back(Entry{seq, nowMs, 0, 0});
    }
    highest_ = extSeq;
    return false;
  }
  if (extSeq == highest_ || entries_.empty() || extSeq < entries_.front().seq)
    return false; // duplicate, or older than anything tracked
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), extSeq,
                                   [](const Entry& e, int64_t seq) { return e.seq < seq; });
  if (it == entries_.end() || it->seq != extSeq)
    return false; // already received, or given up
  ++(it->retries > 0 ? stats_.recovered : stats_.lateArrivals);
  entries_.erase(it);
  return true;
}

size_t NackGenerator::Collect(uint64_t nowMs, uint16_t* out, size_t cap) {
  const uint64_t retryMs = std::max(rttMs_, config_.minRetryMs);
  size_t written = 0;
  size_t dropped = 0;
  // One pass: compacts kept entries in place, dropping abandoned ones.
  auto keep = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    Entry& e = *it;
    const bool expired = nowMs >= e.missingSinceMs && nowMs - e.missingSinceMs >= config_.maxAgeMs;
    const bool due = e.retries == 0 || (nowMs >= e.lastSentMs && nowMs - e.lastSentMs >= retryMs);
    if (expired || (due && e.retries >= config_.maxRetries)) {
      ++dropped;
      continue;
    }
    if (due && written < cap) {
      out[written++] = static_cast<uint16_t>(e.seq); // low 16 bits, also for negatives
      e.lastSentMs = nowMs;
      ++e.retries;
      ++stats_.requested;
    }
    *keep++ = e;
  }
  entries_.erase(keep, entries_.end());
  if (dropped > 0) {
    stats_.abandoned += dropped;
    keyFrameNeeded_ = true;
  }
  return written;
}

bool NackGenerator::TakeKeyFrameNeeded() {
  const bool needed = keyFrameNeeded_;
  keyFrameNeeded_ = false;
  return needed;
}

void NackGenerator::Reset() {
  entries_.clear();
  started_ = false;
  highest_ = 0;
  keyFrameNeeded_ = false;
}

void NackGenerator::Abandon(size_t count) {
  count = std::min(count, entries_.size());
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(count));
  stats_.abandoned += count;
  if (count > 0)
    keyFrameNeeded_ = true;
}

} // namespace sluice::router
