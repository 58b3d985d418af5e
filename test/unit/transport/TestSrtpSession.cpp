#include <catch2/catch.hpp>

#include <malloc.h>

#include <cstring>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "sluice/transport/SrtpSession.hpp"

using sluice::transport::SrtpMasterLength;
using sluice::transport::SrtpSession;
using sluice::transport::SrtpSuite;
using sluice::transport::SrtpSuiteFromName;
using sluice::transport::SrtpSuiteName;
using Dir = SrtpSession::Direction;

namespace {

constexpr SrtpSuite kAllSuites[] = {SrtpSuite::AeadAes256Gcm, SrtpSuite::AeadAes128Gcm,
                                    SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32};

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::vector<uint8_t> MasterKey(SrtpSuite suite, uint8_t seed) {
  std::vector<uint8_t> key(SrtpMasterLength(suite));
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(seed + 7 * i);
  return key;
}

std::unique_ptr<SrtpSession> Make(Dir dir, SrtpSuite suite, uint8_t seed = 1) {
  const auto key = MasterKey(suite, seed);
  std::string error;
  auto s = SrtpSession::Create(dir, suite, key.data(), key.size(), &error);
  INFO(error);
  REQUIRE(s);
  return s;
}

// RTP: V=2, PT 96, seq, ts, ssrc, then `payload` bytes counting up.
std::vector<uint8_t> Rtp(uint16_t seq, uint32_t ssrc, size_t payload = 40) {
  std::vector<uint8_t> p = {0x80,
                            96,
                            uint8_t(seq >> 8),
                            uint8_t(seq),
                            0x00,
                            0x01,
                            0x02,
                            0x03,
                            uint8_t(ssrc >> 24),
                            uint8_t(ssrc >> 16),
                            uint8_t(ssrc >> 8),
                            uint8_t(ssrc)};
  for (size_t i = 0; i < payload; ++i)
    p.push_back(static_cast<uint8_t>(seq + i));
  return p;
}

// RTCP receiver report with one report block (RFC 3550 §6.4.2), 32 bytes.
std::vector<uint8_t> Rtcp(uint32_t ssrc) {
  std::vector<uint8_t> p = {
      0x81,         201, 0x00, 0x07, uint8_t(ssrc >> 24), uint8_t(ssrc >> 16), uint8_t(ssrc >> 8),
      uint8_t(ssrc)};
  for (uint8_t i = 0; i < 24; ++i)
    p.push_back(i);
  return p;
}

size_t RtpTag(SrtpSuite s) {
  return s == SrtpSuite::AesCm128HmacSha1_80 ? 10 : s == SrtpSuite::AesCm128HmacSha1_32 ? 4 : 16;
}
size_t RtcpTrailer(SrtpSuite s) {
  return (s == SrtpSuite::AeadAes256Gcm || s == SrtpSuite::AeadAes128Gcm ? 16 : 10) + 4;
}

// Protects `plain` into a fresh buffer with kMaxTrailer of room.
std::vector<uint8_t> Protect(SrtpSession& out, const std::vector<uint8_t>& plain, bool rtcp) {
  std::vector<uint8_t> buf(plain.size() + SrtpSession::kMaxTrailer, 0xEE);
  std::memcpy(buf.data(), plain.data(), plain.size());
  const size_t n = rtcp ? out.ProtectRtcp(buf.data(), plain.size(), buf.size())
                        : out.ProtectRtp(buf.data(), plain.size(), buf.size());
  buf.resize(n);
  return buf;
}

std::vector<uint8_t> Unprotect(SrtpSession& in, std::vector<uint8_t> packet, bool rtcp) {
  const size_t n = rtcp ? in.UnprotectRtcp(packet.data(), packet.size())
                        : in.UnprotectRtp(packet.data(), packet.size());
  packet.resize(n);
  return packet;
}

// AES-128-CTR keystream XORed into data (RFC 3711 §4.1.1 counter mode).
void AesCtr(const uint8_t key[16], const uint8_t iv[16], uint8_t* data, size_t len) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int outLen = 0;
  REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key, iv) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx, data, &outLen, data, static_cast<int>(len)) == 1);
  EVP_CIPHER_CTX_free(ctx);
}

