#include "sluice/channel/Request.hpp"

namespace sluice::channel {

const char* MethodName(FBS::Request::Method method) {
  if (method < FBS::Request::Method::MIN || method > FBS::Request::Method::MAX)
    return "UNKNOWN";
  return FBS::Request::EnumNameMethod(method);
}

Request::Request(ChannelWriter& writer, const FBS::Request::Request& raw)
    : writer_(writer), raw_(raw) {
  ++writer_.Counters().requests;
}

Request::~Request() {
  if (!replied_)
    Error(std::string("request ") + MethodName() + " was not answered by its handler");
}

const char* Request::MethodName() const { return channel::MethodName(Method()); }

std::string_view Request::HandlerId() const {
  const auto* id = raw_.handler_id();
  return id ? std::string_view(id->c_str(), id->size()) : std::string_view();
}

void Request::Accept() { Accept(FBS::Response::Body::NONE, 0); }

void Request::Accept(FBS::Response::Body type, flatbuffers::Offset<void> body) {
  if (replied_)
    return;
  replied_ = true;
  writer_.SendAccepted(Id(), type, body);
}

void Request::Error(std::string_view reason) {
  if (replied_)
    return;
  replied_ = true;
  writer_.SendError(Id(), "Error", reason);
}

void Request::TypeError(std::string_view reason) {
  if (replied_)
    return;
  replied_ = true;
  writer_.SendError(Id(), "TypeError", reason);
}

} // namespace sluice::channel
