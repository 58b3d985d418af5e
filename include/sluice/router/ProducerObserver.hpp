// What a Producer tells the things that watch its media without consuming it
// (RTP observers): every accepted media packet, pause/resume, and its end.
//
// The producer calls OnProducerRtp for each fresh media packet (never RTX,
// never a duplicate) while it is not paused, by reference and without
// allocating; the packet view is valid only during the call. A producer
// being destroyed calls OnProducerClosed once and forgets the observer, so
// the observer must not call RemoveObserver from there.
#pragma once

#include <cstdint>

namespace sluice::rtp {
class RtpPacket;
}

namespace sluice::router {

class Producer;

class ProducerObserver {
public:
  virtual ~ProducerObserver() = default;
  virtual void OnProducerRtp(Producer& producer, const rtp::RtpPacket& packet, uint64_t nowMs) = 0;
  virtual void OnProducerPaused(Producer& producer) { (void)producer; }
  virtual void OnProducerResumed(Producer& producer) { (void)producer; }
  virtual void OnProducerClosed(Producer& producer) = 0;
};

} // namespace sluice::router