// RFC 3711 §4.3.1/§4.3.3 key derivation with key_derivation_rate 0:
// x = (label << 48) XOR master_salt, keystream AES-CM(master_key, x * 2^16).
std::vector<uint8_t> Derive(const std::vector<uint8_t>& masterKey,
                            const std::vector<uint8_t>& masterSalt, uint8_t label, size_t n) {
  uint8_t iv[16] = {};
  std::memcpy(iv, masterSalt.data(), 14);
  iv[7] ^= label; // label sits 48 bits above the low end of the 112-bit x
  std::vector<uint8_t> out(n, 0);
  AesCtr(masterKey.data(), iv, out.data(), n);
  return out;
}

} // namespace

TEST_CASE("SrtpSession: suite names and master lengths") {
  CHECK(SrtpMasterLength(SrtpSuite::AeadAes256Gcm) == 44);
  CHECK(SrtpMasterLength(SrtpSuite::AeadAes128Gcm) == 28);
  CHECK(SrtpMasterLength(SrtpSuite::AesCm128HmacSha1_80) == 30);
  CHECK(SrtpMasterLength(SrtpSuite::AesCm128HmacSha1_32) == 30);
  for (SrtpSuite s : kAllSuites)
    CHECK(SrtpSuiteFromName(SrtpSuiteName(s)) == s);
  CHECK(std::string(SrtpSuiteName(SrtpSuite::AesCm128HmacSha1_80)) == "AES_CM_128_HMAC_SHA1_80");
  CHECK(std::string(SrtpSuiteName(SrtpSuite::AeadAes256Gcm)) == "AEAD_AES_256_GCM");
  CHECK_FALSE(SrtpSuiteFromName("aes_cm_128_hmac_sha1_80"));
  CHECK_FALSE(SrtpSuiteFromName(""));
  CHECK(static_cast<int>(SrtpSuite::AesCm128HmacSha1_32) == 3);
}

TEST_CASE("SrtpSession: wrong key length or null key is an error, not a session") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    const auto key = MasterKey(s, 3);
    std::string error;
    CHECK_FALSE(SrtpSession::Create(Dir::Outbound, s, key.data(), key.size() - 1, &error));
    CHECK(error == "invalid key length");
    std::vector<uint8_t> longer(key.size() + 1, 1);
    error.clear();
    CHECK_FALSE(SrtpSession::Create(Dir::Inbound, s, longer.data(), longer.size(), &error));
    CHECK(error == "invalid key length");
    error.clear();
    CHECK_FALSE(SrtpSession::Create(Dir::Inbound, s, nullptr, key.size(), &error));
    CHECK(error == "invalid key length");
  }
  std::string error;
  const auto key = MasterKey(SrtpSuite::AesCm128HmacSha1_80, 1);
  CHECK_FALSE(
      SrtpSession::Create(Dir::Inbound, static_cast<SrtpSuite>(9), key.data(), key.size(), &error));
  CHECK(error == "unknown crypto suite");
}

TEST_CASE("SrtpSession: RTP and RTCP round trip for every suite, several SSRCs") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    auto a = Make(Dir::Outbound, s);
    auto b = Make(Dir::Inbound, s);
    for (uint32_t ssrc : {0x11111111u, 0xCAFEBABEu, 0u}) {
      for (uint16_t seq = 100; seq < 110; ++seq) {
        const auto plain = Rtp(seq, ssrc);
        const auto wire = Protect(*a, plain, false);
        REQUIRE(wire.size() == plain.size() + RtpTag(s));
        // Header in the clear, payload encrypted (RFC 3711 §3.1).
        CHECK(std::equal(plain.begin(), plain.begin() + 12, wire.begin()));
        CHECK_FALSE(std::equal(plain.begin() + 12, plain.end(), wire.begin() + 12));
        CHECK(Unprotect(*b, wire, false) == plain);
      }
      const auto plain = Rtcp(ssrc);
      const auto wire = Protect(*a, plain, true);
      REQUIRE(wire.size() == plain.size() + RtcpTrailer(s));
      CHECK(std::equal(plain.begin(), plain.begin() + 8, wire.begin()));
      // E=1 || SRTCP index 1: before the tag for AES-CM (RFC 3711 §3.4), after
      // it for AEAD (RFC 7714 §9.1).
      const size_t at = wire.size() - (RtcpTrailer(s) == 20 ? 4 : RtcpTrailer(s));
      CHECK(std::vector<uint8_t>(wire.begin() + at, wire.begin() + at + 4) ==
            std::vector<uint8_t>{0x80, 0, 0, 1});
      CHECK(Unprotect(*b, wire, true) == plain);
    }
    CHECK(a->GetCounters().protectedRtp == 30);
    CHECK(a->GetCounters().protectedRtcp == 3);
    CHECK(b->GetCounters().unprotectedRtp == 30);
    CHECK(b->GetCounters().unprotectedRtcp == 3);
    CHECK(b->GetCounters().authFailures == 0);
    CHECK(b->GetCounters().otherFailures == 0);
  }
}

