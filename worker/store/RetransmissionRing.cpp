#include "sluice/store/RetransmissionRing.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::store {

namespace {

constexpr int kBucketShift = 6;
static_assert((int64_t{1} << kBucketShift) == RetransmissionRing::kBucketSlots);
// Bucket of a (possibly negative) extended seq: floor division. Right shift
// of a negative value is arithmetic on every compiler we build with (and
// defined so from C++20); checked here rather than assumed.
static_assert((int64_t{-1} >> 1) == -1, "arithmetic right shift required");
constexpr int64_t BucketOf(int64_t extSeq) {
  return extSeq >> kBucketShift;
}
constexpr int64_t FirstSeqOf(int64_t bucket) {
  return bucket * RetransmissionRing::kBucketSlots;
}
constexpr uint32_t SlotOf(int64_t extSeq) {
  return static_cast<uint32_t>(static_cast<uint64_t>(extSeq) &
                               (RetransmissionRing::kBucketSlots - 1));
}

uint64_t BucketsFor(uint32_t maxPackets) {
  uint64_t need = (uint64_t{maxPackets} + RetransmissionRing::kBucketSlots - 1) /
                  RetransmissionRing::kBucketSlots;
  uint64_t buckets = 1;
  while (buckets < need)
    buckets <<= 1;
  return buckets;
}

} // namespace

struct RetransmissionRing::Bucket {
  PacketRef refs[kBucketSlots];
  uint32_t count = 0; // non-empty refs
};

namespace {
thread_local RingTotals tTotals;
} // namespace

// Spare buckets shared by the thread's rings: a sliding window retires one
// bucket at its tail about when it needs one at its head, so after warm-up
// no ring allocates. Bounded so a shrinking room does not keep them all.
struct RetransmissionRing::BucketCache {
  Bucket* spare[kBucketCacheMax];
  uint32_t count = 0;
  ~BucketCache() { Trim(); }
  void Trim() {
    while (count > 0) {
      delete spare[--count];
      --tTotals.bucketsCached;
    }
  }
};

RetransmissionRing::BucketCache& RetransmissionRing::Cache() {
  thread_local BucketCache cache;
  return cache;
}

RetransmissionRing::Bucket* RetransmissionRing::TakeBucket() {
  BucketCache& cache = Cache();
  if (cache.count == 0)
    return new Bucket();
  --tTotals.bucketsCached;
  return cache.spare[--cache.count];
}

void RetransmissionRing::RecycleBucket(Bucket* bucket) {
  BucketCache& cache = Cache();
  if (cache.count == kBucketCacheMax) {
    delete bucket;
    return;
  }
  cache.spare[cache.count++] = bucket;
  ++tTotals.bucketsCached;
}

void RetransmissionRing::TrimBucketCache() {
  Cache().Trim();
}

RetransmissionRing::RetransmissionRing(const RingWindowConfig& config)
    : config_(config), windowMs_(std::max(config.floorMs, config.ceilingMs)),
      tableMask_(BucketsFor(config.maxPackets) - 1), table_(new Bucket*[tableMask_ + 1]()) {
  stats_.maxBuckets = static_cast<uint32_t>(tableMask_ + 1);
  ++tTotals.rings;
  // A sliding window sometimes needs one or two buckets more than it held
  // so far (its head reaches a new bucket before the timer retires the
  // tail): keep that headroom in the cache now, so it is never a mid-stream
  // allocation.
  BucketCache& cache = Cache();
  for (uint32_t i = 0; i < kReservedBuckets && cache.count < kBucketCacheMax; ++i) {
    cache.spare[cache.count++] = new Bucket();
    ++tTotals.bucketsCached;
  }
}

RetransmissionRing::~RetransmissionRing() {
  Clear();
  --tTotals.rings;
}

void RetransmissionRing::SetRtt(uint32_t rttMs) {
  // Written so that a misconfigured k (negative, NaN) or floor > ceiling
  // still yields a window inside [floor, max(floor, ceiling)].
  const double floor = config_.floorMs;
  const double ceiling = std::max(config_.floorMs, config_.ceilingMs);
  const double raw = config_.k * static_cast<double>(rttMs) + config_.marginMs;
  const double window = raw >= floor ? std::min(raw, ceiling) : floor;
  windowMs_ = static_cast<uint32_t>(std::lround(window));
}

int64_t RetransmissionRing::EffectiveHorizon(uint64_t nowMs) const {
  return std::max(horizonMs_, static_cast<int64_t>(nowMs) - windowMs_);
}

