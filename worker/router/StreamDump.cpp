#include "sluice/router/StreamDump.hpp"

namespace sluice::router {

flatbuffers::Offset<FBS::RtpStream::Dump> FillStreamDump(flatbuffers::FlatBufferBuilder& b,
                                                         const StreamDumpFields& f,
                                                         const StreamDumpLayers& layers) {
  const CodecParams* c = f.codec;
  // The Node library reads rid / rrid as strings: "" for none, never absent.
  const char* rid = f.rid != nullptr ? f.rid->c_str() : "";
  const char* cname = f.cname != nullptr ? f.cname->c_str() : "";
  const bool hasRtx = f.rtxSsrc && c != nullptr && c->rtxPayloadType;
  flatbuffers::Offset<FBS::RtxStream::RtxDump> rtx = 0;
  if (hasRtx) {
    const char* mime = f.kind == MediaKind::Audio ? "audio/rtx" : "video/rtx";
    const auto params = FBS::RtxStream::CreateParamsDirect(b, *f.rtxSsrc, *c->rtxPayloadType, mime,
                                                           c->clockRate, rid, cname);
    rtx = FBS::RtxStream::CreateRtxDump(b, params);
  }
  const auto params = FBS::RtpStream::CreateParamsDirect(
      b, f.encodingIdx, f.ssrc, c ? c->payloadType : 0, c ? c->mimeType.c_str() : "",
      c ? c->clockRate : 0, rid, cname,
      hasRtx ? flatbuffers::Optional<uint32_t>(*f.rtxSsrc) : flatbuffers::nullopt,
      hasRtx ? flatbuffers::Optional<uint8_t>(*c->rtxPayloadType) : flatbuffers::nullopt,
      c && c->nack, c && c->nackPli, c && c->ccmFir, c && c->inBandFec, layers.dtx,
      layers.spatialLayers, layers.temporalLayers);
  return FBS::RtpStream::CreateDump(b, params, f.score, rtx);
}

} // namespace sluice::router
