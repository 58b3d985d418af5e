// ActiveSpeakerObserver: the dominant speaker among the producers watched,
// by the algorithm in DominantSpeaker.hpp, re-decided every interval;
// ACTIVESPEAKEROBSERVER_DOMINANT_SPEAKER with the producer id when it is
// first found and whenever it changes.
//
// Per producer a SpeechActivity (about 70 bytes) and a muted flag. Levels
// feed the activity as they arrive; the timer brings silent speakers up to
// date, scores everyone and decides. A muted (paused) producer's activity is
// cleared and it cannot become dominant. Removing or closing the dominant
// producer leaves no dominant until the next one is found (and reported).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "activeSpeakerObserver_generated.h"
#include "sluice/router/DominantSpeaker.hpp"
#include "sluice/router/RtpObserver.hpp"

namespace sluice::router {

class ActiveSpeakerObserver final : public RtpObserver {
public:
  static constexpr uint16_t kMinIntervalMs = 100;
  static constexpr uint16_t kMaxIntervalMs = 5000;

  static std::unique_ptr<ActiveSpeakerObserver>
  Create(const Context& context, std::string id, transport::TransportOwner& router,
         const FBS::ActiveSpeakerObserver::ActiveSpeakerObserverOptions& options);

  ActiveSpeakerObserver(const Context& context, std::string id, transport::TransportOwner& router,
                        uint16_t intervalMs);

private:
  struct Speaker {
    SpeechActivity activity;
    bool muted = false;
  };

  void AddState(uint64_t nowMs) override;
  void EraseState(size_t index) override;
  void OnLevel(size_t index, const rtp::AudioLevel& level, uint64_t nowMs) override;
  void OnInterval(uint64_t nowMs) override;
  void OnPause(uint64_t nowMs) override;
  void OnProducerMuted(size_t index, bool muted, uint64_t nowMs) override;

  std::vector<Speaker> speakers_;    // parallel to Producers()
  std::vector<SpeechScores> scores_; // OnInterval scratch, sized with speakers_
  const Producer* dominant_ = nullptr;
};

} // namespace sluice::router
