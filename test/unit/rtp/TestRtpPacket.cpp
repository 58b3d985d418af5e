#include "sluice/rtp/RtpPacket.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

using sluice::rtp::ByteView;
using sluice::rtp::ExtensionForm;
using sluice::rtp::ParseError;
using sluice::rtp::RtpPacket;

namespace {

using Bytes = std::vector<uint8_t>;

std::vector<uint8_t> ToVector(ByteView v) {
  return Bytes(v.data, v.data + v.size);
}

// Parses and returns the failure reason; fails the test if it parsed.
ParseError ReasonOf(const Bytes& b) {
  ParseError why = ParseError::TooLong; // overwritten on failure
  const auto pkt = RtpPacket::Parse(b.data(), b.size(), &why);
  REQUIRE_FALSE(pkt.has_value());
  return why;
}

// V=2 P=1 X=1 CC=1, M=1 PT=96, one-byte extensions, 5 payload bytes, 3 padding.
// clang-format off
const Bytes kOneByte = {
    0xB1, 0xE0, 0x12, 0x34,                         // V P X CC | M PT | seq
    0xDE, 0xAD, 0xBE, 0xEF,                         // timestamp
    0x11, 0x22, 0x33, 0x44,                         // SSRC
    0xAA, 0xBB, 0xCC, 0xDD,                         // CSRC
    0xBE, 0xDE, 0x00, 0x03,                         // one-byte profile, 3 words
    0x10, 0x42, 0x00, 0x22, 0x01, 0x02, 0x03,       // id1 [42], pad, id2 [01 02 03]
    0x51, 0xAA, 0xBB, 0x00, 0x00,                   // id5 [AA BB], pad pad
    0x01, 0x02, 0x03, 0x04, 0x05,                   // payload
    0x00, 0x00, 0x03,                               // padding, count 3
};
// clang-format on

// V=2 X=1, M=0 PT=111, two-byte extensions (app bits 0), 2 payload bytes.
// clang-format off
const Bytes kTwoByte = {
    0x90, 0x6F, 0xFF, 0xFF,                         // seq 65535
    0x00, 0x00, 0x00, 0x01,                         // timestamp
    0x01, 0x02, 0x03, 0x04,                         // SSRC
    0x10, 0x00, 0x00, 0x03,                         // two-byte profile, 3 words
    0x01, 0x00, 0x00,                               // id1 (empty), pad
    0x20, 0x03, 0xA1, 0xA2, 0xA3,                   // id32 [A1 A2 A3]
    0x03, 0x01, 0x77, 0x00,                         // id3 [77], pad
    0xCA, 0xFE,                                     // payload
};
// clang-format on

} // namespace

TEST_CASE("RtpPacket parses the fixed header of a minimal packet", "[rtp][packet]") {
  const Bytes b = {0x80, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0, 0xCA, 0xFE, 0xBA, 0xBE};
  const auto pkt = RtpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  CHECK_FALSE(pkt->Marker());
  CHECK(pkt->PayloadType() == 8);
  CHECK(pkt->SequenceNumber() == 1);
  CHECK(pkt->Timestamp() == 0xA0);
  CHECK(pkt->Ssrc() == 0xCAFEBABE);
  CHECK(pkt->CsrcCount() == 0);
  CHECK(pkt->HeaderSize() == 12);
  CHECK(pkt->PayloadSize() == 0);
  CHECK(pkt->PaddingSize() == 0);
  CHECK(pkt->ExtForm() == ExtensionForm::None);
  CHECK_FALSE(pkt->ExtensionBlock());
  CHECK_FALSE(pkt->GetExtension(1));
  CHECK(pkt->Data() == b.data());
  CHECK(pkt->Size() == 12);
}

TEST_CASE("RtpPacket: CSRCs, one-byte extensions, padding", "[rtp][packet]") {
  const auto pkt = RtpPacket::Parse(kOneByte.data(), kOneByte.size());
  REQUIRE(pkt.has_value());
  CHECK(pkt->Marker());
  CHECK(pkt->PayloadType() == 96);
  CHECK(pkt->SequenceNumber() == 0x1234);
  CHECK(pkt->Timestamp() == 0xDEADBEEF);
  CHECK(pkt->Ssrc() == 0x11223344);
  REQUIRE(pkt->CsrcCount() == 1);
  CHECK(pkt->Csrc(0) == 0xAABBCCDD);
  CHECK(ToVector(pkt->Csrcs()) == Bytes{0xAA, 0xBB, 0xCC, 0xDD});
  CHECK(pkt->HeaderSize() == 32);
  CHECK(pkt->PayloadSize() == 5);
  CHECK(pkt->Payload() == kOneByte.data() + 32);
  CHECK(pkt->PaddingSize() == 3);
  CHECK(pkt->ExtForm() == ExtensionForm::OneByte);
  CHECK(pkt->ExtensionProfile() == 0xBEDE);
  CHECK(pkt->ExtensionBlock().size == 12);
  CHECK(pkt->ExtensionBlock().data == kOneByte.data() + 20);

  CHECK(ToVector(pkt->GetExtension(1)) == Bytes{0x42});
  CHECK(ToVector(pkt->GetExtension(2)) == Bytes{0x01, 0x02, 0x03});
  CHECK(ToVector(pkt->GetExtension(5)) == Bytes{0xAA, 0xBB});
  CHECK_FALSE(pkt->GetExtension(0));
  CHECK_FALSE(pkt->GetExtension(3));
  CHECK_FALSE(pkt->GetExtension(15));

  // The iterator yields the elements in wire order, padding skipped.
  auto it = pkt->Extensions();
  sluice::rtp::HeaderExtension e;
  std::vector<uint8_t> ids;
  while (it.Next(&e))
    ids.push_back(e.id);
  CHECK(ids == Bytes{1, 2, 5});
}

