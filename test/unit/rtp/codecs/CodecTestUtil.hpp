// Shared by the codec unit tests: payloads copied into exactly-sized heap
// blocks so ASan reports any read past the end, and a truncation sweep.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace sluice::rtp::codecs::test {

using Bytes = std::vector<uint8_t>;

class Exact {
public:
  Exact(const Bytes& b, size_t n) : len_(n), data_(new uint8_t[n == 0 ? 1 : n]) {
    if (n > 0)
      std::memcpy(data_.get(), b.data(), n);
  }
  explicit Exact(const Bytes& b) : Exact(b, b.size()) {}
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return len_; }

private:
  size_t len_;
  std::unique_ptr<uint8_t[]> data_;
};

} // namespace sluice::rtp::codecs::test
