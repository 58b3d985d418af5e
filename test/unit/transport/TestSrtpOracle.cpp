// SrtpSession against libsrtp2 (the Debian package), which stays only as a
// test oracle: for every suite, RTP and RTCP, our protect output must equal
// libsrtp's byte for byte, each side must accept the other's packets, and
// both must reject the same replays, tampering and truncations.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <srtp.h>

#include "sluice/transport/SrtpSession.hpp"

using sluice::transport::SrtpMasterLength;
using sluice::transport::SrtpSession;
using sluice::transport::SrtpSuite;
using sluice::transport::SrtpSuiteName;
using Dir = SrtpSession::Direction;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr SrtpSuite kAllSuites[] = {SrtpSuite::AeadAes256Gcm, SrtpSuite::AeadAes128Gcm,
                                    SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32};

Bytes MasterKey(SrtpSuite suite, uint8_t seed) {
  Bytes key(SrtpMasterLength(suite));
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(seed * 31 + 11 * i);
  return key;
}

// One libsrtp session configured as the pre-OpenSSL SrtpSession was.
class Oracle {
public:
  Oracle(Dir dir, SrtpSuite suite, Bytes key) {
    static const srtp_err_status_t init = srtp_init();
    REQUIRE(init == srtp_err_status_ok);
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof(policy));
    switch (suite) {
    case SrtpSuite::AeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
    case SrtpSuite::AeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpSuite::AesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpSuite::AesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    }
    policy.ssrc.type = dir == Dir::Outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = key.data();
    policy.allow_repeat_tx = dir == Dir::Outbound ? 1 : 0;
    REQUIRE(srtp_create(&ctx_, &policy) == srtp_err_status_ok);
  }
  ~Oracle() { srtp_dealloc(ctx_); }

  // Empty on failure; the status is kept in `last`.
  Bytes Protect(Bytes p, bool rtcp) {
    int n = static_cast<int>(p.size());
    p.resize(p.size() + SRTP_MAX_TRAILER_LEN);
    last = rtcp ? srtp_protect_rtcp(ctx_, p.data(), &n) : srtp_protect(ctx_, p.data(), &n);
    p.resize(last == srtp_err_status_ok ? static_cast<size_t>(n) : 0);
    return p;
  }
  Bytes Unprotect(Bytes p, bool rtcp) {
    int n = static_cast<int>(p.size());
    last = rtcp ? srtp_unprotect_rtcp(ctx_, p.data(), &n) : srtp_unprotect(ctx_, p.data(), &n);
    p.resize(last == srtp_err_status_ok ? static_cast<size_t>(n) : 0);
    return p;
  }
  srtp_err_status_t last = srtp_err_status_ok;

private:
  srtp_t ctx_ = nullptr;
};

struct Pair {
  SrtpSuite suite;
  Bytes key;
  std::unique_ptr<SrtpSession> out, in;
  Oracle oracleOut, oracleIn;
  explicit Pair(SrtpSuite s, uint8_t seed = 1)
      : suite(s), key(MasterKey(s, seed)),
        out(SrtpSession::Create(Dir::Outbound, s, key.data(), key.size(), nullptr)),
        in(SrtpSession::Create(Dir::Inbound, s, key.data(), key.size(), nullptr)),
        oracleOut(Dir::Outbound, s, key), oracleIn(Dir::Inbound, s, key) {
    REQUIRE(out);
    REQUIRE(in);
  }
};

Bytes Ours(SrtpSession& s, Bytes p, bool rtcp) {
  const size_t len = p.size();
  p.resize(len + SrtpSession::kMaxTrailer);
  const size_t n =
      rtcp ? s.ProtectRtcp(p.data(), len, p.size()) : s.ProtectRtp(p.data(), len, p.size());
  p.resize(n);
  return p;
}
Bytes OursOpen(SrtpSession& s, Bytes p, bool rtcp) {
  const size_t n = rtcp ? s.UnprotectRtcp(p.data(), p.size()) : s.UnprotectRtp(p.data(), p.size());
  p.resize(n);
  return p;
}

