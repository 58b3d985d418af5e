// The simulcast kind: one producer encoding at a time (spatial layer =
// encoding index), sent as one stream with the consumer's SSRC.
//
// A move to another encoding happens only at a key frame of it (asked for,
// throttled), and the output stays one stream: seqs and timestamps continue
// (ConsumerStream), PictureIDs and TL0PICIDX continue (LayeredConsumer).
// An encoding that goes silent or scores 0 is left for the best active one.
#pragma once

#include "sluice/router/LayeredConsumer.hpp"

namespace sluice::router {

class SimulcastConsumer final : public LayeredConsumer {
public:
  SimulcastConsumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
                    ConsumerParams params, const FBS::Transport::ConsumeRequest& request);

  FBS::RtpParameters::Type Type() const override { return FBS::RtpParameters::Type::SIMULCAST; }
  size_t FootprintBytes() const override;

private:
  void OnRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
             int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs) override;
  void OnSourceScores(uint64_t nowMs) override;

  uint32_t activeMask_ = 0; // encodings active at the last choice
};

} // namespace sluice::router
