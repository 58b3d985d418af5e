#include "sluice/transport/StunMessage.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace sluice::transport;
using sluice::net::Endpoint;

namespace {

using Bytes = std::vector<uint8_t>;

const std::string kVectorPassword = "VOkJxbRl1RmTxUk/WvJxBt"; // RFC 5769 §2
const uint8_t kVectorTxId[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

// clang-format off
// RFC 5769 §2.1: sample request (padding bytes are 0x20, as the RFC has them).
const Bytes kSampleRequest = {
    0x00, 0x01, 0x00, 0x58,   // Binding request, length 88
    0x21, 0x12, 0xa4, 0x42,   // magic cookie
    0xb7, 0xe7, 0xa7, 0x01,   // transaction id
    0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x10,   // SOFTWARE, 16 bytes
    'S',  'T',  'U',  'N',
    ' ',  't',  'e',  's',
    't',  ' ',  'c',  'l',
    'i',  'e',  'n',  't',
    0x00, 0x24, 0x00, 0x04,   // PRIORITY
    0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08,   // ICE-CONTROLLED
    0x93, 0x2f, 0xf9, 0xb1,
    0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09,   // USERNAME "evtj:h6vY" + 3 bytes padding
    'e',  'v',  't',  'j',
    ':',  'h',  '6',  'v',
    'Y',  0x20, 0x20, 0x20,
    0x00, 0x08, 0x00, 0x14,   // MESSAGE-INTEGRITY
    0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56,
    0x78, 0x1e, 0xf2, 0xb5,
    0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2,
    0x80, 0x28, 0x00, 0x04,   // FINGERPRINT
    0xe5, 0x7a, 0x3b, 0xcf,
};

// RFC 5769 §2.2: sample IPv4 response, mapped 192.0.2.1:32853.
const Bytes kSampleIpv4Response = {
    0x01, 0x01, 0x00, 0x3c,   // Binding success response, length 60
    0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x0b,   // SOFTWARE "test vector" + 1 byte padding
    't',  'e',  's',  't',
    ' ',  'v',  'e',  'c',
    't',  'o',  'r',  0x20,
    0x00, 0x20, 0x00, 0x08,   // XOR-MAPPED-ADDRESS
    0x00, 0x01, 0xa1, 0x47,   // IPv4, xor'd port
    0xe1, 0x12, 0xa6, 0x43,   // xor'd address
    0x00, 0x08, 0x00, 0x14,   // MESSAGE-INTEGRITY
    0x2b, 0x91, 0xf5, 0x99,
    0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53,
    0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04,   // FINGERPRINT
    0xc0, 0x7d, 0x4c, 0x96,
};

// RFC 5769 §2.3: sample IPv6 response, mapped
// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const Bytes kSampleIpv6Response = {
    0x01, 0x01, 0x00, 0x48,   // Binding success response, length 72
    0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x0b,   // SOFTWARE "test vector" + 1 byte padding
    't',  'e',  's',  't',
    ' ',  'v',  'e',  'c',
    't',  'o',  'r',  0x20,
    0x00, 0x20, 0x00, 0x14,   // XOR-MAPPED-ADDRESS
    0x00, 0x02, 0xa1, 0x47,   // IPv6, xor'd port
    0x01, 0x13, 0xa9, 0xfa,   // xor'd address
    0xa5, 0xd3, 0xf1, 0x79,
    0xbc, 0x25, 0xf4, 0xb5,
    0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14,   // MESSAGE-INTEGRITY
    0xa3, 0x82, 0x95, 0x4e,
    0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c,
    0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04,   // FINGERPRINT
    0xc8, 0xfb, 0x0b, 0x4c,
};

// A bare Binding request header; callers append attributes and fix the length.
const Bytes kHeaderOnly = {
    0x00, 0x01, 0x00, 0x00,
    0x21, 0x12, 0xa4, 0x42,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
};
// clang-format on

Bytes WithAttributes(const Bytes& attrs) {
  Bytes b = kHeaderOnly;
  b.insert(b.end(), attrs.begin(), attrs.end());
  b[2] = static_cast<uint8_t>(attrs.size() >> 8);
  b[3] = static_cast<uint8_t>(attrs.size());
  return b;
}

StunMessage MustParse(const Bytes& b) {
  const auto msg = StunMessage::Parse(b.data(), b.size());
  REQUIRE(msg.has_value());
  return *msg;
}

Endpoint Ep(const char* ip, uint16_t port) {
  const auto e = Endpoint::FromIpPort(ip, port);
  REQUIRE(e.has_value());
  return *e;
}

} // namespace

