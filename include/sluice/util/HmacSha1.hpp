// HmacSha1: HMAC-SHA1 (RFC 2104) with the key absorbed once, for callers
// that sign many messages with one key (SRTP/SRTCP auth, RFC 3711 §4.2.1)
// or want no heap at all (STUN MESSAGE-INTEGRITY, RFC 5389 §15.4).
//
// Why not HMAC()/EVP_MAC: OpenSSL 3 allocates 5 to 13 times per call on that
// path. Here the SHA-1 states after absorbing K^ipad and K^opad are kept
// (two SHA_CTX, 96 bytes each, held as opaque bytes so this header does not
// pull in OpenSSL's deprecated declarations), and Sign copies them to the
// stack: no allocation, two SHA-1 compressions of fixed overhead per message.
//
// Invariants: the object is always keyed (the default key is empty, which
// RFC 2104 allows); keys longer than the 64-byte block are hashed first. The
// key bytes are not kept; the destructor wipes the states.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::util {

class HmacSha1 {
public:
  static constexpr size_t kSize = 20;

  HmacSha1() { SetKey(nullptr, 0); }
  HmacSha1(const uint8_t* key, size_t len) { SetKey(key, len); }
  ~HmacSha1();
  HmacSha1(const HmacSha1&) = default;
  HmacSha1& operator=(const HmacSha1&) = default;

  void SetKey(const uint8_t* key, size_t len);
  // out = HMAC(key, a || b); either part may be empty (nullptr, 0).
  void Sign(const uint8_t* a, size_t aLen, const uint8_t* b, size_t bLen, uint8_t out[kSize]) const;

private:
  static constexpr size_t kStateSize = 96; // sizeof(SHA_CTX), checked in the .cpp
  alignas(8) unsigned char inner_[kStateSize];
  alignas(8) unsigned char outer_[kStateSize];
};

} // namespace sluice::util
