#include "sluice/router/SimpleConsumer.hpp"

#include "sluice/router/Producer.hpp"

namespace sluice::router {

SimpleConsumer::SimpleConsumer(const Context& context, std::string id, Producer& producer,
                               MediaPort& port, ConsumerParams params,
                               const FBS::Transport::ConsumeRequest& request)
    : Consumer(context, std::move(id), producer, port, std::move(params), request),
      source_(producer.StreamAt(0)),
      stream_(0, Params().encodings[0].ssrc, Params().encodings[0].rtxSsrc, 0),
      ignoreDtx_(request.ignore_dtx()) {
  SetStreams(&stream_, 1);
  Start();
}

void SimpleConsumer::OnRtp(RecvStream& stream, const rtp::RtpPacket& packet,
                           const store::PacketRef& slot, int64_t extSeq,
                           const rtp::codecs::CodecPacket& cp, uint64_t nowMs) {
  if (&stream != source_)
    return;
  if (ignoreDtx_ && cp.dtx && !stream_.SyncRequired()) {
    stream_.Skip(extSeq); // the receiver sees no gap
    return;
  }
  Forward(stream_, stream, packet, slot, extSeq, cp.keyFrame, nowMs);
}

size_t SimpleConsumer::FootprintBytes() const {
  return sizeof(*this) + BaseFootprintBytes();
}

} // namespace sluice::router
