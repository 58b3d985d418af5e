#include "sluice/transport/SrtpSession.hpp"

#include <cstring>

#include <srtp.h>

#include "sluice/store/PacketPool.hpp"

namespace sluice::transport {

namespace {

constexpr size_t kRtpHeaderLen = 12;    // RFC 3550 §5.1 fixed header
constexpr size_t kRtcpHeaderLen = 8;    // RFC 3550 §6.4.1 header + SSRC of sender
constexpr size_t kMaxPacketLen = 65535; // UDP payload; keeps every length an int

struct SuiteInfo {
  SrtpSuite suite;
  const char* name;
  size_t masterLen;
};

constexpr SuiteInfo kSuites[] = {
    {SrtpSuite::AeadAes256Gcm, "AEAD_AES_256_GCM", 32 + 12},
    {SrtpSuite::AeadAes128Gcm, "AEAD_AES_128_GCM", 16 + 12},
    {SrtpSuite::AesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80", 16 + 14},
    {SrtpSuite::AesCm128HmacSha1_32, "AES_CM_128_HMAC_SHA1_32", 16 + 14},
};

const SuiteInfo* Info(SrtpSuite suite) {
  for (const auto& info : kSuites) {
    if (info.suite == suite)
      return &info;
  }
  return nullptr;
}

const char* StatusName(srtp_err_status_t status) {
  switch (status) {
  case srtp_err_status_ok:
    return "ok";
  case srtp_err_status_fail:
    return "fail";
  case srtp_err_status_bad_param:
    return "bad_param";
  case srtp_err_status_alloc_fail:
    return "alloc_fail";
  case srtp_err_status_init_fail:
    return "init_fail";
  case srtp_err_status_auth_fail:
    return "auth_fail";
  case srtp_err_status_cipher_fail:
    return "cipher_fail";
  case srtp_err_status_replay_fail:
    return "replay_fail";
  case srtp_err_status_replay_old:
    return "replay_old";
  case srtp_err_status_algo_fail:
    return "algo_fail";
  case srtp_err_status_no_ctx:
    return "no_ctx";
  case srtp_err_status_key_expired:
    return "key_expired";
  default:
    return "srtp error";
  }
}

// srtp_init once per process; the result is remembered so a failing library
// keeps failing Create rather than being re-initialised.
srtp_err_status_t InitOnce() {
  static const srtp_err_status_t status = srtp_init();
  return status;
}

// RFC 3711 / RFC 7714 / RFC 5764 §4.1.2 profiles to libsrtp crypto policies.
bool SetPolicies(SrtpSuite suite, srtp_policy_t* policy) {
  switch (suite) {
  case SrtpSuite::AeadAes256Gcm:
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy->rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy->rtcp);
    return true;
  case SrtpSuite::AeadAes128Gcm:
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy->rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy->rtcp);
    return true;
  case SrtpSuite::AesCm128HmacSha1_80:
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtcp);
    return true;
  case SrtpSuite::AesCm128HmacSha1_32:
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtcp); // SRTCP keeps 80 bits
    return true;
  }
  return false;
}

} // namespace

size_t SrtpMasterLength(SrtpSuite suite) {
  const SuiteInfo* info = Info(suite);
  return info ? info->masterLen : 0;
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
  if (!masterKeySalt || len != info->masterLen)
    return fail("invalid key length");
  const srtp_err_status_t init = InitOnce();
  if (init != srtp_err_status_ok)
    return fail(StatusName(init));

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  SetPolicies(suite, &policy);
  policy.ssrc.type = direction == Direction::Outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.ssrc.value = 0;
  // libsrtp derives the session keys inside srtp_create and keeps no pointer
  // to the master key; it takes a non-const pointer for historical reasons.
  uint8_t key[44];
  std::memcpy(key, masterKeySalt, len);
  policy.key = key;
  policy.window_size = 0; // libsrtp default (128)
  policy.allow_repeat_tx = direction == Direction::Outbound ? 1 : 0;
  policy.next = nullptr;

  srtp_t ctx = nullptr;
  const srtp_err_status_t status = srtp_create(&ctx, &policy);
  std::memset(key, 0, sizeof(key));
  if (status != srtp_err_status_ok)
    return fail(StatusName(status));
  return std::unique_ptr<SrtpSession>(new SrtpSession(direction, suite, ctx));
}

SrtpSession::~SrtpSession() {
  if (ctx_)
    srtp_dealloc(ctx_);
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
  int n = static_cast<int>(len);
  const srtp_err_status_t status =
      rtcp ? srtp_protect_rtcp(ctx_, data, &n) : srtp_protect(ctx_, data, &n);
  if (status != srtp_err_status_ok) {
    ++counters_.otherFailures;
    return 0;
  }
  ++(rtcp ? counters_.protectedRtcp : counters_.protectedRtp);
  return static_cast<size_t>(n);
}

size_t SrtpSession::Unprotect(bool rtcp, uint8_t* data, size_t len) {
  // libsrtp validates lengths itself; the fixed-header check here keeps the
  // SSRC lookup it does first within the buffer whatever its version does.
  const size_t minLen = rtcp ? kRtcpHeaderLen : kRtpHeaderLen;
  if (direction_ != Direction::Inbound || !data || len < minLen ||
      len > kMaxPacketLen + kMaxTrailer) {
    ++counters_.otherFailures;
    return 0;
  }
  int n = static_cast<int>(len);
  const srtp_err_status_t status =
      rtcp ? srtp_unprotect_rtcp(ctx_, data, &n) : srtp_unprotect(ctx_, data, &n);
  switch (status) {
  case srtp_err_status_ok:
    ++(rtcp ? counters_.unprotectedRtcp : counters_.unprotectedRtp);
    return static_cast<size_t>(n);
  case srtp_err_status_auth_fail:
    ++counters_.authFailures;
    return 0;
  case srtp_err_status_replay_fail:
  case srtp_err_status_replay_old:
    ++counters_.replayFailures;
    return 0;
  default:
    ++counters_.otherFailures;
    return 0;
  }
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
