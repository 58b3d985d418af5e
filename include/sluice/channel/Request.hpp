// One verified request from the controller, answered exactly once.
//
// Handlers read the body through Body<T>() (the dispatcher has already
// checked the body type against the method table) and finish with Accept,
// Error or TypeError. A request that leaves its handler unanswered is
// answered with an error by the destructor, so the controller never waits
// forever.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "message_generated.h"
#include "sluice/channel/ChannelWriter.hpp"

namespace sluice::channel {

class Request {
public:
  Request(ChannelWriter& writer, const FBS::Request::Request& raw);
  ~Request();
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  uint32_t Id() const { return raw_.id(); }
  FBS::Request::Method Method() const { return raw_.method(); }
  const char* MethodName() const;
  std::string_view HandlerId() const;
  FBS::Request::Body BodyType() const { return raw_.body_type(); }
  // A union type with no value verifies; handlers must never see that.
  bool HasBody() const { return raw_.body() != nullptr; }
  template <typename T> const T* Body() const { return static_cast<const T*>(raw_.body()); }

  flatbuffers::FlatBufferBuilder& Builder() { return writer_.ResponseBuilder(); }

  void Accept();
  void Accept(FBS::Response::Body type, flatbuffers::Offset<void> body);
  void Error(std::string_view reason);
  void TypeError(std::string_view reason);
  bool Replied() const { return replied_; }

private:
  ChannelWriter& writer_;
  const FBS::Request::Request& raw_;
  bool replied_{false};
};

// Name of a method for messages; "UNKNOWN" outside the enum.
const char* MethodName(FBS::Request::Method method);

} // namespace sluice::channel
