// libFuzzer target: Opus framing (RFC 6716 §3.2, R1-R7) and the DTX rule on
// arbitrary bytes and every prefix, with consistency checks.
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/codecs/Opus.hpp"

#include <cstdint>

using namespace sluice::rtp::codecs;

namespace {

constexpr const char* kName = "FuzzOpus";

void Check(const uint8_t* p, size_t len) {
  const fuzz::Exact e(p, len);
  const auto info = ParseOpus(e.data(), e.size());
  FUZZ_CHECK(kName, IsOpusDtx(e.data(), e.size()) == (info && info->dtx));
  if (!info)
    return;
  FUZZ_CHECK(kName, len >= 1);
  FUZZ_CHECK(kName, info->frameCount >= 1 && info->frameCount <= 48);
  FUZZ_CHECK(kName, info->frameCount * info->frameDurationTenthsMs <= 1200);
  FUZZ_CHECK(kName, info->largestFrame <= 1275 && info->largestFrame < len);
  FUZZ_CHECK(kName, info->dtx == (info->largestFrame <= 1));
  if (len <= 2 && info->code == 0)
    FUZZ_CHECK(kName, info->dtx);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Check(data, size);
  for (size_t cut = 0; cut < size && cut < 32; ++cut)
    Check(data, cut);
  return 0;
}
