#include "sluice/router/ConsumerStream.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "sluice/router/Producer.hpp"
#include "sluice/router/StreamDump.hpp"
#include "sluice/util/Clock.hpp"

namespace sluice::router {

namespace {

constexpr uint32_t kMinResendGapMs = 20; // "one RTT" when the RTT is not known yet

// Header rewrites are built here, then copied into the send batch.
// A rewritten payload head (a VP9 descriptor with its SS fits) goes right
// behind the header.
constexpr size_t kHeadRoom = 64 + 1024;
thread_local uint8_t tScratch[rtp::RtpPacket::kFixedHeaderSize + 60 + 4 + 1024 + kHeadRoom];
thread_local uint8_t tHead[kHeadRoom];

uint16_t RandomSeq() {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return static_cast<uint16_t>(rng());
}

} // namespace

ConsumerStream::ConsumerStream(uint32_t encodingIdx, uint32_t ssrc, std::optional<uint32_t> rtxSsrc,
                               uint32_t sourceIdx, rtp::codecs::CodecKind rewriteCodec,
                               size_t segments)
    : encodingIdx_(encodingIdx), ssrc_(ssrc), rtxSsrc_(rtxSsrc), sourceIdx_(sourceIdx),
      rewriteCodec_(rewriteCodec), seq_(segments), rtxSeq_(RandomSeq()) {}

rtp::RtpRewrite ConsumerStream::Rewrite(const StreamSendContext& ctx, uint16_t seq,
                                        uint32_t ts) const {
  rtp::RtpRewrite rw;
  rw.ssrc = ssrc_;
  rw.sequenceNumber = seq;
  rw.timestamp = ts;
  rw.payloadType = ctx.codec.payloadType;
  rw.idMap = &ctx.idMap;
  rw.extra = ctx.extra;
  rw.extraCount = ctx.extraCount;
  return rw;
}

// The timestamp offset for the first packet (timestamp `ts`) after a sync,
// so the output continues where it was. The candidate: the same source keeps
// its offset; another source is mapped through both streams' sender reports
// (same sender clock) onto the old one's timeline. It is used when it moves
// forward by no more than a second beyond the wall time since the last send;
// otherwise (no SRs yet, a sender clock jump) the wall time itself is the
// step.
uint32_t ConsumerStream::ContinuingTsOffset(const StreamSendContext& ctx, const RecvStream& source,
                                            uint32_t ts, uint64_t nowMs) const {
  if (!seq_.Started())
    return 0;
  const uint32_t clock = ctx.codec.clockRate;
  const uint64_t elapsed = nowMs - lastOutMs_;
  const uint32_t wall =
      lastOutTs_ + std::max<uint32_t>(1, static_cast<uint32_t>(elapsed * clock / 1000));
  std::optional<uint32_t> mapped;
  if (&source == source_) {
    mapped = ts + seq_.TsOffset();
  } else if (source_ != nullptr) {
    if (const auto ntpMs = source.NtpMsOfRtp(ts))
      if (const auto oldTs = source_->RtpOfNtpMs(*ntpMs))
        mapped = *oldTs + seq_.TsOffset();
  }
  if (mapped && rtp::IsNewer(*mapped, lastOutTs_) &&
      rtp::ForwardDiff(lastOutTs_, *mapped) <= rtp::ForwardDiff(lastOutTs_, wall) + clock)
    return *mapped - ts;
  return wall - ts;
}

size_t ConsumerStream::WriteHead(const rtp::RtpPacket& packet, const rtp::RtpRewrite& rw,
                                 const rtp::codecs::LayerRewrite& layers,
                                 const rtp::RtxRewrite* rtx, size_t* skip, size_t* written) {
  uint8_t* head = tHead;
  size_t headLen = 0;
  bool marker = packet.Marker();
  *skip = 0;
  if (rewriteCodec_ != rtp::codecs::CodecKind::Unknown &&
      !rtp::codecs::WritePayloadHead(rewriteCodec_, packet, layers, head, kHeadRoom, &headLen, skip,
                                     &marker, frameMarkingId_))
    return 0;
  rtp::RtpRewrite r = rw;
  if (rewriteCodec_ != rtp::codecs::CodecKind::Unknown)
    r.marker = marker ? rtp::MarkerRewrite::Set : rtp::MarkerRewrite::Clear;
  const size_t cap = sizeof(tScratch) - kHeadRoom;
  const size_t len = rtx != nullptr ? rtp::RtpWriter::WriteRtxHeader(packet, r, *rtx, tScratch, cap)
                                    : rtp::RtpWriter::WriteHeader(packet, r, tScratch, cap);
  if (len == 0)
    return 0;
  std::memcpy(tScratch + len, head, headLen);
  *written = headLen;
  return len + headLen;
}

ConsumerStream::Sent ConsumerStream::Forward(const StreamSendContext& ctx, RecvStream& source,
                                             const rtp::RtpPacket& packet,
                                             const store::PacketRef& slot, int64_t extSeq,
                                             bool keyFrame, uint64_t nowMs,
                                             const rtp::codecs::LayerRewrite& layers) {
  if (syncRequired_) {
    if (ctx.kind == MediaKind::Video && !keyFrame) {
      ++stats_.dropped;
      return Sent::WaitingKeyFrame;
    }
    seq_.Sync(extSeq, ContinuingTsOffset(ctx, source, packet.Timestamp(), nowMs),
              static_cast<uint8_t>(source.Params().encodingIdx));
    source_ = &source;
    syncRequired_ = false;
  }
  if (&source != source_) {
    ++stats_.dropped; // another source's packet before a switch: not ours
    return Sent::Dropped;
  }
  const auto outExt = seq_.Map(extSeq, layers);
  if (!outExt) {
    ++stats_.dropped;
    return Sent::Dropped;
  }
  const rtp::RtpRewrite rw =
      Rewrite(ctx, static_cast<uint16_t>(*outExt), packet.Timestamp() + seq_.TsOffset());
  size_t skip = 0;
  size_t written = 0;
  const size_t headLen = WriteHead(packet, rw, layers, nullptr, &skip, &written);
  if (headLen == 0) {
    ++stats_.dropped;
    return Sent::Dropped;
  }
  const size_t payloadLen = packet.PayloadSize() - skip;
  ctx.port.SendRtp(tScratch, headLen, packet.Payload() + skip, payloadLen, slot, false);
  if (*outExt == seq_.NewestOut()) {
    lastOutTs_ = rw.timestamp;
    lastOutMs_ = nowMs;
  }
  const size_t size = headLen + payloadLen;
  ++stats_.packets;
  stats_.bytes += size;
  stats_.payloadBytes += payloadLen + written;
  rate_.Update(static_cast<uint32_t>(size), nowMs);
  return Sent::Ok;
}

void ConsumerStream::ReceiveNack(const StreamSendContext& ctx, const rtcp::GenericNack& nack,
                                 uint64_t nowMs) {
  ++stats_.nackCount;
  auto seqs = nack.Seqs();
  uint16_t seq;
  size_t count = 0;
  while (seqs.Next(&seq)) {
    ++count;
    Resend(ctx, seq, nowMs);
  }
  stats_.nackPacketCount += count;
}

void ConsumerStream::Resend(const StreamSendContext& ctx, uint16_t outSeq, uint64_t nowMs) {
  const auto origin = seq_.Lookup(outSeq);
  RecvStream* source =
      origin && ctx.producer != nullptr ? ctx.producer->StreamAt(origin->source) : nullptr;
  const store::PacketRef slot =
      source != nullptr ? source->Lookup(origin->producerExt, nowMs) : store::PacketRef();
  if (!slot) {
    ++stats_.nackMissTooOld;
    return;
  }
  Resent& r = resent_[outSeq % kResentSlots];
  const uint32_t now32 = static_cast<uint32_t>(nowMs);
  const uint32_t gap = std::max(rttMs_, kMinResendGapMs);
  if (r.outExtLow == outSeq + 1u && now32 - r.atMs < gap) {
    ++stats_.nackSuppressed;
    return;
  }
  r.outExtLow = outSeq + 1u; // 0 stays "empty"
  r.atMs = now32;

  const auto packet = rtp::RtpPacket::Parse(slot.Data(), slot.Length());
  if (!packet)
    return;
  const rtp::RtpRewrite rw = Rewrite(ctx, outSeq, packet->Timestamp() + origin->tsOffset);
  std::optional<rtp::RtxRewrite> rtx;
  if (rtxSsrc_ && ctx.codec.rtxPayloadType)
    rtx = rtp::RtxRewrite{*rtxSsrc_, *ctx.codec.rtxPayloadType, rtxSeq_++};
  size_t skip = 0;
  size_t written = 0;
  const size_t headLen =
      WriteHead(*packet, rw, origin->layers, rtx ? &*rtx : nullptr, &skip, &written);
  if (headLen == 0) {
    ++stats_.nackMissTooOld; // a packet this stream never sent (a layer above its caps)
    return;
  }
  ctx.port.SendRtp(tScratch, headLen, packet->Payload() + skip, packet->PayloadSize() - skip, slot,
                   true);
  ++stats_.retransmitted;
}

bool ConsumerStream::ReceiveReport(const rtcp::ReportBlock& report) {
  const uint32_t nowCompact = rtcp::NtpFromUnixMs(util::WallClockMs()).Compact();
  if (const auto rtt = rtcp::RttMsFromReport(nowCompact, report.lsr, report.dlsr))
    rttMs_ = std::max<uint32_t>(1, *rtt);
  fractionLost_ = report.fractionLost;
  packetsLost_ = report.cumulativeLost;
  // Loss the remote still sees after our retransmissions: 5% costs a point.
  const uint32_t penalty = (uint32_t{report.fractionLost} * 20 + 128) / 256;
  const uint8_t score = static_cast<uint8_t>(10 - std::min<uint32_t>(10, penalty));
  if (score == score_)
    return false;
  score_ = score;
  return true;
}

bool ConsumerStream::WriteRtcp(const StreamSendContext& ctx, rtcp::CompoundWriter& writer,
                               rtcp::NtpTime ntp, uint64_t nowMs) const {
  if (stats_.packets == 0)
    return true;
  rtcp::SenderInfo info;
  info.ntp = ntp;
  const uint64_t elapsed = nowMs - lastOutMs_;
  info.rtpTimestamp = lastOutTs_ + static_cast<uint32_t>(elapsed * ctx.codec.clockRate / 1000);
  info.packetCount = static_cast<uint32_t>(stats_.packets);
  info.octetCount = static_cast<uint32_t>(stats_.payloadBytes);
  // SR (28) and an SDES chunk (header, SSRC, CNAME item, up to 4 pad) together or not at all.
  if (writer.Remaining() < 28 + 8 + 2 + ctx.cname.size() + 4)
    return false;
  writer.AddSenderReport(ssrc_, info, nullptr, 0);
  writer.AddSdesCname(ssrc_, ctx.cname.data(), ctx.cname.size());
  return true;
}

flatbuffers::Offset<FBS::RtpStream::Stats>
ConsumerStream::FillStats(const StreamSendContext& ctx, flatbuffers::FlatBufferBuilder& b,
                          uint64_t nowMs) {
  const auto base = FBS::RtpStream::CreateBaseStatsDirect(
      b, nowMs, ssrc_,
      ctx.kind == MediaKind::Audio ? FBS::RtpParameters::MediaKind::AUDIO
                                   : FBS::RtpParameters::MediaKind::VIDEO,
      ctx.codec.mimeType.c_str(), static_cast<uint64_t>(std::max(0, packetsLost_)), fractionLost_,
      stats_.dropped, stats_.retransmitted, 0, stats_.nackCount, stats_.nackPacketCount,
      stats_.pliCount, stats_.firCount, score_, nullptr,
      rtxSsrc_ ? flatbuffers::Optional<uint32_t>(*rtxSsrc_) : flatbuffers::nullopt, 0,
      static_cast<float>(rttMs_));
  const auto wrapped =
      FBS::RtpStream::CreateStats(b, FBS::RtpStream::StatsData::BaseStats, base.Union());
  const auto send =
      FBS::RtpStream::CreateSendStats(b, wrapped, stats_.packets, stats_.bytes, rate_.Rate(nowMs));
  return FBS::RtpStream::CreateStats(b, FBS::RtpStream::StatsData::SendStats, send.Union());
}

flatbuffers::Offset<FBS::RtpStream::Dump>
ConsumerStream::FillDump(const StreamSendContext& ctx, flatbuffers::FlatBufferBuilder& b) const {
  return FillStreamDump(
      b, {encodingIdx_, ssrc_, &ctx.codec, nullptr, &ctx.cname, rtxSsrc_, ctx.kind, score_});
}

} // namespace sluice::router
