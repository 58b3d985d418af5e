// libFuzzer target: H264 payload (RFC 6184) and Frame Marking (RFC 9626)
// parsers on arbitrary bytes and every prefix, with consistency checks, and
// frame marking parse -> write -> parse.
//
// Input: [fm length 0-3][frame marking bytes][payload ...].
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/KeyFrame.hpp"
#include "sluice/rtp/codecs/H264.hpp"

#include <cstdint>

using namespace sluice::rtp::codecs;

namespace {

constexpr const char* kName = "FuzzH264";

void CheckPayload(const uint8_t* p, size_t len) {
  const fuzz::Exact e(p, len);
  const auto info = ParseH264(e.data(), e.size());
  FUZZ_CHECK(kName, info.has_value() == false || len >= 1);
  FUZZ_CHECK(kName, sluice::rtp::IsH264KeyFrame(e.data(), e.size()) == (info && info->keyFrame));
  if (!info)
    return;
  FUZZ_CHECK(kName, info->nalCount >= 1);
  FUZZ_CHECK(kName, info->keyFrame == (info->hasIdr || info->hasSps));
  if (info->packet == H264Packet::StapA)
    FUZZ_CHECK(kName, info->nalCount * 3u <= len - 1);
  if (info->packet == H264Packet::FuA && !info->fuStart)
    FUZZ_CHECK(kName, !info->keyFrame);
}

void CheckFrameMarking(const uint8_t* p, size_t len) {
  const fuzz::Exact e(p, len);
  const auto fm = ParseFrameMarking(e.data(), e.size());
  FUZZ_CHECK(kName, fm.has_value() == (len >= 1 && len <= 3));
  if (!fm)
    return;
  uint8_t out[3];
  const size_t n = WriteFrameMarking(*fm, out, sizeof(out));
  FUZZ_CHECK(kName, n == len && std::memcmp(out, e.data(), n) == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const size_t fmLen = data[0] % 4 < size - 1 ? data[0] % 4 : size - 1;
  CheckFrameMarking(data + 1, fmLen);
  const uint8_t* payload = data + 1 + fmLen;
  const size_t len = size - 1 - fmLen;
  CheckPayload(payload, len);
  for (size_t cut = 0; cut < len && cut < 48; ++cut)
    CheckPayload(payload, cut);
  return 0;
}
