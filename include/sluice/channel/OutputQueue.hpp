// Frames waiting to be written to the controller (fd 4).
//
// Bound: droppable frames (traces, scores, log lines) are refused once
// queued bytes would pass the limit, and counted. Frames that must not be
// lost (responses, state notifications) are always queued; the channel stops
// reading requests while the queue is over the limit (OverLimit()), so those
// are bounded by the requests already read. The buffer shrinks back after it
// drains, so a burst does not pin its peak.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::channel {

class OutputQueue {
public:
  static constexpr size_t kBaseCapacity = 64u << 10;

  explicit OutputQueue(size_t limitBytes);

  // Appends a length-prefixed frame built by the caller. Returns false when
  // the frame is droppable and the queue is over limit (the caller counts
  // the drop by kind).
  bool Push(const uint8_t* data, size_t len, bool droppable);

  // Writes as much as `write` takes; `write(ptr, len)` returns bytes written,
  // 0 when it would block, or -1 on a fatal error (then Flush returns false).
  template <typename W> bool Flush(W&& write, size_t maxBytes) {
    size_t budget = maxBytes;
    while (head_ < buffer_.size() && budget > 0) {
      const size_t chunk = std::min(buffer_.size() - head_, budget);
      const long n = write(buffer_.data() + head_, chunk);
      if (n < 0)
        return false;
      if (n == 0)
        break;
      head_ += static_cast<size_t>(n);
      budget -= static_cast<size_t>(n);
    }
    Reclaim();
    return true;
  }

  size_t QueuedBytes() const { return buffer_.size() - head_; }
  bool Empty() const { return QueuedBytes() == 0; }
  bool OverLimit() const { return QueuedBytes() > limit_; }
  size_t Limit() const { return limit_; }
  size_t HighWaterBytes() const { return highWater_; }
  size_t Capacity() const { return buffer_.capacity(); }

private:
  void Reclaim();

  std::vector<uint8_t> buffer_;
  size_t head_{0};
  size_t limit_;
  size_t highWater_{0};
};

} // namespace sluice::channel
