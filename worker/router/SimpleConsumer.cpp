#include "sluice/router/SimpleConsumer.hpp"

#include <algorithm>
#include <random>

#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/Producer.hpp"
#include "sluice/router/StreamDump.hpp"
#include "sluice/router/Trace.hpp"
#include "sluice/util/Clock.hpp"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;
using Uri = FBS::RtpParameters::RtpHeaderExtensionUri;

namespace {

constexpr uint64_t kKeyFrameRetryMs = 1000; // re-ask while still waiting for one
constexpr uint32_t kMinResendGapMs = 20;    // "one RTT" when the RTT is not known yet

// Header rewrites are built here, then copied into the send batch.
thread_local uint8_t tScratch[rtp::RtpPacket::kFixedHeaderSize + 60 + 4 + 1024];

uint16_t RandomSeq() {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return static_cast<uint16_t>(rng());
}

// Extensions whose ids the consumer's remote negotiated: the producer's id
// for the same URI maps onto the consumer's. MID/RID/RRID describe the
// producer's stream, not this one, and are never forwarded.
rtp::ExtensionIdMap BuildIdMap(const HeaderExtensionIds& in, const HeaderExtensionIds& out) {
  rtp::ExtensionIdMap map;
  for (size_t u = 0; u < HeaderExtensionIds::kUris; ++u) {
    const auto uri = static_cast<Uri>(u);
    if (uri == Uri::Mid || uri == Uri::RtpStreamId || uri == Uri::RepairRtpStreamId)
      continue;
    if (in.Get(uri) != 0 && out.Get(uri) != 0)
      map.Set(in.Get(uri), out.Get(uri));
  }
  return map;
}

} // namespace

struct SimpleConsumerMethods {
  static const std::array<MethodEntry<SimpleConsumer>, 8> kTable;
};

const std::array<MethodEntry<SimpleConsumer>, 8> SimpleConsumerMethods::kTable = {{
    {Method::CONSUMER_DUMP, Body::NONE, &SimpleConsumer::HandleDump},
    {Method::CONSUMER_GET_STATS, Body::NONE, &SimpleConsumer::HandleGetStats},
    {Method::CONSUMER_PAUSE, Body::NONE, &SimpleConsumer::HandlePause},
    {Method::CONSUMER_RESUME, Body::NONE, &SimpleConsumer::HandleResume},
    {Method::CONSUMER_SET_PREFERRED_LAYERS, Body::Consumer_SetPreferredLayersRequest,
     &SimpleConsumer::HandleSetPreferredLayers},
    {Method::CONSUMER_SET_PRIORITY, Body::Consumer_SetPriorityRequest,
     &SimpleConsumer::HandleSetPriority},
    {Method::CONSUMER_REQUEST_KEY_FRAME, Body::NONE, &SimpleConsumer::HandleRequestKeyFrame},
    {Method::CONSUMER_ENABLE_TRACE_EVENT, Body::Consumer_EnableTraceEventRequest,
     &SimpleConsumer::HandleEnableTraceEvent},
}};

SimpleConsumer::SimpleConsumer(const Context& context, std::string id, Producer& producer,
                               MediaPort& port, ConsumerParams params,
                               const FBS::Transport::ConsumeRequest& request)
    : context_(context), id_(std::move(id)), producerId_(producer.Id()), producer_(&producer),
      port_(port), params_(std::move(params)),
      rtpParameters_(util::FlatCopy<FBS::RtpParameters::RtpParameters>::From(
          request.rtp_parameters())),
      paused_(request.paused()), producerPaused_(producer.Paused()), rtxSeq_(RandomSeq()) {
  for (const auto* e : *request.consumable_rtp_encodings())
    consumableEncodings_.push_back(
        util::FlatCopy<FBS::RtpParameters::RtpEncodingParameters>::From(e));
  stream_ = producer.StreamForConsumer();
  idMap_ = BuildIdMap(producer.Params().extIds, params_.extIds);
  if (const uint8_t midId = params_.extIds.Get(Uri::Mid); midId != 0 && !params_.mid.empty()) {
    extra_[0].id = midId;
    extra_[0].value = {reinterpret_cast<const uint8_t*>(params_.mid.data()),
                       std::min<size_t>(params_.mid.size(), 16)};
    extraCount_ = 1;
  }
  lastProducerScore_ = producer.Score();
  producer.AddConsumer(this);
  if (Active())
    RequestSync(context_.NowMs());
}

