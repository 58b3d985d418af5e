// Per-SSRC state of one SrtpSession direction: the SRTP index (ROC || SEQ)
// estimate, the replay windows and the SRTCP index (RFC 3711 §3.2.1, §3.3.1,
// §3.3.2, §3.4).
//
// SrtpReplayWindow: the highest index committed and a 128-bit map of it and
// the 127 indices before it (RFC 3711 §3.3.2 allows any window >= 64; 128
// matches libsrtp's default, so a peer sees the same behaviour). An index left
// of the window is TooOld, one whose bit is set is Replayed. 24 bytes.
//
// SrtpStreamTable<Entry>: at most `capacity` SSRCs. Storage starts at
// kInitialSlots entries and doubles (up to capacity) when an Add finds it
// full, so a transport with one consumer pays for a few entries, not for the
// largest room: the only allocations are on a NEW SSRC (a new stream, at most
// log2(capacity) times per session), never for a packet of a known one. Find
// never allocates; Add on a full table returns nullptr (the caller counts
// it), and so does Add when growing fails. Entries are never removed: a
// session lives as long as its keys. Lookup is a scan of a packed SSRC array
// (4 bytes per entry) behind a one-entry cache of the last hit, which media
// bursts from one SSRC hit almost always.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::transport {

// RFC 3711 §3.3.1 / Appendix A: the 48-bit index ROC || SEQ of `seq` that is
// closest to `highest` (the largest index received so far), ties broken as
// the RFC's pseudo-code does (rtp::IsNewer's rule). nullopt when it would be
// negative (seq behind the very first packet across a backward wrap) or would
// need a ROC of 2^32 (the session must be re-keyed long before).
inline std::optional<uint64_t> EstimateSrtpIndex(uint64_t highest, uint16_t seq) {
  constexpr uint64_t kMaxIndex = (uint64_t{1} << 48) - 1;
  const auto last = static_cast<uint16_t>(highest);
  if (rtp::IsNewer(seq, last)) {
    const uint64_t index = highest + rtp::ForwardDiff(last, seq);
    return index <= kMaxIndex ? std::optional<uint64_t>(index) : std::nullopt;
  }
  const uint64_t back = rtp::ForwardDiff(seq, last);
  return back <= highest ? std::optional<uint64_t>(highest - back) : std::nullopt;
}

class SrtpReplayWindow {
public:
  static constexpr uint64_t kSize = 128;
  enum class Verdict : uint8_t { Ok, Replayed, TooOld };

  // Every index is Ok before the first Commit.
  bool Empty() const { return bits_[0] == 0; } // bit 0 (the highest) is set once committed
  uint64_t Highest() const { return highest_; }

  Verdict Check(uint64_t index) const {
    if (Empty() || index > highest_)
      return Verdict::Ok;
    const uint64_t back = highest_ - index;
    if (back >= kSize)
      return Verdict::TooOld;
    return (bits_[back / 64] >> (back % 64)) & 1 ? Verdict::Replayed : Verdict::Ok;
  }

  // Precondition: Check(index) == Ok (the packet authenticated).
  void Commit(uint64_t index) {
    if (Empty()) {
      highest_ = index;
      bits_[0] = 1;
      return;
    }
    if (index > highest_) {
      Shift(index - highest_);
      highest_ = index;
      bits_[0] |= 1;
      return;
    }
    const uint64_t back = highest_ - index;
    bits_[back / 64] |= uint64_t{1} << (back % 64);
  }

private:
  // Moves every bit `by` places towards older indices (bit k -> k + by).
  void Shift(uint64_t by) {
    if (by >= kSize) {
      bits_[0] = bits_[1] = 0;
    } else if (by >= 64) {
      bits_[1] = bits_[0] << (by - 64);
      bits_[0] = 0;
    } else {
      bits_[1] = (bits_[1] << by) | (bits_[0] >> (64 - by)); // by is 1..63 here
      bits_[0] <<= by;
    }
  }

  uint64_t highest_ = 0;
  uint64_t bits_[2] = {0, 0}; // bit k: index highest_ - k was accepted
};

template <typename Entry> class SrtpStreamTable {
public:
  static constexpr size_t kInitialSlots = 4;

  explicit SrtpStreamTable(size_t capacity) : capacity_(capacity) {}

  Entry* Find(uint32_t ssrc) {
    if (size_ != 0 && ssrcs_[last_] == ssrc)
      return &entries_[last_];
    for (size_t i = 0; i < size_; ++i) {
      if (ssrcs_[i] == ssrc) {
        last_ = i;
        return &entries_[i];
      }
    }
    return nullptr;
  }

  // A fresh (value-initialised) entry for an SSRC Find did not return;
  // nullptr when the table is full. Pointers from earlier calls are invalid
  // after an Add (storage may move).
  Entry* Add(uint32_t ssrc) {
    if (size_ == slots_ && !Grow())
      return nullptr;
    ssrcs_[size_] = ssrc;
    entries_[size_] = Entry();
    last_ = size_;
    return &entries_[size_++];
  }

  size_t Size() const { return size_; }
  size_t Capacity() const { return capacity_; }
  size_t MemoryBytes() const { return slots_ * (sizeof(uint32_t) + sizeof(Entry)); }

private:
  bool Grow() {
    if (slots_ == capacity_)
      return false;
    const size_t slots =
        slots_ == 0 ? std::min(kInitialSlots, capacity_) : std::min(slots_ * 2, capacity_);
    std::unique_ptr<uint32_t[]> ssrcs(new (std::nothrow) uint32_t[slots]);
    std::unique_ptr<Entry[]> entries(new (std::nothrow) Entry[slots]());
    if (!ssrcs || !entries)
      return false;
    for (size_t i = 0; i < size_; ++i) {
      ssrcs[i] = ssrcs_[i];
      entries[i] = entries_[i];
    }
    ssrcs_ = std::move(ssrcs);
    entries_ = std::move(entries);
    slots_ = slots;
    return true;
  }

  size_t capacity_;
  size_t slots_ = 0;
  size_t size_ = 0;
  size_t last_ = 0;
  std::unique_ptr<uint32_t[]> ssrcs_;
  std::unique_ptr<Entry[]> entries_;
};

} // namespace sluice::transport
