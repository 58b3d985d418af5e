#include "sluice/channel/FrameReader.hpp"

#include <cstring>

namespace sluice::channel {

FrameReader::FrameReader(size_t maxPayload) : buffer_(kBaseCapacity), maxPayload_(maxPayload) {}

uint32_t FrameReader::PeekLength() const {
  const uint8_t* p = buffer_.data() + begin_;
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void FrameReader::Compact() {
  const size_t avail = end_ - begin_;
  if (begin_ > 0) {
    if (avail > 0)
      std::memmove(buffer_.data(), buffer_.data() + begin_, avail);
    begin_ = 0;
    end_ = avail;
  }
  // Capacity needed for what is buffered: the whole pending frame when its
  // (already checked) length is known, else the base capacity.
  size_t want = kBaseCapacity;
  if (status_ == Status::Ok && avail >= kPrefix) {
    const uint32_t len = PeekLength();
    if (len <= maxPayload_)
      want = std::max(want, kPrefix + static_cast<size_t>(len));
  }
  want = std::max(want, avail + 1);
  if (want > buffer_.size()) {
    buffer_.resize(want);
  } else if (buffer_.size() > kBaseCapacity && want <= kBaseCapacity) {
    std::vector<uint8_t> smaller(kBaseCapacity);
    std::memcpy(smaller.data(), buffer_.data(), avail);
    buffer_.swap(smaller);
  }
}

} // namespace sluice::channel
