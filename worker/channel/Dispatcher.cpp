#include "sluice/channel/Dispatcher.hpp"

#include <cstring>
#include <string>

#include "sluice/channel/Request.hpp"

namespace sluice::channel {

namespace {
constexpr size_t kAlignedKeepBytes = 64u << 10;
constexpr size_t kAlignment = 8;
} // namespace

Dispatcher::Dispatcher(ChannelWriter& writer, HandlerRegistry& registry, ChannelEntity& worker)
    : writer_(writer), registry_(registry), worker_(worker) {}

std::optional<uint32_t> Dispatcher::ReadRequestIdShallow(const uint8_t* frame, size_t len) {
  constexpr size_t kPrefix = sizeof(flatbuffers::uoffset_t);
  if (len < 2 * kPrefix || len >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return std::nullopt;
  flatbuffers::Verifier verifier(frame, len);
  if (!verifier.VerifyOffset(kPrefix))
    return std::nullopt;
  // Message and Request privately inherit flatbuffers::Table; read through
  // Table itself, exactly as the generated accessors do.
  const auto* message = flatbuffers::GetSizePrefixedRoot<flatbuffers::Table>(frame);
  using M = FBS::Message::Message;
  if (!message->VerifyTableStart(verifier) ||
      !message->VerifyField<uint8_t>(verifier, M::VT_DATA_TYPE, 1) ||
      !message->VerifyOffsetRequired(verifier, M::VT_DATA))
    return std::nullopt;
  const auto type = static_cast<FBS::Message::Body>(
      message->GetField<uint8_t>(M::VT_DATA_TYPE, 0));
  if (type != FBS::Message::Body::Request)
    return std::nullopt;
  const auto* request = message->GetPointer<const flatbuffers::Table*>(M::VT_DATA);
  using R = FBS::Request::Request;
  if (!request->VerifyTableStart(verifier) ||
      !request->VerifyField<uint32_t>(verifier, R::VT_ID, 4))
    return std::nullopt;
  return request->GetField<uint32_t>(R::VT_ID, 0);
}

void Dispatcher::HandleFrame(const uint8_t* frame, size_t len) {
  // The sender aligned the buffer it built, prefix included; reading it in
  // place needs the same alignment here.
  if (reinterpret_cast<uintptr_t>(frame) % kAlignment != 0) {
    aligned_.resize((len + kAlignment - 1) / kAlignment);
    std::memcpy(aligned_.data(), frame, len);
    frame = reinterpret_cast<const uint8_t*>(aligned_.data());
  }
  const uint8_t* data = frame;
  flatbuffers::Verifier verifier(frame, len);
  if (len < 2 * sizeof(flatbuffers::uoffset_t) ||
      !FBS::Message::VerifySizePrefixedMessageBuffer(verifier)) {
    Reject(data, len, "frame failed flatbuffers verification");
  } else {
    const auto* message = FBS::Message::GetSizePrefixedMessage(frame);
    switch (message->data_type()) {
    case FBS::Message::Body::Request:
      HandleRequest(*message->data_as_Request());
      break;
    case FBS::Message::Body::Notification:
      HandleNotification(*message->data_as_Notification());
      break;
    case FBS::Message::Body::Response:
      Reject(data, len, "a Response was sent to the worker");
      break;
    case FBS::Message::Body::Log:
      Reject(data, len, "a Log was sent to the worker");
      break;
    default:
      Reject(data, len, "unknown message type");
      break;
    }
  }
  if (aligned_.size() * kAlignment > kAlignedKeepBytes)
    std::vector<uint64_t>().swap(aligned_);
}

void Dispatcher::Reject(const uint8_t* data, size_t len, const char* why) {
  ++writer_.Counters().rejectedFrames;
  const auto id = ReadRequestIdShallow(data, len);
  if (id) {
    writer_.SendError(*id, "Error", std::string("invalid request: ") + why);
    return;
  }
  SLUICE_WARN("dropped a %zu-byte channel frame: %s", len, why);
}

void Dispatcher::HandleRequest(const FBS::Request::Request& raw) {
  Request request(writer_, raw);
  if (raw.method() < FBS::Request::Method::MIN || raw.method() > FBS::Request::Method::MAX) {
    request.Error("unknown method " + std::to_string(static_cast<unsigned>(raw.method())));
    return;
  }
  const std::string_view name = request.MethodName();
  if (name.substr(0, 7) == "WORKER_") {
    worker_.HandleRequest(request);
    return;
  }
  ChannelEntity* target = registry_.FindRequestHandler(request.HandlerId());
  if (!target) {
    request.Error("Channel request handler with ID " + std::string(request.HandlerId()) +
                  " not found");
    return;
  }
  target->HandleRequest(request);
}

void Dispatcher::HandleNotification(const FBS::Notification::Notification& raw) {
  const std::string_view id(raw.handler_id()->c_str(), raw.handler_id()->size());
  ChannelEntity* target = registry_.FindNotificationHandler(id);
  if (!target) {
    ++writer_.Counters().rejectedFrames;
    SLUICE_WARN("Channel notification handler with ID %.*s not found (event %u)",
                static_cast<int>(id.size()), id.data(), static_cast<unsigned>(raw.event()));
    return;
  }
  target->HandleNotification(raw);
}

} // namespace sluice::channel
