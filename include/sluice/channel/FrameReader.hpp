// Splits the controller's byte stream into frames: a 4-byte little-endian
// payload length, then that many bytes (one FBS.Message.Message).
//
// Bound: the buffer never holds more than one maximal frame plus one read's
// worth of bytes, and it only grows after a length prefix has been checked
// against kMaxPayload. When a large frame has been consumed, the buffer
// shrinks back to kBaseCapacity so one big request does not pin memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::channel {

class FrameReader {
public:
  static constexpr size_t kMaxPayload = 4u << 20; // 4 MiB, as the Node library.
  static constexpr size_t kBaseCapacity = 64u << 10;
  static constexpr size_t kPrefix = 4;

  enum class Status { Ok, Oversize };

  explicit FrameReader(size_t maxPayload = kMaxPayload);

  // Where the next read() may write, and how much: at least one byte while
  // Status is Ok.
  uint8_t* WritePtr() { return buffer_.data() + end_; }
  size_t WritableBytes() const { return buffer_.size() - end_; }
  void Commit(size_t n) { end_ += n; }

  // Calls onFrame(const uint8_t* frame, size_t len) for every complete frame
  // buffered, in order; `frame` starts at the length prefix (len includes
  // it), so the payload is frame + kPrefix. onFrame returns false to stop
  // early (the rest stays buffered for the next Drain). Returns Oversize (and
  // stops, for good) when a
  // length prefix exceeds the limit: framing cannot be recovered after that.
  template <typename F> Status Drain(F&& onFrame) {
    while (status_ == Status::Ok) {
      const size_t avail = end_ - begin_;
      if (avail < kPrefix)
        break;
      const uint32_t len = PeekLength();
      if (len > maxPayload_) {
        status_ = Status::Oversize;
        oversizeLength_ = len;
        break;
      }
      if (avail < kPrefix + len)
        break;
      const uint8_t* frame = buffer_.data() + begin_;
      begin_ += kPrefix + len;
      if (!onFrame(frame, kPrefix + static_cast<size_t>(len)))
        break;
    }
    Compact();
    return status_;
  }

  Status GetStatus() const { return status_; }
  uint32_t OversizeLength() const { return oversizeLength_; }
  size_t Capacity() const { return buffer_.size(); }
  size_t Buffered() const { return end_ - begin_; }
  // True when at least one whole frame is buffered.
  bool HasFrame() const {
    return end_ - begin_ >= kPrefix && end_ - begin_ >= kPrefix + PeekLength();
  }

private:
  uint32_t PeekLength() const;
  // Moves a partial frame to the front and sizes the buffer for it.
  void Compact();

  std::vector<uint8_t> buffer_;
  size_t begin_{0};
  size_t end_{0};
  size_t maxPayload_;
  Status status_{Status::Ok};
  uint32_t oversizeLength_{0};
};

} // namespace sluice::channel