// RTP with `variant` 0: plain header; 1: two CSRCs; 2: a one-byte-header
// extension of two words (RFC 8285); payload `payload` bytes.
Bytes Rtp(uint16_t seq, uint32_t ssrc, size_t payload, int variant) {
  Bytes p = {0x80,
             0x60,
             uint8_t(seq >> 8),
             uint8_t(seq),
             0x12,
             0x34,
             0x56,
             0x78,
             uint8_t(ssrc >> 24),
             uint8_t(ssrc >> 16),
             uint8_t(ssrc >> 8),
             uint8_t(ssrc)};
  if (variant == 1) {
    p[0] |= 2;
    p.insert(p.end(), {1, 2, 3, 4, 5, 6, 7, 8});
  } else if (variant == 2) {
    p[0] |= 0x10;
    p.insert(p.end(), {0xBE, 0xDE, 0x00, 0x02, 0x10, 0xAA, 0x21, 0xBB, 0xCC, 0x00, 0x00, 0x00});
  }
  for (size_t i = 0; i < payload; ++i)
    p.push_back(static_cast<uint8_t>(seq * 3 + i));
  return p;
}

// RTCP sender report (RFC 3550 §6.4.1) without report blocks, 28 bytes.
Bytes Rtcp(uint32_t ssrc, uint8_t fill) {
  Bytes p = {
      0x80,         200, 0x00, 0x06, uint8_t(ssrc >> 24), uint8_t(ssrc >> 16), uint8_t(ssrc >> 8),
      uint8_t(ssrc)};
  for (uint8_t i = 0; i < 20; ++i)
    p.push_back(static_cast<uint8_t>(fill + i));
  return p;
}

} // namespace

TEST_CASE(
    "SrtpOracle: byte-identical to libsrtp across the ROC wrap, both directions interoperate") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    Pair p(s);
    for (uint32_t ssrc : {0x01020304u, 0xFFFFFFFFu}) {
      uint16_t seq = 65530;
      for (int i = 0; i < 300; ++i, ++seq) {
        CAPTURE(seq);
        const Bytes plain = Rtp(seq, ssrc, static_cast<size_t>(i % 53), i % 3);
        const Bytes ours = Ours(*p.out, plain, false);
        const Bytes theirs = p.oracleOut.Protect(plain, false);
        REQUIRE_FALSE(ours.empty());
        REQUIRE(ours == theirs);
        // Loss across the wrap: the receivers skip every 7th packet.
        if (i % 7 != 3) {
          REQUIRE(OursOpen(*p.in, theirs, false) == plain);
          REQUIRE(p.oracleIn.Unprotect(ours, false) == plain);
        }
        if (i % 10 == 9) {
          // A NACK resent without RTX: the same index protected again.
          const Bytes again = Rtp(static_cast<uint16_t>(seq - 5), ssrc, 20, 0);
          REQUIRE(Ours(*p.out, again, false) == p.oracleOut.Protect(again, false));
          const Bytes rtcp = Rtcp(ssrc, static_cast<uint8_t>(i));
          const Bytes oursRtcp = Ours(*p.out, rtcp, true);
          REQUIRE_FALSE(oursRtcp.empty());
          REQUIRE(oursRtcp == p.oracleOut.Protect(rtcp, true));
          REQUIRE(OursOpen(*p.in, oursRtcp, true) == rtcp);
          REQUIRE(p.oracleIn.Unprotect(oursRtcp, true) == rtcp);
        }
      }
    }
    const auto& c = p.in->GetCounters();
    CHECK(c.authFailures + c.replayFailures + c.otherFailures + c.ssrcTableFull == 0);
    CHECK(p.in->SsrcCount() == 2);
    CHECK(p.out->SsrcCount() == 2);
  }
}

