// Proves SRTP/SRTCP protect and unprotect make no allocator call once an
// SSRC is known, for every suite: no operator new (AllocCounter.cpp) and no
// OpenSSL CRYPTO_malloc (CryptoAllocCounter.cpp: counting memory functions installed before
// anything in the process touches OpenSSL).
#include "AllocCounter.hpp"
#include "CryptoAllocCounter.hpp"
#include "sluice/transport/SrtpSession.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using sluice::transport::SrtpMasterLength;
using sluice::transport::SrtpSession;
using sluice::transport::SrtpSuite;
using sluice::transport::SrtpSuiteName;
using Dir = SrtpSession::Direction;

namespace {

void Rtp(uint8_t* p, uint16_t seq, uint32_t ssrc) {
  const uint8_t hdr[12] = {0x80,
                           0x60,
                           uint8_t(seq >> 8),
                           uint8_t(seq),
                           0,
                           0,
                           0,
                           1,
                           uint8_t(ssrc >> 24),
                           uint8_t(ssrc >> 16),
                           uint8_t(ssrc >> 8),
                           uint8_t(ssrc)};
  std::memcpy(p, hdr, sizeof(hdr));
  std::memset(p + sizeof(hdr), 0x5A, 1000);
}

} // namespace

TEST_CASE("SrtpSession: protect and unprotect allocate nothing after the first packet per SSRC",
          "[srtp][alloc]") {
  REQUIRE(sluice::test::CryptoAllocCounterInstalled());
  for (SrtpSuite s : {SrtpSuite::AeadAes256Gcm, SrtpSuite::AeadAes128Gcm,
                      SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32}) {
    CAPTURE(SrtpSuiteName(s));
    std::vector<uint8_t> key(SrtpMasterLength(s), 0x42);
    auto out = SrtpSession::Create(Dir::Outbound, s, key.data(), key.size(), nullptr);
    auto in = SrtpSession::Create(Dir::Inbound, s, key.data(), key.size(), nullptr);
    REQUIRE(out);
    REQUIRE(in);
    uint8_t buf[1100 + SrtpSession::kMaxTrailer];
    const uint8_t rtcp[28] = {0x80, 200, 0, 6, 0, 0, 0, 7};
    // Warm-up: the first packet of each SSRC, both kinds.
    for (uint32_t ssrc : {7u, 8u}) {
      Rtp(buf, 1, ssrc);
      const size_t n = out->ProtectRtp(buf, 1012, sizeof(buf));
      REQUIRE(in->UnprotectRtp(buf, n) == 1012);
      std::memcpy(buf, rtcp, sizeof(rtcp));
      buf[7] = static_cast<uint8_t>(ssrc);
      const size_t m = out->ProtectRtcp(buf, sizeof(rtcp), sizeof(buf));
      REQUIRE(in->UnprotectRtcp(buf, m) == sizeof(rtcp));
    }

    const uint64_t cryptoBefore = sluice::test::CryptoAllocCalls();
    sluice::test::AllocScope scope;
    size_t ok = 0;
    for (uint16_t seq = 2; seq < 1002; ++seq) {
      const uint32_t ssrc = seq % 2 ? 7u : 8u;
      Rtp(buf, seq, ssrc);
      const size_t n = out->ProtectRtp(buf, 1012, sizeof(buf));
      ok += in->UnprotectRtp(buf, n) == 1012;
      const auto scratch = out->ProtectRtpToScratch(buf, 12, buf + 12, 1000);
      ok += scratch.len == n;
      std::memcpy(buf, rtcp, sizeof(rtcp));
      buf[7] = static_cast<uint8_t>(ssrc);
      const size_t m = out->ProtectRtcp(buf, sizeof(rtcp), sizeof(buf));
      ok += in->UnprotectRtcp(buf, m) == sizeof(rtcp);
      // Failures allocate nothing either.
      buf[20] ^= 1;
      ok += in->UnprotectRtcp(buf, m) == 0;
    }
    CHECK(scope.Count() == 0);
    CHECK(sluice::test::CryptoAllocCalls() - cryptoBefore == 0);
    CHECK(ok == 4000);
  }
}
