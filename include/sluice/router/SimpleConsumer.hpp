// A consumer of one producer stream, sent as one RTP stream (plus its RTX).
//
// Per forwarded packet it builds only a rewritten header (SSRC, seq, ts, PT,
// extension ids) into scratch memory; the payload goes out from the pool
// slot the producer stored once. Its retransmission state is the SeqMapper
// (a few offset segments) and a small table that suppresses a second resend
// of the same packet within one RTT: retransmissions come from the producer
// stream's ring, rebuilt with this consumer's rewrites. Bounded, fixed-size
// state; nothing allocates per packet.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "consumer_generated.h"
#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/MediaPort.hpp"
#include "sluice/router/RecvStream.hpp"
#include "sluice/router/RtpParameters.hpp"
#include "sluice/router/SeqMapper.hpp"
#include "sluice/rtcp/RtcpWriter.hpp"
#include "sluice/rtp/RtpWriter.hpp"
#include "sluice/util/FlatCopy.hpp"
#include "sluice/util/RateCalculator.hpp"

namespace sluice::router {

class Producer;

class SimpleConsumer final : public channel::ChannelEntity {
public:
  SimpleConsumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
                 ConsumerParams params, const FBS::Transport::ConsumeRequest& request);
  ~SimpleConsumer() override;

  const std::string& Id() const { return id_; }
  const std::string& ProducerId() const { return producerId_; }
  MediaKind Kind() const { return params_.kind; }
  uint32_t Ssrc() const { return params_.ssrc; }
  uint32_t RtxSsrc() const { return params_.rtxSsrc.value_or(0); }
  bool Paused() const { return paused_; }
  bool ProducerPaused() const { return producerPaused_; }
  uint8_t Score() const { return score_; }
  uint32_t RttMs() const { return rttMs_; }

  void HandleRequest(channel::Request& request) override;

  // From the producer.
  void OnProducerRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
                     int64_t extSeq, bool keyFrame, uint64_t nowMs);
  void OnProducerPaused(bool paused);
  void OnProducerClosed();
  void OnProducerScore();

  // From the transport: it can send now (DTLS connected). A video consumer
  // still waiting for a keyframe asks for one at once.
  void OnTransportConnected(uint64_t nowMs);

  // From the remote, through the transport's RTCP demux.
  void ReceiveNack(const rtcp::GenericNack& nack, uint64_t nowMs);
  void ReceiveKeyFrameRequest(bool fir, uint64_t nowMs);
  void ReceiveReport(const rtcp::ReportBlock& report, uint64_t nowMs);

  // SR + SDES for this stream, when it has sent anything. false: no room.
  bool WriteRtcp(rtcp::CompoundWriter& writer, rtcp::NtpTime ntp, uint64_t nowMs);

  // Whole-consumer resident footprint (object + owned heap), for the memory report.
  size_t FootprintBytes() const;

private:
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);
  void HandlePause(channel::Request& request);
  void HandleResume(channel::Request& request);
  void HandleSetPreferredLayers(channel::Request& request);
  void HandleSetPriority(channel::Request& request);
  void HandleRequestKeyFrame(channel::Request& request);
  void HandleEnableTraceEvent(channel::Request& request);

  bool Active() const { return !paused_ && !producerPaused_ && producer_ != nullptr; }
  void RequestSync(uint64_t nowMs);
  void RequestKeyFrame(uint64_t nowMs);
  void Resend(uint16_t outSeq, uint64_t nowMs);
  void Notify(FBS::Notification::Event event);
  void EmitScore();
  void Trace(FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc);
  flatbuffers::Offset<FBS::RtpStream::Stats> FillSendStats(flatbuffers::FlatBufferBuilder& b,
                                                           uint64_t nowMs);

  // A resend of one output seq, to refuse another within one RTT.
  struct Resent {
    uint32_t outExtLow = 0;
    uint32_t atMs = 0; // loop time, truncated
  };
  static constexpr size_t kResentSlots = 32;

  struct Counters {
    uint64_t packets = 0;
    uint64_t bytes = 0;        // whole packets sent (headers rewritten)
    uint64_t payloadBytes = 0; // RFC 3550 sender octet count
    uint64_t retransmitted = 0;
    uint64_t nackCount = 0;
    uint64_t nackPacketCount = 0;
    uint64_t nackMissTooOld = 0; // not (or no longer) in the ring
    uint64_t nackSuppressed = 0; // resent already within one RTT
    uint64_t pliCount = 0;
    uint64_t firCount = 0;
    uint64_t dropped = 0; // producer packets not forwarded (waiting for a keyframe)
  };

  const Context& context_;
  std::string id_;
  std::string producerId_;
  Producer* producer_;
  RecvStream* stream_ = nullptr;
  MediaPort& port_;
  ConsumerParams params_;
  util::FlatCopy<FBS::RtpParameters::RtpParameters> rtpParameters_;
  std::vector<util::FlatCopy<FBS::RtpParameters::RtpEncodingParameters>> consumableEncodings_;
  rtp::ExtensionIdMap idMap_;
  rtp::HeaderExtension extra_[1];
  size_t extraCount_ = 0;
  SeqMapper seq_;
  bool paused_;
  bool producerPaused_;
  bool syncRequired_ = true;
  uint8_t priority_ = 1;
  uint8_t score_ = 10;
  uint8_t lastProducerScore_ = 0;
  uint8_t traceTypes_ = 0; // bit per FBS::Consumer::TraceEventType
  uint16_t rtxSeq_;
  uint32_t lastOutTs_ = 0;
  uint64_t lastOutMs_ = 0;
  uint64_t lastKeyFrameRequestMs_ = 0;
  uint32_t rttMs_ = 0;
  uint8_t fractionLost_ = 0;
  int32_t packetsLost_ = 0;
  std::array<Resent, kResentSlots> resent_{};
  util::RateCalculator rate_;
  Counters stats_;

  friend struct SimpleConsumerMethods;
};

} // namespace sluice::router
