#include "sluice/router/Consumer.hpp"

#include <algorithm>

#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/Producer.hpp"
#include "sluice/router/Trace.hpp"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;
using Uri = FBS::RtpParameters::RtpHeaderExtensionUri;

namespace {

// Extensions whose ids the consumer's remote negotiated: the producer's id
// for the same URI maps onto the consumer's. MID/RID/RRID describe the
// producer's stream, not this one, and are never forwarded; the
// transport-wide seq is the transport's own, stamped at send time.
rtp::ExtensionIdMap BuildIdMap(const HeaderExtensionIds& in, const HeaderExtensionIds& out) {
  rtp::ExtensionIdMap map;
  for (size_t u = 0; u < HeaderExtensionIds::kUris; ++u) {
    const auto uri = static_cast<Uri>(u);
    if (uri == Uri::Mid || uri == Uri::RtpStreamId || uri == Uri::RepairRtpStreamId ||
        uri == Uri::TransportWideCcDraft01)
      continue;
    if (in.Get(uri) != 0 && out.Get(uri) != 0)
      map.Set(in.Get(uri), out.Get(uri));
  }
  return map;
}

FBS::RtpParameters::MediaKind FbsKind(MediaKind kind) {
  return kind == MediaKind::Audio ? FBS::RtpParameters::MediaKind::AUDIO
                                  : FBS::RtpParameters::MediaKind::VIDEO;
}

} // namespace

struct ConsumerMethods {
  static const std::array<MethodEntry<Consumer>, 8> kTable;
};

const std::array<MethodEntry<Consumer>, 8> ConsumerMethods::kTable = {{
    {Method::CONSUMER_DUMP, Body::NONE, &Consumer::HandleDump},
    {Method::CONSUMER_GET_STATS, Body::NONE, &Consumer::HandleGetStats},
    {Method::CONSUMER_PAUSE, Body::NONE, &Consumer::HandlePause},
    {Method::CONSUMER_RESUME, Body::NONE, &Consumer::HandleResume},
    {Method::CONSUMER_SET_PREFERRED_LAYERS, Body::Consumer_SetPreferredLayersRequest,
     &Consumer::HandleSetPreferredLayers},
    {Method::CONSUMER_SET_PRIORITY, Body::Consumer_SetPriorityRequest,
     &Consumer::HandleSetPriority},
    {Method::CONSUMER_REQUEST_KEY_FRAME, Body::NONE, &Consumer::HandleRequestKeyFrame},
    {Method::CONSUMER_ENABLE_TRACE_EVENT, Body::Consumer_EnableTraceEventRequest,
     &Consumer::HandleEnableTraceEvent},
}};

Consumer::Consumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
                   ConsumerParams params, const FBS::Transport::ConsumeRequest& request)
    : context_(context), id_(std::move(id)), producerId_(producer.Id()), producer_(&producer),
      port_(port), params_(std::move(params)),
      rtpParameters_(
          util::FlatCopy<FBS::RtpParameters::RtpParameters>::From(request.rtp_parameters())),
      paused_(request.paused()), producerPaused_(producer.Paused()) {
  for (const auto* e : *request.consumable_rtp_encodings())
    consumableEncodings_.push_back(
        util::FlatCopy<FBS::RtpParameters::RtpEncodingParameters>::From(e));
  idMap_ = BuildIdMap(producer.Params().extIds, params_.extIds);
  if (const uint8_t midId = params_.extIds.Get(Uri::Mid); midId != 0 && !params_.mid.empty()) {
    extra_[0].id = midId;
    extra_[0].value = {reinterpret_cast<const uint8_t*>(params_.mid.data()),
                       std::min<size_t>(params_.mid.size(), 16)};
    extraCount_ = 1;
  }
  // A placeholder the transport overwrites with its transport-wide seq.
  if (const uint8_t tccId = params_.extIds.Get(Uri::TransportWideCcDraft01); tccId != 0) {
    static constexpr uint8_t kZero[2] = {0, 0};
    extra_[extraCount_++] = {tccId, {kZero, 2}};
  }
  lastProducerScore_ = producer.Score();
}

void Consumer::Start() {
  producer_->AddConsumer(this);
  if (Active())
    RequestSync(context_.NowMs());
}

