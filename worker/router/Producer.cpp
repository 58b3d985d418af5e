#include "sluice/router/Producer.hpp"

#include "sluice/rtp/codecs/LayeredPayload.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "notification_generated.h"
#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/Consumer.hpp"
#include "sluice/router/Trace.hpp"
#include "sluice/rtp/RtpWriter.hpp"
#include "sluice/store/PacketPool.hpp"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;
using Uri = FBS::RtpParameters::RtpHeaderExtensionUri;

namespace {

constexpr size_t kNackBatch = 64; // seqs per NACK packet we send
constexpr size_t kRtcpScratch = 1200;

rtp::KeyFrameCodec KeyFrameCodecFor(CodecFamily family) {
  switch (family) {
  case CodecFamily::Vp8:
    return rtp::KeyFrameCodec::Vp8;
  case CodecFamily::Vp9:
    return rtp::KeyFrameCodec::Vp9;
  case CodecFamily::H264:
  case CodecFamily::H264Svc: // its base layer's IDR is the keyframe
    return rtp::KeyFrameCodec::H264;
  case CodecFamily::H265:
    return rtp::KeyFrameCodec::H265;
  default:
    return rtp::KeyFrameCodec::Unknown;
  }
}

uint32_t RandomSsrc() {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return static_cast<uint32_t>(rng()) | 1u;
}

std::string_view ExtensionText(const rtp::RtpPacket& packet, uint8_t id) {
  if (id == 0)
    return {};
  const auto v = packet.GetExtension(id);
  return v ? std::string_view(reinterpret_cast<const char*>(v.data), v.size) : std::string_view();
}

} // namespace

struct ProducerMethods {
  static const std::array<MethodEntry<Producer>, 5> kTable;
};

const std::array<MethodEntry<Producer>, 5> ProducerMethods::kTable = {{
    {Method::PRODUCER_DUMP, Body::NONE, &Producer::HandleDump},
    {Method::PRODUCER_GET_STATS, Body::NONE, &Producer::HandleGetStats},
    {Method::PRODUCER_PAUSE, Body::NONE, &Producer::HandlePause},
    {Method::PRODUCER_RESUME, Body::NONE, &Producer::HandleResume},
    {Method::PRODUCER_ENABLE_TRACE_EVENT, Body::Producer_EnableTraceEventRequest,
     &Producer::HandleEnableTraceEvent},
}};

Producer::Producer(const Context& context, std::string id, MediaPort& port, ProducerParams params,
                   const FBS::Transport::ProduceRequest& request)
    : context_(context), id_(std::move(id)), port_(port), params_(std::move(params)),
      rtpParameters_(util::FlatCopy<FBS::RtpParameters::RtpParameters>::From(
          request.rtp_parameters(),
          [this](FBS::RtpParameters::RtpParametersT& rtp) {
            // Each encoding's codecPayloadType, as mediasoup dumps it.
            const auto& encodings = params_.encodings;
            if (rtp.encodings.size() != encodings.size())
              return;
            for (size_t i = 0; i < encodings.size(); ++i)
              if (rtp.encodings[i] && !rtp.encodings[i]->codec_payload_type &&
                  encodings[i].codecPayloadType)
                rtp.encodings[i]->codec_payload_type = *encodings[i].codecPayloadType;
          })),
      rtpMapping_(util::FlatCopy<FBS::RtpParameters::RtpMapping>::From(request.rtp_mapping())),
      paused_(request.paused()) {
  const auto& ring = params_.kind == MediaKind::Video ? context_.videoRing : context_.audioRing;
  for (size_t i = 0; i < params_.encodings.size(); ++i) {
    const auto& e = params_.encodings[i];
    RecvStreamParams p;
    p.encodingIdx = static_cast<uint32_t>(i);
    p.ssrc = e.ssrc.value_or(0);
    p.rtxSsrc = e.rtxSsrc;
    p.rid = e.rid;
    p.mappedSsrc = e.mappedSsrc;
    p.codec = e.codecPayloadType ? params_.codecs.ByPayloadType(*e.codecPayloadType)
                                 : &params_.codecs.codecs.front();
    p.cname = params_.cname;
    p.kind = params_.kind;
    p.scalability = e.scalability;
    p.dtx = e.dtx;
    streams_.push_back(std::make_unique<RecvStream>(std::move(p), ring));
  }
  keyFrameRequests_.resize(streams_.size());
  scoreScratch_.reserve(streams_.size());
  senderSsrc_ = RandomSsrc();
  frameMarkingId_ = params_.extIds.Get(Uri::FrameMarking);
  if (frameMarkingId_ == 0)
    frameMarkingId_ = params_.extIds.Get(Uri::FrameMarkingDraft07);
}

