// PacketPool: the one place a received RTP packet's bytes live (ARCHITECTURE.md, "Stored once").
//
// A packet occupies one fixed-size slot for as long as any handle (PacketRef)
// references it: the stream's RetransmissionRing, an in-flight send. Consumers
// hold handles, never copies, and never write slot bytes.
//
// Layout and bounds:
//  - A slot is kSlotStride = 1664 bytes: a 64-byte header (refcount, pool and
//    slab back-pointers, the extended seq and arrival time the ring stamps)
//    followed by kSlotBytes = 1600 usable bytes. 1600 covers a 1500-byte MTU
//    packet plus RTX's 2-byte OSN plus SRTP growth (16-byte auth tag, 4-byte
//    MKI) with ~80 bytes to spare; header overhead is 64 / 1600 = 4%.
//  - Slots are carved from slabs of kSlotsPerSlab = 64 (106,496 bytes = 26
//    pages), each its own anonymous mmap, so a returned slab really leaves RSS.
//  - Bytes held (mapped slabs) never exceed Config::byteCap: at the cap,
//    Allocate returns an empty handle and counts a drop.
//  - Allocation prefers the fullest partially used slab (ties: most recently
//    touched), so under falling demand whole slabs drain and become empty.
//  - Pages are touched only when needed: a slab's slots are carved one at a
//    time on first use (a fresh mmap is not written), a slab reuses its freed
//    slots (LIFO, so the most recently touched) before carving another, and an
//    empty slab that is still warm is preferred to a cold or new one. Resident
//    bytes therefore follow the slots ever in use at once, not the mapping.
//  - Every empty slab is released once it has been empty for Config::holdMs
//    (measured from the first Tick that saw it empty, so never early, at most
//    one tick period late): beyond Config::spareSlabs it is unmapped; a spare
//    keeps its mapping but its pages go back to the OS (madvise DONTNEED) and
//    it turns cold (nothing carved). A spare that is not needed for a while
//    therefore holds no RSS, and the next burst reuses its mapping with no
//    mmap. Steady load cannot ratchet RSS up: what a burst touched is given
//    back within holdMs of the burst.
//  - After warm-up, Allocate and the last release touch only free lists: no
//    malloc, no syscall. mmap/munmap/madvise happen only when the slab count
//    or the set of spare slabs changes, from Tick.
//
// Threading: a pool and all handles to its slots belong to one thread (the
// worker is one libuv loop). Refcounts are plain integers.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace sluice::store {

class PacketPool;

namespace detail {

// One slot. The header is padded to a cache line so payload bytes start
// 64-byte aligned and the header never shares a line with another slot's
// payload.
struct alignas(64) Slot {
  static constexpr size_t kDataBytes = 1600;

  PacketPool* pool;    // owner; the last release goes back to it
  Slot* nextFree;      // free-list link while free
  int64_t extSeq;      // stamped by the ring that stores the packet
  int64_t arrivalMs;   // stamped by the ring (its insert time)
  uint32_t refs;       // 0 while free
  uint32_t generation; // bumped on every release to the free list
  uint32_t slab;       // index of the owning slab descriptor
  uint16_t length;     // valid bytes in data
  uint8_t reserved[18];
  alignas(64) uint8_t data[kDataBytes];

  void Release(); // out of line: returns the slot to its pool
};

static_assert(sizeof(Slot) == 1664, "slot stride is part of the documented footprint");

} // namespace detail

// Counted handle to a pool slot. Copying adds a reference; destruction or
// Reset drops one; the last drop returns the slot to its slab's free list.
// An empty handle (default, moved-from, or a failed Allocate) refers to
// nothing. Debug builds (NDEBUG undefined) also remember the slot generation
// and assert on every access that the slot was not released and recycled
// under this handle (catches handles duplicated behind the refcount's back).
class PacketRef {
public:
  static constexpr size_t kCapacity = detail::Slot::kDataBytes;

