// DtlsRecordCipher: the epoch-1 record protection of a connected DTLS 1.2
// session, kept so DtlsTransport can free OpenSSL's SSL object (and its
// ~22 KB handshake buffer, session, peer certificate chain, cipher
// contexts and last flight) as soon as the SRTP keys are exported.
//
// What stays is what the peer can still observe of a connected session
// without SCTP: our close_notify on Close (sealed here, with the sequence
// number after our last record, exactly what OpenSSL's SSL_shutdown would
// send), and the peer's alerts and application data records (opened here so
// an unauthenticated datagram cannot close or fail the transport).
//
// Keys: RFC 5246 §6.3 key_block = PRF(master_secret, "key expansion",
// server_random + client_random), cut into client/server write keys and
// 4-byte implicit IVs (AEAD suites have no MAC keys). Only AES-GCM suites
// (RFC 5288), the only ones DtlsContext offers; anything else yields
// nullopt and the caller keeps the SSL object.
//
// Record (RFC 6347 §4.1, RFC 5288 §3): header(13) || explicit nonce(8) ||
// ciphertext || tag(16); nonce = implicit IV(4) || explicit(8); additional
// data = epoch(2) || sequence(6) || type(1) || version(2) || plaintext
// length(2) (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1).
//
// Bounds: 2 × (32 + 4) key bytes plus our next sequence number; no replay
// window (a replayed alert or data record changes nothing that a genuine
// one would not). A cipher context is created per call, so nothing else is
// held between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <openssl/types.h>

namespace sluice::transport {

class DtlsRecordCipher {
public:
  static constexpr size_t kHeaderLen = 13;
  static constexpr size_t kExplicitNonceLen = 8;
  static constexpr size_t kTagLen = 16;
  // A sealed two-byte alert record.
  static constexpr size_t kAlertRecordLen = kHeaderLen + kExplicitNonceLen + 2 + kTagLen;

  // From a session whose handshake is finished. nextWriteSeq: the epoch-1
  // sequence number after the last record we wrote.
  static std::optional<DtlsRecordCipher> FromSession(SSL* ssl, bool weAreClient,
                                                     uint64_t nextWriteSeq);
  ~DtlsRecordCipher(); // wipes the keys
  DtlsRecordCipher(const DtlsRecordCipher&) = default;
  DtlsRecordCipher& operator=(const DtlsRecordCipher&) = default;

  // One epoch-1 record (header included, exactly one). On success the
  // content type and plaintext (at most `cap` bytes, the rest cut) are
  // returned; false if it is not epoch 1, malformed or fails authentication.
  bool Open(const uint8_t* record, size_t len, uint8_t* type, uint8_t* plain, size_t cap,
            size_t* plainLen) const;
  // Seals an alert (RFC 5246 §7.2) into out (kAlertRecordLen bytes) with
  // the next sequence number.
  bool SealAlert(uint8_t level, uint8_t description, uint8_t out[kAlertRecordLen]);

  size_t KeyLen() const { return keyLen_; }

private:
  static constexpr size_t kMaxKey = 32;
  static constexpr size_t kIvLen = 4;

  DtlsRecordCipher() = default;

  size_t keyLen_ = 0;
  uint64_t nextWriteSeq_ = 0;
  uint8_t writeKey_[kMaxKey] = {};
  uint8_t readKey_[kMaxKey] = {};
  uint8_t writeIv_[kIvLen] = {};
  uint8_t readIv_[kIvLen] = {};
};

} // namespace sluice::transport