Producer::~Producer() {
  auto consumers = std::move(consumers_);
  consumers_.clear();
  for (Consumer* c : consumers)
    c->OnProducerClosed(); // the consumer's transport destroys it
  auto observers = std::move(observers_);
  observers_.clear();
  for (ProducerObserver* o : observers)
    o->OnProducerClosed(*this);
  context_.registry->Remove(id_);
}

void Producer::HandleNotification(const FBS::Notification::Notification& notification) {
  const auto* body = notification.body_as_Producer_SendNotification();
  if (notification.event() != FBS::Notification::Event::PRODUCER_SEND || body == nullptr) {
    SLUICE_WARN("producer %s: unexpected notification (event %u)", id_.c_str(),
                static_cast<unsigned>(notification.event()));
    return;
  }
  port_.ReceiveControllerRtp(body->data()->data(), body->data()->size());
}

void Producer::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, ProducerMethods::kTable, {"PRODUCER_"}, "Producer", request);
}

// --- media path ---------------------------------------------------------------

RecvStream* Producer::FindStream(const rtp::RtpPacket& packet, bool* isRtx) {
  const uint32_t ssrc = packet.Ssrc();
  for (auto& s : streams_) {
    if (s->Params().ssrc == ssrc) {
      *isRtx = false;
      return s.get();
    }
    if (s->Params().rtxSsrc && *s->Params().rtxSsrc == ssrc) {
      *isRtx = true;
      return s.get();
    }
  }
  // A new SSRC: learn it from the RID / RRID extension, or by elimination
  // when one stream is still without one.
  const uint8_t pt = packet.PayloadType();
  const bool media = params_.codecs.ByPayloadType(pt) != nullptr;
  const bool repair = !media && params_.codecs.ByRtxPayloadType(pt) != nullptr;
  if (!media && !repair)
    return nullptr;
  const auto rid =
      ExtensionText(packet, params_.extIds.Get(repair ? Uri::RepairRtpStreamId : Uri::RtpStreamId));
  // A RID picks among encodings that have one; the only encoding of a
  // producer takes what its MID routed here when it has no RID to compare.
  const bool only = streams_.size() == 1;
  RecvStream* found = nullptr;
  for (auto& s : streams_) {
    const auto& p = s->Params();
    if (rid.empty() ? only : (p.rid == rid || (only && p.rid.empty())))
      found = s.get();
  }
  if (found == nullptr)
    return nullptr; // the transport counts an unknown RID
  auto& p = found->MutableParams();
  if (repair) {
    // Its RTX SSRC is known and differs, or there is no media SSRC yet to
    // repair into.
    if (p.rtxSsrc || p.ssrc == 0)
      return nullptr;
    p.rtxSsrc = ssrc;
  } else {
    if (p.ssrc != 0)
      return nullptr;
    p.ssrc = ssrc;
  }
  *isRtx = repair;
  return found;
}

