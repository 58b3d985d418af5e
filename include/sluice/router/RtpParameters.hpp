// What the media path needs from the controller's RTP parameters.
//
// The controller (the mediasoup Node library) has already negotiated and
// checked the parameters against the router's capabilities; the worker still
// validates everything it relies on (a malformed or inconsistent request gets
// an error, never a half-built producer) and turns the flatbuffers tables into
// small structs that packets are checked against. The request tables are also
// kept byte-exact (util::FlatCopy) for DUMP responses.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtpParameters_generated.h"
#include "sluice/router/ScalabilityMode.hpp"
#include "sluice/rtp/codecs/CodecKind.hpp"
#include "transport_generated.h"

namespace sluice::router {

enum class MediaKind : uint8_t { Audio = 0, Video = 1 };

// Codec families the worker treats differently (keyframe detection).
enum class CodecFamily : uint8_t { Other, Opus, Vp8, Vp9, H264, H264Svc, H265, Av1, Rtx };

CodecFamily CodecFamilyFromMime(std::string_view mimeType);

struct CodecParams {
  std::string mimeType;
  uint8_t payloadType = 0;
  uint32_t clockRate = 0;
  CodecFamily family = CodecFamily::Other;
  rtp::codecs::CodecKind codecKind = rtp::codecs::CodecKind::Unknown; // layered payload handling
  // RTCP feedback the remote supports for this codec (RFC 4585 / 5104).
  bool nack = false;
  bool nackPli = false;
  bool ccmFir = false;
  // Opus "useinbandfec=1" (RFC 7587 §6.1).
  bool inBandFec = false;
  // RFC 4588: the rtx codec whose apt names this codec, if any.
  std::optional<uint8_t> rtxPayloadType;
};

// Negotiated header extension ids by URI (0: not negotiated).
class HeaderExtensionIds {
public:
  static constexpr size_t kUris =
      static_cast<size_t>(FBS::RtpParameters::RtpHeaderExtensionUri::MAX) + 1;
  using Uri = FBS::RtpParameters::RtpHeaderExtensionUri;

  uint8_t Get(Uri uri) const { return ids_[static_cast<size_t>(uri)]; }
  void Set(Uri uri, uint8_t id) { ids_[static_cast<size_t>(uri)] = id; }
  // false on an id outside 1..255 or one id used for two URIs.
  static bool From(const flatbuffers::Vector<
                       flatbuffers::Offset<FBS::RtpParameters::RtpHeaderExtensionParameters>>* list,
                   HeaderExtensionIds* out, std::string* error);

private:
  std::array<uint8_t, kUris> ids_{};
};

struct EncodingParams {
  std::optional<uint32_t> ssrc;
  std::string rid;
  // Producers: always set (the first media codec when the request names
  // none), as the controller's dump shows it.
  std::optional<uint8_t> codecPayloadType;
  std::optional<uint32_t> rtxSsrc;
  uint32_t mappedSsrc = 0; // producers: the SSRC consumers see this encoding as
  bool dtx = false;
  ScalabilityMode scalability; // one spatial and one temporal layer unless signalled
};

// Media codecs (rtx folded into rtxPayloadType) and shared checks.
struct CodecSet {
  std::vector<CodecParams> codecs;

  const CodecParams* ByPayloadType(uint8_t pt) const;
  // The media codec an rtx payload type repairs.
  const CodecParams* ByRtxPayloadType(uint8_t pt) const;
  static bool From(const FBS::RtpParameters::RtpParameters& params, MediaKind kind, CodecSet* out,
                   std::string* error);
};

struct ProducerParams {
  MediaKind kind = MediaKind::Audio;
  FBS::RtpParameters::Type type = FBS::RtpParameters::Type::SIMPLE;
  std::string mid;
  std::string cname;
  CodecSet codecs;
  HeaderExtensionIds extIds;
  std::vector<EncodingParams> encodings;
  // Incoming payload type -> the router's (from rtp_mapping).
  std::vector<std::pair<uint8_t, uint8_t>> payloadTypeMap;
  uint32_t keyFrameRequestDelayMs = 0;

  std::optional<uint8_t> MappedPayloadType(uint8_t pt) const;
  // Errors are the caller's TypeError: the request is malformed (encodings
  // that cannot be told apart, an rtx without ssrc, an unknown payload type,
  // a stream nothing could route: no ssrc, rid or mid).
  static std::optional<ProducerParams> From(const FBS::Transport::ProduceRequest& request,
                                            std::string* error);
};

// The type mediasoup 3.14 gives a producer with these encodings: SIMULCAST
// for several; for one whose scalabilityMode has more than one layer, SVC
// when its codec layers inside one stream (VP9, H264-SVC) and SIMULCAST when
// it layers only in time (VP8, H264: a one-stream simulcast, so a temporal
// layer can be chosen per consumer); SIMPLE otherwise.
FBS::RtpParameters::Type ProducerTypeFor(const std::vector<EncodingParams>& encodings,
                                         const CodecSet& codecs);

// One stream a consumer sends: encodings[0] for simple/simulcast/svc, one per
// producer encoding for pipe.
struct ConsumerEncoding {
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtxSsrc; // only when the codec has an rtx payload type
};

struct ConsumerParams {
  MediaKind kind = MediaKind::Audio;
  FBS::RtpParameters::Type type = FBS::RtpParameters::Type::SIMPLE;
  std::string mid;
  std::string cname;
  CodecParams codec;                       // the one media codec this consumer sends
  std::vector<ConsumerEncoding> encodings; // at least one, each with an SSRC
  HeaderExtensionIds extIds;
  std::vector<uint8_t> codecPayloadTypes; // media codecs, for the dump

  static std::optional<ConsumerParams> From(const FBS::Transport::ConsumeRequest& request,
                                            std::string* error);
};

} // namespace sluice::router