TEST_CASE("STUN: RFC 5769 sample request", "[stun]") {
  const StunMessage msg = MustParse(kSampleRequest);
  CHECK(msg.Method() == kStunMethodBinding);
  CHECK(msg.Class() == StunClass::Request);
  CHECK(std::memcmp(msg.TransactionId(), kVectorTxId, 12) == 0);
  CHECK(msg.Username() == "evtj:h6vY");
  CHECK(msg.LocalUfrag() == "evtj");
  CHECK(msg.RemoteUfrag() == "h6vY");
  CHECK(msg.Priority() == std::optional<uint32_t>(0x6e0001ff));
  CHECK(msg.IceControlled() == std::optional<uint64_t>(0x932ff9b151263b36));
  CHECK_FALSE(msg.IceControlling().has_value());
  CHECK_FALSE(msg.UseCandidate());
  CHECK_FALSE(msg.ErrorCode().has_value());
  CHECK_FALSE(msg.XorMappedAddress().has_value());
  CHECK_FALSE(msg.HasUnknownRequired()); // SOFTWARE is comprehension-optional
  CHECK(msg.HasMessageIntegrity());
  CHECK(msg.HasFingerprint());
  CHECK(msg.CheckFingerprint());
  CHECK(msg.CheckIntegrity(kVectorPassword));
  CHECK_FALSE(msg.CheckIntegrity("VOkJxbRl1RmTxUk/WvJxBr"));
  CHECK_FALSE(msg.CheckIntegrity(""));
}

TEST_CASE("STUN: RFC 5769 sample IPv4 response", "[stun]") {
  const StunMessage msg = MustParse(kSampleIpv4Response);
  CHECK(msg.Method() == kStunMethodBinding);
  CHECK(msg.Class() == StunClass::SuccessResponse);
  CHECK(msg.CheckFingerprint());
  CHECK(msg.CheckIntegrity(kVectorPassword));
  const auto mapped = msg.XorMappedAddress();
  REQUIRE(mapped.has_value());
  CHECK(*mapped == Ep("192.0.2.1", 32853));
  CHECK(mapped->Ip() == "192.0.2.1");
  CHECK(mapped->Port() == 32853);
}

TEST_CASE("STUN: RFC 5769 sample IPv6 response", "[stun]") {
  const StunMessage msg = MustParse(kSampleIpv6Response);
  CHECK(msg.Class() == StunClass::SuccessResponse);
  CHECK(msg.CheckFingerprint());
  CHECK(msg.CheckIntegrity(kVectorPassword));
  const auto mapped = msg.XorMappedAddress();
  REQUIRE(mapped.has_value());
  CHECK(*mapped == Ep("2001:db8:1234:5678:11:2233:4455:6677", 32853));
  CHECK(mapped->Family() == AF_INET6);
}

