// The svc kind: the layers of the producer's one encoding (VP9 SVC and
// K-SVC, H264 SVC), sent as one stream with spatial layers above the current
// one dropped per picture and the marker bit moved to the last packet of the
// highest layer sent.
//
// Spatial layer changes happen at picture boundaries, so every picture sent
// has exactly one marker bit, on its last packet: down at the start of any
// picture; up at a key picture, which is asked for (throttled) while the
// target is above the current layer. (An upper layer's own switching-up
// point, P=0 in a picture whose base layer predicts, is only seen after that
// picture's lower layers went out marked as its end, so it is not used; for
// K-SVC, "_KEY" modes, key pictures are the only up-switch points anyway.)
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

  bool sourceActive_ = false;
};

} // namespace sluice::router
