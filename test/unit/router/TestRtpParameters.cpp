#include "sluice/router/RtpParameters.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "RtpParametersRequests.hpp"

using sluice::router::CodecFamily;
using sluice::router::CodecFamilyFromMime;
using sluice::router::ConsumerParams;
using sluice::router::MediaKind;
using sluice::router::ProducerParams;
using namespace rtpparams_test;

// ---------------------------------------------------------------------------

TEST_CASE("RtpParameters: codec family from mime type, case-insensitive", "[router][rtpparams]") {
  CHECK(CodecFamilyFromMime("audio/opus") == CodecFamily::Opus);
  CHECK(CodecFamilyFromMime("audio/multiopus") == CodecFamily::Opus);
  CHECK(CodecFamilyFromMime("video/VP8") == CodecFamily::Vp8);
  CHECK(CodecFamilyFromMime("video/vp8") == CodecFamily::Vp8);
  CHECK(CodecFamilyFromMime("video/VP9") == CodecFamily::Vp9);
  CHECK(CodecFamilyFromMime("video/h264") == CodecFamily::H264);
  CHECK(CodecFamilyFromMime("video/H264-SVC") == CodecFamily::H264Svc);
  CHECK(CodecFamilyFromMime("video/H265") == CodecFamily::H265);
  CHECK(CodecFamilyFromMime("video/AV1") == CodecFamily::Av1);
  CHECK(CodecFamilyFromMime("video/RTX") == CodecFamily::Rtx);
  CHECK(CodecFamilyFromMime("audio/PCMU") == CodecFamily::Other);
  CHECK(CodecFamilyFromMime("video/VP80") == CodecFamily::Other);
  CHECK(CodecFamilyFromMime("") == CodecFamily::Other);
}

TEST_CASE("RtpParameters: VP8 + rtx producer parses with feedback, mapping and ids",
          "[router][rtpparams][producer]") {
  std::string error;
  const auto p = Produce(Vp8Produce(), &error);
  REQUIRE(p.has_value());
  CHECK(error.empty());
  CHECK(p->kind == MediaKind::Video);
  CHECK(p->type == fbs::Type::SIMPLE);
  CHECK(p->mid == "0");
  CHECK(p->cname == "cname-abc");
  CHECK(p->keyFrameRequestDelayMs == 250);

  // rtx is folded into the media codec it repairs (RFC 4588 §8.6 apt).
  REQUIRE(p->codecs.codecs.size() == 1);
  const auto& vp8 = p->codecs.codecs[0];
  CHECK(vp8.mimeType == "video/VP8");
  CHECK(vp8.payloadType == 96);
  CHECK(vp8.clockRate == 90000);
  CHECK(vp8.family == CodecFamily::Vp8);
  CHECK(vp8.nack);    // a=rtcp-fb:96 nack (RFC 4585 §4.2)
  CHECK(vp8.nackPli); // a=rtcp-fb:96 nack pli
  CHECK(vp8.ccmFir);  // a=rtcp-fb:96 ccm fir (RFC 5104 §7.1)
  REQUIRE(vp8.rtxPayloadType.has_value());
  CHECK(*vp8.rtxPayloadType == 97);
  CHECK(p->codecs.ByPayloadType(96) == &vp8);
  CHECK(p->codecs.ByPayloadType(97) == nullptr);
  CHECK(p->codecs.ByRtxPayloadType(97) == &vp8);
  CHECK(p->codecs.ByRtxPayloadType(96) == nullptr);

  CHECK(p->MappedPayloadType(96) == 101);
  CHECK(p->MappedPayloadType(97) == 102);
  CHECK(p->MappedPayloadType(98) == std::nullopt);

  REQUIRE(p->encodings.size() == 1);
  CHECK(p->encodings[0].ssrc == 1111u);
  CHECK(p->encodings[0].rtxSsrc == 2222u);
  CHECK(p->encodings[0].rid.empty());
  CHECK(p->encodings[0].mappedSsrc == 0xAABBCCDD);
  CHECK(p->encodings[0].codecPayloadType == 96); // none in the request: the first media codec
  CHECK_FALSE(p->encodings[0].dtx);

  CHECK(p->extIds.Get(Uri::Mid) == 1);
  CHECK(p->extIds.Get(Uri::AbsSendTime) == 4);
  CHECK(p->extIds.Get(Uri::TransportWideCcDraft01) == 5);
  CHECK(p->extIds.Get(Uri::RtpStreamId) == 0);
  CHECK(p->extIds.Get(Uri::PlayoutDelay) == 0);
}

