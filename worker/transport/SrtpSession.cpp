#include "sluice/transport/SrtpSession.hpp"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sluice/store/PacketPool.hpp"

namespace sluice::transport {

namespace {

constexpr size_t kRtpHeaderLen = 12;    // RFC 3550 §5.1 fixed header
constexpr size_t kRtcpHeaderLen = 8;    // RFC 3550 §6.4.1 header + SSRC of sender
constexpr size_t kMaxPacketLen = 65535; // UDP payload; keeps every length an int
constexpr size_t kSrtcpIndexLen = 4;    // E || SRTCP index, RFC 3711 §3.4
constexpr size_t kRtcpHmacTagLen = 10;  // SRTCP always HMAC-SHA1-80, RFC 3711 §5.2
constexpr size_t kGcmTagLen = 16;       // RFC 7714 §14
constexpr size_t kGcmIvLen = 12;        // RFC 7714 §8.1
constexpr size_t kAuthKeyLen = 20;      // n_a for HMAC-SHA1, RFC 3711 §5.2
constexpr uint32_t kEBit = 0x80000000u;
constexpr uint32_t kSrtcpIndexMask = 0x7FFFFFFFu;

struct SuiteInfo {
  SrtpSuite suite;
  const char* name;
  size_t keyLen;
  size_t saltLen;
  uint8_t rtpTagLen;
  bool aead;
};

constexpr SuiteInfo kSuites[] = {
    {SrtpSuite::AeadAes256Gcm, "AEAD_AES_256_GCM", 32, 12, 16, true},
    {SrtpSuite::AeadAes128Gcm, "AEAD_AES_128_GCM", 16, 12, 16, true},
    {SrtpSuite::AesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80", 16, 14, 10, false},
    {SrtpSuite::AesCm128HmacSha1_32, "AES_CM_128_HMAC_SHA1_32", 16, 14, 4, false},
};

const SuiteInfo* Info(SrtpSuite suite) {
  for (const auto& info : kSuites) {
    if (info.suite == suite)
      return &info;
  }
  return nullptr;
}

uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
// XORs the low `n` bytes of v, big-endian, into p[0..n).
void Xor(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i)
    p[n - 1 - i] ^= static_cast<uint8_t>(v >> (8 * i));
}

// Fetched once: passing a cipher to every EVP init makes OpenSSL 3 look it up
// (and allocate) again; per packet we pass nullptr and only set the IV.
struct Ciphers {
  EVP_CIPHER* ctr128 = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  EVP_CIPHER* ctr256 = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  EVP_CIPHER* gcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  EVP_CIPHER* gcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
};
const Ciphers& GetCiphers() {
  static const Ciphers ciphers;
  return ciphers;
}

// RTP header length (RFC 3550 §5.1, §5.3.1: CSRCs and one header extension)
// within len bytes; 0 when it does not fit.
size_t RtpHeaderLength(const uint8_t* data, size_t len) {
  size_t hdr = kRtpHeaderLen + 4 * size_t{data[0] & 0x0Fu};
  if (data[0] & 0x10u) {
    if (hdr + 4 > len)
      return 0;
    hdr += 4 + 4 * size_t{Load16(data + hdr + 2)};
  }
  return hdr <= len ? hdr : 0;
}

// AES-CM (RFC 3711 §4.1.1): data ^= keystream(IV), in place.
bool AesCm(EVP_CIPHER_CTX* ctx, const uint8_t iv[16], uint8_t* data, size_t len) {
  int n = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1)
    return false;
  return len == 0 || EVP_EncryptUpdate(ctx, data, &n, data, static_cast<int>(len)) == 1;
}

// AES-GCM (RFC 7714 §8, §9): AAD = aad1 || aad2, data encrypted or decrypted in
// place; `tag` written (seal) or checked (open). false on a tag mismatch.
struct Aad {
  const uint8_t* a;
  size_t aLen;
  const uint8_t* b;
  size_t bLen;
};
bool GcmRun(EVP_CIPHER_CTX* ctx, bool seal, const uint8_t iv[kGcmIvLen], const Aad& aad,
            uint8_t* data, size_t len, uint8_t* tag) {
  int n = 0;
  uint8_t sink[kGcmTagLen];
  auto update = [&](uint8_t* out, const uint8_t* in, size_t inLen) {
    if (inLen == 0)
      return true;
    return (seal ? EVP_EncryptUpdate(ctx, out, &n, in, static_cast<int>(inLen))
                 : EVP_DecryptUpdate(ctx, out, &n, in, static_cast<int>(inLen))) == 1;
  };
  const int init = seal ? EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv)
                        : EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
  if (init != 1 || !update(nullptr, aad.a, aad.aLen) || !update(nullptr, aad.b, aad.bLen) ||
      !update(data, data, len))
    return false;
  if (seal) {
    return EVP_EncryptFinal_ex(ctx, sink, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kGcmTagLen, tag) == 1;
  }
  uint8_t expected[kGcmTagLen];
  std::memcpy(expected, tag, kGcmTagLen);
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kGcmTagLen, expected) == 1 &&
         EVP_DecryptFinal_ex(ctx, sink, &n) == 1;
}