  PacketRef() = default;
  PacketRef(const PacketRef& other) : slot_(other.slot_) {
#ifndef NDEBUG
    generation_ = other.generation_;
#endif
    if (slot_ != nullptr) {
      other.Check();
      ++slot_->refs;
    }
  }
  PacketRef(PacketRef&& other) noexcept : slot_(other.slot_) {
#ifndef NDEBUG
    generation_ = other.generation_;
#endif
    other.slot_ = nullptr;
  }
  PacketRef& operator=(const PacketRef& other) {
    PacketRef copy(other);
    Swap(copy);
    return *this;
  }
  PacketRef& operator=(PacketRef&& other) noexcept {
    PacketRef moved(std::move(other));
    Swap(moved);
    return *this;
  }
  ~PacketRef() {
    Reset();
  }

  void Reset() {
    if (slot_ == nullptr)
      return;
    Check();
    if (--slot_->refs == 0)
      slot_->Release();
    slot_ = nullptr;
  }

  bool Empty() const {
    return slot_ == nullptr;
  }
  explicit operator bool() const {
    return slot_ != nullptr;
  }

  const uint8_t* Data() const {
    Check();
    return slot_->data;
  }
  size_t Length() const {
    Check();
    return slot_->length;
  }
  // Writing is for the sole owner only (the receive path filling a fresh
  // slot): once a packet is shared its bytes are immutable.
  uint8_t* MutableData() {
    Check();
    assert(slot_->refs == 1 && "slot bytes are immutable once shared");
    return slot_->data;
  }
  // False (and no change) when len exceeds kCapacity.
  bool SetLength(size_t len) {
    Check();
    assert(slot_->refs == 1 && "slot bytes are immutable once shared");
    if (len > kCapacity)
      return false;
    slot_->length = static_cast<uint16_t>(len);
    return true;
  }

  // Metadata the RetransmissionRing stamps when it stores the packet. A
  // packet is stored in at most one ring (it belongs to one stream).
  int64_t ExtSeq() const {
    Check();
    return slot_->extSeq;
  }
  int64_t ArrivalMs() const {
    Check();
    return slot_->arrivalMs;
  }
  void StampStored(int64_t extSeq, int64_t arrivalMs) {
    Check();
    slot_->extSeq = extSeq;
    slot_->arrivalMs = arrivalMs;
  }

  uint32_t RefCount() const {
    return slot_ == nullptr ? 0 : slot_->refs;
  }
  // Same slot (identity, not byte equality).
  bool SameSlot(const PacketRef& other) const {
    return slot_ == other.slot_;
  }

private:
  friend class PacketPool;
  explicit PacketRef(detail::Slot* slot) : slot_(slot) {
#ifndef NDEBUG
    generation_ = slot->generation;
#endif
  }
  void Swap(PacketRef& other) noexcept {
    detail::Slot* s = slot_;
    slot_ = other.slot_;
    other.slot_ = s;
#ifndef NDEBUG
    uint32_t g = generation_;
    generation_ = other.generation_;
    other.generation_ = g;
#endif
  }
  void Check() const {
#ifndef NDEBUG
    assert(slot_ != nullptr && "access through an empty PacketRef");
    assert(slot_->refs > 0 && slot_->generation == generation_ &&
           "PacketRef used after its slot was released");
#endif
  }

  detail::Slot* slot_{nullptr};
#ifndef NDEBUG
  uint32_t generation_{0};
#endif
};

struct PacketPoolConfig {
  // Hard limit on mapped slab bytes; rounded down to whole slabs, at least
  // one slab. 256 MiB ~ 161k packets.
  uint64_t byteCap = uint64_t{256} << 20;
  // Wholly free slabs kept mapped to absorb the next burst (4 ~ 416 KiB).
  uint32_t spareSlabs = 4;
  // How long a slab must stay empty before it is returned to the OS.
  uint64_t holdMs = 5000;
};

class PacketPool {
public:
  static constexpr size_t kSlotBytes = detail::Slot::kDataBytes;
  static constexpr size_t kSlotStride = sizeof(detail::Slot);
  static constexpr uint32_t kSlotsPerSlab = 64;
  static constexpr size_t kSlabBytes = kSlotStride * kSlotsPerSlab;

  using Config = PacketPoolConfig;

