// libFuzzer target: the video orientation extension (3GPP TS 26.114 §7.4.5)
// as the producer reads it, from an arbitrary RTP packet: the packet is
// parsed, every header extension element's value goes through
// ParseVideoOrientation, and what comes out must match the byte it came
// from. The whole input is also tried as a bare element value, and the
// tracker is checked against a reference model over the sequence of
// orientations found.
#include "FuzzCodecCommon.hpp"
#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/rtp/VideoOrientation.hpp"

#include <cstdint>
#include <optional>

using namespace sluice::rtp;

namespace {

constexpr const char* kName = "FuzzVideoOrientation";

// Checks one parse and feeds it to the tracker and the model.
void Check(ByteView value, VideoOrientationTracker& tracker,
           std::optional<VideoOrientation>& model) {
  const auto o = ParseVideoOrientation(value);
  FUZZ_CHECK(kName, o.has_value() == (value.data != nullptr && value.size == 1));
  if (!o)
    return;
  const uint8_t b = value.data[0];
  FUZZ_CHECK(kName, o->camera == ((b & 0x08) != 0));
  FUZZ_CHECK(kName, o->flip == ((b & 0x04) != 0));
  FUZZ_CHECK(kName, o->rotation == 90 * (b & 0x03));
  const bool changed = !model || *model != *o;
  FUZZ_CHECK(kName, tracker.Update(*o) == changed);
  model = *o;
  FUZZ_CHECK(kName, tracker.Known() && tracker.Last() == *o);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Exact e(data, size);
  VideoOrientationTracker tracker;
  std::optional<VideoOrientation> model;
  Check(ByteView{e.data(), e.size()}, tracker, model);
  const auto packet = RtpPacket::Parse(e.data(), e.size());
  if (!packet)
    return 0;
  // Every element in wire order, and the lookup by id the producer uses.
  auto it = packet->Extensions();
  HeaderExtension ext;
  while (it.Next(&ext))
    Check(ext.value, tracker, model);
  for (unsigned id = 1; id < 256; ++id)
    Check(packet->GetExtension(static_cast<uint8_t>(id)), tracker, model);
  return 0;
}
