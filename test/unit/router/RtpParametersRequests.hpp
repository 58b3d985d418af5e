// Produce / consume requests built as the controller sends them (flatbuffers
// object API, packed and verified), shared by the RtpParameters unit tests.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtpParameters_generated.h"
#include "sluice/router/RtpParameters.hpp"
#include "transport_generated.h"

namespace rtpparams_test {

namespace fbs = FBS::RtpParameters;
using Uri = fbs::RtpHeaderExtensionUri;
using sluice::router::ConsumerParams;
using sluice::router::ProducerParams;

// ---------------------------------------------------------------------------
// Request builders (flatbuffers object API), as the controller would send
// them: the worker sees the packed, verified buffer.

using Feedback = std::vector<std::pair<std::string, std::string>>;

inline std::unique_ptr<fbs::RtpCodecParametersT>
Codec(const std::string& mime, uint8_t pt, uint32_t clockRate, const Feedback& fb = {}) {
  auto c = std::make_unique<fbs::RtpCodecParametersT>();
  c->mime_type = mime;
  c->payload_type = pt;
  c->clock_rate = clockRate;
  for (const auto& [type, param] : fb) {
    auto f = std::make_unique<fbs::RtcpFeedbackT>();
    f->type = type;
    f->parameter = param;
    c->rtcp_feedback.push_back(std::move(f));
  }
  return c;
}

inline void AddIntParam(fbs::RtpCodecParametersT* c, const std::string& name, int32_t value) {
  auto p = std::make_unique<fbs::ParameterT>();
  p->name = name;
  fbs::Integer32T v;
  v.value = value;
  p->value.Set(std::move(v));
  c->parameters.push_back(std::move(p));
}

inline void AddStringParam(fbs::RtpCodecParametersT* c, const std::string& name,
                           const std::string& s) {
  auto p = std::make_unique<fbs::ParameterT>();
  p->name = name;
  fbs::StringT v;
  v.value = s;
  p->value.Set(std::move(v));
  c->parameters.push_back(std::move(p));
}

inline std::unique_ptr<fbs::RtpCodecParametersT> Rtx(uint8_t pt, std::optional<int32_t> apt) {
  auto c = Codec("video/rtx", pt, 90000);
  if (apt)
    AddIntParam(c.get(), "apt", *apt);
  return c;
}

inline std::unique_ptr<fbs::RtpHeaderExtensionParametersT> Ext(Uri uri, uint8_t id) {
  auto e = std::make_unique<fbs::RtpHeaderExtensionParametersT>();
  e->uri = uri;
  e->id = id;
  return e;
}

inline std::unique_ptr<fbs::RtpEncodingParametersT> Encoding(std::optional<uint32_t> ssrc,
                                                             std::optional<uint32_t> rtxSsrc = {},
                                                             const std::string& rid = "") {
  auto e = std::make_unique<fbs::RtpEncodingParametersT>();
  if (ssrc)
    e->ssrc = *ssrc;
  if (rtxSsrc) {
    e->rtx = std::make_unique<fbs::RtxT>();
    e->rtx->ssrc = *rtxSsrc;
  }
  e->rid = rid;
  return e;
}

inline std::unique_ptr<fbs::RtpParametersT> BaseRtp() {
  auto rtp = std::make_unique<fbs::RtpParametersT>();
  rtp->mid = "0";
  rtp->rtcp = std::make_unique<fbs::RtcpParametersT>();
  rtp->rtcp->cname = "cname-abc";
  return rtp;
}

inline const Feedback kVideoFeedback = {
    {"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""}, {"nack", "pli"}};

// VP8 (96) + rtx (97, apt=96), one encoding ssrc 1111 / rtx 2222, three
// header extensions; mapped to router PTs 101/102 and ssrc 0xAABBCCDD.
inline FBS::Transport::ProduceRequestT Vp8Produce() {
  FBS::Transport::ProduceRequestT req;
  req.producer_id = "p1";
  req.kind = fbs::MediaKind::VIDEO;
  req.key_frame_request_delay = 250;
  req.rtp_parameters = BaseRtp();
  auto& rtp = *req.rtp_parameters;
  rtp.codecs.push_back(Codec("video/VP8", 96, 90000, kVideoFeedback));
  rtp.codecs.push_back(Rtx(97, 96));
  rtp.header_extensions.push_back(Ext(Uri::Mid, 1));
  rtp.header_extensions.push_back(Ext(Uri::AbsSendTime, 4));
  rtp.header_extensions.push_back(Ext(Uri::TransportWideCcDraft01, 5));
  rtp.encodings.push_back(Encoding(1111, 2222));
  req.rtp_mapping = std::make_unique<fbs::RtpMappingT>();
  auto& map = *req.rtp_mapping;
  for (auto [from, to] : {std::pair<uint8_t, uint8_t>{96, 101}, {97, 102}}) {
    auto m = std::make_unique<fbs::CodecMappingT>();
    m->payload_type = from;
    m->mapped_payload_type = to;
    map.codecs.push_back(std::move(m));
  }
  auto em = std::make_unique<fbs::EncodingMappingT>();
  em->ssrc = 1111;
  em->mapped_ssrc = 0xAABBCCDD;
  map.encodings.push_back(std::move(em));
  return req;
}

inline void AddMappedEncoding(FBS::Transport::ProduceRequestT* req, uint32_t mappedSsrc) {
  auto em = std::make_unique<fbs::EncodingMappingT>();
  em->mapped_ssrc = mappedSsrc;
  req->rtp_mapping->encodings.push_back(std::move(em));
}

// Packs, verifies (as the channel does before any handler runs) and parses.
template <typename T, typename Native>
inline const T* Pack(flatbuffers::FlatBufferBuilder& fbb, const Native& obj) {
  fbb.Finish(T::Pack(fbb, &obj));
  flatbuffers::Verifier verifier(fbb.GetBufferPointer(), fbb.GetSize());
  REQUIRE(verifier.VerifyBuffer<T>(nullptr));
  return flatbuffers::GetRoot<T>(fbb.GetBufferPointer());
}

inline std::optional<ProducerParams> Produce(const FBS::Transport::ProduceRequestT& req,
                                             std::string* error) {
  flatbuffers::FlatBufferBuilder fbb;
  return ProducerParams::From(*Pack<FBS::Transport::ProduceRequest>(fbb, req), error);
}

// The error a request fails with ("" if it parses).
inline std::string ProduceError(const FBS::Transport::ProduceRequestT& req) {
  std::string error;
  const auto p = Produce(req, &error);
  if (p) {
    CHECK(error.empty());
    return "";
  }
  CHECK_FALSE(error.empty());
  return error;
}

// Consumer of VP8 (96) + rtx (97) and H264 (100) + rtx (101); ssrc 5555, rtx 6666.
inline FBS::Transport::ConsumeRequestT Consume() {
  FBS::Transport::ConsumeRequestT req;
  req.consumer_id = "c1";
  req.producer_id = "p1";
  req.kind = fbs::MediaKind::VIDEO;
  req.type = fbs::Type::SIMPLE;
  req.rtp_parameters = BaseRtp();
  auto& rtp = *req.rtp_parameters;
  rtp.mid = "3";
  rtp.codecs.push_back(Codec("video/VP8", 96, 90000, {{"nack", ""}}));
  rtp.codecs.push_back(Rtx(97, 96));
  rtp.codecs.push_back(Codec("video/H264", 100, 90000, {{"nack", "pli"}, {"ccm", "fir"}}));
  rtp.codecs.push_back(Rtx(101, 100));
  rtp.header_extensions.push_back(Ext(Uri::Mid, 1));
  rtp.header_extensions.push_back(Ext(Uri::AbsSendTime, 4));
  rtp.encodings.push_back(Encoding(5555, 6666));
  req.consumable_rtp_encodings.push_back(Encoding(0xAABBCCDD));
  return req;
}

inline std::optional<ConsumerParams> ConsumeParse(const FBS::Transport::ConsumeRequestT& req,
                                                  std::string* error) {
  flatbuffers::FlatBufferBuilder fbb;
  return ConsumerParams::From(*Pack<FBS::Transport::ConsumeRequest>(fbb, req), error);
}

inline std::string ConsumeError(const FBS::Transport::ConsumeRequestT& req) {
  std::string error;
  const auto p = ConsumeParse(req, &error);
  if (p)
    return "";
  CHECK_FALSE(error.empty());
  return error;
}

} // namespace rtpparams_test