SimpleConsumer::~SimpleConsumer() {
  if (producer_ != nullptr)
    producer_->RemoveConsumer(this);
  context_.registry->Remove(id_);
}

void SimpleConsumer::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, SimpleConsumerMethods::kTable, {"CONSUMER_"}, "Consumer",
                          request);
}

// --- media path -------------------------------------------------------------

void SimpleConsumer::RequestSync(uint64_t nowMs) {
  syncRequired_ = true;
  if (params_.kind == MediaKind::Video)
    RequestKeyFrame(nowMs);
}

void SimpleConsumer::RequestKeyFrame(uint64_t nowMs) {
  if (producer_ == nullptr || params_.kind != MediaKind::Video)
    return;
  lastKeyFrameRequestMs_ = nowMs;
  producer_->RequestKeyFrame(nowMs);
}

void SimpleConsumer::OnTransportConnected(uint64_t nowMs) {
  if (syncRequired_ && Active())
    RequestKeyFrame(nowMs);
}

void SimpleConsumer::OnProducerRtp(RecvStream& stream, const rtp::RtpPacket& packet,
                                   const store::PacketRef& slot, int64_t extSeq, bool keyFrame,
                                   uint64_t nowMs) {
  if (&stream != stream_ || !Active() || !port_.CanSend())
    return;
  if (syncRequired_) {
    if (params_.kind == MediaKind::Video && !keyFrame) {
      ++stats_.dropped;
      if (nowMs - lastKeyFrameRequestMs_ >= kKeyFrameRetryMs)
        RequestKeyFrame(nowMs);
      return;
    }
    // Continue our timestamps from where they were, advanced by the pause.
    uint32_t tsOffset = 0;
    if (seq_.Started()) {
      const uint64_t elapsed = nowMs - lastOutMs_;
      const uint32_t clock = params_.codec.clockRate;
      const uint32_t next =
          lastOutTs_ + std::max<uint32_t>(1, static_cast<uint32_t>(elapsed * clock / 1000));
      tsOffset = next - packet.Timestamp();
    }
    seq_.Sync(extSeq, tsOffset);
    syncRequired_ = false;
  }
  const auto outExt = seq_.Map(extSeq);
  if (!outExt) {
    ++stats_.dropped;
    return;
  }
  rtp::RtpRewrite rw;
  rw.ssrc = params_.ssrc;
  rw.sequenceNumber = static_cast<uint16_t>(*outExt);
  rw.timestamp = packet.Timestamp() + seq_.TsOffset();
  rw.payloadType = params_.codec.payloadType;
  rw.idMap = &idMap_;
  rw.extra = extra_;
  rw.extraCount = extraCount_;
  const size_t headLen = rtp::RtpWriter::WriteHeader(packet, rw, tScratch, sizeof(tScratch));
  if (headLen == 0) {
    ++stats_.dropped;
    return;
  }
  port_.SendRtp(tScratch, headLen, packet.Payload(), packet.PayloadSize(), slot, false);
  if (*outExt == seq_.NewestOut()) {
    lastOutTs_ = rw.timestamp;
    lastOutMs_ = nowMs;
  }
  const size_t size = headLen + packet.PayloadSize();
  ++stats_.packets;
  stats_.bytes += size;
  stats_.payloadBytes += packet.PayloadSize();
  rate_.Update(static_cast<uint32_t>(size), nowMs);
  if (traceTypes_ != 0) {
    const auto type =
        keyFrame ? FBS::Consumer::TraceEventType::KEYFRAME : FBS::Consumer::TraceEventType::RTP;
    if (traceTypes_ & (1u << static_cast<unsigned>(type)))
      EmitConsumerTrace(*context_.writer, id_, type, true, params_.ssrc, nowMs, &packet, keyFrame);
  }
}

