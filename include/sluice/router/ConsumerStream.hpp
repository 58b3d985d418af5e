// One RTP stream a consumer sends (plus its RTX), fed from one producer
// stream at a time.
//
// Per forwarded packet it builds only a rewritten header (SSRC, seq, ts, PT,
// extension ids) into scratch memory; the payload goes out from the pool
// slot the producer stored once. Its retransmission state is the SeqMapper
// (a few offset segments) and a small table that suppresses a second resend
// of the same packet within one RTT: retransmissions come from the source
// stream's ring, rebuilt with this stream's rewrites. Fixed-size state
// (~0.8 KiB); nothing allocates per packet.
//
// Every consumer kind is a set of these: simple and simulcast/svc send one,
// pipe one per producer encoding. The kind decides which producer packets a
// stream takes; the stream decides how they go out.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "rtpStream_generated.h"
#include "sluice/router/MediaPort.hpp"
#include "sluice/router/RecvStream.hpp"
#include "sluice/router/RtpParameters.hpp"
#include "sluice/router/SeqMapper.hpp"
#include "sluice/rtcp/RtcpPacket.hpp"
#include "sluice/rtcp/RtcpWriter.hpp"
#include "sluice/rtp/RtpWriter.hpp"
#include "sluice/rtp/codecs/LayeredPayload.hpp"
#include "sluice/util/RateCalculator.hpp"

namespace sluice::router {

class Producer;

// What every stream of one consumer shares: owned by the Consumer.
struct StreamSendContext {
  Producer* producer; // nullptr once it closed
  MediaPort& port;
  const CodecParams& codec;
  const rtp::ExtensionIdMap& idMap;
  const rtp::HeaderExtension* extra;
  size_t extraCount;
  MediaKind kind;
  const std::string& cname;
};

class ConsumerStream {
public:
  // `rewriteCodec`: the codec whose payload head this stream rewrites per
  // packet (LayerRewrite; Unknown: payloads go out as stored). `segments`:
  // how many seq runs it remembers for retransmissions (SeqMapper).
  ConsumerStream(uint32_t encodingIdx, uint32_t ssrc, std::optional<uint32_t> rtxSsrc,
                 uint32_t sourceIdx,
                 rtp::codecs::CodecKind rewriteCodec = rtp::codecs::CodecKind::Unknown,
                 size_t segments = SeqMapper::kSegments);

  uint32_t EncodingIdx() const { return encodingIdx_; }
  uint32_t Ssrc() const { return ssrc_; }
  std::optional<uint32_t> RtxSsrc() const { return rtxSsrc_; }
  bool Matches(uint32_t ssrc) const { return ssrc == ssrc_ || (rtxSsrc_ && *rtxSsrc_ == ssrc); }
  // The producer encoding this stream forwards (or waits for): where its
  // keyframe requests go.
  uint32_t SourceIdx() const { return sourceIdx_; }
  void SetSourceIdx(uint32_t idx) { sourceIdx_ = idx; }
  // The producer stream it forwards now.
  RecvStream* Source() const { return source_; }

  // Start a new segment on the next packet that may start one (any audio
  // packet, a video keyframe): on start, resume, and a source switch.
  void RequireSync() { syncRequired_ = true; }
  bool SyncRequired() const { return syncRequired_; }

  enum class Sent : uint8_t { Ok, Dropped, WaitingKeyFrame };
  // `packet` views the bytes in `slot`, from `source`; sent with `layers`
  // (see LayeredPayload.hpp) when the stream rewrites payload heads. After a
  // sync, the first packet from a source other than the previous one
  // switches to it: timestamps continue through both streams' sender
  // reports (wall time between packets when either has none).
  Sent Forward(const StreamSendContext& ctx, RecvStream& source, const rtp::RtpPacket& packet,
               const store::PacketRef& slot, int64_t extSeq, bool keyFrame, uint64_t nowMs,
               const rtp::codecs::LayerRewrite& layers = {});
  // A packet of the current source the kind does not send (a layer above
  // its target): the output seqs close over it.
  void Skip(int64_t extSeq) { seq_.Skip(extSeq); }
  // Where the source's packets carry frame marking (H264 SVC end of layer frame).
  void SetFrameMarkingId(uint8_t id) { frameMarkingId_ = id; }
  // A producer packet refused as bad input (packetsDiscarded in stats).
  void CountDiscarded() { ++stats_.dropped; }

  // NACK from the remote: each seq resent from the source ring (RTX when
  // negotiated), at most once per RTT.
  void ReceiveNack(const StreamSendContext& ctx, const rtcp::GenericNack& nack, uint64_t nowMs);
  void CountKeyFrameRequest(bool fir) { ++(fir ? stats_.firCount : stats_.pliCount); }
  // true when the score changed.
  bool ReceiveReport(const rtcp::ReportBlock& report);
  // SR + SDES, when it has sent anything. false: no room in `writer`.
  bool WriteRtcp(const StreamSendContext& ctx, rtcp::CompoundWriter& writer, rtcp::NtpTime ntp,
                 uint64_t nowMs) const;

  // Key frame requests toward the source, throttled by the caller.
  uint64_t LastKeyFrameRequestMs() const { return lastKeyFrameRequestMs_; }
  void SetLastKeyFrameRequestMs(uint64_t ms) { lastKeyFrameRequestMs_ = ms; }

  uint8_t Score() const { return score_; }
  uint32_t RttMs() const { return rttMs_; }
  uint64_t PacketsSent() const { return stats_.packets; }
  // Heap the stream owns beyond its own size (its seq segments).
  size_t HeapBytes() const { return seq_.FootprintBytes(); }

  flatbuffers::Offset<FBS::RtpStream::Stats>
  FillStats(const StreamSendContext& ctx, flatbuffers::FlatBufferBuilder& b, uint64_t nowMs);
  flatbuffers::Offset<FBS::RtpStream::Dump> FillDump(const StreamSendContext& ctx,
                                                     flatbuffers::FlatBufferBuilder& b) const;

private:
  void Resend(const StreamSendContext& ctx, uint16_t outSeq, uint64_t nowMs);
  rtp::RtpRewrite Rewrite(const StreamSendContext& ctx, uint16_t seq, uint32_t ts) const;
  uint32_t ContinuingTsOffset(const StreamSendContext& ctx, const RecvStream& source, uint32_t ts,
                              uint64_t nowMs) const;
  // Header (and rewritten payload head) into the scratch buffer; 0: not sent.
  size_t WriteHead(const rtp::RtpPacket& packet, const rtp::RtpRewrite& rw,
                   const rtp::codecs::LayerRewrite& layers, const rtp::RtxRewrite* rtx,
                   size_t* skip, size_t* written);

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

  uint32_t encodingIdx_;
  uint32_t ssrc_;
  std::optional<uint32_t> rtxSsrc_;
  uint32_t sourceIdx_;
  rtp::codecs::CodecKind rewriteCodec_;
  uint8_t frameMarkingId_ = 0;
  RecvStream* source_ = nullptr;
  SeqMapper seq_;
  bool syncRequired_ = true;
  uint8_t score_ = 10;
  uint8_t fractionLost_ = 0;
  uint16_t rtxSeq_;
  int32_t packetsLost_ = 0;
  uint32_t lastOutTs_ = 0;
  uint32_t rttMs_ = 0;
  uint64_t lastOutMs_ = 0;
  uint64_t lastKeyFrameRequestMs_ = 0;
  std::array<Resent, kResentSlots> resent_{};
  util::RateCalculator rate_;
  Counters stats_;
};

} // namespace sluice::router
