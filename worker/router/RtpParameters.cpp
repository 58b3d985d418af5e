#include "sluice/router/RtpParameters.hpp"

#include "sluice/rtp/codecs/CodecKind.hpp"

#include <algorithm>
#include <cctype>

#include "rtpParameters_generated.h"

namespace sluice::router {

namespace {

namespace fbs = FBS::RtpParameters;

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Str(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : s->string_view();
}

// The integer value of codec parameter `name` (RTX's "apt"), if present.
std::optional<int32_t> IntParameter(const fbs::RtpCodecParameters& codec, std::string_view name) {
  if (codec.parameters() == nullptr)
    return std::nullopt;
  for (const auto* p : *codec.parameters()) {
    if (p == nullptr || Str(p->name()) != name)
      continue;
    if (const auto* v = p->value_as_Integer32())
      return v->value();
    return std::nullopt;
  }
  return std::nullopt;
}

void ReadFeedback(const fbs::RtpCodecParameters& in, CodecParams* out) {
  if (in.rtcp_feedback() == nullptr)
    return;
  for (const auto* fb : *in.rtcp_feedback()) {
    if (fb == nullptr)
      continue;
    const auto type = Str(fb->type());
    const auto param = Str(fb->parameter());
    if (type == "nack" && param.empty())
      out->nack = true;
    else if (type == "nack" && param == "pli")
      out->nackPli = true;
    else if (type == "ccm" && param == "fir")
      out->ccmFir = true;
  }
}

bool KindMatchesMime(MediaKind kind, std::string_view mime) {
  const std::string_view prefix = kind == MediaKind::Audio ? "audio/" : "video/";
  return mime.size() > prefix.size() && EqualsNoCase(mime.substr(0, prefix.size()), prefix);
}

} // namespace

CodecFamily CodecFamilyFromMime(std::string_view mime) {
  const auto slash = mime.find('/');
  const std::string_view sub = slash == std::string_view::npos ? mime : mime.substr(slash + 1);
  struct Entry {
    std::string_view name;
    CodecFamily family;
  };
  static constexpr Entry kFamilies[] = {
      {"opus", CodecFamily::Opus}, {"multiopus", CodecFamily::Opus},
      {"VP8", CodecFamily::Vp8},   {"VP9", CodecFamily::Vp9},
      {"H264", CodecFamily::H264}, {"H264-SVC", CodecFamily::H264Svc},
      {"H265", CodecFamily::H265}, {"AV1", CodecFamily::Av1},
      {"rtx", CodecFamily::Rtx},
  };
  for (const auto& e : kFamilies)
    if (EqualsNoCase(sub, e.name))
      return e.family;
  return CodecFamily::Other;
}

bool HeaderExtensionIds::From(
    const flatbuffers::Vector<flatbuffers::Offset<fbs::RtpHeaderExtensionParameters>>* list,
    HeaderExtensionIds* out, std::string* error) {
  *out = HeaderExtensionIds();
  if (list == nullptr)
    return true;
  for (const auto* ext : *list) {
    if (ext == nullptr)
      continue;
    const uint8_t id = ext->id();
    const auto uri = static_cast<size_t>(ext->uri());
    if (id == 0 || uri >= kUris) {
      *error = "invalid header extension id " + std::to_string(id);
      return false;
    }
    for (size_t i = 0; i < kUris; ++i) {
      if (out->ids_[i] == id && i != uri) {
        *error = "duplicated header extension id " + std::to_string(id);
        return false;
      }
    }
    out->ids_[uri] = id;
  }
  return true;
}

const CodecParams* CodecSet::ByPayloadType(uint8_t pt) const {
  for (const auto& c : codecs)
    if (c.payloadType == pt)
      return &c;
  return nullptr;
}

const CodecParams* CodecSet::ByRtxPayloadType(uint8_t pt) const {
  for (const auto& c : codecs)
    if (c.rtxPayloadType && *c.rtxPayloadType == pt)
      return &c;
  return nullptr;
}

bool CodecSet::From(const fbs::RtpParameters& params, MediaKind kind, CodecSet* out,
                    std::string* error) {
  out->codecs.clear();
  const auto* list = params.codecs();
  if (list == nullptr || list->size() == 0) {
    *error = "empty codecs";
    return false;
  }
  std::vector<std::pair<uint8_t, uint8_t>> rtx; // (rtx pt, apt)
  std::vector<uint8_t> seen;
  for (const auto* c : *list) {
    if (c == nullptr)
      continue;
    const uint8_t pt = c->payload_type();
    if (pt > 127) {
      *error = "invalid payloadType " + std::to_string(pt);
      return false;
    }
    if (std::find(seen.begin(), seen.end(), pt) != seen.end()) {
      *error = "duplicated payloadType " + std::to_string(pt);
      return false;
    }
    seen.push_back(pt);
    const auto mime = Str(c->mime_type());
    if (!KindMatchesMime(kind, mime)) {
      *error = "invalid codec.mimeType '" + std::string(mime) + "'";
      return false;
    }
    if (c->clock_rate() == 0) {
      *error = "missing codec.clockRate";
      return false;
    }
    const CodecFamily family = CodecFamilyFromMime(mime);
    if (family == CodecFamily::Rtx) {
      const auto apt = IntParameter(*c, "apt");
      if (!apt || *apt < 0 || *apt > 127) {
        *error = "missing apt parameter in RTX codec";
        return false;
      }
      rtx.emplace_back(pt, static_cast<uint8_t>(*apt));
      continue;
    }
    CodecParams codec;
    codec.mimeType = std::string(mime);
    codec.payloadType = pt;
    codec.clockRate = c->clock_rate();
    codec.family = family;
    codec.codecKind = rtp::codecs::CodecFromMimeType(mime);
    codec.inBandFec = IntParameter(*c, "useinbandfec") == 1;
    ReadFeedback(*c, &codec);
    out->codecs.push_back(std::move(codec));
  }
  if (out->codecs.empty()) {
    *error = "no media codecs";
    return false;
  }
  for (const auto& [pt, apt] : rtx) {
    auto it = std::find_if(out->codecs.begin(), out->codecs.end(),
                           [apt = apt](const CodecParams& c) { return c.payloadType == apt; });
    if (it == out->codecs.end()) {
      *error = "apt " + std::to_string(apt) + " of RTX codec " + std::to_string(pt) +
               " names no media codec";
      return false;
    }
    it->rtxPayloadType = pt;
  }
  return true;
}

namespace {

// One encoding of a produce request; false (with *error) when it is malformed.
bool ReadEncoding(const fbs::RtpEncodingParameters& e, const fbs::EncodingMapping& m,
                  const CodecSet& codecs, EncodingParams* out, std::string* error) {
  if (e.ssrc())
    out->ssrc = *e.ssrc();
  out->rid = std::string(Str(e.rid()));
  // As the controller's own dump has it: an encoding without a payload type
  // is sent with the first media codec.
  out->codecPayloadType = codecs.codecs.front().payloadType;
  if (e.codec_payload_type()) {
    if (!codecs.ByPayloadType(*e.codec_payload_type())) {
      *error = "unknown codecPayloadType in encoding";
      return false;
    }
    out->codecPayloadType = *e.codec_payload_type();
  }
  if (e.rtx()) {
    // The schema's default 0 is what an rtx without ssrc serializes to.
    if (e.rtx()->ssrc() == 0) {
      *error = "missing encoding.rtx.ssrc";
      return false;
    }
    out->rtxSsrc = e.rtx()->ssrc();
  }
  out->dtx = e.dtx();
  out->scalability = ScalabilityMode::Parse(Str(e.scalability_mode()));
  out->mappedSsrc = m.mapped_ssrc();
  if (out->mappedSsrc == 0) {
    *error = "missing mappedSsrc in rtpMapping.encodings";
    return false;
  }
  return true;
}

// Every encoding must be told apart from the others on the wire: by ssrc, or
// by rid (all of them or none), and one encoding alone by ssrc, rid or mid.
bool CheckEncodingsDistinct(const ProducerParams& p, std::string* error) {
  const auto& encodings = p.encodings;
  std::vector<uint32_t> ssrcs;
  size_t withRid = 0;
  for (size_t i = 0; i < encodings.size(); ++i) {
    const auto& e = encodings[i];
    if (!e.ssrc && e.rid.empty()) {
      if (encodings.size() > 1) {
        *error = "simulcast encoding without ssrc or rid";
        return false;
      }
      if (p.mid.empty()) {
        *error = "encoding without ssrc or rid and no mid";
        return false;
      }
    }
    if (!e.rid.empty()) {
      ++withRid;
      for (size_t j = 0; j < i; ++j) {
        if (encodings[j].rid == e.rid) {
          *error = "duplicated rid '" + e.rid + "' in encodings";
          return false;
        }
      }
    }
    for (const auto ssrc : {e.ssrc, e.rtxSsrc}) {
      if (!ssrc)
        continue;
      if (std::find(ssrcs.begin(), ssrcs.end(), *ssrc) != ssrcs.end()) {
        *error = "duplicated ssrc " + std::to_string(*ssrc) + " in encodings";
        return false;
      }
      ssrcs.push_back(*ssrc);
    }
  }
  if (withRid != 0 && withRid != encodings.size()) {
    *error = "encodings mixing rid and no rid";
    return false;
  }
  return true;
}

bool ReadEncodings(const fbs::RtpParameters& rtp, const fbs::RtpMapping& mapping, ProducerParams* p,
                   std::string* error) {
  const auto* encodings = rtp.encodings();
  const auto* mapped = mapping.encodings();
  if (encodings->size() == 0) {
    *error = "empty encodings";
    return false;
  }
  if (mapped->size() != encodings->size()) {
    *error = "rtpMapping.encodings does not match rtpParameters.encodings";
    return false;
  }
  for (flatbuffers::uoffset_t i = 0; i < encodings->size(); ++i) {
    EncodingParams enc;
    if (!ReadEncoding(*encodings->Get(i), *mapped->Get(i), p->codecs, &enc, error))
      return false;
    p->encodings.push_back(std::move(enc));
  }
  return CheckEncodingsDistinct(*p, error);
}

} // namespace

fbs::Type ProducerTypeFor(const std::vector<EncodingParams>& encodings, const CodecSet& codecs) {
  if (encodings.size() > 1)
    return fbs::Type::SIMULCAST;
  if (encodings.empty())
    return fbs::Type::SIMPLE;
  const auto& e = encodings.front();
  if (e.scalability.spatialLayers == 1 && e.scalability.temporalLayers == 1)
    return fbs::Type::SIMPLE;
  const CodecParams* codec =
      e.codecPayloadType ? codecs.ByPayloadType(*e.codecPayloadType) : nullptr;
  if (codec == nullptr && !codecs.codecs.empty())
    codec = &codecs.codecs.front();
  switch (codec != nullptr ? codec->family : CodecFamily::Other) {
  case CodecFamily::Vp9:
  case CodecFamily::H264Svc:
    return fbs::Type::SVC;
  case CodecFamily::Vp8:
  case CodecFamily::H264:
    return fbs::Type::SIMULCAST;
  default:
    return fbs::Type::SIMPLE;
  }
}

std::optional<uint8_t> ProducerParams::MappedPayloadType(uint8_t pt) const {
  for (const auto& [from, to] : payloadTypeMap)
    if (from == pt)
      return to;
  return std::nullopt;
}

std::optional<ProducerParams> ProducerParams::From(const FBS::Transport::ProduceRequest& request,
                                                   std::string* error) {
  ProducerParams p;
  p.kind = request.kind() == fbs::MediaKind::VIDEO ? MediaKind::Video : MediaKind::Audio;
  p.keyFrameRequestDelayMs = request.key_frame_request_delay();
  const auto& rtp = *request.rtp_parameters();
  p.mid = std::string(Str(rtp.mid()));
  p.cname = std::string(Str(rtp.rtcp()->cname()));
  if (!CodecSet::From(rtp, p.kind, &p.codecs, error))
    return std::nullopt;
  if (!HeaderExtensionIds::From(rtp.header_extensions(), &p.extIds, error))
    return std::nullopt;

  const auto* mapping = request.rtp_mapping();
  for (const auto* m : *mapping->codecs()) {
    if (m == nullptr)
      continue;
    if (m->mapped_payload_type() > 127) {
      *error = "invalid mappedPayloadType";
      return std::nullopt;
    }
    p.payloadTypeMap.emplace_back(m->payload_type(), m->mapped_payload_type());
  }
  for (const auto& codec : p.codecs.codecs) {
    if (!p.MappedPayloadType(codec.payloadType)) {
      *error = "no RTP mapping for codec payloadType " + std::to_string(codec.payloadType);
      return std::nullopt;
    }
  }

  if (!ReadEncodings(rtp, *mapping, &p, error))
    return std::nullopt;
  p.type = ProducerTypeFor(p.encodings, p.codecs);
  return p;
}

std::optional<ConsumerParams> ConsumerParams::From(const FBS::Transport::ConsumeRequest& request,
                                                   std::string* error) {
  ConsumerParams p;
  p.kind = request.kind() == fbs::MediaKind::VIDEO ? MediaKind::Video : MediaKind::Audio;
  p.type = request.type();
  const auto& rtp = *request.rtp_parameters();
  p.mid = std::string(Str(rtp.mid()));
  p.cname = std::string(Str(rtp.rtcp()->cname()));
  CodecSet codecs;
  if (!CodecSet::From(rtp, p.kind, &codecs, error))
    return std::nullopt;
  if (!HeaderExtensionIds::From(rtp.header_extensions(), &p.extIds, error))
    return std::nullopt;
  const auto* encodings = rtp.encodings();
  if (encodings->size() == 0 || encodings->Get(0) == nullptr || !encodings->Get(0)->ssrc()) {
    *error = "missing encodings[0].ssrc";
    return std::nullopt;
  }
  const auto* enc = encodings->Get(0);
  const CodecParams* codec = &codecs.codecs.front();
  if (enc->codec_payload_type()) {
    codec = codecs.ByPayloadType(*enc->codec_payload_type());
    if (codec == nullptr) {
      *error = "unknown codecPayloadType in encoding";
      return std::nullopt;
    }
  }
  p.codec = *codec;
  // A pipe consumer sends every encoding (each its own SSRC); the others one.
  const size_t count = request.type() == fbs::Type::PIPE ? encodings->size() : 1;
  for (size_t i = 0; i < count; ++i) {
    const auto* e = encodings->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (e == nullptr || !e->ssrc()) {
      *error = "missing encodings[" + std::to_string(i) + "].ssrc";
      return std::nullopt;
    }
    ConsumerEncoding out;
    out.ssrc = *e->ssrc();
    if (e->rtx() && p.codec.rtxPayloadType)
      out.rtxSsrc = e->rtx()->ssrc();
    p.encodings.push_back(out);
  }
  for (const auto& c : codecs.codecs)
    p.codecPayloadTypes.push_back(c.payloadType);
  if (request.consumable_rtp_encodings()->size() == 0) {
    *error = "empty consumableRtpEncodings";
    return std::nullopt;
  }
  return p;
}

} // namespace sluice::router
