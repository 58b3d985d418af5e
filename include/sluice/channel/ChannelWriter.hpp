// Builds every frame the worker sends to the controller (responses,
// notifications, log lines) and queues it in the bounded OutputQueue.
//
// Three builders, one per frame kind, so a log line or a notification
// emitted while a response body is being built cannot clobber it. Builders
// are cleared after each frame and trimmed back when one grew past
// kBuilderTrimBytes (a large dump must not pin its buffer).
#pragma once

#include <cstdint>
#include <string_view>

#include <flatbuffers/flatbuffers.h>

#include "message_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/OutputQueue.hpp"

namespace sluice::channel {

struct ChannelCounters {
  uint64_t requests{0};
  uint64_t errorResponses{0};
  uint64_t rejectedFrames{0};
  uint64_t droppedNotifications{0};
  uint64_t droppedLogs{0};
};

class ChannelWriter final : public LogSink {
public:
  static constexpr size_t kBuilderInitialBytes = 1024;
  static constexpr size_t kBuilderTrimBytes = 256u << 10;

  explicit ChannelWriter(size_t outLimitBytes);

  // Response bodies are built here before Accept().
  flatbuffers::FlatBufferBuilder& ResponseBuilder() { return responseBuilder_; }
  void SendAccepted(uint32_t id, FBS::Response::Body type, flatbuffers::Offset<void> body);
  void SendError(uint32_t id, std::string_view error, std::string_view reason);

  // Notification bodies are built here before Notify().
  flatbuffers::FlatBufferBuilder& NotificationBuilder() { return notificationBuilder_; }
  // false: a droppable notification refused by the full queue (counted).
  bool Notify(std::string_view handlerId, FBS::Notification::Event event,
              FBS::Notification::Body type = FBS::Notification::Body::NONE,
              flatbuffers::Offset<void> body = 0);

  void WriteLog(std::string_view line) override;

  // Events the controller can lose without breaking its state machine.
  static bool IsDroppable(FBS::Notification::Event event);

  OutputQueue& Queue() { return queue_; }
  const OutputQueue& Queue() const { return queue_; }
  ChannelCounters& Counters() { return counters_; }
  const ChannelCounters& Counters() const { return counters_; }

private:
  // Finishes `builder` with a size prefix, queues it, and resets the builder.
  bool Finish(flatbuffers::FlatBufferBuilder& builder, flatbuffers::Offset<void> body,
              FBS::Message::Body type, bool droppable);

  OutputQueue queue_;
  flatbuffers::FlatBufferBuilder responseBuilder_{kBuilderInitialBytes};
  flatbuffers::FlatBufferBuilder notificationBuilder_{kBuilderInitialBytes};
  flatbuffers::FlatBufferBuilder logBuilder_{kBuilderInitialBytes};
  ChannelCounters counters_;
};

} // namespace sluice::channel
