// NackGenerator: the receive side of generic NACK (RFC 4585 §6.2.1) for ONE
// producer stream. It watches extended sequence numbers arrive, remembers
// which are missing, and says which to request now.
//
// Input: extended (unwrapped, int64_t) seqs from rtp::SeqUnwrapper at the
// stream's edge, so there is no wraparound in here; Collect hands back the
// low 16 bits for the NACK FCI (PID + BLP are built by the RTCP writer).
//
// Rules:
//  - The first packet only sets the reference. A packet newer than the
//    highest seen makes every seq in between a missing entry, due at once
//    (never sent). A packet at or below the highest removes its entry if
//    tracked (returns true: "recovered" when it had been NACKed, a "late
//    arrival" when it had not, i.e. mere reordering), else it is ignored.
//  - Bound: at most maxTracked entries, in a fixed array reserved at
//    construction (no allocation afterwards). A gap wider than maxTracked
//    clears the list, counts an overflow and asks for a key frame. A gap
//    that fits but would exceed the bound pushes out the oldest entries,
//    counted as abandoned.
//  - Collect(now) walks entries oldest first. An entry older than maxAgeMs
//    (since it went missing) is abandoned. One that is due (never sent, or
//    last sent at least max(rtt, minRetryMs) ago) is abandoned if it was
//    already sent maxRetries times, else written out (while room lasts) and
//    its retry count bumped. Entries not written for lack of room stay due.
//  - Any abandonment or overflow raises the key-frame flag (a decoder that
//    lost a packet for good needs one); TakeKeyFrameNeeded reads and clears it.
//  - Until SetRtt, rtt is config.defaultRttMs.
//
// Memory: maxTracked * 32 bytes (16 KB at the default 512) plus the object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::router {

struct NackGeneratorConfig {
  uint32_t maxTracked = 512;   // missing seqs tracked at most (fixed array, bound)
  uint32_t maxRetries = 10;    // NACKs per seq at most
  uint32_t minRetryMs = 20;    // never re-NACK a seq sooner than this
  uint32_t maxAgeMs = 1500;    // give a seq up this long after it went missing
  uint32_t defaultRttMs = 100; // retry interval basis until the first SetRtt
};

class NackGenerator {
public:
  struct Stats {
    uint64_t requested = 0;    // seqs put into NACKs, counting retries
    uint64_t recovered = 0;    // tracked seqs that arrived after being NACKed
    uint64_t lateArrivals = 0; // tracked seqs that arrived before any NACK (reordering)
    uint64_t abandoned = 0;    // gave up: maxRetries, maxAgeMs or pushed out by the bound
    uint64_t overflows = 0;    // gaps wider than maxTracked (list cleared)
  };

  explicit NackGenerator(const NackGeneratorConfig& config = {});

  // A packet arrived (media, or repaired from RTX). True if it filled a gap
  // being tracked.
  bool OnPacket(int64_t extSeq, uint64_t nowMs);

  // Writes up to cap seqs due for a (re)NACK at nowMs, oldest first; see the
  // rules above. Returns how many were written.
  size_t Collect(uint64_t nowMs, uint16_t* out, size_t cap);

  void SetRtt(uint32_t rttMs) { rttMs_ = rttMs; }

  // True once after an overflow or an abandonment, then false until the next.
  bool TakeKeyFrameNeeded();

  // Forgets the stream (new sequence space): no entries, no reference seq,
  // no pending key-frame request. Stats keep counting.
  void Reset();

  const Stats& GetStats() const { return stats_; }
  size_t Missing() const { return entries_.size(); }
  // Bytes held for entries; fixed from construction.
  size_t MemoryBytes() const { return entries_.capacity() * sizeof(Entry); }

private:
  struct Entry {
    int64_t seq;
    uint64_t missingSinceMs;
    uint64_t lastSentMs;
    uint32_t retries; // NACKs sent so far; 0 = never sent
  };

  void Abandon(size_t count);

  NackGeneratorConfig config_;
  // Ascending by seq, all below highest_. size() <= config_.maxTracked ==
  // capacity(), so push_back never reallocates.
  std::vector<Entry> entries_;
  bool started_ = false;
  int64_t highest_ = 0;
  uint32_t rttMs_;
  bool keyFrameNeeded_ = false;
  Stats stats_;
};

} // namespace sluice::router
