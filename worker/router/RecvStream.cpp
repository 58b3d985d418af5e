#include "sluice/router/RecvStream.hpp"

#include <string>

#include <algorithm>

#include "sluice/router/StreamDump.hpp"

namespace sluice::router {

namespace {

constexpr uint32_t kScoreSilenceMs = 2500; // no media for this long: score 0

NackGeneratorConfig NackConfigFor(MediaKind kind) {
  NackGeneratorConfig c;
  if (kind == MediaKind::Audio)
    c.maxTracked = 64;
  return c;
}

} // namespace

RecvStream::RecvStream(RecvStreamParams params, const store::RingWindowConfig& ring)
    : params_(std::move(params)), ring_(ring) {
  if (params_.codec != nullptr && params_.codec->nack)
    nack_.emplace(NackConfigFor(params_.kind));
}

RecvStream::Received RecvStream::OnPacket(const rtp::RtpPacket& packet,
                                          const store::PacketRef& slot, bool viaRtx,
                                          uint64_t nowMs) {
  Received r;
  r.extSeq = unwrapper_.Unwrap(packet.SequenceNumber());
  const uint64_t duplicatesBefore = ring_.Duplicates();
  const bool stored = ring_.Insert(r.extSeq, slot, nowMs);
  if (!stored && ring_.Duplicates() != duplicatesBefore) {
    OnDiscarded(viaRtx);
    return r;
  }
  // Older than the ring reaches: not stored, but still new to consumers.
  r.fresh = true;
  if (!started_) {
    started_ = true;
    baseSeq_ = r.extSeq;
    maxSeq_ = r.extSeq;
    expectedPrior_ = 0;
  } else if (r.extSeq > maxSeq_) {
    r.gap = r.extSeq > maxSeq_ + 1;
    maxSeq_ = r.extSeq;
  } else if (r.extSeq < baseSeq_) {
    baseSeq_ = r.extSeq; // an early packet arriving late
  }
  if (nack_)
    r.recovered = nack_->OnPacket(r.extSeq, nowMs) && viaRtx;
  if (viaRtx) {
    ++stats_.retransmitted;
    if (r.recovered)
      ++stats_.repaired;
  } else {
    UpdateJitter(packet.Timestamp(), nowMs);
  }
  ++stats_.packets;
  stats_.bytes += packet.Size();
  rate_.Update(static_cast<uint32_t>(packet.Size()), nowMs);
  lastPacketMs_ = nowMs;
  return r;
}

void RecvStream::OnDiscarded(bool viaRtx) {
  if (viaRtx)
    ++stats_.rtxDiscarded;
  else
    ++stats_.discarded;
}

size_t RecvStream::CollectNacks(uint64_t nowMs, uint16_t* out, size_t cap) {
  return nack_ ? nack_->Collect(nowMs, out, cap) : 0;
}

void RecvStream::UpdateJitter(uint32_t rtpTs, uint64_t nowMs) {
  const uint32_t clockRate = params_.codec ? params_.codec->clockRate : 90000;
  // Arrival in timestamp units; only differences matter, so wrap is harmless
  // once both values are reduced the same way.
  const int64_t arrival = static_cast<int64_t>((nowMs * clockRate) / 1000);
  const int64_t transit = arrival - static_cast<int64_t>(rtpTs);
  if (haveTransit_) {
    int64_t d = transit - lastTransit_;
    // A timestamp wrap between the two packets shows up as a 2^32 jump.
    d %= int64_t{1} << 32;
    if (d < 0)
      d = -d;
    if (d > (int64_t{1} << 31))
      d = (int64_t{1} << 32) - d;
    // J += (|D| - J) / 16, kept scaled by 16 (RFC 3550 A.8).
    const int64_t j = static_cast<int64_t>(jitterQ4_) + d - ((jitterQ4_ + 8) >> 4);
    jitterQ4_ = static_cast<uint32_t>(std::clamp<int64_t>(j, 0, UINT32_MAX));
  }
  lastTransit_ = transit;
  haveTransit_ = true;
}

void RecvStream::OnSenderReport(rtcp::NtpTime ntp, uint32_t rtpTimestamp, uint64_t nowMs) {
  lastSrNtpMiddle_ = ntp.Compact();
  lastSrReceivedMs_ = nowMs;
  lastSrNtpMs_ = static_cast<int64_t>(ntp.seconds) * 1000 +
                 static_cast<int64_t>((uint64_t{ntp.fraction} * 1000) >> 32);
  lastSrRtp_ = rtpTimestamp;
}

std::optional<int64_t> RecvStream::NtpMsOfRtp(uint32_t ts) const {
  const uint32_t clock = params_.codec != nullptr ? params_.codec->clockRate : 0;
  if (lastSrNtpMs_ < 0 || clock == 0)
    return std::nullopt;
  // Signed 32-bit distance from the SR's timestamp (either side of it).
  const auto diff = static_cast<int32_t>(ts - lastSrRtp_);
  return lastSrNtpMs_ + int64_t{diff} * 1000 / clock;
}

std::optional<uint32_t> RecvStream::RtpOfNtpMs(int64_t ntpMs) const {
  const uint32_t clock = params_.codec != nullptr ? params_.codec->clockRate : 0;
  if (lastSrNtpMs_ < 0 || clock == 0)
    return std::nullopt;
  return lastSrRtp_ + static_cast<uint32_t>((ntpMs - lastSrNtpMs_) * int64_t{clock} / 1000);
}

rtcp::ReportBlock RecvStream::MakeReport(uint64_t nowMs) {
  rtcp::ReportBlock r;
  r.ssrc = params_.ssrc;
  if (!started_)
    return r;
  const int64_t expected = maxSeq_ - baseSeq_ + 1;
  const int64_t lost = expected - static_cast<int64_t>(stats_.packets);
  r.cumulativeLost = static_cast<int32_t>(std::clamp<int64_t>(lost, -0x800000, 0x7FFFFF));
  const int64_t expectedInterval = expected - expectedPrior_;
  const int64_t receivedInterval = static_cast<int64_t>(stats_.packets - receivedPrior_);
  expectedPrior_ = expected;
  receivedPrior_ = stats_.packets;
  const int64_t lostInterval = expectedInterval - receivedInterval;
  lastFractionLost_ = (expectedInterval <= 0 || lostInterval <= 0)
                          ? 0
                          : static_cast<uint8_t>((lostInterval << 8) / expectedInterval);
  r.fractionLost = lastFractionLost_;
  r.extendedHighestSeq = static_cast<uint32_t>(maxSeq_);
  r.jitter = jitterQ4_ >> 4;
  if (lastSrReceivedMs_ != 0) {
    r.lsr = lastSrNtpMiddle_;
    r.dlsr = static_cast<uint32_t>(((nowMs - lastSrReceivedMs_) * 65536) / 1000);
  }
  return r;
}

void RecvStream::SetRtt(uint32_t rttMs) {
  ring_.SetRtt(rttMs);
  if (nack_)
    nack_->SetRtt(rttMs);
}

void RecvStream::Tick(uint64_t nowMs) {
  ring_.Expire(nowMs);
}

bool RecvStream::UpdateScore(uint64_t nowMs) {
  uint8_t score = score_;
  if (!started_ || nowMs - lastPacketMs_ > kScoreSilenceMs) {
    score = 0;
  } else {
    const uint64_t expected = static_cast<uint64_t>(maxSeq_ - baseSeq_ + 1);
    const uint64_t expectedInterval = expected - scoreExpectedPrior_;
    const uint64_t receivedInterval = stats_.packets - scoreReceivedPrior_;
    scoreExpectedPrior_ = expected;
    scoreReceivedPrior_ = stats_.packets;
    if (expectedInterval > 0) {
      const uint64_t lost =
          receivedInterval >= expectedInterval ? 0 : expectedInterval - receivedInterval;
      // 0% loss: 10; every 5% lost (after repair) costs one point.
      const uint64_t penalty = (lost * 20 + expectedInterval / 2) / expectedInterval;
      score = static_cast<uint8_t>(10 - std::min<uint64_t>(10, penalty));
    }
  }
  const bool changed = score != score_;
  score_ = score;
  scored_ = scored_ || score != 0;
  return changed;
}

void RecvStream::CountLayer(uint8_t spatial, uint8_t temporal, size_t bytes, uint64_t nowMs) {
  if (spatial >= kMaxSpatial || temporal >= kMaxTemporal)
    return;
  if (!layerRates_)
    layerRates_ = std::make_unique<util::RateCalculator[]>(size_t{kMaxSpatial} * kMaxTemporal);
  const size_t i = size_t{spatial} * kMaxTemporal + temporal;
  layerRates_[i].Update(static_cast<uint32_t>(bytes), nowMs);
  layersSeen_ |= static_cast<uint16_t>(1u << i);
}

bool RecvStream::Active(uint64_t nowMs) const {
  return started_ && nowMs - lastPacketMs_ <= kScoreSilenceMs && (score_ != 0 || !scored_);
}

flatbuffers::Offset<FBS::RtpStream::Dump>
RecvStream::FillDump(flatbuffers::FlatBufferBuilder& b) const {
  const auto& p = params_;
  return FillStreamDump(
      b, {p.encodingIdx, p.ssrc, p.codec, &p.rid, &p.cname, p.rtxSsrc, p.kind, score_},
      {p.scalability.spatialLayers, p.scalability.temporalLayers, p.dtx});
}

flatbuffers::Offset<FBS::RtpStream::Stats> RecvStream::FillStats(flatbuffers::FlatBufferBuilder& b,
                                                                 uint64_t nowMs) {
  const auto& p = params_;
  const CodecParams* c = p.codec;
  const int64_t expected = started_ ? maxSeq_ - baseSeq_ + 1 : 0;
  const int64_t lost = std::max<int64_t>(0, expected - static_cast<int64_t>(stats_.packets));
  const auto base = FBS::RtpStream::CreateBaseStatsDirect(
      b, nowMs, p.ssrc,
      p.kind == MediaKind::Audio ? FBS::RtpParameters::MediaKind::AUDIO
                                 : FBS::RtpParameters::MediaKind::VIDEO,
      c ? c->mimeType.c_str() : "", static_cast<uint64_t>(lost), lastFractionLost_,
      stats_.discarded, stats_.retransmitted, stats_.repaired, stats_.nackCount,
      stats_.nackPacketCount, stats_.pliCount, stats_.firCount, score_,
      p.rid.empty() ? nullptr : p.rid.c_str(),
      p.rtxSsrc ? flatbuffers::Optional<uint32_t>(*p.rtxSsrc) : flatbuffers::nullopt,
      stats_.rtxDiscarded, 0.0f);
  const auto baseWrapped =
      FBS::RtpStream::CreateStats(b, FBS::RtpStream::StatsData::BaseStats, base.Union());
  std::vector<flatbuffers::Offset<FBS::RtpStream::BitrateByLayer>> layers;
  // Each layer's bitrate includes the layers it needs ("S.T": spatial S and
  // temporal T with everything below them).
  for (uint8_t sp = 0; sp < kMaxSpatial && layerRates_; ++sp) {
    for (uint8_t t = 0; t < kMaxTemporal; ++t) {
      if ((layersSeen_ >> (sp * kMaxTemporal + t) & 1u) == 0)
        continue;
      uint64_t bitrate = 0;
      for (uint8_t s2 = 0; s2 <= sp; ++s2)
        for (uint8_t t2 = 0; t2 <= t; ++t2)
          bitrate += layerRates_[s2 * kMaxTemporal + t2].Rate(nowMs);
      const std::string name = std::to_string(sp) + "." + std::to_string(t);
      layers.push_back(FBS::RtpStream::CreateBitrateByLayerDirect(
          b, name.c_str(), static_cast<uint32_t>(std::min<uint64_t>(bitrate, UINT32_MAX))));
    }
  }
  const auto recv = FBS::RtpStream::CreateRecvStatsDirect(
      b, baseWrapped, jitterQ4_ >> 4, stats_.packets, stats_.bytes, rate_.Rate(nowMs), &layers);
  return FBS::RtpStream::CreateStats(b, FBS::RtpStream::StatsData::RecvStats, recv.Union());
}

} // namespace sluice::router