// RFC 3711 §4.3.1 with key_derivation_rate 0 (r = 0): x = (label << 48) XOR
// master_salt, out = AES-CM keystream of the master key at IV x * 2^16
// (§4.3.3). The 12-byte GCM master salt fills the same 112-bit field from
// the top, its last 16 bits zero (RFC 7714 §11).
bool Derive(const EVP_CIPHER* ctr, const uint8_t* masterKey, const uint8_t* masterSalt,
            size_t saltLen, uint8_t label, uint8_t* out, size_t n) {
  uint8_t iv[16] = {};
  std::memcpy(iv, masterSalt, saltLen);
  iv[7] ^= label;
  std::memset(out, 0, n);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int outLen = 0;
  const bool ok = ctx && EVP_EncryptInit_ex(ctx, ctr, nullptr, masterKey, iv) == 1 &&
                  EVP_EncryptUpdate(ctx, out, &outLen, out, static_cast<int>(n)) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

} // namespace

size_t SrtpMasterLength(SrtpSuite suite) {
  const SuiteInfo* info = Info(suite);
  return info ? info->keyLen + info->saltLen : 0;
}

std::optional<SrtpSuite> SrtpSuiteFromName(std::string_view name) {
  for (const auto& info : kSuites) {
    if (name == info.name)
      return info.suite;
  }
  return std::nullopt;
}

const char* SrtpSuiteName(SrtpSuite suite) {
  const SuiteInfo* info = Info(suite);
  return info ? info->name : "unknown";
}

SrtpSession::SrtpSession(Direction direction, SrtpSuite suite)
    : direction_(direction), suite_(suite), aead_(Info(suite)->aead),
      rtpTagLen_(Info(suite)->rtpTagLen),
      inbound_(direction == Direction::Inbound ? kMaxInboundSsrcs : 0),
      outbound_(direction == Direction::Outbound ? kMaxOutboundSsrcs : 0) {}

std::unique_ptr<SrtpSession> SrtpSession::Create(Direction direction, SrtpSuite suite,
                                                 const uint8_t* masterKeySalt, size_t len,
                                                 std::string* error) {
  auto fail = [error](const char* what) {
    if (error)
      *error = what;
    return nullptr;
  };
  const SuiteInfo* info = Info(suite);
  if (!info)
    return fail("unknown crypto suite");
  if (!masterKeySalt || len != info->keyLen + info->saltLen)
    return fail("invalid key length");
  std::unique_ptr<SrtpSession> session(new SrtpSession(direction, suite));
  if (!session->Init(masterKeySalt))
    return fail("cipher init failed");
  return session;
}

