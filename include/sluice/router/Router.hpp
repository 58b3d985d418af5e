// A Router: the room. Owns its transports (each owning its producers and
// consumers), answers CREATE_*TRANSPORT, CLOSE_TRANSPORT and DUMP, and runs
// the one timer that drives its transports' RTCP and producer upkeep (so a
// room with hundreds of transports costs one timer, not hundreds).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/RtpObserver.hpp"
#include "sluice/transport/Transport.hpp"

namespace sluice::router {

class Router final : public channel::ChannelEntity, public transport::TransportOwner {
public:
  static constexpr uint64_t kTickMs = 20;

  Router(const Context& context, std::string id);
  ~Router() override;

  const std::string& Id() const { return id_; }
  void HandleRequest(channel::Request& request) override;
  Producer* FindProducer(std::string_view producerId) override;
  bool CloseTransport(std::string_view transportId) override;

  size_t TransportCount() const { return transports_.size(); }
  void AddToCensus(transport::TransportCensus& census) const;

private:
  void HandleDump(channel::Request& request);
  // The id for a new entity, or nullopt once the request was answered with
  // `taken` (an Error) because the id is in use.
  std::optional<std::string> FreeId(channel::Request& request, const flatbuffers::String& id,
                                    const char* taken);
  void HandleCreatePlainTransport(channel::Request& request);
  void HandleCreatePipeTransport(channel::Request& request);
  void HandleCreateWebRtcTransport(channel::Request& request);
  void HandleCreateDirectTransport(channel::Request& request);
  // Registers a created transport and answers with its dump (or the error).
  template <typename T, typename DumpBody>
  void Adopt(channel::Request& request, const std::string& id, std::unique_ptr<T> transport,
             const std::string& error, DumpBody body);
  void HandleCloseTransport(channel::Request& request);
  void HandleCreateAudioLevelObserver(channel::Request& request);
  void HandleCreateActiveSpeakerObserver(channel::Request& request);
  void AdoptObserver(channel::Request& request, std::unique_ptr<RtpObserver> observer);
  void HandleCloseRtpObserver(channel::Request& request);
  void Tick();

  const Context& context_;
  std::string id_;
  std::map<std::string, std::unique_ptr<transport::Transport>, std::less<>> transports_;
  // Destroyed before the transports (see ~Router), each unlinking itself
  // from the producers it watches.
  std::map<std::string, std::unique_ptr<RtpObserver>, std::less<>> rtpObservers_;
  uv_timer_t* timer_; // freed in its close callback

  friend struct RouterMethods;
};

} // namespace sluice::router
