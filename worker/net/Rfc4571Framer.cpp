#include "sluice/net/Rfc4571Framer.hpp"

#include <cstring>

namespace sluice::net {

void Rfc4571Framer::Reset() {
  delete[] buffer_;
  buffer_ = nullptr;
  capacity_ = 0;
  have_ = 0;
  frameLen_ = 0;
  headerHave_ = 0;
  idleFeeds_ = 0;
}

void Rfc4571Framer::Append(const uint8_t* data, size_t len) {
  idleFeeds_ = 0;
  if (capacity_ < frameLen_) {
    // Only at a frame's first payload byte (frameLen_ is fixed per frame), so
    // nothing to carry over. Sized to this frame: the buffer never exceeds the
    // largest frame that actually straddled a read.
    delete[] buffer_;
    buffer_ = new uint8_t[frameLen_];
    capacity_ = frameLen_;
  }
  std::memcpy(buffer_ + have_, data, len);
  have_ = static_cast<uint16_t>(have_ + len);
}

void Rfc4571Framer::MaybeRelease() {
  if (buffer_ == nullptr)
    return;
  if (capacity_ > kKeepBytes || ++idleFeeds_ >= kReleaseAfterIdleFeeds)
    Reset();
}

} // namespace sluice::net
