#include "sluice/channel/ChannelWriter.hpp"

namespace sluice::channel {

using FBS::Notification::Event;

ChannelWriter::ChannelWriter(size_t outLimitBytes) : queue_(outLimitBytes) {}

bool ChannelWriter::IsDroppable(Event event) {
  switch (event) {
  case Event::TRANSPORT_TRACE:
  case Event::PRODUCER_TRACE:
  case Event::CONSUMER_TRACE:
  case Event::PRODUCER_SCORE:
  case Event::CONSUMER_SCORE:
  case Event::CONSUMER_RTP:
  case Event::DIRECTTRANSPORT_RTCP: // sent on timers and per packet, not per request
  case Event::AUDIOLEVELOBSERVER_VOLUMES:
    return true;
  default:
    return false;
  }
}

bool ChannelWriter::Finish(flatbuffers::FlatBufferBuilder& builder, flatbuffers::Offset<void> body,
                           FBS::Message::Body type, bool droppable) {
  const auto message = FBS::Message::CreateMessage(builder, type, body);
  builder.FinishSizePrefixed(message);
  const bool queued = queue_.Push(builder.GetBufferPointer(), builder.GetSize(), droppable);
  if (builder.GetSize() > kBuilderTrimBytes)
    builder.Reset(); // gives the grown buffer back
  else
    builder.Clear();
  return queued;
}

void ChannelWriter::SendAccepted(uint32_t id, FBS::Response::Body type,
                                 flatbuffers::Offset<void> body) {
  auto& b = responseBuilder_;
  const auto response = FBS::Response::CreateResponse(b, id, true, type, body);
  Finish(b, response.Union(), FBS::Message::Body::Response, false);
}

void ChannelWriter::SendError(uint32_t id, std::string_view error, std::string_view reason) {
  // Anything half-built for this request's body is abandoned.
  auto& b = responseBuilder_;
  b.Clear();
  const auto errorOffset = b.CreateString(error.data(), error.size());
  const auto reasonOffset = b.CreateString(reason.data(), reason.size());
  const auto response = FBS::Response::CreateResponse(b, id, false, FBS::Response::Body::NONE, 0,
                                                      errorOffset, reasonOffset);
  ++counters_.errorResponses;
  Finish(b, response.Union(), FBS::Message::Body::Response, false);
}

bool ChannelWriter::Notify(std::string_view handlerId, Event event, FBS::Notification::Body type,
                           flatbuffers::Offset<void> body) {
  auto& b = notificationBuilder_;
  const auto idOffset = b.CreateString(handlerId.data(), handlerId.size());
  const auto notification = FBS::Notification::CreateNotification(b, idOffset, event, type, body);
  if (Finish(b, notification.Union(), FBS::Message::Body::Notification, IsDroppable(event)))
    return true;
  ++counters_.droppedNotifications;
  return false;
}

void ChannelWriter::WriteLog(std::string_view line) {
  auto& b = logBuilder_;
  const auto data = b.CreateString(line.data(), line.size());
  const auto log = FBS::Log::CreateLog(b, data);
  if (!Finish(b, log.Union(), FBS::Message::Body::Log, true))
    ++counters_.droppedLogs;
}

} // namespace sluice::channel