bool RetransmissionRing::Insert(int64_t extSeq, const PacketRef& packet, uint64_t nowMs) {
  Advance(static_cast<int64_t>(nowMs) - windowMs_, &stats_.releasedOnInsert);
  if (packet.Empty())
    return false;

  const int64_t maxBuckets = static_cast<int64_t>(tableMask_ + 1);
  const int64_t bucketIndex = BucketOf(extSeq);
  if (!started_) {
    started_ = true;
    newestSeq_ = extSeq;
    lowSeq_ = extSeq;
  }
  const bool wasEmpty = lowSeq_ > newestSeq_;
  if (extSeq > newestSeq_) {
    DropBucketsBelow(bucketIndex - maxBuckets + 1);
    newestSeq_ = extSeq;
  } else if (bucketIndex <= BucketOf(newestSeq_) - maxBuckets) {
    ++stats_.rejectedTooOld;
    return false;
  }
  if (wasEmpty || extSeq < lowSeq_)
    lowSeq_ = extSeq;

  Bucket*& bucket = TableAt(bucketIndex);
  if (bucket == nullptr) {
    bucket = TakeBucket();
    ++stats_.bucketsHeld;
    ++tTotals.bucketsHeld;
  }

  PacketRef& ref = bucket->refs[SlotOf(extSeq)];
  if (!ref.Empty()) {
    if (ref.ArrivalMs() >= horizonMs_) {
      ++stats_.duplicates;
      return false;
    }
    // A dead copy the walk has not reached yet (it sits behind a live one).
    ref.Reset();
    --bucket->count;
    --stats_.packetsHeld;
    --tTotals.packetsHeld;
    ++stats_.releasedOnInsert;
  }
  ref = packet;
  ref.StampStored(extSeq, static_cast<int64_t>(nowMs));
  ++bucket->count;
  ++stats_.packetsHeld;
  ++tTotals.packetsHeld;
  return true;
}

PacketRef RetransmissionRing::Lookup(int64_t extSeq, uint64_t nowMs) const {
  if (!started_ || extSeq < lowSeq_ || extSeq > newestSeq_)
    return PacketRef();
  const Bucket* bucket = TableAt(BucketOf(extSeq));
  if (bucket == nullptr)
    return PacketRef();
  const PacketRef& ref = bucket->refs[SlotOf(extSeq)];
  // The slot remembers its seq: a mismatch would be our bookkeeping bug, and
  // answering a NACK with the wrong packet is worse than not answering.
  if (ref.Empty() || ref.ArrivalMs() < EffectiveHorizon(nowMs) || ref.ExtSeq() != extSeq)
    return PacketRef();
  return ref;
}

void RetransmissionRing::Expire(uint64_t nowMs) {
  const uint64_t before = stats_.releasedByTimer;
  Advance(static_cast<int64_t>(nowMs) - windowMs_, &stats_.releasedByTimer);
  tTotals.releasedByTimer += stats_.releasedByTimer - before;
}

void RetransmissionRing::Advance(int64_t horizonCandidate, uint64_t* releasedCounter) {
  if (horizonCandidate > horizonMs_)
    horizonMs_ = horizonCandidate;
  // Each step moves lowSeq_ forward by a slot or skips a whole missing
  // bucket, so the cost is O(released + buckets spanned).
  while (lowSeq_ <= newestSeq_) {
    const int64_t bucketIndex = BucketOf(lowSeq_);
    Bucket*& bucket = TableAt(bucketIndex);
    const int64_t bucketEnd = FirstSeqOf(bucketIndex + 1);
    if (bucket == nullptr) {
      lowSeq_ = bucketEnd;
      continue;
    }
    const int64_t end = std::min(bucketEnd, newestSeq_ + 1);
    bool reachedLive = false;
    for (; lowSeq_ < end; ++lowSeq_) {
      PacketRef& ref = bucket->refs[SlotOf(lowSeq_)];
      if (ref.Empty())
        continue;
      if (ref.ArrivalMs() >= horizonMs_) {
        reachedLive = true;
        break;
      }
      ref.Reset();
      --bucket->count;
      --stats_.packetsHeld;
      --tTotals.packetsHeld;
      ++*releasedCounter;
    }
    if (bucket->count == 0)
      ReleaseBucketAt(bucketIndex, releasedCounter);
    if (reachedLive)
      return;
  }
}

void RetransmissionRing::DropBucketsBelow(int64_t firstKeptBucket) {
  if (lowSeq_ > newestSeq_ || BucketOf(lowSeq_) >= firstKeptBucket) {
    lowSeq_ = std::max(lowSeq_, FirstSeqOf(firstKeptBucket));
    return;
  }
  // At most maxBuckets iterations: the held span never exceeds the table,
  // so a jump of millions of seqs costs the same as a jump of one bucket.
  const int64_t last = std::min(firstKeptBucket - 1, BucketOf(newestSeq_));
  for (int64_t b = BucketOf(lowSeq_); b <= last; ++b)
    ReleaseBucketAt(b, &stats_.releasedByCapacity);
  lowSeq_ = FirstSeqOf(firstKeptBucket);
}

void RetransmissionRing::ReleaseBucketAt(int64_t bucketIndex, uint64_t* releasedCounter) {
  Bucket*& bucket = TableAt(bucketIndex);
  if (bucket == nullptr)
    return;
  for (uint32_t i = 0; bucket->count > 0 && i < kBucketSlots; ++i) {
    if (bucket->refs[i].Empty())
      continue;
    bucket->refs[i].Reset();
    --bucket->count;
    --stats_.packetsHeld;
    --tTotals.packetsHeld;
    ++*releasedCounter;
  }
  RecycleBucket(bucket);
  bucket = nullptr;
  --stats_.bucketsHeld;
  --tTotals.bucketsHeld;
}

void RetransmissionRing::Clear() {
  for (uint64_t i = 0; i <= tableMask_; ++i)
    ReleaseBucketAt(static_cast<int64_t>(i), &stats_.releasedByCapacity);
  started_ = false;
  newestSeq_ = 0;
  lowSeq_ = 0;
}

RetransmissionRing::Stats RetransmissionRing::GetStats() const {
  Stats s = stats_;
  s.windowMs = windowMs_;
  return s;
}

const RingTotals& RetransmissionRing::ThreadTotals() {
  return tTotals;
}

} // namespace sluice::store
