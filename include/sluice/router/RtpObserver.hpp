// An RTP observer: something the controller creates on a router to watch
// audio producers' levels without consuming them (AudioLevelObserver,
// ActiveSpeakerObserver). The base holds what every kind shares: the id in
// the channel registry, RTPOBSERVER_PAUSE / RESUME / ADD_PRODUCER /
// REMOVE_PRODUCER, the producers watched (linked both ways through
// Producer::AddObserver, so whichever of the two goes first unlinks the
// other), the RFC 6464 level read from each packet, and ONE uv timer at the
// observer's interval (not one per producer).
//
// A kind keeps fixed-size state per producer in a vector parallel to
// Producers(): AddState appends, EraseState(i) must move the last entry into
// slot i and drop the last, exactly as the base does with its producers.
#pragma once

#include <string>
#include <vector>

#include <uv.h>

#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/ProducerObserver.hpp"
#include "sluice/rtp/AudioLevel.hpp"

namespace sluice::transport {
class TransportOwner;
}

namespace sluice::router {

class RtpObserver : public channel::ChannelEntity, public ProducerObserver {
public:
  RtpObserver(const Context& context, std::string id, transport::TransportOwner& router,
              uint64_t intervalMs);
  ~RtpObserver() override;

  const std::string& Id() const { return id_; }
  bool Paused() const { return paused_; }
  uint64_t IntervalMs() const { return intervalMs_; }
  const std::vector<Producer*>& Producers() const { return producers_; }
  bool Watches(const Producer* producer) const { return IndexOf(producer) != kNotFound; }

  void HandleRequest(channel::Request& request) override;

  void OnProducerRtp(Producer& producer, const rtp::RtpPacket& packet, uint64_t nowMs) final;
  void OnProducerPaused(Producer& producer) final;
  void OnProducerResumed(Producer& producer) final;
  void OnProducerClosed(Producer& producer) final;

protected:
  static constexpr size_t kNotFound = static_cast<size_t>(-1);

  virtual void AddState(uint64_t nowMs) = 0;
  virtual void EraseState(size_t index) = 0;
  // A level read from producer `index`'s packet (never while paused).
  virtual void OnLevel(size_t index, const rtp::AudioLevel& level, uint64_t nowMs) = 0;
  // The interval elapsed (never while paused).
  virtual void OnInterval(uint64_t nowMs) = 0;
  // The observer was paused: accumulated state is to be forgotten.
  virtual void OnPause(uint64_t nowMs) = 0;
  // Producer `index` was paused (muted) or resumed.
  virtual void OnProducerMuted(size_t index, bool muted, uint64_t nowMs) = 0;

  size_t IndexOf(const Producer* producer) const;
  const Context& context_;

private:
  void HandlePause(channel::Request& request);
  void HandleResume(channel::Request& request);
  void HandleAddProducer(channel::Request& request);
  void HandleRemoveProducer(channel::Request& request);
  void Remove(size_t index);
  void StartTimer();

  std::string id_;
  transport::TransportOwner& router_;
  std::vector<Producer*> producers_;
  uint64_t intervalMs_;
  uv_timer_t* timer_; // freed in its close callback
  bool paused_ = false;

  friend struct RtpObserverMethods;
};

} // namespace sluice::router
