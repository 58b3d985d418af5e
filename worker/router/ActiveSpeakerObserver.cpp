#include "sluice/router/ActiveSpeakerObserver.hpp"

#include <algorithm>

#include "notification_generated.h"
#include "sluice/router/Producer.hpp"

namespace sluice::router {

std::unique_ptr<ActiveSpeakerObserver> ActiveSpeakerObserver::Create(
    const Context& context, std::string id, transport::TransportOwner& router,
    const FBS::ActiveSpeakerObserver::ActiveSpeakerObserverOptions& options) {
  const uint16_t interval = std::clamp(options.interval(), kMinIntervalMs, kMaxIntervalMs);
  return std::make_unique<ActiveSpeakerObserver>(context, std::move(id), router, interval);
}

ActiveSpeakerObserver::ActiveSpeakerObserver(const Context& context, std::string id,
                                             transport::TransportOwner& router, uint16_t intervalMs)
    : RtpObserver(context, std::move(id), router, intervalMs) {}

void ActiveSpeakerObserver::AddState(uint64_t nowMs) {
  speakers_.push_back(Speaker{SpeechActivity(nowMs), false});
  scores_.resize(speakers_.size());
}

void ActiveSpeakerObserver::EraseState(size_t index) {
  if (Producers()[index] == dominant_)
    dominant_ = nullptr;
  speakers_[index] = speakers_.back();
  speakers_.pop_back();
}

void ActiveSpeakerObserver::OnLevel(size_t index, const rtp::AudioLevel& level, uint64_t nowMs) {
  speakers_[index].activity.OnLevel(level.dbov, nowMs);
}

void ActiveSpeakerObserver::OnInterval(uint64_t nowMs) {
  const size_t n = speakers_.size();
  if (n == 0)
    return;
  size_t current = kNoSpeaker;
  for (size_t i = 0; i < n; ++i) {
    auto& s = speakers_[i];
    s.activity.CatchUp(nowMs);
    if (Producers()[i] == dominant_)
      current = i;
    scores_[i] = s.muted ? SpeechScores{} : s.activity.Scores();
  }
  // A muted dominant keeps his place only until anyone speaks; a muted
  // candidate (all-zero scores) never passes the thresholds.
  if (current != kNoSpeaker && speakers_[current].muted)
    current = kNoSpeaker;
  const size_t next = PickDominant(scores_.data(), n, current);
  if (next == current || next == kNoSpeaker)
    return;
  dominant_ = Producers()[next];
  auto& writer = *context_.writer;
  auto& b = writer.NotificationBuilder();
  const auto body = FBS::ActiveSpeakerObserver::CreateDominantSpeakerNotificationDirect(
      b, dominant_->Id().c_str());
  writer.Notify(Id(), FBS::Notification::Event::ACTIVESPEAKEROBSERVER_DOMINANT_SPEAKER,
                FBS::Notification::Body::ActiveSpeakerObserver_DominantSpeakerNotification,
                body.Union());
}

void ActiveSpeakerObserver::OnPause(uint64_t nowMs) {
  for (auto& s : speakers_)
    s.activity.Clear(nowMs);
}

void ActiveSpeakerObserver::OnProducerMuted(size_t index, bool muted, uint64_t nowMs) {
  speakers_[index].muted = muted;
  speakers_[index].activity.Clear(nowMs);
}

} // namespace sluice::router
