// A Producer: one media source sent by a remote endpoint, as one receive
// stream per encoding, fanned out to its consumers.
//
// Each received packet is copied once into a pool slot (RTX repaired into
// its original form on the way), stored in its stream's ring, and handed to
// every consumer by reference. The producer talks back to the sender through
// its transport's MediaPort: NACKs from the generator, PLI/FIR on consumer
// demand (throttled: one outstanding request per stream until a keyframe
// arrives or kKeyFrameWaitMs passes), and receiver reports.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "producer_generated.h"
#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/MediaPort.hpp"
#include "sluice/router/ProducerObserver.hpp"
#include "sluice/router/RecvStream.hpp"
#include "sluice/router/RtpParameters.hpp"
#include "sluice/rtcp/RtcpWriter.hpp"
#include "sluice/rtp/KeyFrame.hpp"
#include "sluice/rtp/VideoOrientation.hpp"
#include "sluice/util/FlatCopy.hpp"

namespace sluice::router {

class Consumer;

class Producer final : public channel::ChannelEntity {
public:
  static constexpr uint64_t kKeyFrameWaitMs = 1000;
  // RTT assumed for the ring window until a consumer measures one.
  static constexpr uint32_t kDefaultRttMs = 100;

  Producer(const Context& context, std::string id, MediaPort& port, ProducerParams params,
           const FBS::Transport::ProduceRequest& request);
  ~Producer() override;

  const std::string& Id() const { return id_; }
  const ProducerParams& Params() const { return params_; }
  MediaKind Kind() const { return params_.kind; }
  bool Paused() const { return paused_; }
  FBS::RtpParameters::Type Type() const { return params_.type; }

  void HandleRequest(channel::Request& request) override;
  // PRODUCER_SEND (producer.send()): the bytes go to the transport, which
  // routes them as received RTP (a DirectTransport) or counts a drop.
  void HandleNotification(const FBS::Notification::Notification& notification) override;

  // A packet the transport's listener routed here (already SRTP-decrypted).
  // No: no stream of this producer takes it (counted by the caller).
  enum class Routed : uint8_t { No, Media, Rtx };
  Routed ReceiveRtp(const rtp::RtpPacket& packet, uint64_t nowMs);
  void ReceiveSenderReport(uint32_t ssrc, rtcp::NtpTime ntp, uint32_t rtpTimestamp, uint64_t nowMs);
  // Receiver reports for every started stream; false when out of room.
  bool WriteRtcp(rtcp::CompoundWriter& writer, uint32_t senderSsrc, uint64_t nowMs);
  // Timer work: NACK retries, ring expiry, scores, RTT from consumers.
  void Tick(uint64_t nowMs, bool scoreTick);

  // SSRCs (media and RTX) this producer receives, for the transport's listener.
  std::vector<uint32_t> KnownSsrcs() const;
  // The stream of encoding `idx` (nullptr: no such encoding).
  RecvStream* StreamAt(size_t idx) { return idx < streams_.size() ? streams_[idx].get() : nullptr; }
  size_t StreamCount() const { return streams_.size(); }
  void AddConsumer(Consumer* consumer);
  void RemoveConsumer(Consumer* consumer);
  const std::vector<Consumer*>& Consumers() const { return consumers_; }
  // RTP observers watching this producer (a handful per producer; adding
  // one twice is the caller's error).
  void AddObserver(ProducerObserver* observer);
  void RemoveObserver(ProducerObserver* observer);
  const std::vector<ProducerObserver*>& Observers() const { return observers_; }
  // The ssrc-audio-level (RFC 6464) extension id in this producer's packets (0: none).
  uint8_t AudioLevelId() const {
    return params_.extIds.Get(FBS::RtpParameters::RtpHeaderExtensionUri::AudioLevel);
  }
  // PLI/FIR toward the sender of encoding `idx` (video only, throttled).
  void RequestKeyFrame(size_t idx, uint64_t nowMs);
  uint8_t Score() const;
  // The header extension id of frame marking in this producer's packets (0: none).
  uint8_t FrameMarkingId() const { return frameMarkingId_; }
  std::vector<uint8_t> Scores() const;

  struct Drops {
    uint64_t unknownPayloadType = 0;
    uint64_t poolExhausted = 0;
    uint64_t badRtx = 0;
  };
  const Drops& GetDrops() const { return drops_; }

private:
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);
  void HandlePause(channel::Request& request);
  void HandleResume(channel::Request& request);
  void HandleEnableTraceEvent(channel::Request& request);

  RecvStream* FindStream(const rtp::RtpPacket& packet, bool* isRtx);
  void SendNacks(RecvStream& stream, uint64_t nowMs);
  void SendKeyFrameRequest(RecvStream& stream, uint64_t nowMs);
  void EmitScores();
  // PRODUCER_VIDEO_ORIENTATION_CHANGE when the packet's CVO byte differs
  // from the last one reported (or is the first).
  void CheckVideoOrientation(const rtp::RtpPacket& packet);
  bool Tracing(FBS::Producer::TraceEventType type) const {
    return (traceTypes_ & (1u << static_cast<unsigned>(type))) != 0;
  }

  struct KeyFrameRequest {
    uint64_t sentMs = 0;
    bool pending = false;
    uint8_t firSeq = 0;
  };

  const Context& context_;
  std::string id_;
  MediaPort& port_;
  ProducerParams params_;
  util::FlatCopy<FBS::RtpParameters::RtpParameters> rtpParameters_;
  util::FlatCopy<FBS::RtpParameters::RtpMapping> rtpMapping_;
  std::vector<std::unique_ptr<RecvStream>> streams_;
  std::vector<KeyFrameRequest> keyFrameRequests_;                       // per stream
  std::vector<flatbuffers::Offset<FBS::Producer::Score>> scoreScratch_; // EmitScores, per stream
  std::vector<Consumer*> consumers_;
  std::vector<ProducerObserver*> observers_;
  rtp::KeyFrameCodec keyFrameCodec_ = rtp::KeyFrameCodec::Unknown;
  rtp::VideoOrientationTracker orientation_;
  bool paused_;
  uint8_t traceTypes_ = 0;
  uint32_t rttMs_ = UINT32_MAX; // applied to the streams on the first tick
  uint32_t senderSsrc_ = 0;     // ours, in the RTCP we send to the remote sender
  uint8_t frameMarkingId_ = 0;  // where H264 packets carry their temporal layer
  Drops drops_;

  friend struct ProducerMethods;
};

} // namespace sluice::router