Consumer::~Consumer() {
  if (producer_ != nullptr)
    producer_->RemoveConsumer(this);
  context_.registry->Remove(id_);
}

void Consumer::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, ConsumerMethods::kTable, {"CONSUMER_"}, "Consumer", request);
}

uint32_t Consumer::RttMs() const {
  uint32_t rtt = 0;
  for (size_t i = 0; i < streamCount_; ++i)
    rtt = std::max(rtt, streams_[i].RttMs());
  return rtt;
}

ConsumerStream* Consumer::StreamBySsrc(uint32_t ssrc) {
  for (size_t i = 0; i < streamCount_; ++i)
    if (streams_[i].Matches(ssrc))
      return &streams_[i];
  return nullptr;
}

// --- media path -------------------------------------------------------------

void Consumer::RequestSync(uint64_t nowMs) {
  for (size_t i = 0; i < streamCount_; ++i)
    streams_[i].RequireSync();
  RequestKeyFrames(nowMs);
}

void Consumer::RequestKeyFrame(ConsumerStream& out, uint64_t nowMs) {
  if (producer_ == nullptr || params_.kind != MediaKind::Video)
    return;
  out.SetLastKeyFrameRequestMs(nowMs);
  producer_->RequestKeyFrame(out.SourceIdx(), nowMs);
}

void Consumer::AskKeyFrame(ConsumerStream& out, uint64_t nowMs) {
  if (nowMs - out.LastKeyFrameRequestMs() >= kKeyFrameRetryMs)
    RequestKeyFrame(out, nowMs);
}

void Consumer::RequestKeyFrames(uint64_t nowMs) {
  for (size_t i = 0; i < streamCount_; ++i)
    RequestKeyFrame(streams_[i], nowMs);
}

void Consumer::OnTransportConnected(uint64_t nowMs) {
  if (!Active())
    return;
  for (size_t i = 0; i < streamCount_; ++i)
    if (streams_[i].SyncRequired())
      RequestKeyFrame(streams_[i], nowMs);
}

void Consumer::OnProducerRtp(RecvStream& stream, const rtp::RtpPacket& packet,
                             const store::PacketRef& slot, int64_t extSeq,
                             const rtp::codecs::CodecPacket& cp, uint64_t nowMs) {
  if (!Active() || !port_.CanSend())
    return;
  OnRtp(stream, packet, slot, extSeq, cp, nowMs);
}

bool Consumer::Forward(ConsumerStream& out, RecvStream& stream, const rtp::RtpPacket& packet,
                       const store::PacketRef& slot, int64_t extSeq, bool keyFrame, uint64_t nowMs,
                       const rtp::codecs::LayerRewrite& layers) {
  const auto sent =
      out.Forward(SendContext(), stream, packet, slot, extSeq, keyFrame, nowMs, layers);
  if (sent == ConsumerStream::Sent::WaitingKeyFrame) {
    AskKeyFrame(out, nowMs);
    return false;
  }
  if (sent != ConsumerStream::Sent::Ok)
    return false;
  if (traceTypes_ == 0)
    return true;
  const auto type =
      keyFrame ? FBS::Consumer::TraceEventType::KEYFRAME : FBS::Consumer::TraceEventType::RTP;
  if (traceTypes_ & (1u << static_cast<unsigned>(type)))
    EmitConsumerTrace(*context_.writer, id_, type, true, out.Ssrc(), nowMs, &packet, keyFrame);
  return true;
}

void Consumer::ReceiveNack(const rtcp::GenericNack& nack, uint64_t nowMs) {
  ConsumerStream* out = StreamBySsrc(nack.MediaSsrc());
  if (out == nullptr)
    return;
  out->ReceiveNack(SendContext(), nack, nowMs);
  if (traceTypes_ != 0)
    Trace(FBS::Consumer::TraceEventType::NACK, false, out->Ssrc());
}

void Consumer::ReceiveKeyFrameRequest(uint32_t ssrc, bool fir, uint64_t nowMs) {
  ConsumerStream* out = StreamBySsrc(ssrc);
  if (out == nullptr)
    return;
  out->CountKeyFrameRequest(fir);
  if (traceTypes_ != 0)
    Trace(fir ? FBS::Consumer::TraceEventType::FIR : FBS::Consumer::TraceEventType::PLI, false,
          out->Ssrc());
  if (Active())
    RequestKeyFrame(*out, nowMs);
}

