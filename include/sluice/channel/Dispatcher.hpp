// Turns one channel frame into exactly one action: a request routed to its
// entity, a notification routed to its entity, or a rejection.
//
// Every frame passes the flatbuffers Verifier before any field is read. A
// frame that fails verification gets an error Response when its request id
// can still be read safely (a shallow check of just the path to the id),
// otherwise one rate-limited warning; either way it is counted and the
// worker goes on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/channel/HandlerRegistry.hpp"

namespace sluice::channel {

class Dispatcher {
public:
  // `worker` receives every WORKER_* request whatever its handler id.
  Dispatcher(ChannelWriter& writer, HandlerRegistry& registry, ChannelEntity& worker);

  // `frame` is a whole frame, its 4-byte length prefix included (flatbuffers'
  // size-prefixed form, which is how both sides align their buffers).
  void HandleFrame(const uint8_t* frame, size_t len);

  // Reads Message.data(Request).id through bounds checks only; for frames
  // that failed full verification.
  static std::optional<uint32_t> ReadRequestIdShallow(const uint8_t* frame, size_t len);

private:
  void HandleRequest(const FBS::Request::Request& raw);
  void HandleNotification(const FBS::Notification::Notification& raw);
  void Reject(const uint8_t* data, size_t len, const char* why);

  ChannelWriter& writer_;
  HandlerRegistry& registry_;
  ChannelEntity& worker_;
  // Frames that arrive at an offset unsuitable for flatbuffers' aligned
  // reads are copied here first; it keeps its size up to the largest frame
  // seen below kAlignedKeepBytes and is released above it.
  std::vector<uint64_t> aligned_;
};

} // namespace sluice::channel