Producer::Routed Producer::ReceiveRtp(const rtp::RtpPacket& packet, uint64_t nowMs) {
  bool isRtx = false;
  RecvStream* stream = FindStream(packet, &isRtx);
  if (stream == nullptr)
    return Routed::No;
  const Routed routed = isRtx ? Routed::Rtx : Routed::Media;
  const CodecParams* codec = isRtx ? params_.codecs.ByRtxPayloadType(packet.PayloadType())
                                   : params_.codecs.ByPayloadType(packet.PayloadType());
  if (codec == nullptr) {
    ++drops_.unknownPayloadType;
    return routed;
  }
  store::PacketRef slot = store::PacketPool::ForThread().Allocate();
  if (!slot) {
    ++drops_.poolExhausted;
    return routed;
  }
  size_t len;
  if (isRtx) {
    len = rtp::RtpWriter::RtxDecapsulate(packet, stream->Params().ssrc, codec->payloadType,
                                         slot.MutableData(), store::PacketRef::kCapacity);
  } else {
    len = packet.Size() <= store::PacketRef::kCapacity ? packet.Size() : 0;
    if (len != 0)
      std::memcpy(slot.MutableData(), packet.Data(), len);
  }
  if (len == 0) {
    ++drops_.badRtx; // padding-only RTX probe, or a packet over the slot size
    return routed;
  }
  slot.SetLength(len);
  const auto view = rtp::RtpPacket::Parse(slot.Data(), len);
  if (!view)
    return routed;
  const auto r = stream->OnPacket(*view, slot, isRtx, nowMs);
  if (!r.fresh)
    return routed;
  rtp::codecs::CodecPacket cp =
      rtp::codecs::ReadCodecPacket(codec->codecKind, *view, frameMarkingId_);
  // Codecs without a layer reader still gate on their key frames.
  if (params_.kind == MediaKind::Video && codec->codecKind == rtp::codecs::CodecKind::Unknown)
    cp.keyFrame =
        KeyFrameCodecFor(codec->family) != rtp::KeyFrameCodec::Unknown &&
        rtp::IsKeyFrame(KeyFrameCodecFor(codec->family), view->Payload(), view->PayloadSize());
  if (params_.kind == MediaKind::Video && codec->codecKind != rtp::codecs::CodecKind::Unknown &&
      !cp.malformed)
    stream->CountLayer(cp.spatial, cp.temporal, view->Size(), nowMs);
  const bool keyFrame = cp.keyFrame;
  if (!isRtx && params_.kind == MediaKind::Video)
    CheckVideoOrientation(*view); // not from RTX: a resent packet carries an old one
  const size_t index = stream->Params().encodingIdx;
  if (keyFrame)
    keyFrameRequests_[index].pending = false;
  if (traceTypes_ != 0) {
    const auto type =
        keyFrame ? FBS::Producer::TraceEventType::KEYFRAME : FBS::Producer::TraceEventType::RTP;
    if (Tracing(type))
      EmitProducerTrace(*context_.writer, id_, type, false, view->Ssrc(), nowMs, &*view, keyFrame,
                        isRtx);
  }
  if (!paused_) {
    for (Consumer* c : consumers_)
      c->OnProducerRtp(*stream, *view, slot, r.extSeq, cp, nowMs);
    if (!isRtx)
      for (ProducerObserver* o : observers_)
        o->OnProducerRtp(*this, *view, nowMs);
  }
  if (r.gap)
    SendNacks(*stream, nowMs);
  if (stream->TakeKeyFrameNeeded())
    SendKeyFrameRequest(*stream, nowMs);
  return routed;
}

void Producer::SendNacks(RecvStream& stream, uint64_t nowMs) {
  uint16_t seqs[kNackBatch];
  const size_t n = stream.CollectNacks(nowMs, seqs, kNackBatch);
  if (n == 0 || !port_.CanSend())
    return;
  uint8_t buf[kRtcpScratch];
  rtcp::CompoundWriter w(buf, sizeof(buf));
  w.AddReceiverReport(senderSsrc_, nullptr, 0);
  if (w.AddNack(senderSsrc_, stream.Params().ssrc, seqs, n) == 0)
    return;
  port_.SendRtcp(w.Data(), w.Size());
  stream.CountNackSent(n);
  if (Tracing(FBS::Producer::TraceEventType::NACK))
    EmitProducerTrace(*context_.writer, id_, FBS::Producer::TraceEventType::NACK, true,
                      stream.Params().ssrc, nowMs);
}

void Producer::RequestKeyFrame(size_t idx, uint64_t nowMs) {
  if (params_.kind != MediaKind::Video || idx >= streams_.size())
    return;
  SendKeyFrameRequest(*streams_[idx], nowMs);
}

