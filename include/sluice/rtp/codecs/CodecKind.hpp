// The codec a stream carries, chosen once from its RTP parameters' mimeType,
// so per-packet code switches on an enum and never compares strings.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::rtp::codecs {

enum class CodecKind : uint8_t { Unknown, Vp8, Vp9, H264, H264Svc, Opus, MultiOpus };

// "video/VP8", "video/VP9", "video/H264", "video/H264-SVC", "audio/opus",
// "audio/multiopus"; ASCII case-insensitive (RFC 6838 §4.2: media type names
// are case-insensitive). Anything else, including a kind/subtype mismatch
// ("audio/VP8"), is Unknown.
CodecKind CodecFromMimeType(std::string_view mimeType);

const char* CodecName(CodecKind kind);

} // namespace sluice::rtp::codecs
