// The pipe kind (consume({ pipe: true }), e.g. toward another router): every
// encoding of the producer, each as its own outgoing stream with the SSRC
// (and RTX SSRC) of the consumer's encoding at the same index.
//
// No layer choice: producer encoding i always feeds stream i. Each stream has
// its own seq/ts continuity, NACK answers from its own source ring, and its
// own sender report. Like mediasoup's pipe consumer, a video stream still
// starts (and restarts after a pause) on a keyframe of its encoding, asking
// that encoding's sender for one; audio starts on any packet.
#pragma once

#include <vector>

#include "sluice/router/Consumer.hpp"

namespace sluice::router {

class PipeConsumer final : public Consumer {
public:
  PipeConsumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
               ConsumerParams params, const FBS::Transport::ConsumeRequest& request);

  FBS::RtpParameters::Type Type() const override { return FBS::RtpParameters::Type::PIPE; }
  size_t FootprintBytes() const override;

private:
  void OnRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
             int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs) override;
  // getStats: the send streams only (what mediasoup's pipe consumer reports).
  bool StatsIncludeSources() const override { return false; }

  std::vector<ConsumerStream> streams_; // index = producer encoding index; never resized
};

} // namespace sluice::router
