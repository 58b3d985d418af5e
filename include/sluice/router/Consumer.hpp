// A consumer: one producer's media sent to one transport's remote, as one or
// more ConsumerStreams.
//
// Written once here for every kind: the channel methods, pause/resume and
// the producer's pause/resume/close, scores, keyframe-gated (re)starts and
// keyframe requests toward the source encoding, and the RTCP a remote sends
// about a stream (NACK, PLI/FIR, report blocks), routed to the stream by
// SSRC. A kind only says which producer packets go to which of its streams
// (OnRtp) and what its dump adds (Layers). Kinds:
//   simple     one stream from the producer's only encoding
//   pipe       one stream per producer encoding, each with its own SSRC
//   simulcast  one stream from one encoding at a time, switched on a keyframe
//   svc        one stream from the layers of one encoding
// The kind's streams live in the kind (inline for one, a vector for pipe)
// and are handed to the base once, in its constructor (SetStreams).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consumer_generated.h"
#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/router/ConsumerStream.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/MediaPort.hpp"
#include "sluice/router/RecvStream.hpp"
#include "sluice/router/RtpParameters.hpp"
#include "sluice/rtcp/RtcpWriter.hpp"
#include "sluice/util/FlatCopy.hpp"

namespace sluice::router {

class Producer;

class Consumer : public channel::ChannelEntity {
public:
  ~Consumer() override;

  const std::string& Id() const { return id_; }
  const std::string& ProducerId() const { return producerId_; }
  MediaKind Kind() const { return params_.kind; }
  virtual FBS::RtpParameters::Type Type() const = 0;
  bool Paused() const { return paused_; }
  bool ProducerPaused() const { return producerPaused_; }
  uint8_t Score() const { return score_; }
  // Largest RTT among the streams (the producer sizes its rings with it).
  uint32_t RttMs() const;

  // The streams this consumer sends (for the transport's SSRC demux and RTCP).
  size_t StreamCount() const { return streamCount_; }
  const ConsumerStream& Stream(size_t i) const { return streams_[i]; }

  void HandleRequest(channel::Request& request) override;

  // From the producer.
  void OnProducerRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
                     int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs);
  void OnProducerPaused(bool paused);
  void OnProducerClosed();
  void OnProducerScore();

  // From the transport: it can send now (DTLS connected). A video consumer
  // still waiting for a keyframe asks for one at once.
  void OnTransportConnected(uint64_t nowMs);

  // From the remote, through the transport's RTCP demux (by the stream's
  // media or RTX SSRC; unknown SSRCs are ignored).
  void ReceiveNack(const rtcp::GenericNack& nack, uint64_t nowMs);
  void ReceiveKeyFrameRequest(uint32_t ssrc, bool fir, uint64_t nowMs);
  void ReceiveReport(const rtcp::ReportBlock& report, uint64_t nowMs);

  // SR + SDES for stream `i`, when it has sent anything. false: no room.
  bool WriteRtcp(size_t i, rtcp::CompoundWriter& writer, rtcp::NtpTime ntp, uint64_t nowMs) {
    return streams_[i].WriteRtcp(SendContext(), writer, ntp, nowMs);
  }

  // Whole-consumer resident footprint (object + owned heap), for the memory report.
  virtual size_t FootprintBytes() const = 0;