void Producer::SendKeyFrameRequest(RecvStream& stream, uint64_t nowMs) {
  KeyFrameRequest& k = keyFrameRequests_[stream.Params().encodingIdx];
  const uint64_t wait =
      std::max<uint64_t>(k.pending ? kKeyFrameWaitMs : 0, params_.keyFrameRequestDelayMs);
  if (k.sentMs != 0 && nowMs - k.sentMs < wait)
    return;
  const CodecParams* codec = stream.Params().codec;
  const uint32_t ssrc = stream.Params().ssrc;
  if (codec == nullptr || ssrc == 0 || !port_.CanSend())
    return;
  uint8_t buf[64];
  rtcp::CompoundWriter w(buf, sizeof(buf));
  w.AddReceiverReport(senderSsrc_, nullptr, 0);
  FBS::Producer::TraceEventType type;
  if (codec->nackPli) {
    w.AddPli(senderSsrc_, ssrc);
    stream.CountPli();
    type = FBS::Producer::TraceEventType::PLI;
  } else if (codec->ccmFir) {
    const rtcp::FirEntry entry{ssrc, ++k.firSeq};
    w.AddFir(senderSsrc_, &entry, 1);
    stream.CountFir();
    type = FBS::Producer::TraceEventType::FIR;
  } else {
    return; // the sender takes neither request
  }
  port_.SendRtcp(w.Data(), w.Size());
  k.pending = true;
  k.sentMs = nowMs;
  if (Tracing(type))
    EmitProducerTrace(*context_.writer, id_, type, true, ssrc, nowMs);
}

void Producer::ReceiveSenderReport(uint32_t ssrc, rtcp::NtpTime ntp, uint32_t rtpTimestamp,
                                   uint64_t nowMs) {
  for (auto& s : streams_) {
    if (s->Params().ssrc == ssrc) {
      s->OnSenderReport(ntp, rtpTimestamp, nowMs);
      return;
    }
  }
}

bool Producer::WriteRtcp(rtcp::CompoundWriter& writer, uint32_t senderSsrc, uint64_t nowMs) {
  rtcp::ReportBlock blocks[rtcp::CompoundWriter::kMaxCount];
  size_t n = 0;
  for (auto& s : streams_)
    if (s->PacketsReceived() > 0 && n < rtcp::CompoundWriter::kMaxCount)
      blocks[n++] = s->MakeReport(nowMs);
  if (n == 0)
    return true;
  return writer.AddReceiverReport(senderSsrc, blocks, n) != 0;
}

void Producer::Tick(uint64_t nowMs, bool scoreTick) {
  for (auto& s : streams_) {
    s->Tick(nowMs);
    SendNacks(*s, nowMs);
    if (s->TakeKeyFrameNeeded())
      SendKeyFrameRequest(*s, nowMs);
  }
  if (!scoreTick)
    return;
  uint32_t rtt = 0;
  for (const Consumer* c : consumers_)
    rtt = std::max(rtt, c->RttMs());
  if (rtt == 0)
    rtt = kDefaultRttMs;
  if (rtt != rttMs_) {
    rttMs_ = rtt;
    for (auto& s : streams_)
      s->SetRtt(rtt);
  }
  bool changed = false;
  for (auto& s : streams_)
    changed |= s->UpdateScore(nowMs);
  if (changed) {
    EmitScores();
    for (Consumer* c : consumers_)
      c->OnProducerScore();
  }
}

std::vector<uint32_t> Producer::KnownSsrcs() const {
  std::vector<uint32_t> out;
  for (const auto& s : streams_) {
    if (s->Params().ssrc != 0)
      out.push_back(s->Params().ssrc);
    if (s->Params().rtxSsrc)
      out.push_back(*s->Params().rtxSsrc);
  }
  return out;
}

void Producer::AddConsumer(Consumer* consumer) {
  consumers_.push_back(consumer);
}

void Producer::RemoveConsumer(Consumer* consumer) {
  consumers_.erase(std::remove(consumers_.begin(), consumers_.end(), consumer), consumers_.end());
}

void Producer::AddObserver(ProducerObserver* observer) {
  observers_.push_back(observer);
}

