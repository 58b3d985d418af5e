// One producer encoding as received: the stream's only copy of its packets
// (the RetransmissionRing), its sequence space, loss and jitter accounting
// for receiver reports, and the NACK generator toward the sender.
//
// Everything here is fixed-size after construction: the ring grows by
// pooled buckets bounded by the window configuration, the NACK generator by
// its tracked-seq bound. Packets enter already in media form (RTX repaired
// by the Producer), with the stream's own SSRC.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "rtpStream_generated.h"
#include "sluice/router/NackGenerator.hpp"
#include "sluice/router/RtpParameters.hpp"
#include "sluice/rtcp/NtpTime.hpp"
#include "sluice/rtcp/RtcpPacket.hpp"
#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/rtp/SeqMath.hpp"
#include "sluice/store/RetransmissionRing.hpp"
#include "sluice/util/RateCalculator.hpp"

namespace sluice::router {

struct RecvStreamParams {
  uint32_t encodingIdx = 0;
  uint32_t ssrc = 0; // 0 until learned (rid / mid-only producers)
  std::optional<uint32_t> rtxSsrc;
  std::string rid;
  uint32_t mappedSsrc = 0;
  const CodecParams* codec = nullptr; // owned by the Producer's params
  std::string cname;
  MediaKind kind = MediaKind::Video;
  ScalabilityMode scalability; // the encoding's layers (dumped, not enforced here)
  bool dtx = false;
};

class RecvStream {
public:
  RecvStream(RecvStreamParams params, const store::RingWindowConfig& ring);

  struct Received {
    int64_t extSeq = 0;
    bool fresh = false;     // stored now (not a duplicate): forward it
    bool recovered = false; // filled a gap we had NACKed
    bool gap = false;       // jumped ahead: seqs are missing
  };
  // `packet` views the bytes in `slot`.
  Received OnPacket(const rtp::RtpPacket& packet, const store::PacketRef& slot, bool viaRtx,
                    uint64_t nowMs);
  void OnDiscarded(bool viaRtx);

  store::PacketRef Lookup(int64_t extSeq, uint64_t nowMs) const {
    return ring_.Lookup(extSeq, nowMs);
  }
  size_t CollectNacks(uint64_t nowMs, uint16_t* out, size_t cap);
  bool TakeKeyFrameNeeded() { return nack_ && nack_->TakeKeyFrameNeeded(); }

  // RFC 3550 §6.4.1: remember the SR's middle NTP bits for LSR/DLSR, and
  // its NTP / RTP time pair, which relates this stream's timestamps to other
  // streams of the same sender (a simulcast consumer's switch).
  void OnSenderReport(rtcp::NtpTime ntp, uint32_t rtpTimestamp, uint64_t nowMs);
  // The sender's NTP time (ms) of RTP timestamp `ts`, and the RTP timestamp at
  // an NTP time: through the last SR, nullopt before one.
  std::optional<int64_t> NtpMsOfRtp(uint32_t ts) const;
  std::optional<uint32_t> RtpOfNtpMs(int64_t ntpMs) const;
  rtcp::ReportBlock MakeReport(uint64_t nowMs);
  // A received packet's spatial / temporal layer (layered video), for the
  // bitrate each layer needs (bitrateByLayer). Layers beyond kMaxSpatial x
  // kMaxTemporal are not measured. The table is allocated on the first call.
  void CountLayer(uint8_t spatial, uint8_t temporal, size_t bytes, uint64_t nowMs);
  static constexpr uint8_t kMaxSpatial = 3;
  static constexpr uint8_t kMaxTemporal = 4;

  // Largest RTT among the consumers of this stream: sizes the ring window.
  void SetRtt(uint32_t rttMs);
  void Tick(uint64_t nowMs);

  void CountNackSent(size_t seqs) {
    ++stats_.nackCount;
    stats_.nackPacketCount += seqs;
  }
  void CountPli() { ++stats_.pliCount; }
  void CountFir() { ++stats_.firCount; }

  const RecvStreamParams& Params() const { return params_; }
  RecvStreamParams& MutableParams() { return params_; }
  uint8_t Score() const { return score_; }
  // Media within the silence limit, and not scored 0 for loss: what a layered
  // consumer may switch to.
  bool Active(uint64_t nowMs) const;
  uint64_t LastPacketMs() const { return lastPacketMs_; }
  bool UpdateScore(uint64_t nowMs); // true when the score changed
  uint64_t PacketsReceived() const { return stats_.packets; }
  const store::RetransmissionRing& Ring() const { return ring_; }

  flatbuffers::Offset<FBS::RtpStream::Dump> FillDump(flatbuffers::FlatBufferBuilder& b) const;
  flatbuffers::Offset<FBS::RtpStream::Stats> FillStats(flatbuffers::FlatBufferBuilder& b,
                                                       uint64_t nowMs);

private:
  void UpdateJitter(uint32_t rtpTs, uint64_t nowMs);

  struct Counters {
    uint64_t packets = 0; // unique media packets, repaired ones included
    uint64_t bytes = 0;
    uint64_t discarded = 0;
    uint64_t rtxDiscarded = 0;
    uint64_t repaired = 0;
    uint64_t retransmitted = 0; // arrived via RTX
    uint64_t nackCount = 0;
    uint64_t nackPacketCount = 0;
    uint64_t pliCount = 0;
    uint64_t firCount = 0;
  };

  RecvStreamParams params_;
  store::RetransmissionRing ring_;
  std::optional<NackGenerator> nack_;
  rtp::SeqUnwrapper unwrapper_;
  int64_t baseSeq_ = 0;
  int64_t maxSeq_ = 0;
  bool started_ = false;
  // Receiver report interval bookkeeping (RFC 3550 A.3).
  int64_t expectedPrior_ = 0;
  uint64_t receivedPrior_ = 0;
  uint8_t lastFractionLost_ = 0;
  // Jitter (RFC 3550 A.8), in timestamp units, scaled by 16.
  uint32_t jitterQ4_ = 0;
  int64_t lastTransit_ = 0;
  bool haveTransit_ = false;
  uint32_t lastSrNtpMiddle_ = 0;
  int64_t lastSrNtpMs_ = -1; // -1: no SR yet
  uint32_t lastSrRtp_ = 0;
  uint64_t lastSrReceivedMs_ = 0;
  uint64_t lastPacketMs_ = 0;
  uint8_t score_ = 0;   // 0 until media flows (PRODUCER_SCORE reports the change)
  bool scored_ = false; // a score was computed from media
  uint64_t scoreExpectedPrior_ = 0;
  uint64_t scoreReceivedPrior_ = 0;
  util::RateCalculator rate_;
  std::unique_ptr<util::RateCalculator[]> layerRates_; // [spatial * kMaxTemporal + temporal]
  uint16_t layersSeen_ = 0;                            // bit per layerRates_ entry
  Counters stats_;
};

} // namespace sluice::router