TEST_CASE("RtpPacket: two-byte extensions, empty element, app bits", "[rtp][packet]") {
  auto pkt = RtpPacket::Parse(kTwoByte.data(), kTwoByte.size());
  REQUIRE(pkt.has_value());
  CHECK(pkt->ExtForm() == ExtensionForm::TwoByte);
  CHECK(pkt->SequenceNumber() == 65535);
  CHECK(pkt->PayloadType() == 111);
  CHECK(pkt->HeaderSize() == 28);
  CHECK(ToVector({pkt->Payload(), pkt->PayloadSize()}) == Bytes{0xCA, 0xFE});

  const ByteView empty = pkt->GetExtension(1);
  CHECK(static_cast<bool>(empty)); // present ...
  CHECK(empty.size == 0);          // ... with no data
  CHECK(ToVector(pkt->GetExtension(32)) == Bytes{0xA1, 0xA2, 0xA3});
  CHECK(ToVector(pkt->GetExtension(3)) == Bytes{0x77});
  CHECK_FALSE(pkt->GetExtension(2));
  CHECK_FALSE(pkt->GetExtension(0));

  Bytes withAppBits = kTwoByte;
  withAppBits[13] = 0x0A; // profile 0x100A
  pkt = RtpPacket::Parse(withAppBits.data(), withAppBits.size());
  REQUIRE(pkt.has_value());
  CHECK(pkt->ExtForm() == ExtensionForm::TwoByte);
  CHECK(pkt->ExtensionProfile() == 0x100A);
  CHECK(ToVector(pkt->GetExtension(32)) == Bytes{0xA1, 0xA2, 0xA3});
}

TEST_CASE("RtpPacket: one-byte id 15 stops extension processing", "[rtp][packet]") {
  // id1 [11], then 0xF0 (id 15), then 0x5F which would claim 16 bytes.
  // clang-format off
  const Bytes b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                   0xBE, 0xDE, 0x00, 0x01, 0x10, 0x11, 0xF0, 0x5F, 0x99};
  // clang-format on
  const auto pkt = RtpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  CHECK(ToVector(pkt->GetExtension(1)) == Bytes{0x11});
  CHECK_FALSE(pkt->GetExtension(5));
  CHECK_FALSE(pkt->GetExtension(15));
  CHECK(pkt->PayloadSize() == 1);
}

TEST_CASE("RtpPacket: one-byte id 0 is a single padding byte whatever its length nibble",
          "[rtp][packet]") {
  // clang-format off
  const Bytes b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                   0xBE, 0xDE, 0x00, 0x02, 0x10, 0x11, 0x03, 0x20, 0xAA, 0x00, 0x00, 0x00};
  // clang-format on
  const auto pkt = RtpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  CHECK(ToVector(pkt->GetExtension(1)) == Bytes{0x11});
  CHECK(ToVector(pkt->GetExtension(2)) == Bytes{0xAA});
}

TEST_CASE("RtpPacket: other extension profiles are kept opaque", "[rtp][packet]") {
  // clang-format off
  const Bytes b = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                   0x12, 0x34, 0x00, 0x01, 0x10, 0x11, 0xFF, 0xFF, 0x42};
  // clang-format on
  const auto pkt = RtpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  CHECK(pkt->ExtForm() == ExtensionForm::Opaque);
  CHECK(pkt->ExtensionProfile() == 0x1234);
  CHECK(ToVector(pkt->ExtensionBlock()) == Bytes{0x10, 0x11, 0xFF, 0xFF});
  CHECK_FALSE(pkt->GetExtension(1));
  sluice::rtp::HeaderExtension e;
  auto it = pkt->Extensions();
  CHECK_FALSE(it.Next(&e));
  CHECK(pkt->HeaderSize() == 20);
  CHECK(pkt->PayloadSize() == 1);
}

TEST_CASE("RtpPacket: padding that fills the whole payload is valid", "[rtp][packet]") {
  const Bytes b = {0xA0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4};
  const auto pkt = RtpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  CHECK(pkt->PaddingSize() == 4);
  CHECK(pkt->PayloadSize() == 0);
}