bool SrtpSession::Init(const uint8_t* masterKeySalt) {
  const SuiteInfo& info = *Info(suite_);
  const Ciphers& ciphers = GetCiphers();
  const bool big = info.keyLen == 32;
  const EVP_CIPHER* prf = big ? ciphers.ctr256 : ciphers.ctr128;
  const EVP_CIPHER* cipher = aead_ ? (big ? ciphers.gcm256 : ciphers.gcm128) : ciphers.ctr128;
  if (!prf || !cipher)
    return false;
  const uint8_t* masterSalt = masterKeySalt + info.keyLen;
  // RFC 3711 §4.3.2 labels: 0/1/2 SRTP encryption/auth/salt, 3/4/5 SRTCP.
  uint8_t key[32];
  uint8_t auth[kAuthKeyLen];
  bool ok = true;
  for (int rtcp = 0; rtcp < 2 && ok; ++rtcp) {
    const auto base = static_cast<uint8_t>(rtcp ? 3 : 0);
    uint8_t* salt = rtcp ? rtcpSalt_ : rtpSalt_;
    ok = Derive(prf, masterKeySalt, masterSalt, info.saltLen, base, key, info.keyLen) &&
         Derive(prf, masterKeySalt, masterSalt, info.saltLen, base + 2, salt, info.saltLen);
    if (ok && !aead_) {
      ok = Derive(prf, masterKeySalt, masterSalt, info.saltLen, base + 1, auth, sizeof(auth));
      (rtcp ? rtcpAuth_ : rtpAuth_).SetKey(auth, sizeof(auth));
    }
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    (rtcp ? rtcpCipher_ : rtpCipher_) = ctx;
    // GCM opens with a decrypt context inbound; AES-CM is its own inverse.
    const bool decrypt = aead_ && direction_ == Direction::Inbound;
    ok = ok && ctx &&
         (decrypt ? EVP_DecryptInit_ex(ctx, cipher, nullptr, key, nullptr)
                  : EVP_EncryptInit_ex(ctx, cipher, nullptr, key, nullptr)) == 1;
  }
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(auth, sizeof(auth));
  return ok;
}

SrtpSession::~SrtpSession() {
  EVP_CIPHER_CTX_free(rtpCipher_);
  EVP_CIPHER_CTX_free(rtcpCipher_);
  OPENSSL_cleanse(rtpSalt_, sizeof(rtpSalt_));
  OPENSSL_cleanse(rtcpSalt_, sizeof(rtcpSalt_));
}

size_t SrtpSession::MemoryBytes() const {
  return sizeof(*this) + inbound_.MemoryBytes() + outbound_.MemoryBytes();
}

size_t SrtpSession::SsrcCount() const {
  return inbound_.Size() + outbound_.Size();
}

size_t SrtpSession::ProtectRtp(uint8_t* data, size_t len, size_t cap) {
  return Protect(false, data, len, cap);
}

size_t SrtpSession::ProtectRtcp(uint8_t* data, size_t len, size_t cap) {
  return Protect(true, data, len, cap);
}

size_t SrtpSession::UnprotectRtp(uint8_t* data, size_t len) {
  return Unprotect(false, data, len);
}

size_t SrtpSession::UnprotectRtcp(uint8_t* data, size_t len) {
  return Unprotect(true, data, len);
}

size_t SrtpSession::Protect(bool rtcp, uint8_t* data, size_t len, size_t cap) {
  const size_t minLen = rtcp ? kRtcpHeaderLen : kRtpHeaderLen;
  if (direction_ != Direction::Outbound || !data || len < minLen || len > kMaxPacketLen ||
      cap < len + kMaxTrailer) {
    ++counters_.otherFailures;
    return 0;
  }
  const size_t out = rtcp ? ProtectRtcpPacket(data, len) : ProtectRtpPacket(data, len);
  if (out != 0)
    ++(rtcp ? counters_.protectedRtcp : counters_.protectedRtp);
  return out;
}

size_t SrtpSession::Unprotect(bool rtcp, uint8_t* data, size_t len) {
  const size_t minLen = rtcp ? kRtcpHeaderLen : kRtpHeaderLen;
  if (direction_ != Direction::Inbound || !data || len < minLen ||
      len > kMaxPacketLen + kMaxTrailer) {
    ++counters_.otherFailures;
    return 0;
  }
  const size_t out = rtcp ? UnprotectRtcpPacket(data, len) : UnprotectRtpPacket(data, len);
  if (out != 0)
    ++(rtcp ? counters_.unprotectedRtcp : counters_.unprotectedRtp);
  return out;
}