TEST_CASE("RtpParameters: feedback flags are read exactly", "[router][rtpparams][producer]") {
  auto req = Vp8Produce();
  auto& fb = req.rtp_parameters->codecs[0]->rtcp_feedback;
  fb.clear();
  std::string error;

  SECTION("none") {
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK_FALSE(p->codecs.codecs[0].nack);
    CHECK_FALSE(p->codecs.codecs[0].nackPli);
    CHECK_FALSE(p->codecs.codecs[0].ccmFir);
  }
  SECTION("nack pli alone is not generic nack") {
    req.rtp_parameters->codecs[0] = Codec("video/VP8", 96, 90000, {{"nack", "pli"}});
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK_FALSE(p->codecs.codecs[0].nack);
    CHECK(p->codecs.codecs[0].nackPli);
    CHECK_FALSE(p->codecs.codecs[0].ccmFir);
  }
  SECTION("unknown parameters and types are ignored") {
    req.rtp_parameters->codecs[0] =
        Codec("video/VP8", 96, 90000, {{"nack", "sli"}, {"ccm", "tmmbr"}, {"fir", ""}});
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK_FALSE(p->codecs.codecs[0].nack);
    CHECK_FALSE(p->codecs.codecs[0].nackPli);
    CHECK_FALSE(p->codecs.codecs[0].ccmFir);
  }
}

TEST_CASE("RtpParameters: rtx codec errors", "[router][rtpparams][producer][rtx]") {
  auto req = Vp8Produce();
  auto& codecs = req.rtp_parameters->codecs;

  SECTION("rtx without apt") {
    codecs[1] = Rtx(97, std::nullopt);
    CHECK(ProduceError(req) == "missing apt parameter in RTX codec");
  }
  SECTION("apt that is not an integer") {
    codecs[1] = Rtx(97, std::nullopt);
    AddStringParam(codecs[1].get(), "apt", "96");
    CHECK(ProduceError(req) == "missing apt parameter in RTX codec");
  }
  SECTION("apt outside 0..127") {
    codecs[1] = Rtx(97, 128);
    CHECK(ProduceError(req) == "missing apt parameter in RTX codec");
    codecs[1] = Rtx(97, -1);
    CHECK(ProduceError(req) == "missing apt parameter in RTX codec");
  }
  SECTION("apt naming no codec") {
    codecs[1] = Rtx(97, 100);
    CHECK(ProduceError(req) == "apt 100 of RTX codec 97 names no media codec");
  }
  SECTION("apt naming another rtx codec") {
    codecs.push_back(Rtx(98, 97));
    CHECK(ProduceError(req) == "apt 97 of RTX codec 98 names no media codec");
  }
  SECTION("other parameters next to apt are fine") {
    codecs[1] = Codec("video/rtx", 97, 90000);
    AddIntParam(codecs[1].get(), "rtx-time", 3000);
    AddIntParam(codecs[1].get(), "apt", 96);
    CHECK(ProduceError(req).empty());
  }
  SECTION("only rtx codecs") {
    codecs.erase(codecs.begin());
    CHECK(ProduceError(req) == "no media codecs");
  }
}

TEST_CASE("RtpParameters: codec list errors", "[router][rtpparams][producer]") {
  auto req = Vp8Produce();
  auto& codecs = req.rtp_parameters->codecs;

  SECTION("duplicate payload type") {
    codecs.push_back(Codec("video/H264", 96, 90000));
    CHECK(ProduceError(req) == "duplicated payloadType 96");
  }
  SECTION("rtx reusing the media payload type") {
    codecs[1] = Rtx(96, 96);
    CHECK(ProduceError(req) == "duplicated payloadType 96");
  }
  SECTION("payload type above 127") {
    codecs[0]->payload_type = 200;
    CHECK(ProduceError(req) == "invalid payloadType 200");
  }
  SECTION("audio mime on a video producer") {
    codecs.insert(codecs.begin(), Codec("audio/opus", 111, 48000));
    CHECK(ProduceError(req) == "invalid codec.mimeType 'audio/opus'");
  }
  SECTION("video mime on an audio producer") {
    req.kind = fbs::MediaKind::AUDIO;
    CHECK(ProduceError(req) == "invalid codec.mimeType 'video/VP8'");
  }
  SECTION("mime type without a subtype or kind") {
    codecs[0]->mime_type = "video/";
    CHECK(ProduceError(req) == "invalid codec.mimeType 'video/'");
    codecs[0]->mime_type = "VP8";
    CHECK(ProduceError(req) == "invalid codec.mimeType 'VP8'");
  }
  SECTION("kind prefix is case-insensitive") {
    codecs[0]->mime_type = "Video/vp8";
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->codecs.codecs[0].family == CodecFamily::Vp8);
    CHECK(p->codecs.codecs[0].mimeType == "Video/vp8");
  }
  SECTION("clock rate 0") {
    codecs[0]->clock_rate = 0;
    CHECK(ProduceError(req) == "missing codec.clockRate");
  }
  SECTION("clock rate 0 on the rtx codec") {
    codecs[1]->clock_rate = 0;
    CHECK(ProduceError(req) == "missing codec.clockRate");
  }
  SECTION("no codecs") {
    codecs.clear();
    CHECK(ProduceError(req) == "empty codecs");
  }
}

