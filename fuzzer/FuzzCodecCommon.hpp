// Shared by the codec fuzz targets: exactly-sized heap copies (so ASan sees
// a read past the end) and a loud failure when a round trip disagrees.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace fuzz {

class Exact {
public:
  Exact(const uint8_t* p, size_t n) : len_(n), data_(new uint8_t[n == 0 ? 1 : n]) {
    if (n > 0)
      std::memcpy(data_.get(), p, n);
  }
  const uint8_t* data() const { return len_ == 0 ? nullptr : data_.get(); }
  size_t size() const { return len_; }

private:
  size_t len_;
  std::unique_ptr<uint8_t[]> data_;
};

[[noreturn]] inline void Fail(const char* target, const char* what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

#define FUZZ_CHECK(target, cond)                                                                   \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ::fuzz::Fail(target, #cond);                                                                 \
  } while (0)

} // namespace fuzz
