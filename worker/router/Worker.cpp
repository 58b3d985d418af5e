#include "sluice/router/Worker.hpp"

#include <array>
#include <sys/resource.h>
#include <unistd.h>

#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/net/SendBatch.hpp"
#include "sluice/transport/ListenInfo.hpp"
#include "worker_generated.h"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;

struct WorkerMethods {
  static const std::array<MethodEntry<Worker>, 8> kTable;
};

const std::array<MethodEntry<Worker>, 8> WorkerMethods::kTable = {{
    {Method::WORKER_CLOSE, Body::NONE, &Worker::HandleClose},
    {Method::WORKER_DUMP, Body::NONE, &Worker::HandleDump},
    {Method::WORKER_GET_RESOURCE_USAGE, Body::NONE, &Worker::HandleGetResourceUsage},
    {Method::WORKER_UPDATE_SETTINGS, Body::Worker_UpdateSettingsRequest,
     &Worker::HandleUpdateSettings},
    {Method::WORKER_CREATE_ROUTER, Body::Worker_CreateRouterRequest, &Worker::HandleCreateRouter},
    {Method::WORKER_CLOSE_ROUTER, Body::Worker_CloseRouterRequest, &Worker::HandleCloseRouter},
    {Method::WORKER_CREATE_WEBRTCSERVER, Body::Worker_CreateWebRtcServerRequest,
     &Worker::HandleCreateWebRtcServer},
    {Method::WORKER_WEBRTCSERVER_CLOSE, Body::Worker_CloseWebRtcServerRequest,
     &Worker::HandleCloseWebRtcServer},
}};

namespace {
uint64_t TimevalMs(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000u + static_cast<uint64_t>(tv.tv_usec) / 1000u;
}
} // namespace

Worker::Worker(const Context& context, const MemoryReport& memory,
               std::function<void()> requestClose)
    : context_(context), registry_(*context.registry), memory_(memory),
      requestClose_(std::move(requestClose)) {}

Worker::~Worker() {
  CloseAll();
}

// Routers first: their WebRtcTransports unregister from the servers.
void Worker::CloseAll() {
  routers_.clear();
  webRtcServers_.clear();
}

void Worker::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, WorkerMethods::kTable, {"WORKER_"}, "Worker", request);
}

void Worker::HandleClose(channel::Request& request) {
  request.Accept();
  if (requestClose_) {
    auto close = std::move(requestClose_);
    requestClose_ = nullptr;
    close();
  }
}

void Worker::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  std::vector<flatbuffers::Offset<flatbuffers::String>> routerIds;
  for (const auto& [id, router] : routers_)
    routerIds.push_back(b.CreateString(id));
  std::vector<flatbuffers::Offset<flatbuffers::String>> serverIds;
  for (const auto& [id, server] : webRtcServers_)
    serverIds.push_back(b.CreateString(id));
  const auto requestHandlers = b.CreateVectorOfStrings(registry_.RequestHandlerIds());
  const auto notificationHandlers = b.CreateVectorOfStrings(registry_.NotificationHandlerIds());
  const auto handlers =
      FBS::Worker::CreateChannelMessageHandlers(b, requestHandlers, notificationHandlers);
  transport::TransportCensus census;
  for (const auto& [id, router] : routers_)
    router->AddToCensus(census);
  const auto memory = memory_.Build(b, census);
  // Present only when sends go through io_uring, as with mediasoup-worker.
  flatbuffers::Offset<FBS::LibUring::Dump> liburing = 0;
  const net::SendBatch& batch = net::SendBatch::ForThread();
  if (const net::SendRing* ring = batch.Ring())
    liburing =
        FBS::LibUring::CreateDump(b, ring->GetStats().submitted, batch.GetStats().ringFallbacks, 0);
  const auto dump =
      FBS::Worker::CreateDumpResponse(b, static_cast<uint32_t>(getpid()), b.CreateVector(serverIds),
                                      b.CreateVector(routerIds), handlers, liburing, memory);
  request.Accept(FBS::Response::Body::Worker_DumpResponse, dump.Union());
}

