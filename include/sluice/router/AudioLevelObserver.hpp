// AudioLevelObserver: every interval, the producers whose average RFC 6464
// level over it reached the threshold, loudest first and at most maxEntries
// of them (AUDIOLEVELOBSERVER_VOLUMES, volumes as negative dBov), or, when
// none did, AUDIOLEVELOBSERVER_SILENCE once until volumes are reported again
// (nothing at the start: the observer starts out silent).
//
// Per producer a LevelSum (8 bytes) is kept, reset at each interval, when
// the observer pauses and when the producer pauses (a muted producer's last
// levels are not its volume). The scratch for the selection grows with the
// producers watched, never per packet or per interval.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "audioLevelObserver_generated.h"
#include "sluice/router/AudioLevels.hpp"
#include "sluice/router/RtpObserver.hpp"

namespace sluice::router {

class AudioLevelObserver final : public RtpObserver {
public:
  // mediasoup-worker's bounds on the interval.
  static constexpr uint16_t kMinIntervalMs = 250;
  static constexpr uint16_t kMaxIntervalMs = 5000;

  // nullptr and *error (a TypeError) on options out of range.
  static std::unique_ptr<AudioLevelObserver>
  Create(const Context& context, std::string id, transport::TransportOwner& router,
         const FBS::AudioLevelObserver::AudioLevelObserverOptions& options, std::string* error);

  AudioLevelObserver(const Context& context, std::string id, transport::TransportOwner& router,
                     uint16_t maxEntries, int8_t threshold, uint16_t intervalMs);

private:
  void AddState(uint64_t nowMs) override;
  void EraseState(size_t index) override;
  void OnLevel(size_t index, const rtp::AudioLevel& level, uint64_t nowMs) override;
  void OnInterval(uint64_t nowMs) override;
  void OnPause(uint64_t nowMs) override;
  void OnProducerMuted(size_t index, bool muted, uint64_t nowMs) override;

  std::vector<LevelSum> sums_; // parallel to Producers()
  std::vector<LoudEntry> loudest_;
  std::vector<flatbuffers::Offset<FBS::AudioLevelObserver::Volume>> volumeScratch_;
  uint16_t maxEntries_;
  int8_t threshold_;
  bool silent_ = true;
};

} // namespace sluice::router