TEST_CASE("STUN: a tampered byte fails the checks", "[stun]") {
  // Every byte before MESSAGE-INTEGRITY's value is covered by the HMAC and
  // the CRC (the length field is covered in its adjusted form).
  const size_t miValue = kSampleRequest.size() - 8 - 20;
  for (size_t i = 0; i < miValue; ++i) {
    if (i == 2 || i == 3)
      continue; // the length field: changing it breaks parsing instead
    Bytes b = kSampleRequest;
    b[i] ^= 0x01;
    const auto msg = StunMessage::Parse(b.data(), b.size());
    if (!msg)
      continue; // e.g. the cookie or an attribute header: not STUN any more
    INFO("byte " << i);
    CHECK_FALSE(msg->CheckIntegrity(kVectorPassword));
    CHECK_FALSE(msg->CheckFingerprint());
  }
  // A flipped HMAC byte: integrity fails, and so does the fingerprint over it.
  Bytes b = kSampleRequest;
  b[miValue + 5] ^= 0x80;
  StunMessage msg = MustParse(b);
  CHECK_FALSE(msg.CheckIntegrity(kVectorPassword));
  CHECK_FALSE(msg.CheckFingerprint());
  // A flipped CRC byte: only the fingerprint fails.
  b = kSampleRequest;
  b.back() ^= 0x01;
  msg = MustParse(b);
  CHECK(msg.CheckIntegrity(kVectorPassword));
  CHECK_FALSE(msg.CheckFingerprint());
}

TEST_CASE("STUN: the writer reproduces the RFC 5769 sample request", "[stun][writer]") {
  uint8_t out[256];
  StunWriter w(out, sizeof(out));
  REQUIRE(w.Begin(kStunMethodBinding, StunClass::Request, kVectorTxId));
  REQUIRE(w.AddString(stun_attr::kSoftware, "STUN test client"));
  REQUIRE(w.AddUint32(stun_attr::kPriority, 0x6e0001ff));
  REQUIRE(w.AddUint64(stun_attr::kIceControlled, 0x932ff9b151263b36));
  REQUIRE(w.AddString(stun_attr::kUsername, "evtj:h6vY"));
  // The RFC pads with spaces; we pad with zeros. Patch to compare bytes.
  std::memset(out + w.Size() - 3, 0x20, 3);
  REQUIRE(w.AddMessageIntegrity(kVectorPassword));
  REQUIRE(w.AddFingerprint());
  REQUIRE(w.Size() == kSampleRequest.size());
  CHECK(Bytes(out, out + w.Size()) == kSampleRequest);
}

TEST_CASE("STUN: the writer reproduces the RFC 5769 sample responses", "[stun][writer]") {
  const struct {
    const Bytes* vector;
    Endpoint mapped;
  } cases[] = {{&kSampleIpv4Response, Ep("192.0.2.1", 32853)},
               {&kSampleIpv6Response, Ep("2001:db8:1234:5678:11:2233:4455:6677", 32853)}};
  for (const auto& c : cases) {
    uint8_t out[256];
    StunWriter w(out, sizeof(out));
    REQUIRE(w.Begin(kStunMethodBinding, StunClass::SuccessResponse, kVectorTxId));
    REQUIRE(w.AddString(stun_attr::kSoftware, "test vector"));
    out[w.Size() - 1] = 0x20;
    REQUIRE(w.AddXorAddress(stun_attr::kXorMappedAddress, c.mapped));
    REQUIRE(w.AddMessageIntegrity(kVectorPassword));
    REQUIRE(w.AddFingerprint());
    CHECK(Bytes(out, out + w.Size()) == *c.vector);
  }
}

