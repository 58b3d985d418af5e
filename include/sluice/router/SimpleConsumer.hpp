// The simple kind: the producer's only encoding, sent as one stream (plus its
// RTX) with the consumer's SSRC; with ignoreDtx, Opus DTX packets are left
// out (the output seqs close over them). Everything but "which packets" is
// the Consumer base and its ConsumerStream.
#pragma once

#include "sluice/router/Consumer.hpp"

namespace sluice::router {

class SimpleConsumer final : public Consumer {
public:
  SimpleConsumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
                 ConsumerParams params, const FBS::Transport::ConsumeRequest& request);

  FBS::RtpParameters::Type Type() const override { return FBS::RtpParameters::Type::SIMPLE; }
  size_t FootprintBytes() const override;

private:
  void OnRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
             int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs) override;
  bool StatsIncludeSources() const override { return true; }

  RecvStream* source_; // the producer's first (only) stream
  ConsumerStream stream_;
  bool ignoreDtx_; // consume({ ignoreDtx }): Opus DTX packets are not sent
};

} // namespace sluice::router
