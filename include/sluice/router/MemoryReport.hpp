// The worker's memory figures, gathered in one place for the Worker dump
// (the `memory` field sluice appends to FBS.Worker.DumpResponse) and for the
// periodic debug log line.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/transport/TransportCensus.hpp"
#include "worker_generated.h"

namespace sluice::router {

struct MemoryFigures {
  // Packet pool.
  uint32_t slotSize{0};
  uint64_t slotsInUse{0};
  uint64_t slotsCapacity{0};
  uint64_t slabsHeld{0};
  uint64_t spareSlabs{0};
  uint64_t poolBytesHeld{0};
  uint64_t highWaterSlots{0};
  uint64_t slabsReturned{0};
  uint64_t dropsAtCap{0};
  uint64_t poolByteCap{0};
  uint64_t coldSlabs{0};
  uint64_t slabsCooled{0};
  uint64_t poolBytesTouched{0};
  uint64_t slabsMapped{0};
  // Retransmission rings.
  uint64_t rings{0};
  uint64_t ringPacketsHeld{0};
  uint64_t ringBucketsHeld{0};
  uint64_t ringReleasedByTimer{0};
  // Channel.
  uint64_t outQueuedBytes{0};
  uint64_t outHighWaterBytes{0};
  uint64_t outLimitBytes{0};
  uint64_t droppedNotifications{0};
  uint64_t droppedLogs{0};
  uint64_t rejectedFrames{0};
  uint64_t errorResponses{0};
  // Process.
  uint64_t rssBytes{0};
  // glibc malloc (mallinfo2).
  uint64_t mallocArenaBytes{0};
  uint64_t mallocInUseBytes{0};
  uint64_t mallocFreeBytes{0};
  uint64_t mallocMmapBytes{0};
  uint64_t mallocReleasableBytes{0};
};

class MemoryReport {
public:
  explicit MemoryReport(const channel::ChannelWriter& writer) : writer_(writer) {}

  MemoryFigures Collect() const;
  // census: the routers' transports, counted by the caller (Worker dump).
  flatbuffers::Offset<FBS::Worker::MemoryDump>
  Build(flatbuffers::FlatBufferBuilder& b, const transport::TransportCensus& census = {}) const;
  // One line for the debug log.
  static std::string Summary(const MemoryFigures& f);

  // Resident set size from /proc/self/statm (0 if unreadable).
  static uint64_t ReadRssBytes();

private:
  const channel::ChannelWriter& writer_;
};

} // namespace sluice::router