// SRTP packet (RFC 3711 §3.1; RFC 7714 §8.2 for GCM, where the tag is the
// AEAD's and there is no separate auth tag):
//   | RTP header (12 + 4*CC + extension) | encrypted payload | auth tag |
//   the tag covers header || payload || ROC (AES-CM), or is GCM's over
//   AAD = header and the payload.
size_t SrtpSession::ProtectRtpPacket(uint8_t* data, size_t len) {
  const size_t hdr = RtpHeaderLength(data, len);
  if (hdr == 0) {
    ++counters_.otherFailures;
    return 0;
  }
  const uint32_t ssrc = Load32(data + 8);
  const uint16_t seq = Load16(data + 2);
  OutboundStream* stream = outbound_.Find(ssrc);
  if (!stream && !(stream = outbound_.Add(ssrc))) {
    ++counters_.ssrcTableFull;
    return 0;
  }
  uint64_t index = seq; // the first packet of an SSRC has ROC 0 (RFC 3711 §3.3.1)
  if (stream->rtpSeen) {
    const std::optional<uint64_t> estimate = EstimateSrtpIndex(stream->rtpHighest, seq);
    if (!estimate) {
      ++counters_.otherFailures;
      return 0;
    }
    index = *estimate;
  }
  if (!stream->rtpSeen || index > stream->rtpHighest)
    stream->rtpHighest = index;
  stream->rtpSeen = true;
  const auto roc = static_cast<uint32_t>(index >> 16);

  if (aead_) {
    // RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt.
    uint8_t iv[kGcmIvLen];
    std::memcpy(iv, rtpSalt_, sizeof(iv));
    Xor(iv + 2, ssrc, 4);
    Xor(iv + 6, roc, 4);
    Xor(iv + 10, seq, 2);
    if (!GcmRun(rtpCipher_, true, iv, {data, hdr, nullptr, 0}, data + hdr, len - hdr, data + len)) {
      ++counters_.otherFailures;
      return 0;
    }
    return len + kGcmTagLen;
  }
  // RFC 3711 §4.1.1: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
  uint8_t iv[16] = {};
  std::memcpy(iv, rtpSalt_, 14);
  Xor(iv + 4, ssrc, 4);
  Xor(iv + 8, index, 6);
  if (!AesCm(rtpCipher_, iv, data + hdr, len - hdr)) {
    ++counters_.otherFailures;
    return 0;
  }
  uint8_t rocBytes[4];
  Store32(rocBytes, roc);
  uint8_t mac[util::HmacSha1::kSize];
  rtpAuth_.Sign(data, len, rocBytes, sizeof(rocBytes), mac); // RFC 3711 §4.2
  std::memcpy(data + len, mac, rtpTagLen_);
  return len + rtpTagLen_;
}