TEST_CASE("SrtpSession: a tampered byte fails authentication and is counted") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    auto a = Make(Dir::Outbound, s);
    auto b = Make(Dir::Inbound, s);
    auto rtp = Protect(*a, Rtp(1, 0x1234), false);
    auto rtcp = Protect(*a, Rtcp(0x1234), true);
    for (size_t at : {size_t(2), size_t(20), rtp.size() - 1}) {
      auto bad = rtp;
      bad[at] ^= 0x01;
      CHECK(b->UnprotectRtp(bad.data(), bad.size()) == 0);
    }
    auto badRtcp = rtcp;
    badRtcp[12] ^= 0x80;
    CHECK(b->UnprotectRtcp(badRtcp.data(), badRtcp.size()) == 0);
    CHECK(b->GetCounters().authFailures == 4);
    // A different key fails authentication as well.
    auto other = Make(Dir::Inbound, s, 2);
    auto copy = rtp;
    CHECK(other->UnprotectRtp(copy.data(), copy.size()) == 0);
    CHECK(other->GetCounters().authFailures == 1);
    // The genuine packets still pass afterwards.
    CHECK(Unprotect(*b, rtp, false) == Rtp(1, 0x1234));
    CHECK(Unprotect(*b, rtcp, true) == Rtcp(0x1234));
    CHECK(b->GetCounters().unprotectedRtp == 1);
  }
}

TEST_CASE("SrtpSession: a replayed packet fails the replay check and is counted") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    auto a = Make(Dir::Outbound, s);
    auto b = Make(Dir::Inbound, s);
    const auto wire = Protect(*a, Rtp(500, 0xAB), false);
    const auto wireRtcp = Protect(*a, Rtcp(0xAB), true);
    CHECK(Unprotect(*b, wire, false).size() == Rtp(500, 0xAB).size());
    CHECK(Unprotect(*b, wire, false).empty());
    CHECK(Unprotect(*b, wireRtcp, true).size() == Rtcp(0xAB).size());
    CHECK(Unprotect(*b, wireRtcp, true).empty());
    CHECK(b->GetCounters().replayFailures == 2);
    // Far behind the 128-packet window: "too old", also a replay failure.
    const auto old = Protect(*a, Rtp(501, 0xAB), false);
    for (uint16_t seq = 502; seq < 800; ++seq)
      REQUIRE_FALSE(Unprotect(*b, Protect(*a, Rtp(seq, 0xAB), false), false).empty());
    CHECK(Unprotect(*b, old, false).empty());
    CHECK(b->GetCounters().replayFailures == 3);
    CHECK(b->GetCounters().authFailures == 0);
  }
}

TEST_CASE("SrtpSession: outbound may protect the same seq again (plain NACK resend)") {
  auto a = Make(Dir::Outbound, SrtpSuite::AesCm128HmacSha1_80);
  auto b = Make(Dir::Inbound, SrtpSuite::AesCm128HmacSha1_80);
  const auto first = Protect(*a, Rtp(7, 1), false);
  Protect(*a, Rtp(8, 1), false);
  const auto again = Protect(*a, Rtp(7, 1), false);
  CHECK(again == first);
  CHECK(a->GetCounters().otherFailures == 0);
  CHECK(Unprotect(*b, again, false) == Rtp(7, 1));
}

