// Counts OpenSSL's own heap use (CRYPTO_malloc / CRYPTO_realloc) in a test
// binary. Link CryptoAllocCounter.cpp into the allocation tests that need it:
// it installs counting memory functions during static initialisation, before
// anything in the process touches OpenSSL. AllocCounter.cpp counts operator
// new; this counts what OpenSSL allocates with malloc behind it.
#pragma once

#include <cstdint>

namespace sluice::test {

uint64_t CryptoAllocCalls();
// False when OpenSSL had allocated before the hook could be installed; the
// OpenSSL half of a check is then meaningless and should be skipped.
bool CryptoAllocCounterInstalled();

} // namespace sluice::test
