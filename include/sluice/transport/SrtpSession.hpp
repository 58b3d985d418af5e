// SrtpSession: one direction of SRTP/SRTCP protection (RFC 3711) for a whole
// transport, wrapping libsrtp2.
//
// One session serves every SSRC of its direction: the libsrtp policy uses
// ssrc_any_outbound / ssrc_any_inbound, so libsrtp keeps a template stream
// (session keys derived once from the master key, RFC 3711 §4.3) and clones a
// per-SSRC stream (rollover counter, replay database, SRTCP index) on the
// first packet of each SSRC. Inbound, the clone happens only after that first
// packet authenticated, so garbage never allocates.
//
// Suites (values as FBS.SrtpParameters.SrtpCryptoSuite):
//  - AEAD_AES_256_GCM / AEAD_AES_128_GCM (RFC 7714): 16-byte tag on RTP and
//    RTCP; master key 32/16 bytes + 12-byte salt.
//  - AES_CM_128_HMAC_SHA1_80 / _32 (RFC 3711, RFC 5764 §4.1.2): 16-byte key
//    + 14-byte salt; RTP tag 10/4 bytes; SRTCP always uses the 80-bit tag.
//
// Replay: inbound uses libsrtp's default window (128 packets, RFC 3711
// §3.3.2); a replayed or too-old index fails and is counted. Outbound allows
// protecting the same index again (allow_repeat_tx), because a NACK answered
// without RTX resends the original sequence number.
//
// Buffers: everything is in place. Protect needs cap >= len + kMaxTrailer
// (the tag, plus the 4-byte E||SRTCP index for RTCP). Bad input returns 0 and
// bumps a counter; nothing throws or aborts.
//
// Memory (Debian's libsrtp 2.5, which uses NSS for its ciphers; measured with
// mallinfo2): a session holds about 19 KB (AEAD_AES_*_GCM) to 31 KB
// (AES_CM_128_HMAC_SHA1_*), mostly NSS cipher/HMAC contexts of the template
// stream, so a transport's inbound + outbound pair costs 40-60 KB. Each SSRC
// seen adds a cloned stream of about 280 bytes that lives until the session
// is destroyed. That is per transport and per stream, never per packet. A
// peer holding the keys could mint many SSRCs; the transport's SSRC limits
// bound that, not this class.
//
// Thread: libsrtp is initialised once per process on the first Create; a
// session is used from the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct srtp_ctx_t_;

namespace sluice::transport {

enum class SrtpSuite : uint8_t {
  AeadAes256Gcm = 0,
  AeadAes128Gcm = 1,
  AesCm128HmacSha1_80 = 2,
  AesCm128HmacSha1_32 = 3,
};

// Master key + master salt bytes the suite needs: 44, 28, 30, 30.
size_t SrtpMasterLength(SrtpSuite suite);
// "AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80",
// "AES_CM_128_HMAC_SHA1_32" (the names mediasoup's Node API uses); exact match.
std::optional<SrtpSuite> SrtpSuiteFromName(std::string_view name);
const char* SrtpSuiteName(SrtpSuite suite);

class SrtpSession {
public:
  enum class Direction : uint8_t { Inbound, Outbound };

  // Most bytes a protect call adds: a 16-byte tag (GCM; HMAC-SHA1 adds 10 or
  // 4) plus the 4-byte E||SRTCP index for RTCP (RFC 3711 §3.4).
  static constexpr size_t kMaxTrailer = 16 + 4;

  struct Counters {
    uint64_t protectedRtp = 0;
    uint64_t protectedRtcp = 0;
    uint64_t unprotectedRtp = 0;
    uint64_t unprotectedRtcp = 0;
    uint64_t authFailures = 0;   // tag mismatch (tampered, wrong key)
    uint64_t replayFailures = 0; // index already seen or left of the window
    uint64_t otherFailures = 0;  // too short / too long / no room / wrong direction / libsrtp
  };

  // masterKeySalt is the key followed by the salt, exactly
  // SrtpMasterLength(suite) bytes (it is not kept). nullptr with *error set
  // ("invalid key length", or the libsrtp status name) on failure.
  static std::unique_ptr<SrtpSession> Create(Direction direction, SrtpSuite suite,
                                             const uint8_t* masterKeySalt, size_t len,
                                             std::string* error);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // Outbound only, in place: data holds len bytes of RTP/RTCP and has room
  // for cap bytes (cap >= len + kMaxTrailer). Returns the protected length,
  // 0 on failure (counted).
  size_t ProtectRtp(uint8_t* data, size_t len, size_t cap);
  size_t ProtectRtcp(uint8_t* data, size_t len, size_t cap);

  // Outbound only: head + tail (RTP) or data (RTCP) copied into the thread's
  // scratch buffer and protected there, so a pool slot is never written.
  // Returns the protected bytes, valid until the next call on this thread;
  // {nullptr, 0} on failure (too long, or protect failed: counted).
  struct Bytes {
    const uint8_t* data;
    size_t len;
  };
  Bytes ProtectRtpToScratch(const uint8_t* head, size_t headLen, const uint8_t* tail,
                            size_t tailLen);
  Bytes ProtectRtcpToScratch(const uint8_t* data, size_t len);

  // Inbound only, in place. Returns the plain length, 0 when authentication,
  // the replay check or anything else fails (counted by reason). Short or
  // garbage input is safe.
  size_t UnprotectRtp(uint8_t* data, size_t len);
  size_t UnprotectRtcp(uint8_t* data, size_t len);

  Direction GetDirection() const { return direction_; }
  SrtpSuite GetSuite() const { return suite_; }
  const Counters& GetCounters() const { return counters_; }

private:
  SrtpSession(Direction direction, SrtpSuite suite, srtp_ctx_t_* ctx)
      : direction_(direction), suite_(suite), ctx_(ctx) {}
  size_t Protect(bool rtcp, uint8_t* data, size_t len, size_t cap);
  size_t Unprotect(bool rtcp, uint8_t* data, size_t len);

  Direction direction_;
  SrtpSuite suite_;
  srtp_ctx_t_* ctx_;
  Counters counters_;
};

} // namespace sluice::transport