TEST_CASE("SrtpSession: seq wrap 65535 -> 0 advances the rollover counter (RFC 3711 §3.3.1)") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    auto a = Make(Dir::Outbound, s);
    auto b = Make(Dir::Inbound, s);
    std::vector<uint8_t> afterWrap;
    uint16_t seq = 65530;
    for (int i = 0; i < 12; ++i, ++seq) {
      const auto plain = Rtp(seq, 0x5EED);
      const auto wire = Protect(*a, plain, false);
      REQUIRE(Unprotect(*b, wire, false) == plain);
      if (seq == 3)
        afterWrap = wire;
    }
    CHECK(b->GetCounters().unprotectedRtp == 12);
    // A receiver that never saw the wrap guesses ROC 0 for seq 3, so the
    // packet (sent with ROC 1) does not authenticate: the ROC really is in it.
    auto fresh = Make(Dir::Inbound, s);
    CHECK(Unprotect(*fresh, afterWrap, false).empty());
    CHECK(fresh->GetCounters().authFailures == 1);
  }
}

TEST_CASE("SrtpSession: known answer, AES_CM_128_HMAC_SHA1_80, RFC 3711 B.3 master key") {
  // Master key and salt of RFC 3711 Appendix B.3; packets and expected output
  // are libsrtp's srtp_driver validation vectors.
  const auto masterKey = Hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const auto masterSalt = Hex("0EC675AD498AFEEBB6960B3AABE6");

  // Independent check that these vectors follow RFC 3711: derive the session
  // keys ourselves (B.3 values) and rebuild the SRTP packet with OpenSSL.
  const auto cipherKey = Derive(masterKey, masterSalt, 0x00, 16);
  const auto authKey = Derive(masterKey, masterSalt, 0x01, 20);
  const auto cipherSalt = Derive(masterKey, masterSalt, 0x02, 14);
  CHECK(cipherKey == Hex("C61E7A93744F39EE10734AFE3FF7A087"));
  CHECK(cipherSalt == Hex("30CBBC08863D8C85D49DB34A9AE1"));
  CHECK(authKey == Hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));

  const auto plain = Hex("800f1234decafbadcafebabe"
                         "abababababababababababababababab");
  const auto expected = Hex("800f1234decafbadcafebabe"
                            "4e55dc4ce79978d88ca4d215949d2402"
                            "b78d6acc99ea179b8dbb");
  {
    // IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i = ROC || SEQ (§4.1.1).
    uint8_t iv[16] = {};
    std::memcpy(iv, cipherSalt.data(), 14);
    const uint8_t ssrc[4] = {0xca, 0xfe, 0xba, 0xbe};
    for (int k = 0; k < 4; ++k)
      iv[4 + k] ^= ssrc[k];
    iv[12] ^= 0x12; // seq 0x1234, ROC 0
    iv[13] ^= 0x34;
    auto manual = plain;
    AesCtr(cipherKey.data(), iv, manual.data() + 12, manual.size() - 12);
    // Tag: HMAC-SHA1 over the packet || ROC, truncated to 80 bits (§4.2).
    auto authed = manual;
    authed.insert(authed.end(), {0, 0, 0, 0});
    uint8_t mac[20];
    size_t macLen = 0;
    REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, authKey.data(), authKey.size(),
                      authed.data(), authed.size(), mac, sizeof(mac), &macLen));
    manual.insert(manual.end(), mac, mac + 10);
    CHECK(manual == expected);
  }

  auto key = masterKey;
  key.insert(key.end(), masterSalt.begin(), masterSalt.end());
  std::string error;
  auto out = SrtpSession::Create(Dir::Outbound, SrtpSuite::AesCm128HmacSha1_80, key.data(),
                                 key.size(), &error);
  auto in = SrtpSession::Create(Dir::Inbound, SrtpSuite::AesCm128HmacSha1_80, key.data(),
                                key.size(), &error);
  REQUIRE(out);
  REQUIRE(in);
  CHECK(Protect(*out, plain, false) == expected);
  CHECK(Unprotect(*in, expected, false) == plain);

  // SRTCP: sender report header, encrypted body, E=1 || index 1, 80-bit tag.
  const auto rtcpPlain = Hex("81c8000bcafebabe"
                             "abababababababababababababababab");
  const auto rtcpExpected = Hex("81c8000bcafebabe"
                                "7128035be487b9bdbef89041f977a5a8"
                                "80000001"
                                "993e08cd54d6c1230798");
  CHECK(Protect(*out, rtcpPlain, true) == rtcpExpected);
  CHECK(Unprotect(*in, rtcpExpected, true) == rtcpPlain);
  // Every truncation of the valid packet is rejected.
  for (size_t len = 0; len < expected.size(); ++len) {
    auto cut = std::vector<uint8_t>(expected.begin(), expected.begin() + len);
    CHECK(in->UnprotectRtp(cut.data(), cut.size()) == 0);
  }
  for (size_t len = 0; len < rtcpExpected.size(); ++len) {
    auto cut = std::vector<uint8_t>(rtcpExpected.begin(), rtcpExpected.begin() + len);
    CHECK(in->UnprotectRtcp(cut.data(), cut.size()) == 0);
  }
}

