#include "sluice/router/Router.hpp"

#include <array>

#include "request_generated.h"
#include "response_generated.h"
#include "router_generated.h"
#include "sluice/router/ActiveSpeakerObserver.hpp"
#include "sluice/router/AudioLevelObserver.hpp"
#include "sluice/transport/DirectTransport.hpp"
#include "sluice/transport/ListenInfo.hpp"
#include "sluice/transport/PipeTransport.hpp"
#include "sluice/transport/PlainTransport.hpp"
#include "sluice/transport/WebRtcServer.hpp"
#include "sluice/transport/WebRtcTransport.hpp"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;

struct RouterMethods {
  static const std::array<MethodEntry<Router>, 10> kTable;
};

const std::array<MethodEntry<Router>, 10> RouterMethods::kTable = {{
    {Method::ROUTER_DUMP, Body::NONE, &Router::HandleDump},
    {Method::ROUTER_CREATE_PLAINTRANSPORT, Body::Router_CreatePlainTransportRequest,
     &Router::HandleCreatePlainTransport},
    {Method::ROUTER_CREATE_PIPETRANSPORT, Body::Router_CreatePipeTransportRequest,
     &Router::HandleCreatePipeTransport},
    {Method::ROUTER_CREATE_WEBRTCTRANSPORT, Body::Router_CreateWebRtcTransportRequest,
     &Router::HandleCreateWebRtcTransport},
    {Method::ROUTER_CREATE_WEBRTCTRANSPORT_WITH_SERVER, Body::Router_CreateWebRtcTransportRequest,
     &Router::HandleCreateWebRtcTransport},
    {Method::ROUTER_CREATE_DIRECTTRANSPORT, Body::Router_CreateDirectTransportRequest,
     &Router::HandleCreateDirectTransport},
    {Method::ROUTER_CLOSE_TRANSPORT, Body::Router_CloseTransportRequest,
     &Router::HandleCloseTransport},
    {Method::ROUTER_CREATE_AUDIOLEVELOBSERVER, Body::Router_CreateAudioLevelObserverRequest,
     &Router::HandleCreateAudioLevelObserver},
    {Method::ROUTER_CREATE_ACTIVESPEAKEROBSERVER, Body::Router_CreateActiveSpeakerObserverRequest,
     &Router::HandleCreateActiveSpeakerObserver},
    {Method::ROUTER_CLOSE_RTPOBSERVER, Body::Router_CloseRtpObserverRequest,
     &Router::HandleCloseRtpObserver},
}};

namespace {
constexpr const char* kTransportIdTaken = "a Transport with same transportId already exists";
constexpr const char* kObserverIdTaken = "an RtpObserver with same rtpObserverId already exists";
} // namespace

std::optional<std::string> Router::FreeId(channel::Request& request,
                                          const flatbuffers::String& id, const char* taken) {
  if (context_.registry->Contains(id.string_view())) {
    request.Error(taken);
    return std::nullopt;
  }
  return id.str();
}

Router::Router(const Context& context, std::string id)
    : context_(context), id_(std::move(id)), timer_(new uv_timer_t) {
  uv_timer_init(context_.loop, timer_);
  timer_->data = this;
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<Router*>(t->data)->Tick(); }, kTickMs, kTickMs);
}

Router::~Router() {
  uv_timer_stop(timer_);
  timer_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  rtpObservers_.clear(); // first, while the producers they watch are alive
  transports_.clear();
  context_.registry->Remove(id_);
}

void Router::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, RouterMethods::kTable, {"ROUTER_"}, "Router", request);
}

void Router::Tick() {
  const uint64_t now = context_.NowMs();
  for (auto& [id, t] : transports_)
    t->Tick(now);
}

Producer* Router::FindProducer(std::string_view producerId) {
  for (auto& [id, t] : transports_)
    if (Producer* p = t->FindProducer(producerId))
      return p;
  return nullptr;
}

