// The Worker entity: answers every WORKER_* request and owns the Routers.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/MemoryReport.hpp"
#include "sluice/router/Router.hpp"
#include "sluice/transport/WebRtcServer.hpp"

namespace sluice::router {

class Worker final : public channel::ChannelEntity {
public:
  // `requestClose` is called (once) when the controller sends WORKER_CLOSE;
  // the caller shuts the process down after the response is flushed.
  Worker(const Context& context, const MemoryReport& memory, std::function<void()> requestClose);
  ~Worker() override;

  void HandleRequest(channel::Request& request) override;
  // Closes every Router (and so everything below it).
  void CloseAll();
  size_t RouterCount() const { return routers_.size(); }

private:
  void HandleClose(channel::Request& request);
  void HandleDump(channel::Request& request);
  void HandleGetResourceUsage(channel::Request& request);
  void HandleUpdateSettings(channel::Request& request);
  void HandleCreateRouter(channel::Request& request);
  void HandleCloseRouter(channel::Request& request);
  void HandleCreateWebRtcServer(channel::Request& request);
  void HandleCloseWebRtcServer(channel::Request& request);

  const Context& context_;
  channel::HandlerRegistry& registry_;
  const MemoryReport& memory_;
  std::function<void()> requestClose_;
  // Ordered so dumps list ids deterministically.
  std::map<std::string, std::unique_ptr<Router>, std::less<>> routers_;
  std::map<std::string, std::unique_ptr<transport::WebRtcServer>, std::less<>> webRtcServers_;

  friend struct WorkerMethods;
};

} // namespace sluice::router