size_t SrtpSession::UnprotectRtpPacket(uint8_t* data, size_t len) {
  if (len < kRtpHeaderLen + rtpTagLen_) {
    ++counters_.otherFailures;
    return 0;
  }
  const size_t end = len - rtpTagLen_; // header + payload
  const size_t hdr = RtpHeaderLength(data, end);
  if (hdr == 0) {
    ++counters_.otherFailures;
    return 0;
  }
  const uint32_t ssrc = Load32(data + 8);
  const uint16_t seq = Load16(data + 2);
  InboundStream* stream = inbound_.Find(ssrc);
  uint64_t index = seq;
  if (stream && !stream->rtp.Empty()) {
    const std::optional<uint64_t> estimate = EstimateSrtpIndex(stream->rtp.Highest(), seq);
    if (!estimate || stream->rtp.Check(*estimate) != SrtpReplayWindow::Verdict::Ok) {
      ++counters_.replayFailures; // RFC 3711 §3.3.2: checked before authentication
      return 0;
    }
    index = *estimate;
  }
  const auto roc = static_cast<uint32_t>(index >> 16);

  if (aead_) {
    uint8_t iv[kGcmIvLen];
    std::memcpy(iv, rtpSalt_, sizeof(iv));
    Xor(iv + 2, ssrc, 4);
    Xor(iv + 6, roc, 4);
    Xor(iv + 10, seq, 2);
    if (!GcmRun(rtpCipher_, false, iv, {data, hdr, nullptr, 0}, data + hdr, end - hdr,
                data + end)) {
      ++counters_.authFailures;
      return 0;
    }
  } else {
    uint8_t rocBytes[4];
    Store32(rocBytes, roc);
    uint8_t mac[util::HmacSha1::kSize];
    rtpAuth_.Sign(data, end, rocBytes, sizeof(rocBytes), mac);
    if (CRYPTO_memcmp(mac, data + end, rtpTagLen_) != 0) {
      ++counters_.authFailures;
      return 0;
    }
    uint8_t iv[16] = {};
    std::memcpy(iv, rtpSalt_, 14);
    Xor(iv + 4, ssrc, 4);
    Xor(iv + 8, index, 6);
    if (!AesCm(rtpCipher_, iv, data + hdr, end - hdr)) {
      ++counters_.otherFailures;
      return 0;
    }
  }
  // Authenticated: only now may the SSRC take an entry or move its window.
  if (!stream && !(stream = inbound_.Add(ssrc))) {
    ++counters_.ssrcTableFull;
    return 0;
  }
  stream->rtp.Commit(index);
  return end;
}

// SRTCP packet (RFC 3711 §3.4):
//   | header + SSRC (8) | encrypted rest | E | SRTCP index (31) | tag (80 bits) |
//   the tag covers everything before it.
// AEAD (RFC 7714 §9.1, §9.2): | header + SSRC | ciphertext | tag (16) | E | index |
//   AAD = header + SSRC || E || index; IV = (00 00 || SSRC || 00 00 || 0 || index) XOR salt.
size_t SrtpSession::ProtectRtcpPacket(uint8_t* data, size_t len) {
  const uint32_t ssrc = Load32(data + 4);
  OutboundStream* stream = outbound_.Find(ssrc);
  if (!stream && !(stream = outbound_.Add(ssrc))) {
    ++counters_.ssrcTableFull;
    return 0;
  }
  const uint32_t index = (stream->rtcpIndex + 1) & kSrtcpIndexMask;
  stream->rtcpIndex = index;
  uint8_t eIndex[kSrtcpIndexLen];
  Store32(eIndex, kEBit | index);

  if (aead_) {
    uint8_t iv[kGcmIvLen];
    std::memcpy(iv, rtcpSalt_, sizeof(iv));
    Xor(iv + 2, ssrc, 4);
    Xor(iv + 8, index, 4);
    if (!GcmRun(rtcpCipher_, true, iv, {data, kRtcpHeaderLen, eIndex, sizeof(eIndex)},
                data + kRtcpHeaderLen, len - kRtcpHeaderLen, data + len)) {
      ++counters_.otherFailures;
      return 0;
    }
    std::memcpy(data + len + kGcmTagLen, eIndex, sizeof(eIndex));
    return len + kGcmTagLen + kSrtcpIndexLen;
  }
  uint8_t iv[16] = {};
  std::memcpy(iv, rtcpSalt_, 14);
  Xor(iv + 4, ssrc, 4);
  Xor(iv + 10, index, 4);
  if (!AesCm(rtcpCipher_, iv, data + kRtcpHeaderLen, len - kRtcpHeaderLen)) {
    ++counters_.otherFailures;
    return 0;
  }
  std::memcpy(data + len, eIndex, sizeof(eIndex));
  uint8_t mac[util::HmacSha1::kSize];
  rtcpAuth_.Sign(data, len + kSrtcpIndexLen, nullptr, 0, mac);
  std::memcpy(data + len + kSrtcpIndexLen, mac, kRtcpHmacTagLen);
  return len + kSrtcpIndexLen + kRtcpHmacTagLen;
}

