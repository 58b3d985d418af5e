// What every media entity needs from the process: the loop (time, sockets,
// timers), the channel (notifications), the id registry, and the settings
// that bound memory. One instance lives in main(); entities hold a reference.
#pragma once

#include <cstdint>

#include <uv.h>

#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/store/RetransmissionRing.hpp"

namespace sluice::transport {
class DtlsCertificate;
class DtlsContext;
} // namespace sluice::transport

namespace sluice::router {

struct Context {
  uv_loop_t* loop = nullptr;
  channel::HandlerRegistry* registry = nullptr;
  channel::ChannelWriter* writer = nullptr;
  uint16_t rtcMinPort = 10000;
  uint16_t rtcMaxPort = 59999;
  store::RingWindowConfig videoRing = store::RingWindowConfig::Video();
  store::RingWindowConfig audioRing = store::RingWindowConfig::Audio();
  // The worker's DTLS identity and the SSL context built from it.
  const transport::DtlsCertificate* certificate = nullptr;
  transport::DtlsContext* dtls = nullptr;
  // ICE-TCP: connections per TCP listener, bytes queued per connection.
  size_t tcpMaxConnections = 64;
  size_t tcpSendQueueBytes = 256 * 1024;

  // Loop time: one reading per loop iteration, shared by every packet in it.
  uint64_t NowMs() const { return uv_now(loop); }
};

} // namespace sluice::router