TEST_CASE("RtpParameters: rtp mapping errors", "[router][rtpparams][producer][mapping]") {
  auto req = Vp8Produce();
  auto& map = *req.rtp_mapping;

  SECTION("no mapping for a media codec") {
    map.codecs.erase(map.codecs.begin()); // drop 96 -> 101
    CHECK(ProduceError(req) == "no RTP mapping for codec payloadType 96");
  }
  SECTION("the rtx codec needs no mapping of its own") {
    map.codecs.pop_back(); // drop 97 -> 102
    CHECK(ProduceError(req).empty());
  }
  SECTION("second media codec unmapped") {
    req.rtp_parameters->codecs.push_back(Codec("video/H264", 100, 90000));
    CHECK(ProduceError(req) == "no RTP mapping for codec payloadType 100");
  }
  SECTION("mapped payload type above 127") {
    map.codecs[0]->mapped_payload_type = 128;
    CHECK(ProduceError(req) == "invalid mappedPayloadType");
  }
  SECTION("more mapped encodings than encodings") {
    AddMappedEncoding(&req, 0x1234);
    CHECK(ProduceError(req) == "rtpMapping.encodings does not match rtpParameters.encodings");
  }
  SECTION("fewer mapped encodings than encodings") {
    req.rtp_parameters->encodings.push_back(Encoding(3333));
    CHECK(ProduceError(req) == "rtpMapping.encodings does not match rtpParameters.encodings");
  }
  SECTION("no encodings") {
    req.rtp_parameters->encodings.clear();
    CHECK(ProduceError(req) == "empty encodings");
  }
  SECTION("mapped ssrc 0") {
    map.encodings[0]->mapped_ssrc = 0;
    CHECK(ProduceError(req) == "missing mappedSsrc in rtpMapping.encodings");
  }
}

TEST_CASE("RtpParameters: encodings, simulcast and SVC", "[router][rtpparams][producer]") {
  auto req = Vp8Produce();
  auto& encodings = req.rtp_parameters->encodings;

  SECTION("two encodings with rid: SIMULCAST") {
    encodings.clear();
    encodings.push_back(Encoding(std::nullopt, std::nullopt, "r0"));
    encodings.push_back(Encoding(std::nullopt, std::nullopt, "r1"));
    req.rtp_mapping->encodings.clear();
    AddMappedEncoding(&req, 0x01010101);
    AddMappedEncoding(&req, 0x02020202);
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->type == fbs::Type::SIMULCAST);
    REQUIRE(p->encodings.size() == 2);
    CHECK(p->encodings[0].rid == "r0");
    CHECK(p->encodings[1].rid == "r1");
    CHECK_FALSE(p->encodings[0].ssrc.has_value());
    CHECK(p->encodings[0].mappedSsrc == 0x01010101);
    CHECK(p->encodings[1].mappedSsrc == 0x02020202);
  }
  SECTION("two encodings with ssrc: SIMULCAST") {
    encodings.push_back(Encoding(3333, 4444));
    AddMappedEncoding(&req, 0x02020202);
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->type == fbs::Type::SIMULCAST);
    CHECK(p->encodings[1].ssrc == 3333u);
    CHECK(p->encodings[1].rtxSsrc == 4444u);
  }
  SECTION("simulcast encoding with neither ssrc nor rid") {
    encodings.push_back(Encoding(std::nullopt));
    AddMappedEncoding(&req, 0x02020202);
    CHECK(ProduceError(req) == "simulcast encoding without ssrc or rid");
  }
  SECTION("a single encoding may have neither when the MID routes it") {
    encodings[0] = Encoding(std::nullopt);
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->type == fbs::Type::SIMPLE);
  }
  SECTION("a single encoding with neither and no MID cannot be routed") {
    encodings[0] = Encoding(std::nullopt);
    req.rtp_parameters->mid = "";
    CHECK(ProduceError(req) == "encoding without ssrc or rid and no mid");
    encodings[0]->rid = "r0"; // a RID alone routes it
    CHECK(ProduceError(req).empty());
    encodings[0] = Encoding(1111); // so does an SSRC
    CHECK(ProduceError(req).empty());
  }
  SECTION("codecPayloadType must name a media codec") {
    encodings[0]->codec_payload_type = 96;
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->encodings[0].codecPayloadType == 96);
    encodings[0]->codec_payload_type = 97; // rtx
    CHECK(ProduceError(req) == "unknown codecPayloadType in encoding");
    encodings[0]->codec_payload_type = 99;
    CHECK(ProduceError(req) == "unknown codecPayloadType in encoding");
  }
  SECTION("dtx") {
    encodings[0]->dtx = true;
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->encodings[0].dtx);
  }
}