size_t SrtpSession::UnprotectRtcpPacket(uint8_t* data, size_t len) {
  const size_t trailer = kSrtcpIndexLen + (aead_ ? kGcmTagLen : kRtcpHmacTagLen);
  if (len < kRtcpHeaderLen + trailer) {
    ++counters_.otherFailures;
    return 0;
  }
  const size_t end = len - trailer; // header + (encrypted) body
  const uint8_t* eIndex = aead_ ? data + len - kSrtcpIndexLen : data + end;
  const uint32_t word = Load32(eIndex);
  const bool encrypted = (word & kEBit) != 0;
  const uint32_t index = word & kSrtcpIndexMask;
  const uint32_t ssrc = Load32(data + 4);
  InboundStream* stream = inbound_.Find(ssrc);
  if (stream && stream->rtcp.Check(index) != SrtpReplayWindow::Verdict::Ok) {
    ++counters_.replayFailures;
    return 0;
  }

  if (aead_) {
    uint8_t iv[kGcmIvLen];
    std::memcpy(iv, rtcpSalt_, sizeof(iv));
    Xor(iv + 2, ssrc, 4);
    Xor(iv + 8, index, 4);
    // E = 0: the whole packet is AAD and nothing is encrypted (RFC 7714 §9.2).
    const size_t aadLen = encrypted ? kRtcpHeaderLen : end;
    if (!GcmRun(rtcpCipher_, false, iv, {data, aadLen, eIndex, kSrtcpIndexLen}, data + aadLen,
                end - aadLen, data + end)) {
      ++counters_.authFailures;
      return 0;
    }
  } else {
    uint8_t mac[util::HmacSha1::kSize];
    rtcpAuth_.Sign(data, end + kSrtcpIndexLen, nullptr, 0, mac);
    if (CRYPTO_memcmp(mac, data + end + kSrtcpIndexLen, kRtcpHmacTagLen) != 0) {
      ++counters_.authFailures;
      return 0;
    }
    uint8_t iv[16] = {};
    std::memcpy(iv, rtcpSalt_, 14);
    Xor(iv + 4, ssrc, 4);
    Xor(iv + 10, index, 4);
    if (encrypted && !AesCm(rtcpCipher_, iv, data + kRtcpHeaderLen, end - kRtcpHeaderLen)) {
      ++counters_.otherFailures;
      return 0;
    }
  }
  if (!stream && !(stream = inbound_.Add(ssrc))) {
    ++counters_.ssrcTableFull;
    return 0;
  }
  stream->rtcp.Commit(index);
  return end;
}

namespace {
// One SRTP packet at most: the largest pool slot plus header growth and the trailer.
thread_local uint8_t tScratch[store::PacketRef::kCapacity + 256 + SrtpSession::kMaxTrailer];
} // namespace

SrtpSession::Bytes SrtpSession::ProtectRtpToScratch(const uint8_t* head, size_t headLen,
                                                    const uint8_t* tail, size_t tailLen) {
  const size_t len = headLen + tailLen;
  if (len + kMaxTrailer > sizeof(tScratch)) {
    ++counters_.otherFailures;
    return {nullptr, 0};
  }
  std::memcpy(tScratch, head, headLen);
  if (tailLen != 0)
    std::memcpy(tScratch + headLen, tail, tailLen);
  const size_t out = ProtectRtp(tScratch, len, sizeof(tScratch));
  return {out != 0 ? tScratch : nullptr, out};
}

SrtpSession::Bytes SrtpSession::ProtectRtcpToScratch(const uint8_t* data, size_t len) {
  if (len + kMaxTrailer > sizeof(tScratch)) {
    ++counters_.otherFailures;
    return {nullptr, 0};
  }
  std::memcpy(tScratch, data, len);
  const size_t out = ProtectRtcp(tScratch, len, sizeof(tScratch));
  return {out != 0 ? tScratch : nullptr, out};
}

} // namespace sluice::transport