void SimpleConsumer::ReceiveNack(const rtcp::GenericNack& nack, uint64_t nowMs) {
  ++stats_.nackCount;
  auto seqs = nack.Seqs();
  uint16_t seq;
  size_t count = 0;
  while (seqs.Next(&seq)) {
    ++count;
    Resend(seq, nowMs);
  }
  stats_.nackPacketCount += count;
  if (traceTypes_ != 0)
    Trace(FBS::Consumer::TraceEventType::NACK, false, params_.ssrc);
}

void SimpleConsumer::Resend(uint16_t outSeq, uint64_t nowMs) {
  const auto origin = seq_.Lookup(outSeq);
  if (!origin || stream_ == nullptr) {
    ++stats_.nackMissTooOld;
    return;
  }
  const store::PacketRef slot = stream_->Lookup(origin->producerExt, nowMs);
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
  rtp::RtpRewrite rw;
  rw.ssrc = params_.ssrc;
  rw.sequenceNumber = outSeq;
  rw.timestamp = packet->Timestamp() + origin->tsOffset;
  rw.payloadType = params_.codec.payloadType;
  rw.idMap = &idMap_;
  rw.extra = extra_;
  rw.extraCount = extraCount_;
  size_t headLen;
  if (params_.rtxSsrc && params_.codec.rtxPayloadType) {
    rtp::RtxRewrite rtx{*params_.rtxSsrc, *params_.codec.rtxPayloadType, rtxSeq_++};
    headLen = rtp::RtpWriter::WriteRtxHeader(*packet, rw, rtx, tScratch, sizeof(tScratch));
  } else {
    headLen = rtp::RtpWriter::WriteHeader(*packet, rw, tScratch, sizeof(tScratch));
  }
  if (headLen == 0)
    return;
  port_.SendRtp(tScratch, headLen, packet->Payload(), packet->PayloadSize(), slot, true);
  ++stats_.retransmitted;
}

void SimpleConsumer::ReceiveKeyFrameRequest(bool fir, uint64_t nowMs) {
  if (fir)
    ++stats_.firCount;
  else
    ++stats_.pliCount;
  if (traceTypes_ != 0)
    Trace(fir ? FBS::Consumer::TraceEventType::FIR : FBS::Consumer::TraceEventType::PLI, false,
          params_.ssrc);
  if (Active())
    RequestKeyFrame(nowMs);
}

void SimpleConsumer::ReceiveReport(const rtcp::ReportBlock& report, uint64_t nowMs) {
  (void)nowMs;
  const uint32_t nowCompact = rtcp::NtpFromUnixMs(util::WallClockMs()).Compact();
  if (const auto rtt = rtcp::RttMsFromReport(nowCompact, report.lsr, report.dlsr))
    rttMs_ = std::max<uint32_t>(1, *rtt);
  fractionLost_ = report.fractionLost;
  packetsLost_ = report.cumulativeLost;
  // Loss the remote still sees after our retransmissions: 5% costs a point.
  const uint32_t penalty = (uint32_t{report.fractionLost} * 20 + 128) / 256;
  const uint8_t score = static_cast<uint8_t>(10 - std::min<uint32_t>(10, penalty));
  if (score != score_) {
    score_ = score;
    EmitScore();
  }
}

bool SimpleConsumer::WriteRtcp(rtcp::CompoundWriter& writer, rtcp::NtpTime ntp, uint64_t nowMs) {
  if (stats_.packets == 0)
    return true;
  rtcp::SenderInfo info;
  info.ntp = ntp;
  const uint64_t elapsed = nowMs - lastOutMs_;
  info.rtpTimestamp =
      lastOutTs_ + static_cast<uint32_t>(elapsed * params_.codec.clockRate / 1000);
  info.packetCount = static_cast<uint32_t>(stats_.packets);
  info.octetCount = static_cast<uint32_t>(stats_.payloadBytes);
  // SR (28) and an SDES chunk (header, SSRC, CNAME item, up to 4 pad) together or not at all.
  if (writer.Remaining() < 28 + 8 + 2 + params_.cname.size() + 4)
    return false;
  writer.AddSenderReport(params_.ssrc, info, nullptr, 0);
  writer.AddSdesCname(params_.ssrc, params_.cname.data(), params_.cname.size());
  return true;
}