  // Spatial / temporal layers (simulcast, svc); kinds without layers have none.
  struct LayerPair {
    int16_t spatial = -1;
    int16_t temporal = -1;
    bool operator==(const LayerPair& o) const {
      return spatial == o.spatial && temporal == o.temporal;
    }
  };
  virtual std::optional<LayerPair> PreferredLayers() const { return std::nullopt; }

protected:
  Consumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
           ConsumerParams params, const FBS::Transport::ConsumeRequest& request);

  // The kind's streams, once, from its constructor; then Start().
  void SetStreams(ConsumerStream* streams, size_t count) {
    streams_ = streams;
    streamCount_ = count;
  }
  // Registers with the producer and asks for a first keyframe.
  void Start();

  // A producer packet while the consumer is active and can send: the kind
  // picks the stream (if any) and calls Forward.
  virtual void OnRtp(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
                     int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs) = 0;
  // false: not sent (waiting for a key frame: one was asked for, throttled).
  bool Forward(ConsumerStream& out, RecvStream& stream, const rtp::RtpPacket& packet,
               const store::PacketRef& slot, int64_t extSeq, bool keyFrame, uint64_t nowMs,
               const rtp::codecs::LayerRewrite& layers = {});

  // Spatial/temporal layers for the dump (simulcast, svc); none by default.
  struct Layers {
    flatbuffers::Optional<int16_t> preferredSpatial = flatbuffers::nullopt;
    flatbuffers::Optional<int16_t> targetSpatial = flatbuffers::nullopt;
    flatbuffers::Optional<int16_t> currentSpatial = flatbuffers::nullopt;
    flatbuffers::Optional<int16_t> preferredTemporal = flatbuffers::nullopt;
    flatbuffers::Optional<int16_t> targetTemporal = flatbuffers::nullopt;
    flatbuffers::Optional<int16_t> currentTemporal = flatbuffers::nullopt;
  };
  virtual Layers DumpLayers() const { return {}; }
  // setPreferredLayers (and consume()'s preferredLayers): kept by kinds with layers.
  virtual void SetPreferredLayers(uint8_t spatial, std::optional<uint8_t> temporal) {
    (void)spatial;
    (void)temporal;
  }
  // The producer's stream scores changed (a stream came or went).
  virtual void OnSourceScores(uint64_t nowMs) { (void)nowMs; }
  // CONSUMER_LAYERS_CHANGE with the layers now sent (none: nothing is).
  void NotifyLayers(std::optional<LayerPair> layers);
  void RequestKeyFrame(ConsumerStream& out, uint64_t nowMs);
  // The same while waiting for one: at most once per kKeyFrameRetryMs.
  static constexpr uint64_t kKeyFrameRetryMs = 1000;
  void AskKeyFrame(ConsumerStream& out, uint64_t nowMs);
  const Context& Ctx() const { return context_; }
  // getStats lists the send streams, then (when true) each one's source stream.
  virtual bool StatsIncludeSources() const = 0;

  // Owned heap shared by every kind (ids, parameters, the streams' seq segments).
  size_t BaseFootprintBytes() const;
  bool Active() const { return !paused_ && !producerPaused_ && producer_ != nullptr; }
  StreamSendContext SendContext() const {
    return {producer_, port_,       params_.codec, idMap_,
            extra_,    extraCount_, params_.kind,  params_.cname};
  }
  Producer* SourceProducer() const { return producer_; }
  const ConsumerParams& Params() const { return params_; }

private:
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);
  void HandlePause(channel::Request& request);
  void HandleResume(channel::Request& request);
  void HandleSetPreferredLayers(channel::Request& request);
  void HandleSetPriority(channel::Request& request);
  void HandleRequestKeyFrame(channel::Request& request);
  void HandleEnableTraceEvent(channel::Request& request);

  ConsumerStream* StreamBySsrc(uint32_t ssrc);
  void RequestSync(uint64_t nowMs);
  void RequestKeyFrames(uint64_t nowMs);
  void UpdateScore();
  void Notify(FBS::Notification::Event event);
  void EmitScore();
  void Trace(FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc);

  const Context& context_;
  std::string id_;
  std::string producerId_;
  Producer* producer_;
  MediaPort& port_;
  ConsumerParams params_;
  util::FlatCopy<FBS::RtpParameters::RtpParameters> rtpParameters_;
  std::vector<util::FlatCopy<FBS::RtpParameters::RtpEncodingParameters>> consumableEncodings_;
  rtp::ExtensionIdMap idMap_;
  rtp::HeaderExtension extra_[2]; // MID, transport-wide seq placeholder
  size_t extraCount_ = 0;
  ConsumerStream* streams_ = nullptr;
  size_t streamCount_ = 0;
  bool paused_;
  bool producerPaused_;
  uint8_t priority_ = 1;
  uint8_t score_ = 10;
  uint8_t lastProducerScore_ = 0;
  uint8_t traceTypes_ = 0; // bit per FBS::Consumer::TraceEventType

  friend struct ConsumerMethods;
};

} // namespace sluice::router
