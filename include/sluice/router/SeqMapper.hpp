// A consumer stream's mapping between the producer streams' extended
// sequence numbers and the sequence numbers, timestamps and payload rewrites
// it sends.
//
// The mapping is constant over runs of output seqs and changes only when the
// stream re-synchronises (start, resume, a switch to another source stream),
// drops a packet (a layer above its target: later packets move down by one
// so the output has no gap), or changes its payload rewrite (LayerRewrite).
// So instead of a record per sent packet it keeps the last few runs
// (segments). That is the whole per-stream retransmission state: a NACKed
// output seq maps back through the segment that contains it to the source
// stream and packet it was sent from, and to the rewrite it was sent with;
// the packet itself comes from that stream's ring. A simple consumer needs
// a handful of segments (it only re-syncs); a layered one drops frames
// several times a second and keeps more (kLayeredSegments: seconds of them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "sluice/rtp/SeqMath.hpp"
#include "sluice/rtp/codecs/LayeredPayload.hpp"

namespace sluice::router {

class SeqMapper {
public:
  static constexpr size_t kSegments = 8;
  static constexpr size_t kLayeredSegments = 64;
  using LayerRewrite = rtp::codecs::LayerRewrite;

  explicit SeqMapper(size_t segments = kSegments)
      : segments_(std::make_unique<Segment[]>(segments)), capacity_(segments) {}

  // Starts a new segment at producer seq `producerExt` of source stream
  // `source`: it will be sent as the next output seq, with timestamps shifted
  // by `tsOffset`.
  void Sync(int64_t producerExt, uint32_t tsOffset, uint8_t source = 0) {
    const int64_t out = started_ ? newestOut_ + 1 : producerExt;
    Push(Segment{out, out - producerExt, tsOffset, Head().layers, source});
    if (!started_)
      newestOut_ = out - 1;
    started_ = true;
    newestProducer_ = producerExt - 1;
    pendingShift_ = 0;
    segmentUsed_ = false;
  }

  bool Started() const { return started_; }

  // Output extended seq for a producer packet sent with `layers`, or nullopt
  // when it predates the current segment (a late packet from before a
  // re-sync) or is a late packet whose rewrite differs from its segment's.
  std::optional<int64_t> Map(int64_t producerExt, const LayerRewrite& layers = {}) {
    if (producerExt > newestProducer_) {
      Advance(layers);
      newestProducer_ = producerExt;
    } else if (!(layers == Head().layers)) {
      return std::nullopt;
    }
    const Segment& s = Head();
    const int64_t out = producerExt + s.delta;
    if (out < s.outStart)
      return std::nullopt;
    if (out > newestOut_)
      newestOut_ = out;
    segmentUsed_ = true;
    return out;
  }

  // The consumer does not send producer packet `producerExt`: packets after it
  // move down by one. Only packets newer than anything mapped move the rest;
  // a late one leaves its hole (a NACK for it finds a packet above the caps).
  void Skip(int64_t producerExt) {
    if (producerExt <= newestProducer_)
      return;
    ++pendingShift_;
    newestProducer_ = producerExt;
  }

  uint32_t TsOffset() const { return Head().tsOffset; }
  uint8_t Source() const { return Head().source; }
  int64_t NewestOut() const { return newestOut_; }

  struct Origin {
    int64_t producerExt;
    uint32_t tsOffset;
    LayerRewrite layers;
    uint8_t source;
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
      const Segment& s = segments_[(head_ + capacity_ - i) % capacity_];
      if (out >= s.outStart)
        return Origin{out - s.delta, s.tsOffset, s.layers, s.source};
    }
    return std::nullopt;
  }

  size_t FootprintBytes() const { return capacity_ * sizeof(Segment); }

private:
  struct Segment {
    int64_t outStart = 0;
    int64_t delta = 0; // out - producer
    uint32_t tsOffset = 0;
    LayerRewrite layers;
    uint8_t source = 0; // producer encoding index
  };

  Segment& Head() { return segments_[head_]; }
  const Segment& Head() const { return segments_[head_]; }

  void Push(const Segment& s) {
    head_ = (head_ + 1) % capacity_;
    segments_[head_] = s;
    count_ = count_ < capacity_ ? count_ + 1 : count_;
  }

  // A newer packet: fold pending drops and a changed rewrite into the head
  // segment (nothing sent from it yet) or into a new one.
  void Advance(const LayerRewrite& layers) {
    if (pendingShift_ == 0 && layers == Head().layers)
      return;
    if (!segmentUsed_) {
      Head().delta -= pendingShift_;
      Head().layers = layers;
    } else {
      Segment next = Head();
      next.outStart = newestOut_ + 1;
      next.delta -= pendingShift_;
      next.layers = layers;
      Push(next);
      segmentUsed_ = false;
    }
    pendingShift_ = 0;
  }

  std::unique_ptr<Segment[]> segments_;
  size_t capacity_;
  size_t head_ = 0;
  size_t count_ = 0;
  int64_t newestOut_ = 0;
  int64_t newestProducer_ = 0;
  int64_t pendingShift_ = 0;
  bool started_ = false;
  bool segmentUsed_ = false;
};

} // namespace sluice::router