// --- producer events ------------------------------------------------------------

void SimpleConsumer::OnProducerPaused(bool paused) {
  if (producerPaused_ == paused)
    return;
  producerPaused_ = paused;
  Notify(paused ? FBS::Notification::Event::CONSUMER_PRODUCER_PAUSE
                : FBS::Notification::Event::CONSUMER_PRODUCER_RESUME);
  if (Active())
    RequestSync(context_.NowMs());
}

void SimpleConsumer::OnProducerClosed() {
  producer_ = nullptr;
  stream_ = nullptr;
  Notify(FBS::Notification::Event::CONSUMER_PRODUCER_CLOSE);
  port_.ReleaseConsumer(id_); // destroys this
}

void SimpleConsumer::OnProducerScore() {
  if (producer_ != nullptr && producer_->Score() != lastProducerScore_) {
    lastProducerScore_ = producer_->Score();
    EmitScore();
  }
}

void SimpleConsumer::Notify(FBS::Notification::Event event) {
  context_.writer->Notify(id_, event);
}

void SimpleConsumer::EmitScore() {
  auto& b = context_.writer->NotificationBuilder();
  std::vector<uint8_t> scores;
  if (producer_ != nullptr)
    scores = producer_->Scores();
  const auto score = FBS::Consumer::CreateConsumerScoreDirect(b, score_, lastProducerScore_,
                                                             &scores);
  const auto body = FBS::Consumer::CreateScoreNotification(b, score);
  context_.writer->Notify(id_, FBS::Notification::Event::CONSUMER_SCORE,
                          FBS::Notification::Body::Consumer_ScoreNotification, body.Union());
}

void SimpleConsumer::Trace(FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc) {
  if ((traceTypes_ & (1u << static_cast<unsigned>(type))) == 0)
    return;
  EmitConsumerTrace(*context_.writer, id_, type, out, ssrc, context_.NowMs());
}

// --- channel methods --------------------------------------------------------------

flatbuffers::Offset<FBS::RtpStream::Stats>
SimpleConsumer::FillSendStats(flatbuffers::FlatBufferBuilder& b, uint64_t nowMs) {
  const auto& c = params_.codec;
  const auto base = FBS::RtpStream::CreateBaseStatsDirect(
      b, nowMs, params_.ssrc,
      params_.kind == MediaKind::Audio ? FBS::RtpParameters::MediaKind::AUDIO
                                       : FBS::RtpParameters::MediaKind::VIDEO,
      c.mimeType.c_str(), static_cast<uint64_t>(std::max(0, packetsLost_)), fractionLost_,
      stats_.dropped, stats_.retransmitted, 0, stats_.nackCount, stats_.nackPacketCount,
      stats_.pliCount, stats_.firCount, score_, nullptr,
      params_.rtxSsrc ? flatbuffers::Optional<uint32_t>(*params_.rtxSsrc) : flatbuffers::nullopt,
      0, static_cast<float>(rttMs_));
  const auto wrapped =
      FBS::RtpStream::CreateStats(b, FBS::RtpStream::StatsData::BaseStats, base.Union());
  const auto send = FBS::RtpStream::CreateSendStats(b, wrapped, stats_.packets, stats_.bytes,
                                                    rate_.Rate(nowMs));
  return FBS::RtpStream::CreateStats(b, FBS::RtpStream::StatsData::SendStats, send.Union());
}

