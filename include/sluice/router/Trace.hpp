// Trace notifications (PRODUCER_TRACE / CONSUMER_TRACE) the controller
// enabled with ENABLE_TRACE_EVENT. They are droppable notifications: a slow
// controller loses traces, never memory.
#pragma once

#include <cstdint>
#include <string_view>

#include "consumer_generated.h"
#include "producer_generated.h"
#include "transport_generated.h"
#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/rtp/RtpPacket.hpp"

namespace sluice::router {

// `packet` is required for RTP and KEYFRAME, ignored otherwise.
void EmitConsumerTrace(channel::ChannelWriter& writer, std::string_view id,
                       FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc, uint64_t nowMs,
                       const rtp::RtpPacket* packet = nullptr, bool keyFrame = false);
void EmitProducerTrace(channel::ChannelWriter& writer, std::string_view id,
                       FBS::Producer::TraceEventType type, bool out, uint32_t ssrc, uint64_t nowMs,
                       const rtp::RtpPacket* packet = nullptr, bool keyFrame = false,
                       bool isRtx = false);

// TRANSPORT_TRACE of type bwe: the send-side estimate and its bounds.
void EmitTransportBweTrace(channel::ChannelWriter& writer, std::string_view id, uint64_t nowMs,
                           FBS::Transport::BweType bweType, uint32_t desiredBps,
                           uint32_t minBps, uint32_t maxBps, uint32_t startBps,
                           uint32_t availableBps);

} // namespace sluice::router
