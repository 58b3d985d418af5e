#include "sluice/transport/DtlsRecordCipher.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

namespace sluice::transport {

namespace {

constexpr uint8_t kVersion[2] = {0xfe, 0xfd}; // DTLS 1.2
constexpr uint16_t kEpoch = 1;                // no renegotiation: epoch 1 for good
constexpr size_t kRandomLen = 32;
constexpr char kKeyExpansion[] = "key expansion";

// RFC 5246 §5 P_<hash> through OpenSSL's TLS1-PRF KDF; the label is the
// start of the seed.
bool Prf(const EVP_MD* md, const uint8_t* secret, size_t secretLen, const uint8_t* seed,
         size_t seedLen, uint8_t* out, size_t outLen) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (!ctx)
    return false;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                       const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(secret),
                                        secretLen),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, const_cast<uint8_t*>(seed), seedLen),
      OSSL_PARAM_construct_end()};
  const bool ok = EVP_KDF_derive(ctx, out, outLen, params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

void PutSeq(uint8_t* p, uint64_t seq) {
  p[0] = static_cast<uint8_t>(kEpoch >> 8);
  p[1] = static_cast<uint8_t>(kEpoch);
  for (int i = 0; i < 6; ++i)
    p[2 + i] = static_cast<uint8_t>(seq >> (40 - 8 * i));
}

const EVP_CIPHER* Gcm(size_t keyLen) {
  return keyLen == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

// additional_data: seq_num(8) type(1) version(2) length(2).
void MakeAad(uint8_t aad[13], const uint8_t* epochSeq, uint8_t type, size_t plainLen) {
  std::memcpy(aad, epochSeq, 8);
  aad[8] = type;
  aad[9] = kVersion[0];
  aad[10] = kVersion[1];
  aad[11] = static_cast<uint8_t>(plainLen >> 8);
  aad[12] = static_cast<uint8_t>(plainLen);
}

} // namespace

std::optional<DtlsRecordCipher> DtlsRecordCipher::FromSession(SSL* ssl, bool weAreClient,
                                                              uint64_t nextWriteSeq) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const SSL_SESSION* session = SSL_get_session(ssl);
  if (!cipher || !session || SSL_version(ssl) != DTLS1_2_VERSION)
    return std::nullopt;
  size_t keyLen = 0;
  switch (SSL_CIPHER_get_cipher_nid(cipher)) {
  case NID_aes_128_gcm:
    keyLen = 16;
    break;
  case NID_aes_256_gcm:
    keyLen = 32;
    break;
  default:
    return std::nullopt;
  }
  const EVP_MD* md = SSL_CIPHER_get_handshake_digest(cipher);
  uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
  const size_t masterLen = SSL_SESSION_get_master_key(session, master, sizeof(master));
  uint8_t seed[sizeof(kKeyExpansion) - 1 + 2 * kRandomLen];
  std::memcpy(seed, kKeyExpansion, sizeof(kKeyExpansion) - 1);
  uint8_t* randoms = seed + sizeof(kKeyExpansion) - 1;
  if (!md || masterLen == 0 || SSL_get_server_random(ssl, randoms, kRandomLen) != kRandomLen ||
      SSL_get_client_random(ssl, randoms + kRandomLen, kRandomLen) != kRandomLen)
    return std::nullopt;
  // client_write_key, server_write_key, client_write_IV, server_write_IV.
  uint8_t block[2 * (kMaxKey + kIvLen)];
  const size_t blockLen = 2 * (keyLen + kIvLen);
  const bool ok = Prf(md, master, masterLen, seed, sizeof(seed), block, blockLen);
  OPENSSL_cleanse(master, sizeof(master));
  if (!ok)
    return std::nullopt;
  const uint8_t* clientKey = block;
  const uint8_t* serverKey = block + keyLen;
  const uint8_t* clientIv = block + 2 * keyLen;
  const uint8_t* serverIv = clientIv + kIvLen;
  DtlsRecordCipher c;
  c.keyLen_ = keyLen;
  c.nextWriteSeq_ = nextWriteSeq;
  std::memcpy(c.writeKey_, weAreClient ? clientKey : serverKey, keyLen);
  std::memcpy(c.readKey_, weAreClient ? serverKey : clientKey, keyLen);
  std::memcpy(c.writeIv_, weAreClient ? clientIv : serverIv, kIvLen);
  std::memcpy(c.readIv_, weAreClient ? serverIv : clientIv, kIvLen);
  OPENSSL_cleanse(block, sizeof(block));
  return c;
}

