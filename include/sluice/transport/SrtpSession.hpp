// SrtpSession: one direction of SRTP/SRTCP protection for a whole
// transport, on OpenSSL 3 (no libsrtp on the packet path).
//
// Suites (values as FBS.SrtpParameters.SrtpCryptoSuite):
//  - AES_CM_128_HMAC_SHA1_80 / _32 (RFC 3711, RFC 5764 §4.1.2): 16-byte key
//    + 14-byte salt; AES-CM keystream (§4.1.1), HMAC-SHA1 over the packet ||
//    ROC, RTP tag 10/4 bytes (§4.2); SRTCP always the 80-bit tag, after
//    E || SRTCP index (§3.4).
//  - AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714): 16/32-byte key + 12-byte
//    salt; 12-byte IV from salt, SSRC, ROC, SEQ (§8.1) or SRTCP index (§9.1);
//    AAD = RTP header, or RTCP header || E || index; 16-byte tag. SRTCP puts
//    E || index after the tag.
//
// Keys: the session keys, salts and auth keys of both RTP and RTCP are
// derived once in Create (RFC 3711 §4.3, key_derivation_rate 0, AES-CM PRF;
// RFC 7714 §11 for the GCM suites). The master key is not kept. Each
// direction holds two cipher contexts (RTP, RTCP) keyed once; a packet only
// sets the IV. HMAC-SHA1 keeps its ipad/opad states (util/HmacSha1).
//
// One session serves every SSRC of its direction, each with its own state in
// a fixed table (SrtpStreamTable.hpp): inbound the highest RTP index with a
// 128-packet replay window and the SRTCP replay window, at most
// kMaxInboundSsrcs (a peer holding the keys cannot grow it); outbound the
// highest RTP index (ROC) and the last SRTCP index, at most kMaxOutboundSsrcs
// (our consumers' SSRCs). A new SSRC on a full table is refused and counted
// (ssrcTableFull). Inbound, an SSRC's state is created or updated only after
// the packet authenticated, so garbage never takes an entry. Outbound allows
// protecting the same index again (a NACK answered without RTX resends the
// original sequence number) and any index within ±2^15 of the highest.
//
// Buffers: everything is in place. Protect needs cap >= len + kMaxTrailer
// (the tag, plus the 4-byte E||SRTCP index for RTCP). Bad input returns 0 and
// bumps a counter; nothing throws or aborts. Protect and unprotect make no
// allocator call (operator new or OpenSSL), checked by
// test/unit/transport/TestSrtpSessionAlloc.cpp.
//
// Memory (mallinfo2, OpenSSL 3.0, TestSrtpSession "memory held"): the object
// is 584 bytes (two HMAC-SHA1 key states, salts, counters), the SSRC table
// 52 bytes (inbound) or 20 bytes (outbound) per slot, starting at 4 slots and
// doubling on a new SSRC up to 32 inbound (1.7 KB) or 256 outbound (5.1 KB),
// the two OpenSSL cipher contexts 0.6-2.2 KB: with one consumer (2 SSRCs)
// about 1.6-3 KB per direction. Before
// (libsrtp 2.5 on NSS) a session held 19 KB (GCM) to 31 KB (AES-CM) plus
// ~280 bytes per SSRC seen.
//
// Thread: a session is used from the loop thread only; the OpenSSL ciphers
// are fetched once per process on the first Create.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/transport/SrtpStreamTable.hpp"
#include "sluice/util/HmacSha1.hpp"

struct evp_cipher_ctx_st;

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
  // SSRCs one session tracks (entries allocated in Create).
  static constexpr size_t kMaxInboundSsrcs = 32;
  static constexpr size_t kMaxOutboundSsrcs = 256;

  struct Counters {
    uint64_t protectedRtp = 0;
    uint64_t protectedRtcp = 0;
    uint64_t unprotectedRtp = 0;
    uint64_t unprotectedRtcp = 0;
    uint64_t authFailures = 0;   // tag mismatch (tampered, wrong key)
    uint64_t replayFailures = 0; // index already seen or left of the window
    uint64_t otherFailures = 0;  // too short / too long / no room / wrong direction / cipher
    uint64_t ssrcTableFull = 0;  // a new SSRC refused: kMax*Ssrcs already tracked
  };

  // masterKeySalt is the key followed by the salt, exactly
  // SrtpMasterLength(suite) bytes (it is not kept). nullptr with *error set
  // ("unknown crypto suite", "invalid key length", "cipher init failed").
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
  // Bytes held by this object and its SSRC table (the OpenSSL cipher
  // contexts, opaque, are not included; see the header comment).
  size_t MemoryBytes() const;
  size_t SsrcCount() const;

private:
  struct InboundStream {
    SrtpReplayWindow rtp;
    SrtpReplayWindow rtcp;
  };
  struct OutboundStream {
    uint64_t rtpHighest; // ROC || SEQ of the newest packet protected
    uint32_t rtcpIndex;  // last SRTCP index sent (the first packet gets 1)
    bool rtpSeen;
  };

  SrtpSession(Direction direction, SrtpSuite suite);
  bool Init(const uint8_t* masterKeySalt);
  size_t Protect(bool rtcp, uint8_t* data, size_t len, size_t cap);
  size_t Unprotect(bool rtcp, uint8_t* data, size_t len);
  size_t ProtectRtpPacket(uint8_t* data, size_t len);
  size_t ProtectRtcpPacket(uint8_t* data, size_t len);
  size_t UnprotectRtpPacket(uint8_t* data, size_t len);
  size_t UnprotectRtcpPacket(uint8_t* data, size_t len);

  Direction direction_;
  SrtpSuite suite_;
  bool aead_;
  uint8_t rtpTagLen_;
  evp_cipher_ctx_st* rtpCipher_ = nullptr;
  evp_cipher_ctx_st* rtcpCipher_ = nullptr;
  uint8_t rtpSalt_[14] = {}; // session salts: 14 bytes (AES-CM) or 12 (GCM)
  uint8_t rtcpSalt_[14] = {};
  util::HmacSha1 rtpAuth_; // AES-CM suites only
  util::HmacSha1 rtcpAuth_;
  SrtpStreamTable<InboundStream> inbound_;
  SrtpStreamTable<OutboundStream> outbound_;
  Counters counters_;
};

} // namespace sluice::transport