TEST_CASE("SrtpOracle: replay, tamper and truncation are rejected like libsrtp") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    Pair p(s);
    for (bool rtcp : {false, true}) {
      CAPTURE(rtcp);
      const Bytes plain = rtcp ? Rtcp(0xABCD, 9) : Rtp(40000, 0xABCD, 30, 2);
      const Bytes wire = Ours(*p.out, plain, rtcp);
      REQUIRE(wire == p.oracleOut.Protect(plain, rtcp));

      // Every single-bit flip and every truncation fails on both sides.
      for (size_t at = 0; at < wire.size(); ++at) {
        Bytes bad = wire;
        bad[at] ^= 0x04;
        CAPTURE(at);
        CHECK(OursOpen(*p.in, bad, rtcp).empty());
        CHECK(p.oracleIn.Unprotect(bad, rtcp).empty());
      }
      for (size_t len = 0; len < wire.size(); ++len) {
        Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(len));
        CHECK(OursOpen(*p.in, cut, rtcp).empty());
        CHECK(p.oracleIn.Unprotect(cut, rtcp).empty());
      }
      const uint64_t authBefore = p.in->GetCounters().authFailures;
      CHECK(authBefore > 0);
      // The genuine packet still passes once, then is a replay for both.
      CHECK(OursOpen(*p.in, wire, rtcp) == plain);
      CHECK(p.oracleIn.Unprotect(wire, rtcp) == plain);
      CHECK(OursOpen(*p.in, wire, rtcp).empty());
      CHECK(p.oracleIn.Unprotect(wire, rtcp).empty());
      CHECK(p.oracleIn.last == srtp_err_status_replay_fail);
    }
    CHECK(p.in->GetCounters().replayFailures == 2);
    CHECK(p.in->GetCounters().ssrcTableFull == 0);
    // Failed packets took no table entry: only the one genuine SSRC is known.
    CHECK(p.in->SsrcCount() == 1);
  }
}

TEST_CASE("SrtpOracle: a full SSRC table refuses new SSRCs and counts them") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    Pair p(s);
    for (uint32_t ssrc = 1; ssrc <= SrtpSession::kMaxInboundSsrcs; ++ssrc)
      REQUIRE_FALSE(
          OursOpen(*p.in, p.oracleOut.Protect(Rtp(1, ssrc, 10, 0), false), false).empty());
    const uint32_t extra = 1000;
    CHECK(OursOpen(*p.in, p.oracleOut.Protect(Rtp(1, extra, 10, 0), false), false).empty());
    CHECK(OursOpen(*p.in, p.oracleOut.Protect(Rtcp(extra, 1), true), true).empty());
    CHECK(p.in->GetCounters().ssrcTableFull == 2);
    // Garbage from an unknown SSRC fails authentication, not the table.
    Bytes junk = Rtp(1, 2000, 30, 0);
    CHECK(OursOpen(*p.in, junk, false).empty());
    CHECK(p.in->GetCounters().authFailures == 1);
    CHECK(p.in->GetCounters().ssrcTableFull == 2);
    // Known SSRCs keep working.
    CHECK_FALSE(OursOpen(*p.in, p.oracleOut.Protect(Rtp(2, 5, 10, 0), false), false).empty());

    for (uint32_t ssrc = 1; ssrc <= SrtpSession::kMaxOutboundSsrcs; ++ssrc)
      REQUIRE_FALSE(Ours(*p.out, Rtp(1, ssrc, 10, 0), false).empty());
    CHECK(Ours(*p.out, Rtp(1, extra, 10, 0), false).empty());
    CHECK(Ours(*p.out, Rtcp(extra, 1), true).empty());
    CHECK(p.out->GetCounters().ssrcTableFull == 2);
    CHECK_FALSE(Ours(*p.out, Rtcp(7, 1), true).empty());
  }
}

TEST_CASE("SrtpOracle: SRTCP without encryption (E = 0) from libsrtp is accepted") {
  // libsrtp sends E = 0 when the RTCP policy has no confidentiality
  // (RFC 3711 §3.4); build such a sender and check we authenticate it.
  for (SrtpSuite s : {SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AeadAes128Gcm}) {
    CAPTURE(SrtpSuiteName(s));
    Bytes key = MasterKey(s, 4);
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof(policy));
    if (s == SrtpSuite::AeadAes128Gcm) {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    }
    policy.rtcp.sec_serv = sec_serv_auth;
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = key.data();
    srtp_t ctx = nullptr;
    REQUIRE(srtp_create(&ctx, &policy) == srtp_err_status_ok);
    Bytes plain = Rtcp(77, 3);
    Bytes wire = plain;
    wire.resize(plain.size() + SRTP_MAX_TRAILER_LEN);
    int n = static_cast<int>(plain.size());
    const srtp_err_status_t status = srtp_protect_rtcp(ctx, wire.data(), &n);
    srtp_dealloc(ctx);
    if (status != srtp_err_status_ok) {
      WARN("libsrtp refused an auth-only RTCP policy for this suite; skipped");
      continue;
    }
    wire.resize(static_cast<size_t>(n));
    auto in = SrtpSession::Create(Dir::Inbound, s, key.data(), key.size(), nullptr);
    CHECK(OursOpen(*in, wire, true) == plain);
  }
}