bool DtlsRecordCipher::Open(const uint8_t* record, size_t len, uint8_t* type, uint8_t* plain,
                            size_t cap, size_t* plainLen) const {
  if (len < kHeaderLen + kExplicitNonceLen + kTagLen)
    return false;
  const size_t fragmentLen = size_t(record[11]) << 8 | record[12];
  if (kHeaderLen + fragmentLen != len || record[3] != 0 || record[4] != kEpoch)
    return false;
  const size_t n = fragmentLen - kExplicitNonceLen - kTagLen;
  uint8_t nonce[kIvLen + kExplicitNonceLen];
  std::memcpy(nonce, readIv_, kIvLen);
  std::memcpy(nonce + kIvLen, record + kHeaderLen, kExplicitNonceLen);
  uint8_t aad[13];
  MakeAad(aad, record + 3, record[0], n);
  const uint8_t* ciphertext = record + kHeaderLen + kExplicitNonceLen;
  uint8_t tag[kTagLen];
  std::memcpy(tag, ciphertext + n, kTagLen);

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int outLen = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx, Gcm(keyLen_), nullptr, readKey_, nonce) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &outLen, aad, sizeof(aad)) == 1;
  // The whole record is authenticated; only the first `cap` bytes are kept.
  uint8_t chunk[256];
  size_t kept = 0;
  for (size_t off = 0; ok && off < n; off += sizeof(chunk)) {
    const size_t m = std::min(sizeof(chunk), n - off);
    ok = EVP_DecryptUpdate(ctx, chunk, &outLen, ciphertext + off, static_cast<int>(m)) == 1;
    const size_t copy = std::min(static_cast<size_t>(outLen), cap - kept);
    std::memcpy(plain + kept, chunk, copy);
    kept += copy;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagLen, tag) == 1 &&
       EVP_DecryptFinal_ex(ctx, chunk, &outLen) == 1;
  EVP_CIPHER_CTX_free(ctx);
  OPENSSL_cleanse(chunk, sizeof(chunk));
  if (!ok) {
    OPENSSL_cleanse(plain, kept);
    return false;
  }
  *type = record[0];
  *plainLen = kept;
  return true;
}

bool DtlsRecordCipher::SealAlert(uint8_t level, uint8_t description, uint8_t out[kAlertRecordLen]) {
  constexpr uint8_t kContentAlert = 21;
  const uint8_t alert[2] = {level, description};
  out[0] = kContentAlert;
  out[1] = kVersion[0];
  out[2] = kVersion[1];
  PutSeq(out + 3, nextWriteSeq_);
  const size_t fragmentLen = kExplicitNonceLen + sizeof(alert) + kTagLen;
  out[11] = static_cast<uint8_t>(fragmentLen >> 8);
  out[12] = static_cast<uint8_t>(fragmentLen);
  // Explicit nonce: epoch || sequence, unique per record as RFC 5288 §3 asks.
  std::memcpy(out + kHeaderLen, out + 3, kExplicitNonceLen);
  uint8_t nonce[kIvLen + kExplicitNonceLen];
  std::memcpy(nonce, writeIv_, kIvLen);
  std::memcpy(nonce + kIvLen, out + 3, kExplicitNonceLen);
  uint8_t aad[13];
  MakeAad(aad, out + 3, kContentAlert, sizeof(alert));
  uint8_t* ciphertext = out + kHeaderLen + kExplicitNonceLen;

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int outLen = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx, Gcm(keyLen_), nullptr, writeKey_, nonce) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &outLen, aad, sizeof(aad)) == 1 &&
      EVP_EncryptUpdate(ctx, ciphertext, &outLen, alert, sizeof(alert)) == 1 &&
      EVP_EncryptFinal_ex(ctx, ciphertext + outLen, &outLen) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagLen, ciphertext + sizeof(alert)) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (ok)
    ++nextWriteSeq_;
  return ok;
}

DtlsRecordCipher::~DtlsRecordCipher() {
  OPENSSL_cleanse(writeKey_, sizeof(writeKey_));
  OPENSSL_cleanse(readKey_, sizeof(readKey_));
}

} // namespace sluice::transport