void Producer::RemoveObserver(ProducerObserver* observer) {
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

uint8_t Producer::Score() const {
  uint8_t best = 0;
  for (const auto& s : streams_)
    best = std::max(best, s->Score());
  return best;
}

std::vector<uint8_t> Producer::Scores() const {
  std::vector<uint8_t> out;
  for (const auto& s : streams_)
    out.push_back(s->Score());
  return out;
}

void Producer::EmitScores() {
  auto& b = context_.writer->NotificationBuilder();
  auto& scores = scoreScratch_; // reserved for every stream: no allocation per tick
  scores.clear();
  for (const auto& s : streams_) {
    // As the stats: the streams media has arrived on (an encoding never
    // received has no SSRC to name yet).
    if (s->PacketsReceived() == 0)
      continue;
    const auto& p = s->Params();
    scores.push_back(FBS::Producer::CreateScoreDirect(
        b, p.encodingIdx, p.ssrc, p.rid.empty() ? nullptr : p.rid.c_str(), s->Score()));
  }
  const auto body = FBS::Producer::CreateScoreNotificationDirect(b, &scores);
  context_.writer->Notify(id_, FBS::Notification::Event::PRODUCER_SCORE,
                          FBS::Notification::Body::Producer_ScoreNotification, body.Union());
}

void Producer::CheckVideoOrientation(const rtp::RtpPacket& packet) {
  const uint8_t id = params_.extIds.Get(Uri::VideoOrientation);
  if (id == 0)
    return;
  const auto o = rtp::ParseVideoOrientation(packet.GetExtension(id));
  if (!o || !orientation_.Update(*o))
    return;
  auto& b = context_.writer->NotificationBuilder();
  const auto body =
      FBS::Producer::CreateVideoOrientationChangeNotification(b, o->camera, o->flip, o->rotation);
  context_.writer->Notify(id_, FBS::Notification::Event::PRODUCER_VIDEO_ORIENTATION_CHANGE,
                          FBS::Notification::Body::Producer_VideoOrientationChangeNotification,
                          body.Union());
}

// --- channel methods ------------------------------------------------------------

void Producer::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  std::vector<flatbuffers::Offset<FBS::RtpStream::Dump>> streams;
  for (const auto& s : streams_)
    if (s->Params().ssrc != 0)
      streams.push_back(s->FillDump(b));
  std::vector<FBS::Producer::TraceEventType> traces;
  for (uint8_t t = 0; t <= static_cast<uint8_t>(FBS::Producer::TraceEventType::MAX); ++t)
    if (traceTypes_ & (1u << t))
      traces.push_back(static_cast<FBS::Producer::TraceEventType>(t));
  const auto rtpParameters = rtpParameters_.CopyInto(b);
  const auto rtpMapping = rtpMapping_.CopyInto(b);
  const auto dump = FBS::Producer::CreateDumpResponseDirect(
      b, id_.c_str(),
      params_.kind == MediaKind::Audio ? FBS::RtpParameters::MediaKind::AUDIO
                                       : FBS::RtpParameters::MediaKind::VIDEO,
      params_.type, rtpParameters, rtpMapping, &streams, &traces, paused_);
  request.Accept(FBS::Response::Body::Producer_DumpResponse, dump.Union());
}

void Producer::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const uint64_t now = context_.NowMs();
  std::vector<flatbuffers::Offset<FBS::RtpStream::Stats>> stats;
  for (auto& s : streams_)
    if (s->PacketsReceived() > 0)
      stats.push_back(s->FillStats(b, now));
  const auto body = FBS::Producer::CreateGetStatsResponseDirect(b, &stats);
  request.Accept(FBS::Response::Body::Producer_GetStatsResponse, body.Union());
}

void Producer::HandlePause(channel::Request& request) {
  request.Accept();
  if (paused_)
    return;
  paused_ = true;
  for (Consumer* c : consumers_)
    c->OnProducerPaused(true);
  for (ProducerObserver* o : observers_)
    o->OnProducerPaused(*this);
}

void Producer::HandleResume(channel::Request& request) {
  request.Accept();
  if (!paused_)
    return;
  paused_ = false;
  for (Consumer* c : consumers_)
    c->OnProducerPaused(false);
  for (ProducerObserver* o : observers_)
    o->OnProducerResumed(*this);
}

void Producer::HandleEnableTraceEvent(channel::Request& request) {
  const auto* body = request.Body<FBS::Producer::EnableTraceEventRequest>();
  traceTypes_ = 0;
  for (const auto type : *body->events())
    traceTypes_ |= static_cast<uint8_t>(1u << static_cast<unsigned>(type));
  request.Accept();
}

} // namespace sluice::router