void Worker::HandleGetResourceUsage(channel::Request& request) {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) {
    request.Error("getrusage() failed");
    return;
  }
  auto& b = request.Builder();
  const auto usage = FBS::Worker::CreateResourceUsageResponse(
      b, TimevalMs(ru.ru_utime), TimevalMs(ru.ru_stime), static_cast<uint64_t>(ru.ru_maxrss),
      static_cast<uint64_t>(ru.ru_ixrss), static_cast<uint64_t>(ru.ru_idrss),
      static_cast<uint64_t>(ru.ru_isrss), static_cast<uint64_t>(ru.ru_minflt),
      static_cast<uint64_t>(ru.ru_majflt), static_cast<uint64_t>(ru.ru_nswap),
      static_cast<uint64_t>(ru.ru_inblock), static_cast<uint64_t>(ru.ru_oublock),
      static_cast<uint64_t>(ru.ru_msgsnd), static_cast<uint64_t>(ru.ru_msgrcv),
      static_cast<uint64_t>(ru.ru_nsignals), static_cast<uint64_t>(ru.ru_nvcsw),
      static_cast<uint64_t>(ru.ru_nivcsw));
  request.Accept(FBS::Response::Body::Worker_ResourceUsageResponse, usage.Union());
}

void Worker::HandleUpdateSettings(channel::Request& request) {
  const auto* body = request.Body<FBS::Worker::UpdateSettingsRequest>();
  channel::LogLevel level = channel::Logger::Level();
  if (body->log_level() && !channel::Logger::ParseLevel(body->log_level()->string_view(), &level)) {
    request.TypeError("invalid logLevel '" + body->log_level()->str() + "'");
    return;
  }
  if (body->log_tags()) {
    std::vector<std::string_view> tags;
    for (const auto* tag : *body->log_tags())
      tags.push_back(tag->string_view());
    size_t unknown = 0;
    channel::Logger::SetTags(tags.data(), tags.size(), &unknown);
    if (unknown > 0)
      SLUICE_WARN("%zu unknown log tag(s) ignored", unknown);
  }
  channel::Logger::SetLevel(level);
  request.Accept();
}

void Worker::HandleCreateRouter(channel::Request& request) {
  const auto* body = request.Body<FBS::Worker::CreateRouterRequest>();
  const std::string id = body->router_id()->str();
  if (id.empty()) {
    request.TypeError("routerId must not be empty");
    return;
  }
  if (registry_.Contains(id)) {
    request.Error("Channel request handler with ID " + id + " already exists");
    return;
  }
  auto router = std::make_unique<Router>(context_, id);
  registry_.AddRequestHandler(id, router.get());
  routers_.emplace(id, std::move(router));
  SLUICE_DEBUG(Info, "router %s created", id.c_str());
  request.Accept();
}

void Worker::HandleCloseRouter(channel::Request& request) {
  const auto* body = request.Body<FBS::Worker::CloseRouterRequest>();
  const auto it = routers_.find(body->router_id()->string_view());
  if (it == routers_.end()) {
    request.Error("Router with ID " + body->router_id()->str() + " not found");
    return;
  }
  routers_.erase(it);
  request.Accept();
}

void Worker::HandleCreateWebRtcServer(channel::Request& request) {
  const auto* body = request.Body<FBS::Worker::CreateWebRtcServerRequest>();
  const std::string id = body->web_rtc_server_id()->str();
  if (registry_.Contains(id)) {
    request.Error("Channel request handler with ID " + id + " already exists");
    return;
  }
  // Bad arguments answer TypeError (as mediasoup-worker does), before any
  // socket is opened; a port we cannot have stays an Error from Create.
  std::string error;
  if (body->listen_infos() == nullptr || body->listen_infos()->size() == 0) {
    request.TypeError("empty listenInfos");
    return;
  }
  if (!transport::CheckListenInfos(*body->listen_infos(), context_, &error)) {
    request.TypeError(error);
    return;
  }
  auto server = transport::WebRtcServer::Create(context_, id, body->listen_infos(), &error);
  if (!server) {
    request.Error(error);
    return;
  }
  registry_.AddRequestHandler(id, server.get());
  webRtcServers_.emplace(id, std::move(server));
  request.Accept();
}

void Worker::HandleCloseWebRtcServer(channel::Request& request) {
  const auto* body = request.Body<FBS::Worker::CloseWebRtcServerRequest>();
  const auto it = webRtcServers_.find(body->web_rtc_server_id()->string_view());
  if (it == webRtcServers_.end()) {
    request.Error("WebRtcServer with ID " + body->web_rtc_server_id()->str() + " not found");
    return;
  }
  webRtcServers_.erase(it);
  request.Accept();
}

} // namespace sluice::router
