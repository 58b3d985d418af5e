#include "sluice/router/Router.hpp"

#include <array>

#include "request_generated.h"
#include "response_generated.h"
#include "router_generated.h"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;

struct RouterMethods {
  static const std::array<MethodEntry<Router>, 3> kTable;
};

const std::array<MethodEntry<Router>, 3> RouterMethods::kTable = {{
    {Method::ROUTER_DUMP, Body::NONE, &Router::HandleDump},
    {Method::ROUTER_CLOSE_TRANSPORT, Body::Router_CloseTransportRequest,
     &Router::HandleCloseTransport},
    {Method::ROUTER_CLOSE_RTPOBSERVER, Body::Router_CloseRtpObserverRequest,
     &Router::HandleCloseRtpObserver},
}};

Router::Router(std::string id, channel::HandlerRegistry& registry)
    : id_(std::move(id)), registry_(registry) {}

Router::~Router() { registry_.Remove(id_); }

void Router::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, RouterMethods::kTable, {"ROUTER_"}, "Router", request);
}

void Router::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  const std::vector<flatbuffers::Offset<flatbuffers::String>> noIds;
  const std::vector<flatbuffers::Offset<FBS::Common::StringStringArray>> noArrays;
  const std::vector<flatbuffers::Offset<FBS::Common::StringString>> noPairs;
  const auto dump = FBS::Router::CreateDumpResponseDirect(b, id_.c_str(), &noIds, &noIds,
                                                          &noArrays, &noPairs, &noArrays,
                                                          &noArrays, &noPairs);
  request.Accept(FBS::Response::Body::Router_DumpResponse, dump.Union());
}

void Router::HandleCloseTransport(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CloseTransportRequest>();
  // No transport kind exists yet, so no id can match.
  request.Error("Transport with ID " + body->transport_id()->str() + " not found");
}

void Router::HandleCloseRtpObserver(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CloseRtpObserverRequest>();
  request.Error("RtpObserver with ID " + body->rtp_observer_id()->str() + " not found");
}

} // namespace sluice::router
