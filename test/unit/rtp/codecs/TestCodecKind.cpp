#include "sluice/rtp/codecs/CodecKind.hpp"

#include <catch2/catch.hpp>

using namespace sluice::rtp::codecs;

TEST_CASE("CodecKind: mime types, case-insensitive", "[rtp][codecs]") {
  CHECK(CodecFromMimeType("video/VP8") == CodecKind::Vp8);
  CHECK(CodecFromMimeType("VIDEO/vp8") == CodecKind::Vp8);
  CHECK(CodecFromMimeType("video/vp9") == CodecKind::Vp9);
  CHECK(CodecFromMimeType("video/H264") == CodecKind::H264);
  CHECK(CodecFromMimeType("video/h264-svc") == CodecKind::H264Svc);
  CHECK(CodecFromMimeType("audio/OPUS") == CodecKind::Opus);
  CHECK(CodecFromMimeType("audio/multiopus") == CodecKind::MultiOpus);
  CHECK(CodecFromMimeType("audio/VP8") == CodecKind::Unknown);
  CHECK(CodecFromMimeType("video/VP8 ") == CodecKind::Unknown);
  CHECK(CodecFromMimeType("video/H265") == CodecKind::Unknown);
  CHECK(CodecFromMimeType("") == CodecKind::Unknown);
  CHECK(std::string_view(CodecName(CodecKind::H264Svc)) == "H264-SVC");
  CHECK(std::string_view(CodecName(CodecKind::Unknown)) == "unknown");
}
