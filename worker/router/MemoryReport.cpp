#include "sluice/router/MemoryReport.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

#include "sluice/store/PacketPool.hpp"
#include "sluice/store/RetransmissionRing.hpp"

namespace sluice::router {

uint64_t MemoryReport::ReadRssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f)
    return 0;
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2)
    return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

MemoryFigures MemoryReport::Collect() const {
  MemoryFigures f;
  const auto pool = store::PacketPool::ForThread().GetStats();
  f.slotSize = static_cast<uint32_t>(pool.slotSize);
  f.slotsInUse = pool.slotsInUse;
  f.slotsCapacity = pool.slotsCapacity;
  f.slabsHeld = pool.slabsHeld;
  f.spareSlabs = pool.spareSlabs;
  f.poolBytesHeld = pool.bytesHeld;
  f.highWaterSlots = pool.highWaterSlots;
  f.slabsReturned = pool.slabsReturned;
  f.dropsAtCap = pool.dropsAtCap;
  f.poolByteCap = pool.byteCap;
  f.coldSlabs = pool.coldSlabs;
  f.slabsCooled = pool.slabsCooled;
  f.poolBytesTouched = pool.bytesTouched;
  f.slabsMapped = pool.slabsMapped;
  const auto& rings = store::RetransmissionRing::ThreadTotals();
  f.rings = rings.rings;
  f.ringPacketsHeld = rings.packetsHeld;
  f.ringBucketsHeld = rings.bucketsHeld;
  f.ringReleasedByTimer = rings.releasedByTimer;
  const auto& queue = writer_.Queue();
  const auto& counters = writer_.Counters();
  f.outQueuedBytes = queue.QueuedBytes();
  f.outHighWaterBytes = queue.HighWaterBytes();
  f.outLimitBytes = queue.Limit();
  f.droppedNotifications = counters.droppedNotifications;
  f.droppedLogs = counters.droppedLogs;
  f.rejectedFrames = counters.rejectedFrames;
  f.errorResponses = counters.errorResponses;
  f.rssBytes = ReadRssBytes();
  const struct mallinfo2 m = mallinfo2();
  f.mallocArenaBytes = m.arena;
  f.mallocInUseBytes = m.uordblks;
  f.mallocFreeBytes = m.fordblks;
  f.mallocMmapBytes = m.hblkhd;
  f.mallocReleasableBytes = m.keepcost;
  return f;
}

flatbuffers::Offset<FBS::Worker::MemoryDump>
MemoryReport::Build(flatbuffers::FlatBufferBuilder& b,
                    const transport::TransportCensus& census) const {
  const MemoryFigures f = Collect();
  const auto pool = FBS::Worker::CreatePacketPoolDump(
      b, f.slotSize, f.slotsInUse, f.slotsCapacity, f.slabsHeld, f.spareSlabs, f.poolBytesHeld,
      f.highWaterSlots, f.slabsReturned, f.dropsAtCap, f.poolByteCap, f.coldSlabs, f.slabsCooled,
      f.poolBytesTouched, f.slabsMapped);
  const auto rings = FBS::Worker::CreateRetransmissionRingsDump(
      b, f.rings, f.ringPacketsHeld, f.ringBucketsHeld, f.ringReleasedByTimer);
  const auto channel = FBS::Worker::CreateChannelDump(
      b, f.outQueuedBytes, f.outHighWaterBytes, f.outLimitBytes, f.droppedNotifications,
      f.droppedLogs, f.rejectedFrames, f.errorResponses);
  const auto malloc =
      FBS::Worker::CreateMallocDump(b, f.mallocArenaBytes, f.mallocInUseBytes, f.mallocFreeBytes,
                                    f.mallocMmapBytes, f.mallocReleasableBytes);
  const auto transports = FBS::Worker::CreateTransportsMemoryDump(
      b, census.plainTransports, census.webRtcTransports, census.dtlsSessions, census.dtlsConnected,
      census.dtlsBytesHeld, census.srtpSessions, census.directTransports);
  return FBS::Worker::CreateMemoryDump(b, pool, rings, channel, f.rssBytes, malloc, transports);
}

std::string MemoryReport::Summary(const MemoryFigures& f) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "memory: rss=%llu malloc{inUse=%llu free=%llu mmap=%llu} pool{slots=%llu/%llu "
                "slabs=%llu cold=%llu touched=%llu hw=%llu "
                "returned=%llu drops=%llu} rings{n=%llu packets=%llu buckets=%llu} "
                "channel{queued=%llu hw=%llu droppedNotifications=%llu droppedLogs=%llu "
                "rejected=%llu}",
                (unsigned long long)f.rssBytes, (unsigned long long)f.mallocInUseBytes,
                (unsigned long long)f.mallocFreeBytes, (unsigned long long)f.mallocMmapBytes,
                (unsigned long long)f.slotsInUse, (unsigned long long)f.slotsCapacity,
                (unsigned long long)f.slabsHeld, (unsigned long long)f.coldSlabs,
                (unsigned long long)f.poolBytesTouched, (unsigned long long)f.highWaterSlots,
                (unsigned long long)f.slabsReturned, (unsigned long long)f.dropsAtCap,
                (unsigned long long)f.rings, (unsigned long long)f.ringPacketsHeld,
                (unsigned long long)f.ringBucketsHeld, (unsigned long long)f.outQueuedBytes,
                (unsigned long long)f.outHighWaterBytes, (unsigned long long)f.droppedNotifications,
                (unsigned long long)f.droppedLogs, (unsigned long long)f.rejectedFrames);
  return line;
}

} // namespace sluice::router