void Router::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  std::vector<flatbuffers::Offset<flatbuffers::String>> transportIds;
  std::vector<flatbuffers::Offset<FBS::Common::StringStringArray>> producerConsumers;
  std::vector<flatbuffers::Offset<FBS::Common::StringString>> consumerProducer;
  std::vector<flatbuffers::Offset<FBS::Common::StringStringArray>> producerObservers;
  std::vector<flatbuffers::Offset<flatbuffers::String>> observerIds;
  for (const auto& [id, o] : rtpObservers_)
    observerIds.push_back(b.CreateString(id));
  for (const auto& [id, t] : transports_) {
    transportIds.push_back(b.CreateString(id));
    for (const auto& [pid, p] : t->Producers()) {
      std::vector<flatbuffers::Offset<flatbuffers::String>> ids;
      for (const Consumer* c : p->Consumers())
        ids.push_back(b.CreateString(c->Id()));
      producerConsumers.push_back(FBS::Common::CreateStringStringArrayDirect(b, pid.c_str(), &ids));
      ids.clear();
      for (const auto& [oid, o] : rtpObservers_)
        if (o->Watches(p.get()))
          ids.push_back(b.CreateString(oid));
      producerObservers.push_back(FBS::Common::CreateStringStringArrayDirect(b, pid.c_str(), &ids));
    }
    for (const auto& [cid, c] : t->Consumers())
      consumerProducer.push_back(
          FBS::Common::CreateStringStringDirect(b, cid.c_str(), c->ProducerId().c_str()));
  }
  const std::vector<flatbuffers::Offset<FBS::Common::StringStringArray>> noArrays;
  const std::vector<flatbuffers::Offset<FBS::Common::StringString>> noPairs;
  const auto dump = FBS::Router::CreateDumpResponseDirect(
      b, id_.c_str(), &transportIds, &observerIds, &producerConsumers, &consumerProducer,
      &producerObservers, &noArrays, &noPairs);
  request.Accept(FBS::Response::Body::Router_DumpResponse, dump.Union());
}

template <typename T, typename DumpBody>
void Router::Adopt(channel::Request& request, const std::string& id, std::unique_ptr<T> transport,
                   const std::string& error, DumpBody body) {
  if (!transport) {
    request.Error(error);
    return;
  }
  context_.registry->AddRequestHandler(id, transport.get());
  const auto dump = transport->FillDump(request.Builder());
  transports_.emplace(id, std::move(transport));
  request.Accept(body, dump.Union());
}

void Router::HandleCreatePlainTransport(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CreatePlainTransportRequest>();
  const auto freeId = FreeId(request, *body->transport_id(), kTransportIdTaken);
  if (!freeId)
    return;
  const std::string& id = *freeId;
  std::string error;
  const auto* options = body->options();
  if (!transport::CheckListenInfos(std::array{options->listen_info(), options->rtcp_listen_info()},
                                   context_, &error)) {
    request.TypeError(error);
    return;
  }
  auto transport = transport::PlainTransport::Create(context_, id, *this, *options, &error);
  Adopt(request, id, std::move(transport), error, FBS::Response::Body::PlainTransport_DumpResponse);
}

void Router::HandleCreatePipeTransport(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CreatePipeTransportRequest>();
  const auto freeId = FreeId(request, *body->transport_id(), kTransportIdTaken);
  if (!freeId)
    return;
  const std::string& id = *freeId;
  std::string error;
  const auto* options = body->options();
  if (!transport::CheckListenInfos(std::array{options->listen_info()}, context_, &error)) {
    request.TypeError(error);
    return;
  }
  auto transport = transport::PipeTransport::Create(context_, id, *this, *options, &error);
  Adopt(request, id, std::move(transport), error, FBS::Response::Body::PipeTransport_DumpResponse);
}

