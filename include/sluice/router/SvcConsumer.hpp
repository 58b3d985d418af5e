// The svc kind: the layers of the producer's one encoding (VP9 SVC and
// K-SVC, H264 SVC), sent as one stream with spatial layers above the current
// one dropped per picture and the marker bit moved to the last packet of the
// highest layer sent.
//
// Spatial layer changes happen at picture boundaries: down at the start of
// any picture; up one layer at a layer frame that does not predict from
// earlier pictures (RFC 9628 P=0), or, for K-SVC ("_KEY" modes, whose upper
// layers only depend on lower ones in key pictures), at a key picture, which
// is asked for (throttled) while the target is above the current layer.
#pragma once

#include "sluice/router/LayeredConsumer.hpp"

namespace sluice::router {

class SvcConsumer final : public LayeredConsumer {
public:
  SvcConsumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
              ConsumerParams params, const FBS::Transport::ConsumeRequest& request);

  FBS::RtpParameters::Type Type() const override { return FBS::RtpParameters::Type::SVC; }
  size_t FootprintBytes() const override;

private:
  void OnRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
             int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs) override;
  void OnSourceScores(uint64_t nowMs) override;
  // The spatial layer to send this packet's picture with, and whether it
  // starts sending (a key picture after a sync).
  int16_t NextSpatial(const rtp::codecs::CodecPacket& cp, uint64_t nowMs, bool* switching);

  bool ksvc_;
  bool sourceActive_ = false;
};

} // namespace sluice::router