  struct Stats {
    size_t slotSize = kSlotBytes; // usable bytes per slot
    uint64_t slotsInUse = 0;
    uint64_t slotsCapacity = 0; // slots in mapped slabs
    uint64_t slabsHeld = 0;     // mapped slabs
    uint64_t spareSlabs = 0;    // mapped slabs with no slot in use (warm or cold)
    uint64_t bytesHeld = 0;     // slabsHeld * kSlabBytes
    uint64_t highWaterSlots = 0;
    uint64_t slabsReturned = 0; // munmap'ed since construction
    uint64_t slabsMapped = 0;   // mmap'ed since construction
    uint64_t dropsAtCap = 0;    // Allocate calls refused by the byte cap
    uint64_t byteCap = 0;       // effective cap (whole slabs)
    uint64_t coldSlabs = 0;     // spare slabs whose pages went back to the OS
    uint64_t slabsCooled = 0;   // times a spare slab's pages went back (madvise)
    // Bytes of slab pages that slots were carved on (an upper bound on the
    // pool's resident set: a page counts once any slot on it was used).
    uint64_t bytesTouched = 0;
  };

  explicit PacketPool(const Config& config = Config());
  // All handles must be gone (asserted); slabs are unmapped.
  ~PacketPool();
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // A fresh slot with refcount 1 and length 0, or an empty handle when the
  // byte cap (or the OS) refuses another slab.
  PacketRef Allocate();

  // Releases slabs that have been empty for holdMs: unmaps those beyond
  // spareSlabs and returns the spares' pages. Call from a periodic timer; cost
  // is O(empty slabs).
  void Tick(uint64_t nowMs);

  Stats GetStats() const;
  const Config& GetConfig() const { return config_; }

  // The calling thread's pool, created on first use with the config given to
  // ConfigureThread (or defaults). Lives until the thread exits.
  static PacketPool& ForThread();
  // Sets the config for this thread's pool; false if it already exists.
  static bool ConfigureThread(const Config& config);

private:
  friend struct detail::Slot;
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint64_t kUnstamped = UINT64_MAX;

  struct Slab {
    detail::Slot* base = nullptr;     // nullptr: descriptor unused
    detail::Slot* freeHead = nullptr; // freed slots (carved, so touched)
    uint64_t emptySinceMs = kUnstamped;
    uint32_t freeCount = 0; // freed + never carved
    uint32_t carved = 0;    // slots [0, carved) have been initialised
    bool cold = false;      // empty, pages returned with madvise
    uint32_t prev = kNone;  // links within the list for its freeCount
    uint32_t next = kNone;
  };
  // Doubly linked list of slab descriptor indices.
  struct SlabList {
    uint32_t head = kNone;
    uint32_t tail = kNone;
  };

  void ReleaseSlot(detail::Slot* slot);
  uint32_t MapSlab();
  void UnmapSlab(uint32_t index);
  void CoolSlab(uint32_t index);
  detail::Slot* TakeSlot(Slab& slab, uint32_t index);
  void Unlink(uint32_t index);
  void PushFront(uint32_t index);
  SlabList& ListFor(uint32_t freeCount) { return lists_[freeCount]; }

  Config config_;
  uint32_t maxSlabs_;
  // Grows only when the slab count reaches a new high (warm-up), never per
  // packet; unused descriptors are recycled through freeDescriptor_.
  std::vector<Slab> slabs_;
  uint32_t freeDescriptor_ = kNone; // unused descriptors, linked through next
  // lists_[f] holds slabs with f free slots, 1 <= f <= kSlotsPerSlab; full
  // slabs are in no list. partialMask_ bit f is set when lists_[f] (f < 64)
  // is non-empty, so the fullest partial slab is one count-trailing-zeros away.
  SlabList lists_[kSlotsPerSlab + 1];
  uint64_t partialMask_ = 0;
  uint64_t slabsHeld_ = 0;
  uint64_t emptySlabs_ = 0;
  uint64_t slotsInUse_ = 0;
  uint64_t highWaterSlots_ = 0;
  uint64_t slabsReturned_ = 0;
  uint64_t slabsMapped_ = 0;
  uint64_t dropsAtCap_ = 0;
  uint64_t coldSlabs_ = 0;
  uint64_t slabsCooled_ = 0;
};

} // namespace sluice::store
