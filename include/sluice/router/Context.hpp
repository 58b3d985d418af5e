// What every media entity needs from the process: the loop (time, sockets,
// timers), the channel (notifications), the id registry, and the settings
// that bound memory. One instance lives in main(); entities hold a reference.
#pragma once

#include <cstdint>

#include <uv.h>

#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/store/RetransmissionRing.hpp"

namespace sluice::router {

struct Context {
  uv_loop_t* loop = nullptr;
  channel::HandlerRegistry* registry = nullptr;
  channel::ChannelWriter* writer = nullptr;
  uint16_t rtcMinPort = 10000;
  uint16_t rtcMaxPort = 59999;
  store::RingWindowConfig videoRing = store::RingWindowConfig::Video();
  store::RingWindowConfig audioRing = store::RingWindowConfig::Audio();

  // Loop time: one reading per loop iteration, shared by every packet in it.
  uint64_t NowMs() const { return uv_now(loop); }
};

} // namespace sluice::router
