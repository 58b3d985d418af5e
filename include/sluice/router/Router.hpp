// A Router: the room. Owns its transports and RTP observers (none can be
// created until the media path lands, so their create methods answer "not
// implemented") and answers DUMP, CLOSE_TRANSPORT and CLOSE_RTPOBSERVER.
#pragma once

#include <string>

#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/channel/MethodTable.hpp"

namespace sluice::router {

class Router final : public channel::ChannelEntity {
public:
  Router(std::string id, channel::HandlerRegistry& registry);
  ~Router() override;

  const std::string& Id() const { return id_; }
  void HandleRequest(channel::Request& request) override;

private:
  void HandleDump(channel::Request& request);
  void HandleCloseTransport(channel::Request& request);
  void HandleCloseRtpObserver(channel::Request& request);

  std::string id_;
  channel::HandlerRegistry& registry_;

  friend struct RouterMethods;
};

} // namespace sluice::router
