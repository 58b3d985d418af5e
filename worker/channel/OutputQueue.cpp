#include "sluice/channel/OutputQueue.hpp"

#include <cstring>

namespace sluice::channel {

OutputQueue::OutputQueue(size_t limitBytes) : limit_(limitBytes) {
  buffer_.reserve(kBaseCapacity);
}

bool OutputQueue::Push(const uint8_t* data, size_t len, bool droppable) {
  if (droppable && QueuedBytes() + len > limit_)
    return false;
  buffer_.insert(buffer_.end(), data, data + len);
  highWater_ = std::max(highWater_, QueuedBytes());
  return true;
}

void OutputQueue::Reclaim() {
  if (head_ == buffer_.size()) {
    buffer_.clear();
    head_ = 0;
    if (buffer_.capacity() > kBaseCapacity) {
      std::vector<uint8_t> fresh;
      fresh.reserve(kBaseCapacity);
      buffer_.swap(fresh);
    }
    return;
  }
  // Keep the written prefix from pinning the buffer: once more than half of
  // it is consumed, move the rest to the front.
  if (head_ > buffer_.size() / 2) {
    const size_t rest = buffer_.size() - head_;
    std::memmove(buffer_.data(), buffer_.data() + head_, rest);
    buffer_.resize(rest);
    head_ = 0;
  }
}

} // namespace sluice::channel