TEST_CASE("RtpParameters: header extension ids", "[router][rtpparams][extensions]") {
  auto req = Vp8Produce();
  auto& exts = req.rtp_parameters->header_extensions;

  SECTION("ids by URI, including the largest one-byte and two-byte ids") {
    exts.clear();
    exts.push_back(Ext(Uri::RtpStreamId, 14));
    exts.push_back(Ext(Uri::RepairRtpStreamId, 255));
    exts.push_back(Ext(Uri::PlayoutDelay, 16));
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    CHECK(p->extIds.Get(Uri::RtpStreamId) == 14);
    CHECK(p->extIds.Get(Uri::RepairRtpStreamId) == 255);
    CHECK(p->extIds.Get(Uri::PlayoutDelay) == 16);
    CHECK(p->extIds.Get(Uri::Mid) == 0);
  }
  SECTION("no extensions") {
    exts.clear();
    std::string error;
    const auto p = Produce(req, &error);
    REQUIRE(p);
    for (size_t i = 0; i < sluice::router::HeaderExtensionIds::kUris; ++i)
      CHECK(p->extIds.Get(static_cast<Uri>(i)) == 0);
  }
  SECTION("one id for two URIs") {
    exts.push_back(Ext(Uri::AudioLevel, 4)); // AbsSendTime has 4
    CHECK(ProduceError(req) == "duplicated header extension id 4");
  }
  SECTION("the same URI and id twice is not a conflict") {
    exts.push_back(Ext(Uri::AbsSendTime, 4));
    CHECK(ProduceError(req).empty());
  }
  SECTION("id 0") {
    exts.push_back(Ext(Uri::AudioLevel, 0));
    CHECK(ProduceError(req) == "invalid header extension id 0");
  }
  SECTION("URI outside the enum (not checked by the verifier)") {
    // The message names the id, although the URI is what is wrong.
    exts.push_back(Ext(static_cast<Uri>(200), 9));
    CHECK(ProduceError(req) == "invalid header extension id 9");
  }
  SECTION("consumers check them too") {
    auto c = Consume();
    c.rtp_parameters->header_extensions.push_back(Ext(Uri::TimeOffset, 1)); // Mid has 1
    CHECK(ConsumeError(c) == "duplicated header extension id 1");
  }
}