TEST_CASE("STUN: Binding success responses re-parse and verify", "[stun][writer]") {
  const Endpoint mapped[] = {Ep("10.1.2.3", 5000), Ep("255.255.255.255", 65535), Ep("::1", 1),
                             Ep("fe80::1234:5678", 40000)};
  const size_t sizes[] = {64, 64, 76, 76}; // header + XOR-MAPPED + MI (24) + FP (8)
  for (size_t i = 0; i < 4; ++i) {
    uint8_t out[128];
    const size_t n = WriteBindingSuccess(out, sizeof(out), kVectorTxId, mapped[i], "secret");
    REQUIRE(n == sizes[i]);
    const auto msg = StunMessage::Parse(out, n);
    REQUIRE(msg.has_value());
    CHECK(msg->Class() == StunClass::SuccessResponse);
    CHECK(msg->Method() == kStunMethodBinding);
    CHECK(std::memcmp(msg->TransactionId(), kVectorTxId, 12) == 0);
    CHECK(msg->XorMappedAddress() == std::optional<Endpoint>(mapped[i]));
    CHECK(msg->CheckFingerprint());
    CHECK(msg->CheckIntegrity("secret"));
    CHECK_FALSE(msg->CheckIntegrity("secreT"));
    // Every shorter buffer: 0, and nothing written past cap.
    for (size_t cap = 0; cap < n; ++cap) {
      uint8_t small[128];
      std::memset(small, 0xEE, sizeof(small));
      CHECK(WriteBindingSuccess(small, cap, kVectorTxId, mapped[i], "secret") == 0);
      for (size_t j = cap; j < sizeof(small); ++j)
        REQUIRE(small[j] == 0xEE);
    }
  }
  uint8_t out[128];
  CHECK(WriteBindingSuccess(out, sizeof(out), kVectorTxId, Endpoint{}, "secret") == 0);
}

TEST_CASE("STUN: Binding error responses", "[stun][writer]") {
  uint8_t out[256];
  size_t n = WriteBindingError(out, sizeof(out), kVectorTxId, 487, "Role Conflict", "pwd");
  REQUIRE(n > 0);
  auto msg = StunMessage::Parse(out, n);
  REQUIRE(msg.has_value());
  CHECK(msg->Class() == StunClass::ErrorResponse);
  CHECK(msg->ErrorCode() == std::optional<uint16_t>(487));
  CHECK(msg->ErrorReason() == "Role Conflict");
  CHECK(msg->HasMessageIntegrity());
  CHECK(msg->CheckIntegrity("pwd"));
  CHECK(msg->CheckFingerprint());

  n = WriteBindingError(out, sizeof(out), kVectorTxId, 401, "Unauthorized", "");
  msg = StunMessage::Parse(out, n);
  REQUIRE(msg.has_value());
  CHECK(msg->ErrorCode() == std::optional<uint16_t>(401));
  CHECK(msg->ErrorReason() == "Unauthorized");
  CHECK_FALSE(msg->HasMessageIntegrity());
  CHECK(msg->CheckFingerprint());
  // ERROR-CODE value: 0 0 | class 4 | number 1 | reason padded to 4 bytes.
  CHECK(out[20] == 0x00);
  CHECK(out[21] == 0x09);
  CHECK(out[22] == 0x00);
  CHECK(out[23] == 4 + 12);
  CHECK(out[26] == 4);
  CHECK(out[27] == 1);

  // Codes outside 300..699 and a too-long reason.
  CHECK(WriteBindingError(out, sizeof(out), kVectorTxId, 200, "OK", "") == 0);
  CHECK(WriteBindingError(out, sizeof(out), kVectorTxId, 700, "x", "") == 0);
  std::vector<uint8_t> big(2048);
  const std::string longReason(1000, 'r');
  n = WriteBindingError(big.data(), big.size(), kVectorTxId, 500, longReason, "");
  msg = StunMessage::Parse(big.data(), n);
  REQUIRE(msg.has_value());
  CHECK(msg->ErrorReason().size() == StunMessage::kMaxReasonSize);
}

TEST_CASE("STUN: Binding requests written for tests re-parse", "[stun][writer]") {
  uint8_t out[256];
  const size_t n = WriteBindingRequest(out, sizeof(out), kVectorTxId, "ours:theirs", "pwd",
                                       0x7e7f00ff, true, 0x1122334455667788ull, std::nullopt);
  const auto msg = StunMessage::Parse(out, n);
  REQUIRE(msg.has_value());
  CHECK(msg->Class() == StunClass::Request);
  CHECK(msg->LocalUfrag() == "ours");
  CHECK(msg->RemoteUfrag() == "theirs");
  CHECK(msg->Priority() == std::optional<uint32_t>(0x7e7f00ff));
  CHECK(msg->UseCandidate());
  CHECK(msg->IceControlling() == std::optional<uint64_t>(0x1122334455667788ull));
  CHECK_FALSE(msg->IceControlled().has_value());
  CHECK(msg->CheckIntegrity("pwd"));
  CHECK(msg->CheckFingerprint());
}

