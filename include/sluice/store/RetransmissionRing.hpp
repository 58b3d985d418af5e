// RetransmissionRing: the packets of ONE producer stream kept to answer NACKs
// from all of its consumers (ARCHITECTURE.md, "Kept for one window"). It holds handles into the
// PacketPool, never copies.
//
// Indexing: by extended sequence number (int64_t, possibly negative, as
// rtp::SeqUnwrapper hands them out at the stream's edge), so there is no
// wraparound in here. Packets sit in fixed buckets of kBucketSlots handles;
// bucket b covers seqs [64b, 64b + 63]. A circular table of maxBuckets
// bucket pointers (a power of two) gives O(1) Insert and Lookup.
//
// The window rule (exact; the fuzzer's model checks it):
//  - Time: W = clamp(k * rtt + marginMs, floorMs, ceilingMs) for the media
//    kind, rtt from SetRtt (the largest RTT among the stream's consumers);
//    until the first SetRtt, W = ceilingMs. The ring keeps a horizon H that
//    Insert and Expire raise to max(H, now - W) and that never falls. A packet
//    stored at time t is live while t >= H; Lookup(now) returns it only if
//    t >= max(H, now - W(now)). So a lookup never returns a packet older than
//    the window, and returns any packet stored within it unless the window
//    was smaller at some Insert/Expire since, or the packet bound evicted it.
//  - Packets: let N be the bucket of the newest seq inserted. Only seqs in
//    buckets (N - maxBuckets, N] are kept, so at most maxBuckets * 64 handles
//    (>= maxPackets). A forward jump of maxBuckets buckets or more releases
//    everything in O(maxBuckets), never by walking slots. Older seqs are
//    rejected (counted).
//  - Duplicates: if the seq holds a live packet the new one is ignored
//    (counted; the first copy's arrival time keeps counting); a dead
//    (expired but not yet released) one is replaced.
//  - Release: Insert and Expire walk from the oldest held seq upwards,
//    releasing dead packets and stopping at the first live one. Arrival is
//    nearly in seq order, so this frees everything outside the window except
//    packets queued behind a reordered late arrival (they go when it does).
//    Buckets with no handle left go back to a thread-wide cache of at most
//    kBucketCacheMax buckets (the rest are freed), so a steady stream reuses
//    buckets with no allocation, and a ring whose window shrinks holds fewer.
//
// Ownership: the ring holds references; the pool they came from must outlive
// it. A packet is stored in at most one ring (its stream's).
//
// Memory: the table is maxBuckets * 8 bytes; a bucket is 64 handles
// (8 bytes each, 16 in debug builds) + 8 = 520 bytes.
#pragma once

#include <cstdint>
#include <memory>

#include "sluice/store/PacketPool.hpp"

namespace sluice::store {

struct RingWindowConfig {
  double k = 3.0;         // RTTs a packet must survive (a NACK plus retries)
  uint32_t marginMs = 40; // NACK generation / scheduling slack
  uint32_t floorMs = 100; // never less, even on a LAN
  uint32_t ceilingMs = 1000;
  uint32_t maxPackets = 2048; // bound in packets, rounded up to power-of-two buckets

  // Video: 3 RTTs + 40 ms, 100..1000 ms, 2048 packets (~2 s at 1000 pps).
  static RingWindowConfig Video() { return RingWindowConfig(); }
  // Audio: late audio is useless sooner; 2 RTTs + 20 ms, 60..500 ms, 256 packets.
  static RingWindowConfig Audio() { return RingWindowConfig{2.0, 20, 60, 500, 256}; }
};

// Totals over all rings of the calling thread, maintained incrementally (no
// iteration) for the worker dump.
struct RingTotals {
  uint64_t rings = 0;
  uint64_t packetsHeld = 0;
  uint64_t bucketsHeld = 0;   // attached to some ring
  uint64_t bucketsCached = 0; // spare, in the thread's bucket cache
  uint64_t releasedByTimer = 0;
};

class RetransmissionRing {
public:
  static constexpr uint32_t kBucketSlots = 64;
  static constexpr uint32_t kBucketCacheMax = 64; // per thread, ~33 KB
  static constexpr uint32_t kReservedBuckets = 2; // cached per ring created

  struct Stats {
    uint64_t packetsHeld = 0;
    uint64_t bucketsHeld = 0;
    uint64_t releasedByTimer = 0;    // by Expire()
    uint64_t releasedOnInsert = 0;   // aged out by the walk inside Insert()
    uint64_t releasedByCapacity = 0; // pushed out by the packet bound / a jump
    uint64_t duplicates = 0;
    uint64_t rejectedTooOld = 0;
    uint32_t windowMs = 0;
    uint32_t maxBuckets = 0;
  };

  explicit RetransmissionRing(const RingWindowConfig& config = RingWindowConfig::Video());
  ~RetransmissionRing();
  RetransmissionRing(const RetransmissionRing&) = delete;
  RetransmissionRing& operator=(const RetransmissionRing&) = delete;

  // Stores `packet` under extSeq (stamping its slot with extSeq and nowMs)
  // after releasing what fell out of the window. False when not stored
  // (empty handle, duplicate of a live packet, older than the packet bound).
  bool Insert(int64_t extSeq, const PacketRef& packet, uint64_t nowMs);

  // The packet stored under extSeq if live at nowMs (see the window rule),
  // else an empty handle.
  PacketRef Lookup(int64_t extSeq, uint64_t nowMs) const;

  // Timer entry: releases what fell out of the window even when the stream is
  // silent. Counts releases as releasedByTimer.
  void Expire(uint64_t nowMs);

  // Largest RTT among the stream's consumers; takes effect at the next
  // Insert/Expire (and at once for Lookup).
  void SetRtt(uint32_t rttMs);
  uint32_t WindowMs() const { return windowMs_; }

  // Releases everything (stream reset); the next Insert starts afresh.
  void Clear();

  Stats GetStats() const;
  uint64_t PacketsHeld() const { return stats_.packetsHeld; }
  uint64_t Duplicates() const { return stats_.duplicates; }
  uint64_t BucketsHeld() const { return stats_.bucketsHeld; }

  static const RingTotals& ThreadTotals();
  // Frees the thread's cached spare buckets (shutdown, tests).
  static void TrimBucketCache();

private:
  struct Bucket;
  struct BucketCache;
  static BucketCache& Cache();
  static Bucket* TakeBucket();
  static void RecycleBucket(Bucket* bucket);

  void Advance(int64_t horizonCandidate, uint64_t* releasedCounter);
  void DropBucketsBelow(int64_t firstKeptBucket);
  void ReleaseBucketAt(int64_t bucketIndex, uint64_t* releasedCounter);
  Bucket*& TableAt(int64_t bucketIndex) const {
    return table_[static_cast<uint64_t>(bucketIndex) & tableMask_];
  }
  int64_t EffectiveHorizon(uint64_t nowMs) const;

  RingWindowConfig config_;
  uint32_t windowMs_;
  uint64_t tableMask_;
  std::unique_ptr<Bucket*[]> table_;
  bool started_ = false;
  int64_t newestSeq_ = 0; // highest seq inserted since start / Clear
  // All seqs below lowSeq_ are released; lowSeq_ > newestSeq_ means empty.
  int64_t lowSeq_ = 0;
  int64_t horizonMs_ = INT64_MIN; // packets stored before this are dead
  Stats stats_;
};

} // namespace sluice::store
