// A consumer's mapping between the producer stream's extended sequence
// numbers and the sequence numbers and timestamps it sends.
//
// A simple consumer shifts seq and ts by constant offsets that change only
// when it re-synchronises (start, resume after pause): so instead of a record
// per sent packet it keeps the last kSegments offset changes. That is the
// whole per-consumer retransmission state (a few dozen bytes): a NACKed
// output seq maps back to the producer's extended seq through the segment
// that contains it, and the packet itself comes from the producer stream's
// ring.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::router {

class SeqMapper {
public:
  static constexpr size_t kSegments = 8;

  // Starts a new segment at producer seq `producerExt`: it will be sent as
  // the next output seq, with timestamps shifted by `tsOffset`.
  void Sync(int64_t producerExt, uint32_t tsOffset) {
    const int64_t out = started_ ? newestOut_ + 1 : producerExt;
    head_ = (head_ + 1) % kSegments;
    segments_[head_] = Segment{out, out - producerExt, tsOffset};
    count_ = count_ < kSegments ? count_ + 1 : count_;
    if (!started_)
      newestOut_ = out - 1;
    started_ = true;
  }

  bool Started() const { return started_; }

  // Output extended seq for a producer packet, or nullopt when it predates
  // the current segment (a late packet from before a re-sync).
  std::optional<int64_t> Map(int64_t producerExt) {
    const Segment& s = segments_[head_];
    const int64_t out = producerExt + s.delta;
    if (out < s.outStart)
      return std::nullopt;
    if (out > newestOut_)
      newestOut_ = out;
    return out;
  }
  uint32_t TsOffset() const { return segments_[head_].tsOffset; }
  int64_t NewestOut() const { return newestOut_; }

  struct Origin {
    int64_t producerExt;
    uint32_t tsOffset;
  };
  // The producer packet a 16-bit output seq (from a NACK) was sent from.
  std::optional<Origin> Lookup(uint16_t outSeq) const {
    if (!started_)
      return std::nullopt;
    const auto newest16 = static_cast<uint16_t>(newestOut_);
    if (rtp::IsNewer(outSeq, newest16))
      return std::nullopt; // never sent
    const int64_t out = newestOut_ - static_cast<int64_t>(rtp::ForwardDiff(outSeq, newest16));
    for (size_t i = 0; i < count_; ++i) {
      const Segment& s = segments_[(head_ + kSegments - i) % kSegments];
      if (out >= s.outStart)
        return Origin{out - s.delta, s.tsOffset};
    }
    return std::nullopt;
  }

private:
  struct Segment {
    int64_t outStart = 0;
    int64_t delta = 0; // out - producer
    uint32_t tsOffset = 0;
  };
  std::array<Segment, kSegments> segments_{};
  size_t head_ = 0;
  size_t count_ = 0;
  int64_t newestOut_ = 0;
  bool started_ = false;
};

} // namespace sluice::router
