// The RtpStream.Dump table (params + optional RTX stream) shared by producer
// receive streams and consumer send streams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "rtpStream_generated.h"
#include "sluice/router/RtpParameters.hpp"

namespace sluice::router {

struct StreamDumpFields {
  uint32_t encodingIdx = 0;
  uint32_t ssrc = 0;
  const CodecParams* codec = nullptr;
  const std::string* rid = nullptr; // nullptr: none
  const std::string* cname = nullptr;
  std::optional<uint32_t> rtxSsrc;
  MediaKind kind = MediaKind::Video;
  uint8_t score = 0;
};

// What only some streams know (a producer's encoding): its layers and DTX.
struct StreamDumpLayers {
  uint8_t spatialLayers = 1;
  uint8_t temporalLayers = 1;
  bool dtx = false;
};

flatbuffers::Offset<FBS::RtpStream::Dump> FillStreamDump(flatbuffers::FlatBufferBuilder& b,
                                                         const StreamDumpFields& f,
                                                         const StreamDumpLayers& layers = {});

} // namespace sluice::router
