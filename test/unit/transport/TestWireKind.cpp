#include "sluice/transport/WireKind.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using sluice::transport::ClassifyWire;
using sluice::transport::WireKind;
using sluice::transport::WireKindName;

namespace {

WireKind Classify(uint8_t first, uint8_t second, size_t len) {
  std::vector<uint8_t> b(len == 0 ? 1 : len, 0);
  b[0] = first;
  if (b.size() > 1)
    b[1] = second;
  return ClassifyWire(b.data(), len);
}

} // namespace

TEST_CASE("WireKind: RFC 7983 first-byte ranges", "[demux]") {
  for (int first = 0; first < 256; ++first) {
    const auto b = static_cast<uint8_t>(first);
    INFO("first byte " << first);
    WireKind want = WireKind::Unknown;
    if (b <= 3)
      want = WireKind::Stun;
    else if (b >= 20 && b <= 63)
      want = WireKind::Dtls;
    else if (b >= 128 && b <= 191)
      want = WireKind::Rtp; // second byte 0 is payload type 0
    CHECK(Classify(b, 0, 100) == want);
  }
  // ZRTP (16..19) and TURN channels (64..79) are not ours.
  CHECK(Classify(16, 0, 100) == WireKind::Unknown);
  CHECK(Classify(64, 0, 100) == WireKind::Unknown);
}

TEST_CASE("WireKind: RTP and RTCP by the second byte (RFC 5761)", "[demux]") {
  for (int second = 0; second < 256; ++second) {
    INFO("second byte " << second);
    const WireKind want = second >= 192 && second <= 223 ? WireKind::Rtcp : WireKind::Rtp;
    CHECK(Classify(0x80, static_cast<uint8_t>(second), 12) == want);
    CHECK(Classify(0xBF, static_cast<uint8_t>(second), 12) == want);
  }
  CHECK(Classify(0x81, 200, 4) == WireKind::Rtcp); // a lone RTCP header
  CHECK(Classify(0x81, 200, 3) == WireKind::Unknown);
  CHECK(Classify(0x80, 96, 11) == WireKind::Unknown); // shorter than an RTP header
}

TEST_CASE("WireKind: minimum sizes", "[demux]") {
  CHECK(Classify(0x00, 0x01, 20) == WireKind::Stun);
  CHECK(Classify(0x00, 0x01, 19) == WireKind::Unknown);
  CHECK(Classify(22, 0xFE, 13) == WireKind::Dtls);
  CHECK(Classify(22, 0xFE, 12) == WireKind::Unknown);
  CHECK(ClassifyWire(nullptr, 100) == WireKind::Unknown);
  CHECK(Classify(0, 0, 0) == WireKind::Unknown);
  CHECK(std::string(WireKindName(WireKind::Dtls)) == "dtls");
}