void Consumer::ReceiveReport(const rtcp::ReportBlock& report, uint64_t nowMs) {
  (void)nowMs;
  ConsumerStream* out = StreamBySsrc(report.ssrc);
  if (out != nullptr && out->ReceiveReport(report))
    UpdateScore();
}

// The consumer's score is its worst stream's.
void Consumer::UpdateScore() {
  uint8_t score = 10;
  for (size_t i = 0; i < streamCount_; ++i)
    score = std::min(score, streams_[i].Score());
  if (score == score_)
    return;
  score_ = score;
  EmitScore();
}

// --- producer events ------------------------------------------------------------

void Consumer::OnProducerPaused(bool paused) {
  if (producerPaused_ == paused)
    return;
  producerPaused_ = paused;
  Notify(paused ? FBS::Notification::Event::CONSUMER_PRODUCER_PAUSE
                : FBS::Notification::Event::CONSUMER_PRODUCER_RESUME);
  if (Active())
    RequestSync(context_.NowMs());
}

void Consumer::OnProducerClosed() {
  producer_ = nullptr;
  Notify(FBS::Notification::Event::CONSUMER_PRODUCER_CLOSE);
  port_.ReleaseConsumer(id_); // destroys this
}

void Consumer::OnProducerScore() {
  if (producer_ != nullptr)
    OnSourceScores(context_.NowMs());
  if (producer_ != nullptr && producer_->Score() != lastProducerScore_) {
    lastProducerScore_ = producer_->Score();
    EmitScore();
  }
}

void Consumer::Notify(FBS::Notification::Event event) {
  context_.writer->Notify(id_, event);
}

void Consumer::EmitScore() {
  auto& b = context_.writer->NotificationBuilder();
  std::vector<uint8_t> scores;
  if (producer_ != nullptr)
    scores = producer_->Scores();
  const auto score =
      FBS::Consumer::CreateConsumerScoreDirect(b, score_, lastProducerScore_, &scores);
  const auto body = FBS::Consumer::CreateScoreNotification(b, score);
  context_.writer->Notify(id_, FBS::Notification::Event::CONSUMER_SCORE,
                          FBS::Notification::Body::Consumer_ScoreNotification, body.Union());
}

void Consumer::Trace(FBS::Consumer::TraceEventType type, bool out, uint32_t ssrc) {
  if ((traceTypes_ & (1u << static_cast<unsigned>(type))) == 0)
    return;
  EmitConsumerTrace(*context_.writer, id_, type, out, ssrc, context_.NowMs());
}

// --- channel methods --------------------------------------------------------------

void Consumer::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  const StreamSendContext ctx = SendContext();
  std::vector<flatbuffers::Offset<FBS::RtpParameters::RtpEncodingParameters>> encodings;
  for (const auto& e : consumableEncodings_)
    encodings.push_back(e.CopyInto(b));
  const auto rtpParameters = rtpParameters_.CopyInto(b);
  std::vector<FBS::Consumer::TraceEventType> traces;
  for (uint8_t t = 0; t <= static_cast<uint8_t>(FBS::Consumer::TraceEventType::MAX); ++t)
    if (traceTypes_ & (1u << t))
      traces.push_back(static_cast<FBS::Consumer::TraceEventType>(t));
  const auto base = FBS::Consumer::CreateBaseConsumerDumpDirect(
      b, id_.c_str(), Type(), producerId_.c_str(), FbsKind(params_.kind), rtpParameters, &encodings,
      &params_.codecPayloadTypes, &traces, paused_, producerPaused_, priority_);
  std::vector<flatbuffers::Offset<FBS::RtpStream::Dump>> streams;
  for (size_t i = 0; i < streamCount_; ++i)
    streams.push_back(streams_[i].FillDump(ctx, b));
  const Layers l = DumpLayers();
  const auto data = FBS::Consumer::CreateConsumerDumpDirect(
      b, base, &streams, l.preferredSpatial, l.targetSpatial, l.currentSpatial, l.preferredTemporal,
      l.targetTemporal, l.currentTemporal);
  const auto dump = FBS::Consumer::CreateDumpResponse(b, data);
  request.Accept(FBS::Response::Body::Consumer_DumpResponse, dump.Union());
}

