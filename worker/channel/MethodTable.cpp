#include "sluice/channel/MethodTable.hpp"

namespace sluice::channel {

namespace {
const char* BodyName(FBS::Request::Body body) {
  if (body < FBS::Request::Body::MIN || body > FBS::Request::Body::MAX)
    return "UNKNOWN";
  return FBS::Request::EnumNameBody(body);
}
} // namespace

bool CheckBodyType(Request& request, FBS::Request::Body expected) {
  if (request.BodyType() == expected) {
    if (expected == FBS::Request::Body::NONE || request.HasBody())
      return true;
    request.TypeError(std::string("missing body for ") + request.MethodName() + ": type " +
                      BodyName(expected) + " given without a value");
    return false;
  }
  request.TypeError(std::string("wrong body for ") + request.MethodName() + ": expected " +
                    BodyName(expected) + ", got " + BodyName(request.BodyType()));
  return false;
}

void AnswerUnhandled(Request& request, std::initializer_list<std::string_view> families,
                     std::string_view kind) {
  const std::string_view name = request.MethodName();
  for (std::string_view family : families) {
    if (name.substr(0, family.size()) == family) {
      request.Error(std::string(name) + " not implemented");
      return;
    }
  }
  request.Error(std::string("method ") + std::string(name) + " is not handled by a " +
                std::string(kind) + " (handler ID " + std::string(request.HandlerId()) + ")");
}

} // namespace sluice::channel
