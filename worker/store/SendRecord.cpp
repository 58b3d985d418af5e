#include "sluice/store/SendRecord.hpp"

#include <algorithm>

namespace sluice::store {

namespace {

// The table must stay under half the 16-bit space so that "one of the last
// `capacity` seqs" is unambiguous next to IsNewer's half-range rule.
constexpr uint32_t kMinCapacity = 16;
constexpr uint32_t kMaxCapacity = 1u << 15;

uint32_t RoundCapacity(uint32_t requested) {
  const uint32_t want = std::clamp(requested, kMinCapacity, kMaxCapacity);
  uint32_t capacity = kMinCapacity;
  while (capacity < want)
    capacity <<= 1;
  return capacity;
}

uint64_t IndexBits(int64_t ext) {
  return static_cast<uint64_t>(ext);
}

} // namespace

SendRecord::SendRecord(const Config& config)
    : mask_(RoundCapacity(config.capacity) - 1), entries_(new Entry[mask_ + 1]) {
  Clear();
}

void SendRecord::Clear() {
  for (uint32_t i = 0; i <= mask_; ++i)
    entries_[i] = Entry{kEmpty, 0, 0, {}};
  unwrapper_.Reset();
  any_ = false;
  newestExt_ = 0;
}

void SendRecord::Add(uint16_t outSeq, const Sent& sent) {
  const int64_t ext = unwrapper_.Unwrap(outSeq);
  if (!any_ || ext > newestExt_)
    newestExt_ = ext;
  any_ = true;
  // A late Add must not clobber the entry of a newer seq sharing its slot.
  if (ext <= newestExt_ - static_cast<int64_t>(Capacity())) {
    ++stats_.ignoredLate;
    return;
  }
  Entry& e = entries_[IndexBits(ext) & mask_];
  e.producerExtSeq = sent.producerExtSeq;
  e.outExtLow = static_cast<uint32_t>(IndexBits(ext));
  e.tsOffset = sent.tsOffset;
  e.codec = sent.codec;
  ++stats_.added;
}

std::optional<SendRecord::Sent> SendRecord::Lookup(uint16_t outSeq) {
  ++stats_.lookups;
  const uint16_t newest = static_cast<uint16_t>(IndexBits(newestExt_));
  if (!any_ || rtp::IsNewer(outSeq, newest)) {
    ++stats_.missNotSent;
    return std::nullopt;
  }
  const uint16_t back = rtp::ForwardDiff(outSeq, newest);
  if (back >= Capacity()) {
    ++stats_.missTooOld;
    return std::nullopt;
  }
  const int64_t ext = newestExt_ - back;
  const Entry& e = entries_[IndexBits(ext) & mask_];
  if (e.producerExtSeq == kEmpty || e.outExtLow != static_cast<uint32_t>(IndexBits(ext))) {
    ++stats_.missOverwritten;
    return std::nullopt;
  }
  ++stats_.hits;
  return Sent{e.producerExtSeq, e.tsOffset, e.codec};
}

} // namespace sluice::store
