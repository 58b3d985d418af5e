// ProducerParams: what makes encodings malformed, what each encoding
// carries (codecPayloadType, scalability mode, in-band FEC), and the
// producer type mediasoup 3.14 decides for them.
#include "sluice/router/RtpParameters.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "RtpParametersRequests.hpp"

using namespace rtpparams_test;

TEST_CASE("RtpParameters: malformed encodings are refused", "[router][rtpparams][producer]") {
  auto req = Vp8Produce();
  auto& encodings = req.rtp_parameters->encodings;
  auto addEncoding = [&](std::unique_ptr<fbs::RtpEncodingParametersT> e) {
    encodings.push_back(std::move(e));
    AddMappedEncoding(&req, 0x01000000 + static_cast<uint32_t>(encodings.size()));
  };

  SECTION("the same ssrc in two encodings") {
    addEncoding(Encoding(1111));
    CHECK(ProduceError(req) == "duplicated ssrc 1111 in encodings");
  }
  SECTION("an rtx ssrc equal to another encoding's media ssrc") {
    addEncoding(Encoding(3333, 1111));
    CHECK(ProduceError(req) == "duplicated ssrc 1111 in encodings");
  }
  SECTION("an rtx ssrc equal to its own media ssrc") {
    encodings[0] = Encoding(1111, 1111);
    CHECK(ProduceError(req) == "duplicated ssrc 1111 in encodings");
  }
  SECTION("the same rtx ssrc in two encodings") {
    addEncoding(Encoding(3333, 2222));
    CHECK(ProduceError(req) == "duplicated ssrc 2222 in encodings");
  }
  SECTION("rtx without ssrc") {
    encodings[0]->rtx->ssrc = 0; // what an rtx {} serializes to
    CHECK(ProduceError(req) == "missing encoding.rtx.ssrc");
  }
  SECTION("the same rid in two encodings") {
    encodings[0] = Encoding(std::nullopt, std::nullopt, "r0");
    addEncoding(Encoding(std::nullopt, std::nullopt, "r0"));
    CHECK(ProduceError(req) == "duplicated rid 'r0' in encodings");
  }
  SECTION("encodings mixing rid and no rid") {
    encodings[0] = Encoding(1111, std::nullopt, "r0");
    addEncoding(Encoding(3333));
    CHECK(ProduceError(req) == "encodings mixing rid and no rid");
  }
  SECTION("distinct ssrcs and rids are fine") {
    encodings[0] = Encoding(1111, 2222, "r0");
    addEncoding(Encoding(3333, 4444, "r1"));
    addEncoding(Encoding(5555, 6666, "r2"));
    CHECK(ProduceError(req).empty());
  }
}

TEST_CASE("RtpParameters: each encoding's codecPayloadType, scalability mode and FEC",
          "[router][rtpparams][producer]") {
  auto req = Vp8Produce();
  auto& rtp = *req.rtp_parameters;
  rtp.codecs.push_back(Codec("video/H264", 100, 90000));
  auto m = std::make_unique<fbs::CodecMappingT>();
  m->payload_type = 100;
  m->mapped_payload_type = 103;
  req.rtp_mapping->codecs.push_back(std::move(m));
  rtp.encodings.push_back(Encoding(3333));
  rtp.encodings[1]->codec_payload_type = 100;
  rtp.encodings[1]->scalability_mode = "L1T3";
  rtp.encodings[0]->scalability_mode = "S2T2_KEY";
  AddMappedEncoding(&req, 0x02020202);
  std::string error;
  const auto p = Produce(req, &error);
  REQUIRE(p);
  // Without one in the request, the first media codec (96, not rtx 97).
  CHECK(p->encodings[0].codecPayloadType == 96);
  CHECK(p->encodings[1].codecPayloadType == 100);
  CHECK(p->encodings[0].scalability.spatialLayers == 2);
  CHECK(p->encodings[0].scalability.temporalLayers == 2);
  CHECK(p->encodings[0].scalability.ksvc);
  CHECK(p->encodings[1].scalability.spatialLayers == 1);
  CHECK(p->encodings[1].scalability.temporalLayers == 3);
  CHECK_FALSE(p->codecs.codecs[0].inBandFec);

  auto audio = Vp8Produce();
  audio.kind = fbs::MediaKind::AUDIO;
  audio.rtp_parameters->codecs.clear();
  audio.rtp_parameters->codecs.push_back(Codec("audio/opus", 96, 48000));
  AddIntParam(audio.rtp_parameters->codecs[0].get(), "useinbandfec", 1);
  const auto a = Produce(audio, &error);
  REQUIRE(a);
  CHECK(a->codecs.codecs[0].inBandFec);
  CHECK(a->encodings[0].codecPayloadType == 96);
  CHECK_FALSE(a->encodings[0].scalability.ksvc);
  CHECK(a->encodings[0].scalability.temporalLayers == 1);
}

TEST_CASE("RtpParameters: producer type as mediasoup 3.14 decides it",
          "[router][rtpparams][producer][type]") {
  struct Row {
    const char* mime;
    const char* mode; // of the single encoding; nullptr: none
    fbs::Type type;
  };
  const Row rows[] = {
      {"video/VP8", nullptr, fbs::Type::SIMPLE},   {"video/VP8", "L1T1", fbs::Type::SIMPLE},
      {"video/VP8", "L1T3", fbs::Type::SIMULCAST}, // one stream, temporal layers
      {"video/VP8", "L3T3", fbs::Type::SIMULCAST}, {"video/H264", "L1T3", fbs::Type::SIMULCAST},
      {"video/VP9", "L1T1", fbs::Type::SIMPLE},    {"video/VP9", "L1T3", fbs::Type::SVC},
      {"video/VP9", "L3T3", fbs::Type::SVC},       {"video/VP9", "L3T3_KEY", fbs::Type::SVC},
      {"video/VP9", "S3T3", fbs::Type::SVC},       {"video/H264-SVC", "L2T2", fbs::Type::SVC},
      {"video/H265", "L1T3", fbs::Type::SIMPLE},   {"video/AV1", "L3T3", fbs::Type::SIMPLE},
      {"video/VP9", "foo", fbs::Type::SIMPLE}, // unparsable: one layer of each
  };
  for (const auto& row : rows) {
    INFO(row.mime << " " << (row.mode ? row.mode : "(none)"));
    auto req = Vp8Produce();
    req.rtp_parameters->codecs[0]->mime_type = row.mime;
    if (row.mode)
      req.rtp_parameters->encodings[0]->scalability_mode = row.mode;
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->type == row.type);
  }
  SECTION("several encodings are SIMULCAST whatever their modes") {
    auto req = Vp8Produce();
    req.rtp_parameters->codecs[0]->mime_type = "video/VP9";
    req.rtp_parameters->encodings.push_back(Encoding(3333));
    AddMappedEncoding(&req, 0x02020202);
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->type == fbs::Type::SIMULCAST);
  }
  SECTION("the encoding's own codec decides, not the first one") {
    auto req = Vp8Produce();
    req.rtp_parameters->codecs.push_back(Codec("video/VP9", 98, 90000));
    auto m = std::make_unique<fbs::CodecMappingT>();
    m->payload_type = 98;
    m->mapped_payload_type = 103;
    req.rtp_mapping->codecs.push_back(std::move(m));
    req.rtp_parameters->encodings[0]->codec_payload_type = 98;
    req.rtp_parameters->encodings[0]->scalability_mode = "L2T3";
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->type == fbs::Type::SVC);
  }
}