TEST_CASE("SrtpSession: short, garbage and misdirected input fail safely and are counted") {
  for (SrtpSuite s : kAllSuites) {
    CAPTURE(SrtpSuiteName(s));
    auto a = Make(Dir::Outbound, s);
    auto b = Make(Dir::Inbound, s);
    uint32_t x = 0x12345678;
    uint64_t failures = 0;
    for (size_t len = 0; len <= 96; ++len) {
      std::vector<uint8_t> junk(len + 1);
      for (auto& v : junk) {
        x = x * 1103515245u + 12345u;
        v = static_cast<uint8_t>(x >> 24);
      }
      if (len > 0)
        junk[0] = 0x80 | (junk[0] & 0x3F); // looks like version 2
      auto copy = junk;
      CHECK(b->UnprotectRtp(copy.data(), len) == 0);
      copy = junk;
      CHECK(b->UnprotectRtcp(copy.data(), len) == 0);
      failures += 2;
    }
    const auto& c = b->GetCounters();
    CHECK(c.authFailures + c.replayFailures + c.otherFailures == failures);
    CHECK(c.unprotectedRtp + c.unprotectedRtcp == 0);

    // Protect without room for the trailer, too short, or on an inbound session.
    auto plain = Rtp(1, 1);
    CHECK(a->ProtectRtp(plain.data(), plain.size(), plain.size() + 3) == 0);
    CHECK(a->ProtectRtp(plain.data(), 11, 100) == 0);
    CHECK(a->ProtectRtcp(plain.data(), 7, 100) == 0);
    plain.resize(plain.size() + SrtpSession::kMaxTrailer);
    CHECK(b->ProtectRtp(plain.data(), 52, plain.size()) == 0);
    CHECK(a->UnprotectRtp(plain.data(), 52) == 0);
    CHECK(a->GetCounters().otherFailures == 4);
    CHECK(a->GetCounters().protectedRtp == 0);
  }
}

TEST_CASE("SrtpSession: memory held per session (mallinfo2)") {
  for (SrtpSuite s : kAllSuites) {
    for (Dir dir : {Dir::Inbound, Dir::Outbound}) {
      CAPTURE(SrtpSuiteName(s), dir == Dir::Inbound);
      constexpr int kSessions = 20;
      std::vector<std::unique_ptr<SrtpSession>> sessions;
      sessions.reserve(kSessions);
      const auto key = MasterKey(s, 5);
      // The first session of a suite also fetches its OpenSSL ciphers (kept
      // for the process): not per session.
      SrtpSession::Create(dir, s, key.data(), key.size(), nullptr);
      const size_t before = mallinfo2().uordblks;
      for (int i = 0; i < kSessions; ++i)
        sessions.push_back(SrtpSession::Create(dir, s, key.data(), key.size(), nullptr));
      const size_t perSession = (mallinfo2().uordblks - before) / kSessions;
      const size_t own = sessions[0]->MemoryBytes();
      // Table capacity fixed at creation: 4 + entry bytes per SSRC.
      CHECK(own < (dir == Dir::Inbound ? 2400u : 5800u));
      if (perSession == 0)
        continue; // mallinfo2 sees no heap under valgrind: nothing to measure
      // The rest is OpenSSL's: two cipher contexts with their key schedules.
      CHECK(perSession > own);
      CHECK(perSession - own < 2500u);
      WARN(SrtpSuiteName(s) << (dir == Dir::Inbound ? " inbound " : " outbound ") << perSession
                            << " B per session, of which " << own << " B object + SSRC table, "
                            << perSession - own << " B OpenSSL");
    }
  }
}
