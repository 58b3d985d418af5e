#include "sluice/store/PacketPool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <memory>

namespace sluice::store {

static_assert(PacketPool::kSlabBytes % 4096 == 0, "a slab is a whole number of pages");
static_assert(PacketPool::kSlotsPerSlab == 64, "partialMask_ has one bit per free count");

void detail::Slot::Release() {
  pool->ReleaseSlot(this);
}

PacketPool::PacketPool(const Config& config)
    : config_(config), maxSlabs_(static_cast<uint32_t>(
                           std::clamp<uint64_t>(config.byteCap / kSlabBytes, 1, UINT32_MAX - 1))) {
  // Enough descriptors for a modest working set; more are added (rarely) as
  // the slab count reaches new highs.
  slabs_.reserve(std::min<uint32_t>(maxSlabs_, 64));
}

PacketPool::~PacketPool() {
  assert(slotsInUse_ == 0 && "PacketPool destroyed while handles are alive");
  for (Slab& slab : slabs_) {
    if (slab.base != nullptr)
      munmap(slab.base, kSlabBytes);
  }
}

PacketRef PacketPool::Allocate() {
  uint32_t index;
  if (partialMask_ != 0) {
    // Fullest partially used slab: lowest free count with a non-empty list.
    index = lists_[__builtin_ctzll(partialMask_)].head;
    Unlink(index);
  } else if (lists_[kSlotsPerSlab].head != kNone) {
    // Most recently emptied slab, so the oldest empty ones age towards Tick.
    index = lists_[kSlotsPerSlab].head;
    Unlink(index);
    --emptySlabs_;
    slabs_[index].emptySinceMs = kUnstamped;
  } else {
    index = MapSlab();
    if (index == kNone) {
      ++dropsAtCap_;
      return PacketRef();
    }
  }

  Slab& slab = slabs_[index];
  detail::Slot* slot = slab.freeHead;
  slab.freeHead = slot->nextFree;
  --slab.freeCount;
  if (slab.freeCount > 0)
    PushFront(index);

  slot->nextFree = nullptr;
  slot->refs = 1;
  slot->length = 0;
  slot->extSeq = 0;
  slot->arrivalMs = 0;
  if (++slotsInUse_ > highWaterSlots_)
    highWaterSlots_ = slotsInUse_;
  return PacketRef(slot);
}

void PacketPool::ReleaseSlot(detail::Slot* slot) {
  const uint32_t index = slot->slab;
  Slab& slab = slabs_[index];
  assert(slot->refs == 0 && slab.freeCount < kSlotsPerSlab);

  // A new generation makes any handle still pointing here detectably stale.
  ++slot->generation;
  slot->nextFree = slab.freeHead;
  slab.freeHead = slot;
  if (slab.freeCount > 0)
    Unlink(index);
  ++slab.freeCount;
  --slotsInUse_;
  if (slab.freeCount == kSlotsPerSlab) {
    // Tick stamps the time: releases happen without a clock at hand.
    slab.emptySinceMs = kUnstamped;
    ++emptySlabs_;
  }
  PushFront(index);
}

void PacketPool::Tick(uint64_t nowMs) {
  SlabList& empty = lists_[kSlotsPerSlab];
  // Newly emptied slabs are pushed at the front and taken from the front, so
  // the unstamped ones always form a prefix of the list.
  for (uint32_t i = empty.head; i != kNone && slabs_[i].emptySinceMs == kUnstamped;
       i = slabs_[i].next)
    slabs_[i].emptySinceMs = nowMs;

  // The tail is the slab empty for longest; stamps grow towards the front.
  while (emptySlabs_ > config_.spareSlabs && empty.tail != kNone) {
    const uint64_t since = slabs_[empty.tail].emptySinceMs;
    if (nowMs < since || nowMs - since < config_.holdMs)
      break;
    UnmapSlab(empty.tail);
  }
}

uint32_t PacketPool::MapSlab() {
  if (slabsHeld_ >= maxSlabs_)
    return kNone;
  void* mem = mmap(nullptr, kSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return kNone;

  uint32_t index;
  if (freeDescriptor_ != kNone) {
    index = freeDescriptor_;
    freeDescriptor_ = slabs_[index].next;
  } else {
    index = static_cast<uint32_t>(slabs_.size());
    slabs_.emplace_back();
  }

  Slab& slab = slabs_[index];
  slab = Slab();
  slab.base = static_cast<detail::Slot*>(mem);
  slab.freeCount = kSlotsPerSlab;
  // Fresh anonymous pages are zero; only the fields we rely on are set. The
  // free list runs in address order so a lightly used slab touches few pages.
  for (uint32_t i = 0; i < kSlotsPerSlab; ++i) {
    detail::Slot* slot = slab.base + i;
    slot->pool = this;
    slot->slab = index;
    slot->refs = 0;
    slot->generation = 0;
    slot->nextFree = (i + 1 < kSlotsPerSlab) ? slot + 1 : nullptr;
  }
  slab.freeHead = slab.base;
  ++slabsHeld_;
  ++slabsMapped_;
  return index;
}

void PacketPool::UnmapSlab(uint32_t index) {
  Slab& slab = slabs_[index];
  assert(slab.freeCount == kSlotsPerSlab);
  Unlink(index);
  munmap(slab.base, kSlabBytes);
  slab = Slab();
  slab.next = freeDescriptor_;
  freeDescriptor_ = index;
  --slabsHeld_;
  --emptySlabs_;
  ++slabsReturned_;
}

void PacketPool::Unlink(uint32_t index) {
  Slab& slab = slabs_[index];
  SlabList& list = ListFor(slab.freeCount);
  if (slab.prev != kNone)
    slabs_[slab.prev].next = slab.next;
  else
    list.head = slab.next;
  if (slab.next != kNone)
    slabs_[slab.next].prev = slab.prev;
  else
    list.tail = slab.prev;
  slab.prev = slab.next = kNone;
  if (list.head == kNone && slab.freeCount < kSlotsPerSlab)
    partialMask_ &= ~(uint64_t{1} << slab.freeCount);
}

void PacketPool::PushFront(uint32_t index) {
  Slab& slab = slabs_[index];
  SlabList& list = ListFor(slab.freeCount);
  slab.prev = kNone;
  slab.next = list.head;
  if (list.head != kNone)
    slabs_[list.head].prev = index;
  else
    list.tail = index;
  list.head = index;
  if (slab.freeCount < kSlotsPerSlab)
    partialMask_ |= uint64_t{1} << slab.freeCount;
}

PacketPool::Stats PacketPool::GetStats() const {
  Stats s;
  s.slotsInUse = slotsInUse_;
  s.slotsCapacity = slabsHeld_ * kSlotsPerSlab;
  s.slabsHeld = slabsHeld_;
  s.spareSlabs = emptySlabs_;
  s.bytesHeld = slabsHeld_ * kSlabBytes;
  s.highWaterSlots = highWaterSlots_;
  s.slabsReturned = slabsReturned_;
  s.slabsMapped = slabsMapped_;
  s.dropsAtCap = dropsAtCap_;
  s.byteCap = uint64_t{maxSlabs_} * kSlabBytes;
  return s;
}

namespace {
struct ThreadPoolState {
  PacketPool::Config config;
  std::unique_ptr<PacketPool> pool;
};
thread_local ThreadPoolState tThreadPool;
} // namespace

PacketPool& PacketPool::ForThread() {
  if (!tThreadPool.pool)
    tThreadPool.pool = std::make_unique<PacketPool>(tThreadPool.config);
  return *tThreadPool.pool;
}

bool PacketPool::ConfigureThread(const Config& config) {
  if (tThreadPool.pool)
    return false;
  tThreadPool.config = config;
  return true;
}

} // namespace sluice::store
