#include "sluice/router/AudioLevelObserver.hpp"

#include <algorithm>

#include "notification_generated.h"
#include "sluice/router/Producer.hpp"

namespace sluice::router {

std::unique_ptr<AudioLevelObserver> AudioLevelObserver::Create(
    const Context& context, std::string id, transport::TransportOwner& router,
    const FBS::AudioLevelObserver::AudioLevelObserverOptions& options, std::string* error) {
  if (options.max_entries() < 1) {
    *error = "invalid maxEntries value " + std::to_string(options.max_entries());
    return nullptr;
  }
  if (options.threshold() < -127 || options.threshold() > 0) {
    *error = "invalid threshold value " + std::to_string(options.threshold());
    return nullptr;
  }
  const uint16_t interval = std::clamp(options.interval(), kMinIntervalMs, kMaxIntervalMs);
  return std::make_unique<AudioLevelObserver>(context, std::move(id), router, options.max_entries(),
                                              options.threshold(), interval);
}

AudioLevelObserver::AudioLevelObserver(const Context& context, std::string id,
                                       transport::TransportOwner& router, uint16_t maxEntries,
                                       int8_t threshold, uint16_t intervalMs)
    : RtpObserver(context, std::move(id), router, intervalMs), maxEntries_(maxEntries),
      threshold_(threshold) {}

void AudioLevelObserver::AddState(uint64_t nowMs) {
  (void)nowMs;
  sums_.emplace_back();
  loudest_.resize(std::min<size_t>(sums_.size(), maxEntries_));
  volumeScratch_.reserve(loudest_.size());
}

void AudioLevelObserver::EraseState(size_t index) {
  sums_[index] = sums_.back();
  sums_.pop_back();
}

void AudioLevelObserver::OnLevel(size_t index, const rtp::AudioLevel& level, uint64_t nowMs) {
  (void)nowMs;
  sums_[index].Add(level.dbov);
}

void AudioLevelObserver::OnInterval(uint64_t nowMs) {
  (void)nowMs;
  const size_t n = SelectLoudest(sums_.data(), sums_.size(), threshold_, loudest_.data(),
                                 std::min(loudest_.size(), sums_.size()));
  for (auto& s : sums_)
    s.Reset();
  auto& writer = *context_.writer;
  if (n == 0) {
    if (!silent_)
      writer.Notify(Id(), FBS::Notification::Event::AUDIOLEVELOBSERVER_SILENCE);
    silent_ = true;
    return;
  }
  silent_ = false;
  auto& b = writer.NotificationBuilder();
  volumeScratch_.clear(); // capacity kept: sized with loudest_

  for (size_t i = 0; i < n; ++i) {
    const auto pid = b.CreateString(Producers()[loudest_[i].index]->Id());
    volumeScratch_.push_back(FBS::AudioLevelObserver::CreateVolume(b, pid, loudest_[i].volume));
  }
  const auto body = FBS::AudioLevelObserver::CreateVolumesNotificationDirect(b, &volumeScratch_);
  writer.Notify(Id(), FBS::Notification::Event::AUDIOLEVELOBSERVER_VOLUMES,
                FBS::Notification::Body::AudioLevelObserver_VolumesNotification, body.Union());
}

void AudioLevelObserver::OnPause(uint64_t nowMs) {
  (void)nowMs;
  for (auto& s : sums_)
    s.Reset();
}

void AudioLevelObserver::OnProducerMuted(size_t index, bool muted, uint64_t nowMs) {
  (void)nowMs;
  if (muted)
    sums_[index].Reset();
}

} // namespace sluice::router
