#include "sluice/util/HmacSha1.hpp"

#include <cstring>

// The SHA-1 block functions are deprecated in OpenSSL 3 in favour of EVP,
// whose contexts live on the heap; see the header for why we stay on them.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace sluice::util {

namespace {
constexpr size_t kBlockSize = 64; // SHA-1 block, RFC 2104's B
} // namespace

static_assert(sizeof(SHA_CTX) <= 96 && alignof(SHA_CTX) <= 8, "HmacSha1 state storage too small");

HmacSha1::~HmacSha1() {
  OPENSSL_cleanse(inner_, sizeof(inner_));
  OPENSSL_cleanse(outer_, sizeof(outer_));
}

void HmacSha1::SetKey(const uint8_t* key, size_t len) {
  // RFC 2104 §2: K padded with zeros to B bytes, hashed first when longer.
  uint8_t k[kBlockSize] = {};
  SHA_CTX ctx;
  if (len > kBlockSize) {
    SHA1_Init(&ctx);
    SHA1_Update(&ctx, key, len);
    SHA1_Final(k, &ctx);
  } else if (len > 0) {
    std::memcpy(k, key, len);
  }
  uint8_t pad[kBlockSize];
  for (size_t i = 0; i < kBlockSize; ++i)
    pad[i] = k[i] ^ 0x36;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, pad, sizeof(pad));
  std::memcpy(inner_, &ctx, sizeof(ctx));
  for (size_t i = 0; i < kBlockSize; ++i)
    pad[i] = k[i] ^ 0x5c;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, pad, sizeof(pad));
  std::memcpy(outer_, &ctx, sizeof(ctx));
  OPENSSL_cleanse(k, sizeof(k));
  OPENSSL_cleanse(pad, sizeof(pad));
  OPENSSL_cleanse(&ctx, sizeof(ctx));
}

void HmacSha1::Sign(const uint8_t* a, size_t aLen, const uint8_t* b, size_t bLen,
                    uint8_t out[kSize]) const {
  // H(K ^ opad, H(K ^ ipad, text)), both pad blocks already absorbed.
  SHA_CTX ctx;
  uint8_t inner[kSize];
  std::memcpy(&ctx, inner_, sizeof(ctx));
  if (aLen > 0)
    SHA1_Update(&ctx, a, aLen);
  if (bLen > 0)
    SHA1_Update(&ctx, b, bLen);
  SHA1_Final(inner, &ctx);
  std::memcpy(&ctx, outer_, sizeof(ctx));
  SHA1_Update(&ctx, inner, sizeof(inner));
  SHA1_Final(out, &ctx);
}

} // namespace sluice::util
