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
    // Most recently emptied slab (warm: its pages are still resident), so the
    // oldest empty ones age towards Tick and cold ones are taken last.
    index = lists_[kSlotsPerSlab].head;
    Unlink(index);
    --emptySlabs_;
    Slab& slab = slabs_[index];
    slab.emptySinceMs = kUnstamped;
    if (slab.cold) {
      slab.cold = false;
      --coldSlabs_;
    }
  } else {
    index = MapSlab();
    if (index == kNone) {
      ++dropsAtCap_;
      return PacketRef();
    }
  }

  Slab& slab = slabs_[index];
  detail::Slot* slot = TakeSlot(slab, index);
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

detail::Slot* PacketPool::TakeSlot(Slab& slab, uint32_t index) {
  // A freed slot first: its page is resident already. Only when there is none
  // is the next never-used slot carved (its first write faults the page in).
  if (slab.freeHead != nullptr) {
    detail::Slot* slot = slab.freeHead;
    slab.freeHead = slot->nextFree;
    return slot;
  }
  assert(slab.carved < kSlotsPerSlab);
  detail::Slot* slot = slab.base + slab.carved++;
  slot->pool = this;
  slot->slab = index;
  slot->generation = 0;
  return slot;
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

  // The tail is the slab empty for longest; stamps grow towards the front
  // (slabs are pushed and taken at the front), so the walk stops at the first
  // one still inside its hold time.
  for (uint32_t i = empty.tail; i != kNone;) {
    const uint32_t prev = slabs_[i].prev;
    const uint64_t since = slabs_[i].emptySinceMs;
    if (since == kUnstamped || nowMs < since || nowMs - since < config_.holdMs)
      break;
    if (emptySlabs_ > config_.spareSlabs)
      UnmapSlab(i);
    else if (!slabs_[i].cold)
      CoolSlab(i);
    i = prev;
  }
}

void PacketPool::CoolSlab(uint32_t index) {
  Slab& slab = slabs_[index];
  assert(slab.freeCount == kSlotsPerSlab && !slab.cold);
  // Private anonymous pages read back as zero after DONTNEED: every slot is
  // uninitialised again, so nothing is carved.
  if (madvise(slab.base, kSlabBytes, MADV_DONTNEED) != 0)
    return; // kept warm; tried again next Tick
  slab.freeHead = nullptr;
  slab.carved = 0;
  slab.cold = true;
  ++coldSlabs_;
  ++slabsCooled_;
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
  // Nothing is written here: slots are carved in address order on first use
  // (TakeSlot), so a lightly used slab touches few pages.
  ++slabsHeld_;
  ++slabsMapped_;
  return index;
}

void PacketPool::UnmapSlab(uint32_t index) {
  Slab& slab = slabs_[index];
  assert(slab.freeCount == kSlotsPerSlab);
  Unlink(index);
  munmap(slab.base, kSlabBytes);
  if (slab.cold)
    --coldSlabs_;
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
  s.coldSlabs = coldSlabs_;
  s.slabsCooled = slabsCooled_;
  constexpr uint64_t kPage = 4096;
  for (const Slab& slab : slabs_) {
    if (slab.base != nullptr)
      s.bytesTouched += (uint64_t{slab.carved} * kSlotStride + kPage - 1) / kPage * kPage;
  }
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
