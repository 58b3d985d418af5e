#include "sluice/transport/Transport.hpp"

#include <random>

#include "notification_generated.h"
#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/PipeConsumer.hpp"
#include "sluice/router/SimpleConsumer.hpp"
#include "sluice/router/SimulcastConsumer.hpp"
#include "sluice/router/SvcConsumer.hpp"
#include "sluice/router/Trace.hpp"
#include "sluice/rtcp/NtpTime.hpp"
#include "sluice/rtcp/RtcpWriter.hpp"
#include "sluice/util/Clock.hpp"

namespace sluice::transport {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;
using Uri = FBS::RtpParameters::RtpHeaderExtensionUri;

namespace {

constexpr uint64_t kVideoReportMs = 1000; // RTCP report interval (randomized ±50%)
constexpr uint64_t kAudioReportMs = 5000;
constexpr uint64_t kScoreMs = 1000;
constexpr size_t kRtcpMtu = 1200;

std::minstd_rand& Rng() {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return rng;
}

} // namespace

struct TransportMethods {
  static const std::array<MethodEntry<Transport>, 8> kTable;
};

const std::array<MethodEntry<Transport>, 8> TransportMethods::kTable = {{
    {Method::TRANSPORT_PRODUCE, Body::Transport_ProduceRequest, &Transport::HandleProduce},
    {Method::TRANSPORT_CONSUME, Body::Transport_ConsumeRequest, &Transport::HandleConsume},
    {Method::TRANSPORT_CLOSE_PRODUCER, Body::Transport_CloseProducerRequest,
     &Transport::HandleCloseProducer},
    {Method::TRANSPORT_CLOSE_CONSUMER, Body::Transport_CloseConsumerRequest,
     &Transport::HandleCloseConsumer},
    {Method::TRANSPORT_ENABLE_TRACE_EVENT, Body::Transport_EnableTraceEventRequest,
     &Transport::HandleEnableTraceEvent},
    {Method::TRANSPORT_SET_MAX_INCOMING_BITRATE, Body::Transport_SetMaxIncomingBitrateRequest,
     &Transport::HandleSetMaxIncomingBitrate},
    {Method::TRANSPORT_SET_MAX_OUTGOING_BITRATE, Body::Transport_SetMaxOutgoingBitrateRequest,
     &Transport::HandleSetMaxOutgoingBitrate},
    {Method::TRANSPORT_SET_MIN_OUTGOING_BITRATE, Body::Transport_SetMinOutgoingBitrateRequest,
     &Transport::HandleSetMinOutgoingBitrate},
}};

Transport::Transport(const router::Context& context, std::string id, TransportOwner& owner)
    : context_(context), id_(std::move(id)), owner_(owner),
      rtcpSsrc_(static_cast<uint32_t>(Rng()()) | 1u), cc_(*this, rtcpSsrc_) {}

Transport::~Transport() {
  // Consumers first (they detach from producers, possibly ours), then
  // producers (whose consumers on other transports are released there).
  auto consumers = std::move(consumers_);
  consumers_.clear();
  consumersBySsrc_.clear();
  consumers.clear();
  auto producers = std::move(producers_);
  producers_.clear();
  producers.clear();
  context_.registry->Remove(id_);
}

void Transport::HandleRequest(channel::Request& request) {
  if (HandleKindRequest(request))
    return;
  channel::DispatchMethod(*this, TransportMethods::kTable, {"TRANSPORT_"}, "Transport", request);
}

router::Producer* Transport::FindProducer(std::string_view id) {
  const auto it = producers_.find(id);
  return it == producers_.end() ? nullptr : it->second.get();
}

// --- media ------------------------------------------------------------------------

void Transport::ReceiveRtp(const uint8_t* data, size_t len, uint64_t nowMs) {
  rtp::ParseError why;
  const auto packet = rtp::RtpPacket::Parse(data, len, &why);
  if (!packet) {
    ++drops_.badRtp;
    return;
  }
  // The first producer's ids stand for the transport (one remote endpoint).
  uint8_t midId = 0;
  uint8_t ridId = 0;
  if (!producers_.empty()) {
    const auto& ext = producers_.begin()->second->Params().extIds;
    midId = ext.Get(Uri::Mid);
    ridId = ext.Get(Uri::RtpStreamId);
  }
  router::Producer* producer = listener_.Find(*packet, midId, ridId);
  if (producer == nullptr) {
    // RTX of a producer that announced no RTX SSRC: let each producer try.
    for (auto& [id, p] : producers_) {
      const auto routed = p->ReceiveRtp(*packet, nowMs);
      if (routed != router::Producer::Routed::No) {
        listener_.Learn(packet->Ssrc(), p.get());
        (routed == router::Producer::Routed::Rtx ? rtxRecv_ : rtpRecv_).Add(len, nowMs);
        cc_.OnReceivedRtp(*packet, p->Params().extIds.Get(Uri::TransportWideCcDraft01));
        return;
      }
    }
    CountUnrouted(*packet, ridId);
    SLUICE_DEBUG(Rtp, "no producer for RTP packet [ssrc:%u, pt:%u]", packet->Ssrc(),
                 packet->PayloadType());
    return;
  }
  const auto routed = producer->ReceiveRtp(*packet, nowMs);
  if (routed == router::Producer::Routed::No) {
    CountUnrouted(*packet, ridId);
    return;
  }
  listener_.Learn(packet->Ssrc(), producer);
  (routed == router::Producer::Routed::Rtx ? rtxRecv_ : rtpRecv_).Add(len, nowMs);
  cc_.OnReceivedRtp(*packet, producer->Params().extIds.Get(Uri::TransportWideCcDraft01));
}

void Transport::ReceiveControllerRtp(const uint8_t* data, size_t len) {
  (void)data;
  ++drops_.notDirect;
  SLUICE_WARN("producer.send() of %zu bytes dropped: transport %s is not a DirectTransport", len,
              id_.c_str());
}

void Transport::CountUnrouted(const rtp::RtpPacket& packet, uint8_t ridId) {
  const auto value = ridId != 0 ? packet.GetExtension(ridId) : rtp::ByteView{};
  const std::string_view rid(reinterpret_cast<const char*>(value.data), value.size);
  if (rid.empty()) {
    ++drops_.noProducer;
    return;
  }
  for (const auto& [id, p] : producers_)
    for (const auto& e : p->Params().encodings)
      if (e.rid == rid) {
        ++drops_.noProducer; // announced, but not on this SSRC or payload type
        return;
      }
  ++drops_.unknownRid;
}

void Transport::ReceiveRtcp(const uint8_t* data, size_t len, uint64_t nowMs) {
  rtcp::CompoundIterator it(data, len);
  rtcp::RtcpPacket packet; // assigned by Next
  bool rejected = false;
  while (it.Next(&packet))
    rejected |= !DispatchRtcp(packet, nowMs);
  if (rejected || it.Error())
    ++drops_.badRtcp;
}

router::Consumer* Transport::ConsumerBySsrc(uint32_t ssrc) const {
  const auto it = consumersBySsrc_.find(ssrc);
  return it == consumersBySsrc_.end() ? nullptr : it->second;
}

void Transport::TraceBwe(FBS::Transport::BweType type, uint64_t nowMs) {
  if ((traceTypes_ & (1u << static_cast<unsigned>(FBS::Transport::TraceEventType::BWE))) == 0)
    return;
  const auto* e = cc_.Estimator();
  router::EmitTransportBweTrace(*context_.writer, id_, nowMs, type, 0, cc_.MinOutgoingBitrate(),
                                cc_.MaxOutgoingBitrate(), cc_.InitialOutgoingBitrate(),
                                e != nullptr ? e->TargetBps() : cc_.InitialOutgoingBitrate());
}

void Transport::ReceiveReportBlocks(const rtcp::ReportBlock* blocks, size_t count, uint64_t nowMs) {
  for (size_t i = 0; i < count; ++i)
    if (auto* c = ConsumerBySsrc(blocks[i].ssrc))
      c->ReceiveReport(blocks[i], nowMs);
}

// false: the framing was fine but the type's parser rejects the packet (an SR/RR
// with more report blocks than its length holds, a short NACK, ...); the caller
// counts the compound in badRtcp and still uses the rest of it.
bool Transport::DispatchRtcp(const rtcp::RtcpPacket& packet, uint64_t nowMs) {
  using rtcp::PacketType;
  rtcp::ReportBlock blocks[31];
  switch (static_cast<PacketType>(packet.Type())) {
  case PacketType::SR:
    if (const auto sr = rtcp::SenderReport::Parse(packet)) {
      for (auto& [id, p] : producers_)
        p->ReceiveSenderReport(sr->Ssrc(), {sr->NtpSeconds(), sr->NtpFraction()},
                               sr->RtpTimestamp(), nowMs);
      const size_t n = std::min<size_t>(sr->ReportCount(), 31);
      for (size_t i = 0; i < n; ++i)
        blocks[i] = sr->Report(i);
      ReceiveReportBlocks(blocks, n, nowMs);
    } else {
      return false;
    }
    break;
  case PacketType::RR:
    if (const auto rr = rtcp::ReceiverReport::Parse(packet)) {
      const size_t n = std::min<size_t>(rr->ReportCount(), 31);
      for (size_t i = 0; i < n; ++i)
        blocks[i] = rr->Report(i);
      ReceiveReportBlocks(blocks, n, nowMs);
    } else {
      return false;
    }
    break;
  case PacketType::RTPFB:
    if (packet.Fmt() == rtcp::kFmtNack) {
      if (const auto nack = rtcp::GenericNack::Parse(packet)) {
        if (auto* c = ConsumerBySsrc(nack->MediaSsrc()))
          c->ReceiveNack(*nack, nowMs);
      } else {
        return false;
      }
    } else if (packet.Fmt() == rtcp::kFmtTransportCc) {
      if (const auto feedback = rtcp::TransportCcFeedback::Parse(packet)) {
        if (cc_.OnFeedback(*feedback))
          TraceBwe(FBS::Transport::BweType::TRANSPORT_CC, nowMs);
      } else {
        return false;
      }
    }
    break;
  case PacketType::PSFB:
    if (packet.Fmt() == rtcp::kFmtPli) {
      if (const auto pli = rtcp::Pli::Parse(packet)) {
        if (auto* c = ConsumerBySsrc(pli->MediaSsrc()))
          c->ReceiveKeyFrameRequest(pli->MediaSsrc(), false, nowMs);
      } else {
        return false;
      }
    } else if (packet.Fmt() == rtcp::kFmtAfb) {
      // Application layer feedback: REMB is the one we read; others are ignored.
      if (const auto remb = rtcp::Remb::Parse(packet); remb && cc_.OnRemb(remb->Bitrate()))
        TraceBwe(FBS::Transport::BweType::REMB, nowMs);
    } else if (packet.Fmt() == rtcp::kFmtFir) {
      if (const auto fir = rtcp::Fir::Parse(packet)) {
        for (size_t i = 0; i < fir->EntryCount(); ++i)
          if (auto* c = ConsumerBySsrc(fir->Entry(i).ssrc))
            c->ReceiveKeyFrameRequest(fir->Entry(i).ssrc, true, nowMs);
      } else {
        return false;
      }
    }
    break;
  default:
    break; // SDES, BYE, APP, XR: nothing to act on
  }
  return true;
}

void Transport::CountReceived(size_t wireBytes, uint64_t nowMs) {
  recv_.Add(wireBytes, nowMs);
}

void Transport::CountSent(size_t bytes, bool rtp, bool retransmission, uint64_t nowMs) {
  send_.Add(bytes, nowMs);
  if (rtp)
    (retransmission ? rtxSend_ : rtpSend_).Add(bytes, nowMs);
}

void Transport::Connected(uint64_t nowMs) {
  for (auto& [id, c] : consumers_)
    c->OnTransportConnected(nowMs);
}

void Transport::Tick(uint64_t nowMs) {
  KindTick(nowMs);
  const bool scoreTick = nowMs >= nextScoreMs_;
  if (scoreTick)
    nextScoreMs_ = nowMs + kScoreMs;
  for (auto& [id, p] : producers_)
    p->Tick(nowMs, scoreTick);
  cc_.Tick(nowMs);
  if (nowMs >= nextReportMs_) {
    if (nextReportMs_ != 0)
      SendReports(nowMs);
    ScheduleReports(nowMs);
  }
}

void Transport::ScheduleReports(uint64_t nowMs) {
  bool video = false;
  for (const auto& [id, p] : producers_)
    video |= p->Kind() == router::MediaKind::Video;
  for (const auto& [id, c] : consumers_)
    video |= c->Kind() == router::MediaKind::Video;
  const uint64_t interval = video ? kVideoReportMs : kAudioReportMs;
  // RFC 3550 §6.3.1: randomize over [0.5, 1.5] of the interval.
  nextReportMs_ = nowMs + interval / 2 + Rng()() % interval;
}

void Transport::SendReports(uint64_t nowMs) {
  if (!CanSend() || (producers_.empty() && consumers_.empty()))
    return;
  uint8_t buf[kRtcpMtu];
  rtcp::CompoundWriter w(buf, sizeof(buf));
  const rtcp::NtpTime ntp = rtcp::NtpFromUnixMs(util::WallClockMs());
  auto flush = [&] {
    if (w.Size() > 0)
      SendRtcp(w.Data(), w.Size());
    w.Reset();
  };
  for (auto& [id, c] : consumers_) {
    for (size_t i = 0; i < c->StreamCount(); ++i) {
      if (!c->WriteRtcp(i, w, ntp, nowMs)) {
        flush();
        c->WriteRtcp(i, w, ntp, nowMs);
      }
    }
  }
  for (auto& [id, p] : producers_) {
    if (!p->WriteRtcp(w, rtcpSsrc_, nowMs)) {
      flush();
      p->WriteRtcp(w, rtcpSsrc_, nowMs);
    }
  }
  flush();
}

// --- channel methods -------------------------------------------------------------

void Transport::HandleProduce(channel::Request& request) {
  const auto* body = request.Body<FBS::Transport::ProduceRequest>();
  const std::string id = body->producer_id()->str();
  if (context_.registry->Contains(id)) {
    request.Error("a Producer with same producerId already exists");
    return;
  }
  std::string error;
  auto params = router::ProducerParams::From(*body, &error);
  if (!params) {
    request.TypeError(error);
    return;
  }
  auto producer =
      std::make_unique<router::Producer>(context_, id, *this, std::move(*params), *body);
  if (!listener_.Add(producer.get(), &error)) {
    request.Error(error);
    return;
  }
  context_.registry->AddRequestHandler(id, producer.get());
  // PRODUCER_SEND (producer.send()) is addressed to the producer.
  context_.registry->AddNotificationHandler(id, producer.get());
  nextReportMs_ = 0; // re-plan reports for the new media kind mix
  const auto type = producer->Type();
  producers_.emplace(id, std::move(producer));
  auto& b = request.Builder();
  const auto response = FBS::Transport::CreateProduceResponse(b, type);
  request.Accept(FBS::Response::Body::Transport_ProduceResponse, response.Union());
}

std::unique_ptr<router::Consumer>
Transport::MakeConsumer(FBS::RtpParameters::Type type, const std::string& id,
                        router::Producer& producer, router::ConsumerParams params,
                        const FBS::Transport::ConsumeRequest& body) {
  using Type = FBS::RtpParameters::Type;
  switch (type) {
  case Type::PIPE:
    return std::make_unique<router::PipeConsumer>(context_, id, producer, *this, std::move(params),
                                                  body);
  case Type::SIMULCAST:
    return std::make_unique<router::SimulcastConsumer>(context_, id, producer, *this,
                                                       std::move(params), body);
  case Type::SVC:
    return std::make_unique<router::SvcConsumer>(context_, id, producer, *this, std::move(params),
                                                 body);
  default:
    return std::make_unique<router::SimpleConsumer>(context_, id, producer, *this,
                                                    std::move(params), body);
  }
}

void Transport::HandleConsume(channel::Request& request) {
  const auto* body = request.Body<FBS::Transport::ConsumeRequest>();
  const std::string id = body->consumer_id()->str();
  if (context_.registry->Contains(id)) {
    request.Error("a Consumer with same consumerId already exists");
    return;
  }
  router::Producer* producer = owner_.FindProducer(body->producer_id()->string_view());
  if (producer == nullptr) {
    request.Error("Producer not found [producerId:" + body->producer_id()->str() + "]");
    return;
  }
  const auto type = body->type();
  std::string error;
  auto params = router::ConsumerParams::From(*body, &error);
  if (!params) {
    request.TypeError(error);
    return;
  }
  for (const auto& e : params->encodings) {
    if (ConsumerBySsrc(e.ssrc) || (e.rtxSsrc && ConsumerBySsrc(*e.rtxSsrc))) {
      request.Error("a Consumer with same ssrc already exists in this transport");
      return;
    }
  }
  // One remote: every consumer of a transport has the same id for it.
  if (const uint8_t tccId = params->extIds.Get(Uri::TransportWideCcDraft01); tccId != 0)
    cc_.SetSendExtensionId(tccId);
  std::unique_ptr<router::Consumer> consumer =
      MakeConsumer(type, id, *producer, std::move(*params), *body);
  router::Consumer* c = consumer.get();
  context_.registry->AddRequestHandler(id, c);
  for (size_t i = 0; i < c->StreamCount(); ++i) {
    consumersBySsrc_[c->Stream(i).Ssrc()] = c;
    if (const auto rtx = c->Stream(i).RtxSsrc())
      consumersBySsrc_[*rtx] = c;
  }
  consumers_.emplace(id, std::move(consumer));
  nextReportMs_ = 0; // re-plan reports for the new media kind mix

  auto& b = request.Builder();
  const std::vector<uint8_t> scores = producer->Scores();
  const auto score =
      FBS::Consumer::CreateConsumerScoreDirect(b, c->Score(), producer->Score(), &scores);
  flatbuffers::Offset<FBS::Consumer::ConsumerLayers> preferred = 0;
  if (const auto p = c->PreferredLayers())
    preferred = FBS::Consumer::CreateConsumerLayers(b, static_cast<uint8_t>(p->spatial),
                                                    static_cast<uint8_t>(p->temporal));
  const auto response =
      FBS::Transport::CreateConsumeResponse(b, c->Paused(), c->ProducerPaused(), score, preferred);
  request.Accept(FBS::Response::Body::Transport_ConsumeResponse, response.Union());
}

void Transport::HandleCloseProducer(channel::Request& request) {
  const auto* body = request.Body<FBS::Transport::CloseProducerRequest>();
  const auto it = producers_.find(body->producer_id()->string_view());
  if (it == producers_.end()) {
    request.Error("Producer not found [producerId:" + body->producer_id()->str() + "]");
    return;
  }
  listener_.Remove(it->second.get());
  auto producer = std::move(it->second);
  producers_.erase(it);
  producer.reset();
  request.Accept();
}

void Transport::ReleaseConsumer(const std::string& consumerId) {
  const auto it = consumers_.find(consumerId);
  if (it == consumers_.end())
    return;
  auto consumer = std::move(it->second);
  consumers_.erase(it);
  absl::erase_if(consumersBySsrc_, [c = consumer.get()](const auto& kv) { return kv.second == c; });
}

void Transport::HandleCloseConsumer(channel::Request& request) {
  const auto* body = request.Body<FBS::Transport::CloseConsumerRequest>();
  const std::string id = body->consumer_id()->str();
  if (consumers_.find(id) == consumers_.end()) {
    request.Error("Consumer not found [consumerId:" + id + "]");
    return;
  }
  ReleaseConsumer(id);
  request.Accept();
}

void Transport::HandleEnableTraceEvent(channel::Request& request) {
  const auto* body = request.Body<FBS::Transport::EnableTraceEventRequest>();
  traceTypes_ = 0;
  for (const auto type : *body->events())
    traceTypes_ |= static_cast<uint8_t>(1u << static_cast<unsigned>(type));
  request.Accept();
}

void Transport::HandleSetMaxIncomingBitrate(channel::Request& request) {
  maxIncomingBitrate_ =
      request.Body<FBS::Transport::SetMaxIncomingBitrateRequest>()->max_incoming_bitrate();
  request.Accept();
}

void Transport::HandleSetMaxOutgoingBitrate(channel::Request& request) {
  const uint32_t value =
      request.Body<FBS::Transport::SetMaxOutgoingBitrateRequest>()->max_outgoing_bitrate();
  const uint32_t min = cc_.MinOutgoingBitrate();
  if (value != 0 && min != 0 && value < min) {
    request.Error("maxOutgoingBitrate must be >= minOutgoingBitrate");
    return;
  }
  cc_.SetOutgoingBounds(min, value);
  request.Accept();
}

void Transport::HandleSetMinOutgoingBitrate(channel::Request& request) {
  const uint32_t value =
      request.Body<FBS::Transport::SetMinOutgoingBitrateRequest>()->min_outgoing_bitrate();
  const uint32_t max = cc_.MaxOutgoingBitrate();
  if (value != 0 && max != 0 && value > max) {
    request.Error("minOutgoingBitrate must be <= maxOutgoingBitrate");
    return;
  }
  cc_.SetOutgoingBounds(value, max);
  request.Accept();
}

// --- dump and stats ---------------------------------------------------------------

flatbuffers::Offset<FBS::Transport::Dump>
Transport::FillBaseDump(flatbuffers::FlatBufferBuilder& b, bool direct, uint32_t maxMessageSize) {
  std::vector<flatbuffers::Offset<flatbuffers::String>> producerIds;
  for (const auto& [id, p] : producers_)
    producerIds.push_back(b.CreateString(id));
  std::vector<flatbuffers::Offset<flatbuffers::String>> consumerIds;
  std::vector<flatbuffers::Offset<FBS::Common::Uint32String>> bySsrc;
  std::vector<flatbuffers::Offset<FBS::Common::Uint32String>> byRtxSsrc;
  for (const auto& [id, c] : consumers_) {
    consumerIds.push_back(b.CreateString(id));
    for (size_t i = 0; i < c->StreamCount(); ++i) {
      const auto& s = c->Stream(i);
      bySsrc.push_back(FBS::Common::CreateUint32StringDirect(b, s.Ssrc(), id.c_str()));
      if (s.RtxSsrc())
        byRtxSsrc.push_back(FBS::Common::CreateUint32StringDirect(b, *s.RtxSsrc(), id.c_str()));
    }
  }
  const std::vector<flatbuffers::Offset<flatbuffers::String>> none;
  const auto extOffset = [&] {
    flatbuffers::Optional<uint8_t> mid, rid, rrid, abs, twcc;
    if (!producers_.empty()) {
      const auto& ids = producers_.begin()->second->Params().extIds;
      auto opt = [&](Uri u) {
        return ids.Get(u) ? flatbuffers::Optional<uint8_t>(ids.Get(u)) : flatbuffers::nullopt;
      };
      mid = opt(Uri::Mid);
      rid = opt(Uri::RtpStreamId);
      rrid = opt(Uri::RepairRtpStreamId);
      abs = opt(Uri::AbsSendTime);
      twcc = opt(Uri::TransportWideCcDraft01);
    }
    return FBS::Transport::CreateRecvRtpHeaderExtensions(b, mid, rid, rrid, abs, twcc);
  }();
  const auto listener = listener_.Fill(b);
  std::vector<FBS::Transport::TraceEventType> traces;
  for (uint8_t t = 0; t <= static_cast<uint8_t>(FBS::Transport::TraceEventType::MAX); ++t)
    if (traceTypes_ & (1u << t))
      traces.push_back(static_cast<FBS::Transport::TraceEventType>(t));
  return FBS::Transport::CreateDumpDirect(b, id_.c_str(), direct, &producerIds, &consumerIds,
                                          &bySsrc, &byRtxSsrc, &none, &none, extOffset, listener,
                                          maxMessageSize, 0, flatbuffers::nullopt, 0, &traces);
}

flatbuffers::Offset<FBS::Transport::Stats>
Transport::FillBaseStats(flatbuffers::FlatBufferBuilder& b, uint64_t nowMs) {
  auto opt = [](uint32_t v) {
    return v ? flatbuffers::Optional<uint32_t>(v) : flatbuffers::nullopt;
  };
  Drops d = drops_;
  AddKindDrops(d);
  const auto drops = FBS::Transport::CreateDrops(
      b, d.notRtpOrRtcp, d.badRtp, d.noProducer, d.badRtcp, d.unknownTuple, d.srtpFailures,
      d.notConnected, d.socketTruncated, d.badStun, d.badDtls, d.unknownRid, d.notDirect,
      d.tooLarge, d.channelFull);
  return FBS::Transport::CreateStatsDirect(
      b, id_.c_str(), nowMs, flatbuffers::nullopt, recv_.bytes, recv_.rate.Rate(nowMs), send_.bytes,
      send_.rate.Rate(nowMs), rtpRecv_.bytes, rtpRecv_.rate.Rate(nowMs), rtpSend_.bytes,
      rtpSend_.rate.Rate(nowMs), rtxRecv_.bytes, rtxRecv_.rate.Rate(nowMs), rtxSend_.bytes,
      rtxSend_.rate.Rate(nowMs), 0, 0, opt(cc_.AvailableOutgoingBitrate().value_or(0)),
      flatbuffers::nullopt, opt(maxIncomingBitrate_), opt(cc_.MaxOutgoingBitrate()),
      opt(cc_.MinOutgoingBitrate()),
      flatbuffers::nullopt, flatbuffers::nullopt, drops);
}

void Transport::Notify(FBS::Notification::Event event, FBS::Notification::Body type,
                       flatbuffers::Offset<void> body) {
  context_.writer->Notify(id_, event, type, body);
}

} // namespace sluice::transport