TEST_CASE("STUN: message type encodes method and class", "[stun]") {
  const struct {
    uint16_t type;
    uint16_t method;
    StunClass cls;
  } cases[] = {
      {0x0001, 0x001, StunClass::Request},         {0x0011, 0x001, StunClass::Indication},
      {0x0101, 0x001, StunClass::SuccessResponse}, {0x0111, 0x001, StunClass::ErrorResponse},
      {0x0003, 0x003, StunClass::Request},         {0x3EEF, 0xFFF, StunClass::Request},
      {0x3FFF, 0xFFF, StunClass::ErrorResponse},
  };
  for (const auto& c : cases) {
    Bytes b = kHeaderOnly;
    b[0] = static_cast<uint8_t>(c.type >> 8);
    b[1] = static_cast<uint8_t>(c.type);
    const StunMessage msg = MustParse(b);
    CHECK(msg.Method() == c.method);
    CHECK(msg.Class() == c.cls);
    // And the writer encodes the same type.
    uint8_t out[20];
    StunWriter w(out, sizeof(out));
    REQUIRE(w.Begin(c.method, c.cls, kVectorTxId));
    CHECK((out[0] << 8 | out[1]) == c.type);
  }
}

TEST_CASE("STUN: malformed headers are rejected", "[stun][malformed]") {
  CHECK_FALSE(StunMessage::Parse(nullptr, 20).has_value());
  // Every truncation of a valid message.
  for (size_t len = 0; len < kSampleRequest.size(); ++len)
    CHECK_FALSE(StunMessage::Parse(kSampleRequest.data(), len).has_value());
  // Trailing bytes after the message.
  Bytes b = kSampleRequest;
  b.insert(b.end(), {0, 0, 0, 0});
  CHECK_FALSE(StunMessage::Parse(b.data(), b.size()).has_value());
  // Top two bits set.
  b = kHeaderOnly;
  b[0] |= 0x40;
  CHECK_FALSE(StunMessage::Parse(b.data(), b.size()).has_value());
  // Bad magic cookie.
  b = kHeaderOnly;
  b[7] ^= 1;
  CHECK_FALSE(StunMessage::Parse(b.data(), b.size()).has_value());
  // Length not a multiple of 4 (and matching the buffer).
  b = WithAttributes({0x80, 0x22, 0x00, 0x01, 'x', 0, 0});
  CHECK_FALSE(StunMessage::Parse(b.data(), b.size()).has_value());
  // Length field larger / smaller than the buffer.
  b = kSampleRequest;
  b[3] += 4;
  CHECK_FALSE(StunMessage::Parse(b.data(), b.size()).has_value());
  b[3] -= 8;
  CHECK_FALSE(StunMessage::Parse(b.data(), b.size()).has_value());
  // The header alone is a valid (empty) message.
  CHECK(StunMessage::Parse(kHeaderOnly.data(), kHeaderOnly.size()).has_value());
}