void SimpleConsumer::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  std::vector<flatbuffers::Offset<FBS::RtpParameters::RtpEncodingParameters>> encodings;
  for (const auto& e : consumableEncodings_)
    encodings.push_back(e.CopyInto(b));
  const auto rtpParameters = rtpParameters_.CopyInto(b);
  std::vector<FBS::Consumer::TraceEventType> traces;
  for (uint8_t t = 0; t <= static_cast<uint8_t>(FBS::Consumer::TraceEventType::MAX); ++t)
    if (traceTypes_ & (1u << t))
      traces.push_back(static_cast<FBS::Consumer::TraceEventType>(t));
  const auto base = FBS::Consumer::CreateBaseConsumerDumpDirect(
      b, id_.c_str(), FBS::RtpParameters::Type::SIMPLE, producerId_.c_str(),
      params_.kind == MediaKind::Audio ? FBS::RtpParameters::MediaKind::AUDIO
                                       : FBS::RtpParameters::MediaKind::VIDEO,
      rtpParameters, &encodings, &params_.codecPayloadTypes, &traces, paused_, producerPaused_,
      priority_);
  std::vector<flatbuffers::Offset<FBS::RtpStream::Dump>> streams{
      FillStreamDump(b, {0, params_.ssrc, &params_.codec, nullptr, &params_.cname,
                         params_.rtxSsrc, params_.kind, score_})};
  const auto data = FBS::Consumer::CreateConsumerDumpDirect(b, base, &streams);
  const auto dump = FBS::Consumer::CreateDumpResponse(b, data);
  request.Accept(FBS::Response::Body::Consumer_DumpResponse, dump.Union());
}

void SimpleConsumer::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const uint64_t now = context_.NowMs();
  std::vector<flatbuffers::Offset<FBS::RtpStream::Stats>> stats{FillSendStats(b, now)};
  if (stream_ != nullptr)
    stats.push_back(stream_->FillStats(b, now));
  const auto body = FBS::Consumer::CreateGetStatsResponseDirect(b, &stats);
  request.Accept(FBS::Response::Body::Consumer_GetStatsResponse, body.Union());
}

void SimpleConsumer::HandlePause(channel::Request& request) {
  paused_ = true;
  request.Accept();
}

void SimpleConsumer::HandleResume(channel::Request& request) {
  const bool wasActive = Active();
  paused_ = false;
  request.Accept();
  if (!wasActive && Active())
    RequestSync(context_.NowMs());
}

void SimpleConsumer::HandleSetPreferredLayers(channel::Request& request) {
  // A simple consumer has no layers: accepted, and no preferred layers.
  auto& b = request.Builder();
  const auto body = FBS::Consumer::CreateSetPreferredLayersResponse(b, 0);
  request.Accept(FBS::Response::Body::Consumer_SetPreferredLayersResponse, body.Union());
}

void SimpleConsumer::HandleSetPriority(channel::Request& request) {
  const auto* body = request.Body<FBS::Consumer::SetPriorityRequest>();
  if (body->priority() < 1) {
    request.TypeError("wrong priority (must be higher than 0)");
    return;
  }
  priority_ = body->priority();
  auto& b = request.Builder();
  const auto response = FBS::Consumer::CreateSetPriorityResponse(b, priority_);
  request.Accept(FBS::Response::Body::Consumer_SetPriorityResponse, response.Union());
}

void SimpleConsumer::HandleRequestKeyFrame(channel::Request& request) {
  if (Active())
    RequestKeyFrame(context_.NowMs());
  request.Accept();
}

void SimpleConsumer::HandleEnableTraceEvent(channel::Request& request) {
  const auto* body = request.Body<FBS::Consumer::EnableTraceEventRequest>();
  traceTypes_ = 0;
  for (const auto type : *body->events())
    traceTypes_ |= static_cast<uint8_t>(1u << static_cast<unsigned>(type));
  request.Accept();
}

size_t SimpleConsumer::FootprintBytes() const {
  size_t bytes = sizeof(*this) + id_.capacity() + producerId_.capacity() +
                 params_.codec.mimeType.capacity() + params_.cname.capacity() +
                 params_.codecPayloadTypes.capacity() + rtpParameters_.Bytes();
  for (const auto& e : consumableEncodings_)
    bytes += sizeof(e) + e.Bytes();
  return bytes;
}

} // namespace sluice::router
