// libFuzzer target: the RFC 6464 audio level extension as RTP observers read
// it, from an arbitrary RTP packet: the packet is parsed, every header
// extension element's value (one- and two-byte forms) goes through
// ParseAudioLevel, and what comes out must match the first byte it came
// from. Each level is also fed to a speech activity tracker (the dominant
// speaker's input) and to a level sum, whose invariants are checked. The
// whole input is also tried as a bare element value.
#include "FuzzCodecCommon.hpp"
#include "sluice/router/AudioLevels.hpp"
#include "sluice/router/DominantSpeaker.hpp"
#include "sluice/rtp/AudioLevel.hpp"
#include "sluice/rtp/RtpPacket.hpp"

#include <cstdint>

using namespace sluice::rtp;
using sluice::router::LevelSum;
using sluice::router::SpeechActivity;

namespace {

constexpr const char* kName = "FuzzAudioLevel";

void Check(ByteView value, SpeechActivity& activity, LevelSum& sum, uint64_t& now) {
  const auto l = ParseAudioLevel(value);
  FUZZ_CHECK(kName, l.has_value() == (value.data != nullptr && value.size >= 1));
  if (!l)
    return;
  FUZZ_CHECK(kName, l->dbov == (value.data[0] & 0x7f));
  FUZZ_CHECK(kName, l->voice == ((value.data[0] & 0x80) != 0));
  now += value.data[0]; // irregular arrival times, gaps included
  activity.OnLevel(l->dbov, now);
  FUZZ_CHECK(kName, activity.Immediate() <= SpeechActivity::kN1);
  FUZZ_CHECK(kName, activity.MediumCount() <= SpeechActivity::kN2);
  FUZZ_CHECK(kName, activity.LongCount() <= SpeechActivity::kN3);
  const auto s = activity.Scores();
  FUZZ_CHECK(kName, s.immediate > 0 && s.medium > 0 && s.longTerm > 0);
  sum.Add(l->dbov);
  FUZZ_CHECK(kName, sum.Volume() <= 0 && sum.Volume() >= -127);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Exact e(data, size);
  SpeechActivity activity(0);
  LevelSum sum;
  uint64_t now = 0;
  Check(ByteView{e.data(), e.size()}, activity, sum, now);
  const auto packet = RtpPacket::Parse(e.data(), e.size());
  if (!packet)
    return 0;
  auto it = packet->Extensions();
  HeaderExtension ext;
  while (it.Next(&ext))
    Check(ext.value, activity, sum, now);
  for (unsigned id = 1; id < 256; ++id)
    Check(packet->GetExtension(static_cast<uint8_t>(id)), activity, sum, now);
  return 0;
}