void Router::HandleCreateWebRtcTransport(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CreateWebRtcTransportRequest>();
  const auto freeId = FreeId(request, *body->transport_id(), kTransportIdTaken);
  if (!freeId)
    return;
  const std::string& id = *freeId;
  const auto& options = *body->options();
  const bool withServer = request.Method() == Method::ROUTER_CREATE_WEBRTCTRANSPORT_WITH_SERVER;
  const auto* listenServer = options.listen_as_ListenServer();
  if (withServer != (listenServer != nullptr)) {
    request.TypeError(withServer ? "missing webRtcServerId" : "missing listenInfos");
    return;
  }
  transport::WebRtcServer* server = nullptr;
  if (listenServer != nullptr) {
    const auto serverId = listenServer->web_rtc_server_id()->string_view();
    server =
        dynamic_cast<transport::WebRtcServer*>(context_.registry->FindRequestHandler(serverId));
    if (server == nullptr) {
      request.Error("WebRtcServer with id " + std::string(serverId) + " not found");
      return;
    }
  }
  std::string error;
  if (const auto* individual = options.listen_as_ListenIndividual(); individual != nullptr) {
    // listenIps with enableUdp and enableTcp both false arrive as no listen info.
    if (individual->listen_infos()->size() == 0) {
      request.TypeError("no ICE candidates: empty listenInfos");
      return;
    }
    if (!transport::CheckListenInfos(*individual->listen_infos(), context_, &error)) {
      request.TypeError(error);
      return;
    }
  }
  auto transport = transport::WebRtcTransport::Create(context_, id, *this, options, server, &error);
  Adopt(request, id, std::move(transport), error,
        FBS::Response::Body::WebRtcTransport_DumpResponse);
}

void Router::HandleCreateDirectTransport(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CreateDirectTransportRequest>();
  const auto freeId = FreeId(request, *body->transport_id(), kTransportIdTaken);
  if (!freeId)
    return;
  const std::string& id = *freeId;
  std::string error;
  auto transport =
      transport::DirectTransport::Create(context_, id, *this, *body->options(), &error);
  Adopt(request, id, std::move(transport), error,
        FBS::Response::Body::DirectTransport_DumpResponse);
}

void Router::AddToCensus(transport::TransportCensus& census) const {
  for (const auto& [id, t] : transports_)
    t->AddToCensus(census);
}

bool Router::CloseTransport(std::string_view transportId) {
  const auto it = transports_.find(transportId);
  if (it == transports_.end())
    return false;
  auto transport = std::move(it->second);
  transports_.erase(it);
  transport.reset();
  return true;
}

void Router::HandleCloseTransport(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CloseTransportRequest>();
  if (!CloseTransport(body->transport_id()->string_view())) {
    request.Error("Transport with ID " + body->transport_id()->str() + " not found");
    return;
  }
  request.Accept();
}

void Router::AdoptObserver(channel::Request& request, std::unique_ptr<RtpObserver> observer) {
  const std::string& id = observer->Id();
  context_.registry->AddRequestHandler(id, observer.get());
  rtpObservers_.emplace(id, std::move(observer));
  request.Accept();
}

void Router::HandleCreateAudioLevelObserver(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CreateAudioLevelObserverRequest>();
  auto id = FreeId(request, *body->rtp_observer_id(), kObserverIdTaken);
  if (!id)
    return;
  std::string error;
  auto observer =
      AudioLevelObserver::Create(context_, std::move(*id), *this, *body->options(), &error);
  if (!observer) {
    request.TypeError(error);
    return;
  }
  AdoptObserver(request, std::move(observer));
}

void Router::HandleCreateActiveSpeakerObserver(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CreateActiveSpeakerObserverRequest>();
  auto id = FreeId(request, *body->rtp_observer_id(), kObserverIdTaken);
  if (!id)
    return;
  AdoptObserver(request,
                ActiveSpeakerObserver::Create(context_, std::move(*id), *this, *body->options()));
}

void Router::HandleCloseRtpObserver(channel::Request& request) {
  const auto* body = request.Body<FBS::Router::CloseRtpObserverRequest>();
  const auto it = rtpObservers_.find(body->rtp_observer_id()->string_view());
  if (it == rtpObservers_.end()) {
    request.Error("RtpObserver with ID " + body->rtp_observer_id()->str() + " not found");
    return;
  }
  rtpObservers_.erase(it);
  request.Accept();
}

} // namespace sluice::router