TEST_CASE("STUN: malformed attributes are rejected", "[stun][malformed]") {
  const auto parses = [](const Bytes& attrs) {
    const Bytes b = WithAttributes(attrs);
    return StunMessage::Parse(b.data(), b.size()).has_value();
  };
  // An attribute running past the end (its padding included).
  CHECK_FALSE(parses({0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd'}));
  CHECK_FALSE(parses({0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'}));
  CHECK(parses({0x80, 0x22, 0x00, 0x04, 'a', 'b', 'c', 'd'}));
  CHECK(parses({0x80, 0x22, 0x00, 0x03, 'a', 'b', 'c', 0}));
  // Known attributes with the wrong size.
  CHECK_FALSE(parses({0x00, 0x24, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 2}));    // PRIORITY
  CHECK_FALSE(parses({0x00, 0x25, 0x00, 0x04, 0, 0, 0, 0}));                // USE-CANDIDATE
  CHECK_FALSE(parses({0x80, 0x2A, 0x00, 0x04, 0, 0, 0, 0}));                // ICE-CONTROLLING
  CHECK_FALSE(parses({0x80, 0x29, 0x00, 0x04, 0, 0, 0, 0}));                // ICE-CONTROLLED
  CHECK_FALSE(parses({0x00, 0x08, 0x00, 0x04, 0, 0, 0, 0}));                // MESSAGE-INTEGRITY
  CHECK_FALSE(parses({0x80, 0x28, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}));    // FINGERPRINT
  CHECK_FALSE(parses({0x00, 0x09, 0x00, 0x04, 0, 0, 2, 0}));                // ERROR-CODE 200
  CHECK_FALSE(parses({0x00, 0x09, 0x00, 0x04, 0, 0, 4, 100}));              // number 100
  CHECK_FALSE(parses({0x00, 0x20, 0x00, 0x08, 0, 0x02, 0, 0, 0, 0, 0, 0})); // v6 in 8 bytes
  CHECK_FALSE(parses({0x00, 0x20, 0x00, 0x08, 0, 0x03, 0, 0, 0, 0, 0, 0})); // family 3
  CHECK(parses({0x00, 0x20, 0x00, 0x08, 0, 0x01, 0, 0, 0, 0, 0, 0}));
  // USERNAME: 512 bytes is the most.
  Bytes user = {0x00, 0x06, 0x02, 0x00};
  user.resize(4 + 512, 'u');
  CHECK(parses(user));
  user = {0x00, 0x06, 0x02, 0x04};
  user.resize(4 + 516, 'u');
  CHECK_FALSE(parses(user));
}

TEST_CASE("STUN: MESSAGE-INTEGRITY and FINGERPRINT placement", "[stun][malformed]") {
  const Bytes mi = {0x00, 0x08, 0x00, 0x14, 1,  2,  3,  4,  5,  6,  7,  8,
                    9,    10,   11,   12,   13, 14, 15, 16, 17, 18, 19, 20};
  const Bytes fp = {0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4};
  const Bytes software = {0x80, 0x22, 0x00, 0x04, 'a', 'b', 'c', 'd'};
  const auto parses = [](std::initializer_list<Bytes> parts) {
    Bytes attrs;
    for (const Bytes& p : parts)
      attrs.insert(attrs.end(), p.begin(), p.end());
    const Bytes b = WithAttributes(attrs);
    return StunMessage::Parse(b.data(), b.size()).has_value();
  };
  CHECK(parses({software, mi, fp}));
  CHECK(parses({software, mi}));
  CHECK(parses({software, fp}));
  CHECK_FALSE(parses({mi, software, fp})); // only FINGERPRINT after MESSAGE-INTEGRITY
  CHECK_FALSE(parses({mi, mi}));
  CHECK_FALSE(parses({fp, software})); // FINGERPRINT must be last
  CHECK_FALSE(parses({fp, mi}));
  CHECK_FALSE(parses({mi, fp, fp}));
}

TEST_CASE("STUN: unknown attributes", "[stun]") {
  // Optional (>= 0x8000) ones are skipped; required ones are remembered.
  Bytes b = WithAttributes({0xC0, 0x57, 0x00, 0x04, 0,    1,    0, 2,   // GOOG-NETWORK-INFO
                            0x00, 0x77, 0x00, 0x00,                     // unknown, required
                            0x00, 0x24, 0x00, 0x04, 0,    0,    0, 7,   // PRIORITY
                            0x00, 0x78, 0x00, 0x02, 0xAA, 0xBB, 0, 0}); // unknown, required
  StunMessage msg = MustParse(b);
  CHECK(msg.HasUnknownRequired());
  REQUIRE(msg.UnknownRequiredCount() == 2);
  CHECK(msg.UnknownRequired(0) == 0x0077);
  CHECK(msg.UnknownRequired(1) == 0x0078);
  CHECK(msg.Priority() == std::optional<uint32_t>(7));

  // More than kMaxUnknown: the first ones are kept.
  Bytes attrs;
  for (uint8_t t = 0x70; t < 0x70 + 10; ++t)
    attrs.insert(attrs.end(), {0x00, t, 0x00, 0x00});
  b = WithAttributes(attrs);
  msg = MustParse(b);
  CHECK(msg.HasUnknownRequired());
  CHECK(msg.UnknownRequiredCount() == StunMessage::kMaxUnknown);
  CHECK(msg.UnknownRequired(3) == 0x0073);

  // A repeated attribute: the first one counts.
  b = WithAttributes({0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1, 0x00, 0x24, 0x00, 0x04, 0, 0, 0, 2});
  CHECK(MustParse(b).Priority() == std::optional<uint32_t>(1));
}

TEST_CASE("STUN: usernames", "[stun]") {
  const auto user = [](const std::string& u) {
    Bytes attrs = {0x00, 0x06, 0x00, static_cast<uint8_t>(u.size())};
    attrs.insert(attrs.end(), u.begin(), u.end());
    while (attrs.size() % 4)
      attrs.push_back(0);
    return WithAttributes(attrs);
  };
  Bytes b = user("abc");
  StunMessage msg = MustParse(b);
  CHECK(msg.LocalUfrag() == "abc");
  CHECK(msg.RemoteUfrag().empty());
  b = user("a:b:c");
  msg = MustParse(b);
  CHECK(msg.LocalUfrag() == "a");
  CHECK(msg.RemoteUfrag() == "b:c");
  b = user(":x");
  msg = MustParse(b);
  CHECK(msg.LocalUfrag().empty());
  CHECK(msg.RemoteUfrag() == "x");
  b = kHeaderOnly;
  msg = MustParse(b);
  CHECK(msg.Username().empty());
  CHECK(msg.LocalUfrag().empty());
}

TEST_CASE("STUN: CRC-32 and HMAC-SHA1 primitives", "[stun][crypto]") {
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK(StunCrc32(check, sizeof(check)) == 0xCBF43926u); // the CRC-32 check value
  CHECK(StunCrc32(nullptr, 0) == 0);

  // Our allocation-free HMAC against OpenSSL's, keys around the block size.
  uint8_t data[300];
  for (size_t i = 0; i < sizeof(data); ++i)
    data[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t keyLen : {0, 1, 22, 63, 64, 65, 128, 256}) {
    const std::string key(keyLen, 'k');
    for (size_t split : {0, 1, 20, 150, 300}) {
      uint8_t ours[20];
      StunHmacSha1(key, data, split, data + split, sizeof(data) - split, ours);
      uint8_t theirs[20];
      unsigned int theirsLen = 0;
      HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), data, sizeof(data), theirs,
           &theirsLen);
      REQUIRE(theirsLen == 20);
      INFO("key " << keyLen << " split " << split);
      CHECK(std::memcmp(ours, theirs, 20) == 0);
    }
  }
}

TEST_CASE("STUN: writer failures are sticky", "[stun][writer]") {
  uint8_t out[40];
  StunWriter w(out, sizeof(out));
  CHECK_FALSE(w.AddUint32(stun_attr::kPriority, 1)); // before Begin
  CHECK(w.Size() == 0);
  StunWriter w2(out, sizeof(out));
  REQUIRE(w2.Begin(kStunMethodBinding, StunClass::Request, kVectorTxId));
  CHECK(w2.AddUint32(stun_attr::kPriority, 1)); // 28
  CHECK(w2.AddUint32(stun_attr::kPriority, 2)); // 36
  CHECK_FALSE(w2.AddUint32(stun_attr::kPriority, 3));
  CHECK(w2.Size() == 0);
  CHECK_FALSE(w2.AddFlag(stun_attr::kUseCandidate)); // would fit, but the writer failed
  CHECK(w2.Size() == 0);
}