TEST_CASE("RtpPacket: every ParseError reason", "[rtp][packet]") {
  const Bytes fixed = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};

  SECTION("TooShort") {
    CHECK(ReasonOf(Bytes(fixed.begin(), fixed.end() - 1)) == ParseError::TooShort);
    CHECK(ReasonOf(Bytes{}) == ParseError::TooShort);
    ParseError why = ParseError::BadPadding;
    CHECK_FALSE(RtpPacket::Parse(nullptr, 12, &why).has_value());
    CHECK(why == ParseError::TooShort);
  }
  SECTION("TooLong") {
    Bytes b(65536, 0);
    b[0] = 0x80;
    CHECK(ReasonOf(b) == ParseError::TooLong);
    b.pop_back(); // 65535 bytes is the largest accepted
    CHECK(RtpPacket::Parse(b.data(), b.size()).has_value());
  }
  SECTION("BadVersion") {
    for (uint8_t first : {0x00, 0x40, 0xC0, 0x3F}) {
      Bytes b = fixed;
      b[0] = first;
      CHECK(ReasonOf(b) == ParseError::BadVersion);
    }
  }
  SECTION("CsrcOverrun") {
    Bytes b = fixed;
    b[0] = 0x82; // two CSRCs, one present
    b.insert(b.end(), {1, 2, 3, 4});
    CHECK(ReasonOf(b) == ParseError::CsrcOverrun);
    b.insert(b.end(), {5, 6, 7}); // still a byte short
    CHECK(ReasonOf(b) == ParseError::CsrcOverrun);
    b.push_back(8);
    CHECK(RtpPacket::Parse(b.data(), b.size()).has_value());
  }
  SECTION("ExtensionOverrun") {
    Bytes b = fixed;
    b[0] = 0x90;
    CHECK(ReasonOf(b) == ParseError::ExtensionOverrun); // no extension header
    b.insert(b.end(), {0xBE, 0xDE, 0x00});
    CHECK(ReasonOf(b) == ParseError::ExtensionOverrun); // partial header
    b.insert(b.end(), {0x01, 0x10, 0xAA, 0x00});
    CHECK(ReasonOf(b) == ParseError::ExtensionOverrun); // body 3 of 4 bytes
    b.push_back(0x00);
    CHECK(RtpPacket::Parse(b.data(), b.size()).has_value());
  }
  SECTION("BadExtensionElement") {
    // clang-format off
    const Bytes oneByteOverrun = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                  0xBE, 0xDE, 0x00, 0x01, 0x13, 0xAA, 0xBB, 0xCC, 0xDD};
    // clang-format on
    CHECK(ReasonOf(oneByteOverrun) == ParseError::BadExtensionElement);
    // clang-format off
    const Bytes twoByteNoLength = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                   0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05};
    // clang-format on
    CHECK(ReasonOf(twoByteNoLength) == ParseError::BadExtensionElement);
    // clang-format off
    const Bytes twoByteOverrun = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                  0x10, 0x00, 0x00, 0x01, 0x05, 0x03, 0xAA, 0xBB, 0xCC};
    // clang-format on
    CHECK(ReasonOf(twoByteOverrun) == ParseError::BadExtensionElement);
  }
  SECTION("BadPadding") {
    Bytes b = fixed;
    b[0] = 0xA0;
    CHECK(ReasonOf(b) == ParseError::BadPadding); // no count octet at all
    b.insert(b.end(), {0x01, 0x02, 0x00});
    CHECK(ReasonOf(b) == ParseError::BadPadding); // count 0
    b.back() = 4;
    CHECK(ReasonOf(b) == ParseError::BadPadding); // 4 > 3 bytes after header
    b.back() = 3;
    CHECK(RtpPacket::Parse(b.data(), b.size()).has_value());
  }
}

TEST_CASE("RtpPacket: every truncation of a valid packet fails with its reason", "[rtp][packet]") {
  for (size_t len = 0; len < 32; ++len) {
    const Bytes b(kOneByte.begin(), kOneByte.begin() + static_cast<std::ptrdiff_t>(len));
    ParseError want = ParseError::ExtensionOverrun;
    if (len < 12)
      want = ParseError::TooShort;
    else if (len < 16)
      want = ParseError::CsrcOverrun;
    INFO("len " << len);
    CHECK(ReasonOf(b) == want);
  }
  // 32 bytes: header complete, P set, nothing left for the count octet.
  CHECK(ReasonOf(Bytes(kOneByte.begin(), kOneByte.begin() + 32)) == ParseError::BadPadding);
}

TEST_CASE("ParseErrorName gives distinct names", "[rtp][packet]") {
  std::set<std::string> names;
  for (size_t i = 0; i < sluice::rtp::kParseErrorCount; ++i)
    names.insert(sluice::rtp::ParseErrorName(static_cast<ParseError>(i)));
  CHECK(names.size() == sluice::rtp::kParseErrorCount);
  CHECK(names.count("unknown") == 0);
  CHECK(std::string(sluice::rtp::ParseErrorName(ParseError::BadPadding)) == "bad-padding");
}
