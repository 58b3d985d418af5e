// libFuzzer target: the codec payload-descriptor readers (VP8, VP9, H264,
// H265 keyframe detection) on arbitrary payloads. The first input byte picks
// the codec; the rest is the payload, copied into an exactly-sized heap
// buffer so ASan sees any read past its end. Every prefix of the payload is
// tried too (a truncated packet must be as safe as a whole one), and the
// dispatcher must agree with the codec's own function.
#include "sluice/rtp/KeyFrame.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using namespace sluice::rtp;

namespace {

bool Direct(KeyFrameCodec codec, const uint8_t* p, size_t len) {
  switch (codec) {
  case KeyFrameCodec::Vp8:
    return IsVp8KeyFrame(p, len);
  case KeyFrameCodec::Vp9:
    return IsVp9KeyFrame(p, len);
  case KeyFrameCodec::H264:
    return IsH264KeyFrame(p, len);
  case KeyFrameCodec::H265:
    return IsH265KeyFrame(p, len);
  case KeyFrameCodec::Unknown:
    return true;
  }
  return true;
}

void Check(KeyFrameCodec codec, const uint8_t* data, size_t len) {
  std::unique_ptr<uint8_t[]> exact(new uint8_t[len == 0 ? 1 : len]);
  if (len != 0)
    std::memcpy(exact.get(), data, len);
  const uint8_t* p = len == 0 ? nullptr : exact.get();
  if (IsKeyFrame(codec, p, len) != Direct(codec, p, len)) {
    std::fprintf(stderr, "FuzzKeyFrame: dispatch disagrees (codec %d, len %zu)\n",
                 static_cast<int>(codec), len);
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const auto codec = static_cast<KeyFrameCodec>(data[0] % 5);
  const uint8_t* payload = data + 1;
  const size_t len = size - 1;
  Check(codec, payload, len);
  for (size_t cut = 0; cut < len && cut < 48; ++cut)
    Check(codec, payload, cut);
  return 0;
}
