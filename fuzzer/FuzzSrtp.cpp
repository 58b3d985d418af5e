// libFuzzer target for SrtpSession (RFC 3711 / RFC 7714 on OpenSSL).
//
// Input: byte 0 picks the suite (bits 0-1) and the way the rest is used:
//  - bit 2 clear: the rest is an SRTP and an SRTCP packet from the wire,
//    unprotected by long-lived inbound sessions keyed with a fixed key; the
//    result must be 0 or shorter than the input, and nothing may read or
//    write outside it (ASan).
//  - bit 2 set: the rest is a plain RTP packet (and an RTCP packet) that a
//    fresh outbound session protects; a fresh inbound session must give the
//    exact plaintext back, and flipping any one byte of the protected packet
//    must make it fail.
// Any mismatch aborts (that is the finding).
#include "sluice/transport/SrtpSession.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

using sluice::transport::SrtpMasterLength;
using sluice::transport::SrtpSession;
using sluice::transport::SrtpSuite;
using Dir = SrtpSession::Direction;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzSrtp: check failed: %s (line %d)\n", #cond, __LINE__);             \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

std::unique_ptr<SrtpSession> Make(Dir dir, SrtpSuite suite) {
  uint8_t key[44];
  for (size_t i = 0; i < sizeof(key); ++i)
    key[i] = static_cast<uint8_t>(0xA0 + i);
  auto s = SrtpSession::Create(dir, suite, key, SrtpMasterLength(suite), nullptr);
  FUZZ_CHECK(s != nullptr);
  return s;
}

void Unprotect(SrtpSuite suite, const uint8_t* data, size_t len) {
  static std::unique_ptr<SrtpSession> sessions[4];
  auto& in = sessions[static_cast<int>(suite)];
  if (!in)
    in = Make(Dir::Inbound, suite);
  std::vector<uint8_t> buf(data, data + len); // exact size: ASan sees any overrun
  FUZZ_CHECK(in->UnprotectRtp(buf.data(), buf.size()) < len || len == 0);
  buf.assign(data, data + len);
  FUZZ_CHECK(in->UnprotectRtcp(buf.data(), buf.size()) < len || len == 0);
}

void RoundTrip(SrtpSuite suite, bool rtcp, const uint8_t* data, size_t len) {
  auto out = Make(Dir::Outbound, suite);
  auto in = Make(Dir::Inbound, suite);
  std::vector<uint8_t> plain(data, data + len);
  if (!plain.empty())
    plain[0] = static_cast<uint8_t>(0x80 | (plain[0] & 0x3F)); // version 2
  std::vector<uint8_t> wire(plain);
  wire.resize(len + SrtpSession::kMaxTrailer);
  const size_t n = rtcp ? out->ProtectRtcp(wire.data(), len, wire.size())
                        : out->ProtectRtp(wire.data(), len, wire.size());
  if (n == 0)
    return; // too short or a header that does not fit: counted, nothing else
  FUZZ_CHECK(n > len && n <= len + SrtpSession::kMaxTrailer);
  wire.resize(n);
  for (size_t at = 0; at < n; at += 1 + n / 16) {
    std::vector<uint8_t> bad(wire);
    bad[at] ^= 0x20;
    FUZZ_CHECK((rtcp ? in->UnprotectRtcp(bad.data(), n) : in->UnprotectRtp(bad.data(), n)) == 0);
  }
  const size_t m = rtcp ? in->UnprotectRtcp(wire.data(), n) : in->UnprotectRtp(wire.data(), n);
  FUZZ_CHECK(m == len);
  FUZZ_CHECK(std::memcmp(wire.data(), plain.data(), len) == 0);
  FUZZ_CHECK((rtcp ? in->UnprotectRtcp(wire.data(), n) : in->UnprotectRtp(wire.data(), n)) == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096)
    return 0;
  const auto suite = static_cast<SrtpSuite>(data[0] & 3);
  if (data[0] & 4) {
    RoundTrip(suite, false, data + 1, size - 1);
    RoundTrip(suite, true, data + 1, size - 1);
  } else {
    Unprotect(suite, data + 1, size - 1);
  }
  return 0;
}