TEST_CASE("RtpParameters: consumer takes ssrc, rtx ssrc and codec by codecPayloadType",
          "[router][rtpparams][consumer]") {
  auto req = Consume();
  std::string error;

  SECTION("no codecPayloadType: the first media codec") {
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK(error.empty());
    CHECK(p->kind == MediaKind::Video);
    CHECK(p->type == fbs::Type::SIMPLE);
    CHECK(p->mid == "3");
    CHECK(p->cname == "cname-abc");
    CHECK(p->encodings[0].ssrc == 5555);
    CHECK(p->encodings[0].rtxSsrc == 6666u);
    CHECK(p->codec.payloadType == 96);
    CHECK(p->codec.family == CodecFamily::Vp8);
    CHECK(p->codec.rtxPayloadType == 97);
    CHECK(p->codec.nack);
    CHECK_FALSE(p->codec.nackPli);
    CHECK(p->codecPayloadTypes == std::vector<uint8_t>{96, 100});
    CHECK(p->extIds.Get(Uri::Mid) == 1);
    CHECK(p->extIds.Get(Uri::AbsSendTime) == 4);
  }
  SECTION("codecPayloadType picks H264") {
    req.rtp_parameters->encodings[0]->codec_payload_type = 100;
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK(p->codec.payloadType == 100);
    CHECK(p->codec.mimeType == "video/H264");
    CHECK(p->codec.family == CodecFamily::H264);
    CHECK(p->codec.rtxPayloadType == 101);
    CHECK_FALSE(p->codec.nack);
    CHECK(p->codec.nackPli);
    CHECK(p->codec.ccmFir);
    CHECK(p->encodings[0].rtxSsrc == 6666u);
  }
  SECTION("the chosen codec has no rtx: no rtx ssrc") {
    req.rtp_parameters->codecs.pop_back(); // drop rtx 101 for H264
    req.rtp_parameters->encodings[0]->codec_payload_type = 100;
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK(p->codec.payloadType == 100);
    CHECK_FALSE(p->codec.rtxPayloadType.has_value());
    CHECK_FALSE(p->encodings[0].rtxSsrc.has_value());
  }
  SECTION("no rtx in the encoding") {
    req.rtp_parameters->encodings[0] = Encoding(5555);
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK_FALSE(p->encodings[0].rtxSsrc.has_value());
  }
  SECTION("pipe: one stream per encoding, each with its own ssrc and rtx ssrc") {
    req.type = fbs::Type::PIPE;
    req.rtp_parameters->encodings.push_back(Encoding(5556, 6667));
    req.rtp_parameters->encodings.push_back(Encoding(5557));
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    REQUIRE(p->encodings.size() == 3);
    CHECK(p->encodings[1].ssrc == 5556);
    CHECK(p->encodings[1].rtxSsrc == 6667u);
    CHECK(p->encodings[2].ssrc == 5557);
    CHECK_FALSE(p->encodings[2].rtxSsrc.has_value());
  }
  SECTION("not pipe: only encodings[0] is sent") {
    req.rtp_parameters->encodings.push_back(Encoding(5556, 6667));
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK(p->encodings.size() == 1);
  }
  SECTION("pipe: an encoding without ssrc is an error") {
    req.type = fbs::Type::PIPE;
    req.rtp_parameters->encodings.push_back(Encoding(std::nullopt));
    CHECK(ConsumeError(req) == "missing encodings[1].ssrc");
  }
  SECTION("type is taken from the request") {
    req.type = fbs::Type::SIMULCAST;
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK(p->type == fbs::Type::SIMULCAST);
  }
  SECTION("audio consumer") {
    req.kind = fbs::MediaKind::AUDIO;
    auto& codecs = req.rtp_parameters->codecs;
    codecs.clear();
    codecs.push_back(Codec("audio/opus", 111, 48000));
    const auto p = ConsumeParse(req, &error);
    REQUIRE(p);
    CHECK(p->kind == MediaKind::Audio);
    CHECK(p->codec.family == CodecFamily::Opus);
    CHECK(p->codec.clockRate == 48000);
    CHECK_FALSE(p->encodings[0].rtxSsrc.has_value()); // rtx given, but opus has no rtx codec
  }
}

TEST_CASE("RtpParameters: consumer errors", "[router][rtpparams][consumer]") {
  auto req = Consume();
  auto& rtp = *req.rtp_parameters;

  SECTION("missing ssrc") {
    rtp.encodings[0] = Encoding(std::nullopt, 6666);
    CHECK(ConsumeError(req) == "missing encodings[0].ssrc");
  }
  SECTION("no encodings") {
    rtp.encodings.clear();
    CHECK(ConsumeError(req) == "missing encodings[0].ssrc");
  }
  SECTION("codecPayloadType naming an rtx or unknown codec") {
    rtp.encodings[0]->codec_payload_type = 97;
    CHECK(ConsumeError(req) == "unknown codecPayloadType in encoding");
    rtp.encodings[0]->codec_payload_type = 120;
    CHECK(ConsumeError(req) == "unknown codecPayloadType in encoding");
  }
  SECTION("no consumable encodings") {
    req.consumable_rtp_encodings.clear();
    CHECK(ConsumeError(req) == "empty consumableRtpEncodings");
  }
  SECTION("codec errors are shared with producers") {
    rtp.codecs[1] = Rtx(97, std::nullopt);
    CHECK(ConsumeError(req) == "missing apt parameter in RTX codec");
  }
  SECTION("audio codec on a video consumer") {
    rtp.codecs.push_back(Codec("audio/opus", 111, 48000));
    CHECK(ConsumeError(req) == "invalid codec.mimeType 'audio/opus'");
  }
}