void Consumer::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const uint64_t now = context_.NowMs();
  const StreamSendContext ctx = SendContext();
  std::vector<flatbuffers::Offset<FBS::RtpStream::Stats>> stats;
  for (size_t i = 0; i < streamCount_; ++i)
    stats.push_back(streams_[i].FillStats(ctx, b, now));
  if (StatsIncludeSources() && producer_ != nullptr) {
    for (size_t i = 0; i < streamCount_; ++i)
      if (RecvStream* source = producer_->StreamAt(streams_[i].SourceIdx());
          source != nullptr && source->PacketsReceived() > 0)
        stats.push_back(source->FillStats(b, now)); // a stream that received nothing: none
  }
  const auto body = FBS::Consumer::CreateGetStatsResponseDirect(b, &stats);
  request.Accept(FBS::Response::Body::Consumer_GetStatsResponse, body.Union());
}

void Consumer::HandlePause(channel::Request& request) {
  paused_ = true;
  request.Accept();
}

void Consumer::HandleResume(channel::Request& request) {
  const bool wasActive = Active();
  paused_ = false;
  request.Accept();
  if (!wasActive && Active())
    RequestSync(context_.NowMs());
}

void Consumer::HandleSetPreferredLayers(channel::Request& request) {
  const auto* layers = request.Body<FBS::Consumer::SetPreferredLayersRequest>()->preferred_layers();
  SetPreferredLayers(layers->spatial_layer(),
                     layers->temporal_layer() ? std::optional<uint8_t>(*layers->temporal_layer())
                                              : std::nullopt);
  // Kinds without layers (simple, pipe) answer no preferred layers.
  auto& b = request.Builder();
  flatbuffers::Offset<FBS::Consumer::ConsumerLayers> preferred = 0;
  if (const auto p = PreferredLayers())
    preferred = FBS::Consumer::CreateConsumerLayers(b, static_cast<uint8_t>(p->spatial),
                                                    static_cast<uint8_t>(p->temporal));
  const auto body = FBS::Consumer::CreateSetPreferredLayersResponse(b, preferred);
  request.Accept(FBS::Response::Body::Consumer_SetPreferredLayersResponse, body.Union());
}

void Consumer::NotifyLayers(std::optional<LayerPair> layers) {
  auto& b = context_.writer->NotificationBuilder();
  flatbuffers::Offset<FBS::Consumer::ConsumerLayers> l = 0;
  if (layers)
    l = FBS::Consumer::CreateConsumerLayers(b, static_cast<uint8_t>(layers->spatial),
                                            static_cast<uint8_t>(layers->temporal));
  const auto body = FBS::Consumer::CreateLayersChangeNotification(b, l);
  context_.writer->Notify(id_, FBS::Notification::Event::CONSUMER_LAYERS_CHANGE,
                          FBS::Notification::Body::Consumer_LayersChangeNotification, body.Union());
}

void Consumer::HandleSetPriority(channel::Request& request) {
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

void Consumer::HandleRequestKeyFrame(channel::Request& request) {
  if (Active())
    RequestKeyFrames(context_.NowMs());
  request.Accept();
}

void Consumer::HandleEnableTraceEvent(channel::Request& request) {
  const auto* body = request.Body<FBS::Consumer::EnableTraceEventRequest>();
  traceTypes_ = 0;
  for (const auto type : *body->events())
    traceTypes_ |= static_cast<uint8_t>(1u << static_cast<unsigned>(type));
  request.Accept();
}

size_t Consumer::BaseFootprintBytes() const {
  size_t bytes = id_.capacity() + producerId_.capacity() + params_.codec.mimeType.capacity() +
                 params_.cname.capacity() + params_.codecPayloadTypes.capacity() +
                 params_.encodings.capacity() * sizeof(ConsumerEncoding) + rtpParameters_.Bytes();
  for (const auto& e : consumableEncodings_)
    bytes += sizeof(e) + e.Bytes();
  for (size_t i = 0; i < streamCount_; ++i)
    bytes += streams_[i].HeapBytes();
  return bytes;
}

} // namespace sluice::router
