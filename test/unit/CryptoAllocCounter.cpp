#include "CryptoAllocCounter.hpp"

#include <openssl/crypto.h>

#include <cstdlib>

namespace {

uint64_t gCryptoAllocs = 0;

void* CountingMalloc(size_t n, const char*, int) {
  ++gCryptoAllocs;
  return std::malloc(n);
}
void* CountingRealloc(void* p, size_t n, const char*, int) {
  ++gCryptoAllocs;
  return std::realloc(p, n);
}
void CountingFree(void* p, const char*, int) {
  std::free(p);
}

// Static initialisation runs before Catch2's main.
const bool gCryptoHooked = CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree);

} // namespace

namespace sluice::test {

uint64_t CryptoAllocCalls() {
  return gCryptoAllocs;
}

bool CryptoAllocCounterInstalled() {
  return gCryptoHooked;
}

} // namespace sluice::test
