#include "sluice/router/PipeConsumer.hpp"

namespace sluice::router {

PipeConsumer::PipeConsumer(const Context& context, std::string id, Producer& producer,
                           MediaPort& port, ConsumerParams params,
                           const FBS::Transport::ConsumeRequest& request)
    : Consumer(context, std::move(id), producer, port, std::move(params), request) {
  const auto& encodings = Params().encodings;
  streams_.reserve(encodings.size());
  for (size_t i = 0; i < encodings.size(); ++i) {
    const auto idx = static_cast<uint32_t>(i);
    streams_.emplace_back(idx, encodings[i].ssrc, encodings[i].rtxSsrc, idx);
  }
  SetStreams(streams_.data(), streams_.size());
  Start();
}

void PipeConsumer::OnRtp(RecvStream& stream, const rtp::RtpPacket& packet,
                         const store::PacketRef& slot, int64_t extSeq,
                         const rtp::codecs::CodecPacket& cp, uint64_t nowMs) {
  const uint32_t idx = stream.Params().encodingIdx;
  if (idx < streams_.size())
    Forward(streams_[idx], stream, packet, slot, extSeq, cp.keyFrame, nowMs);
}

size_t PipeConsumer::FootprintBytes() const {
  return sizeof(*this) + streams_.capacity() * sizeof(ConsumerStream) + BaseFootprintBytes();
}

} // namespace sluice::router
