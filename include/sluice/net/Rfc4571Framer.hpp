// RFC 4571 §2 reassembly of a TCP byte stream into packets (ICE-TCP, RFC 6544):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   -----------------------------------------------------------------
//   |             LENGTH            |  RTP or RTCP packet ...       |
//   -----------------------------------------------------------------
//
// LENGTH is a 16-bit big-endian byte count of the packet that follows, so a
// packet is at most 65535 bytes. Pure reassembly, no I/O.
//
// Feed() delivers complete packets ("frames") in stream order whatever the
// split of the stream (down to one byte per call). A frame whose payload lies
// wholly inside the fed bytes is delivered in place, without a copy, even if
// its 2-byte length arrived in an earlier Feed. Only the payload of a frame
// that is still incomplete at the end of `data` is copied into the framer's
// buffer; a split length field waits in 2 inline bytes.
//
// Bound: the buffer grows to the payload size of the largest partial frame
// seen since it was last released (<= kMaxFrameBytes), never more. It is
// released at once when it empties if it is larger than kKeepBytes, else after
// kReleaseAfterIdleFeeds consecutive Feed() calls that end with nothing
// buffered, and on Reset(). So an idle connection holds at most kKeepBytes.
// Zero-length frames carry nothing; they are skipped and counted.
//
// Footprint: 32 bytes plus the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace sluice::net {

class Rfc4571Framer {
public:
  static constexpr size_t kMaxFrameBytes = 65535;
  static constexpr size_t kKeepBytes = 2048; // larger buffers are freed as soon as they empty
  static constexpr uint8_t kReleaseAfterIdleFeeds = 16;

  Rfc4571Framer() = default;
  ~Rfc4571Framer() { Reset(); }
  Rfc4571Framer(const Rfc4571Framer&) = delete;
  Rfc4571Framer& operator=(const Rfc4571Framer&) = delete;

  // Calls onFrame(uint8_t* frame, size_t len) for each complete frame; the
  // bytes are valid during the call only and may be modified in place. If
  // onFrame returns bool, false stops at once: the rest of `data` and any
  // partial frame are discarded (the stream cannot be resumed mid-way; the
  // framer is Reset). onFrame must not Reset or destroy the framer.
  template <typename F> void Feed(uint8_t* data, size_t len, F&& onFrame);

  // Forgets any partial frame and frees the buffer.
  void Reset();

  // Bytes of the incomplete frame held so far (length field included).
  size_t BufferedBytes() const { return headerHave_ + have_; }
  // Heap bytes held by the buffer (0 once released).
  size_t CapacityBytes() const { return capacity_; }
  uint64_t ZeroLengthFrames() const { return zeroLengthFrames_; }

private:
  template <typename F> static bool Deliver(F& onFrame, uint8_t* frame, size_t len) {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, uint8_t*, size_t>, bool>) {
      return onFrame(frame, len);
    } else {
      onFrame(frame, len);
      return true;
    }
  }
  // Copies `len` more payload bytes of the pending frame (growing the buffer
  // to frameLen_ if needed).
  void Append(const uint8_t* data, size_t len);
  void MaybeRelease();

  uint8_t* buffer_{nullptr};
  uint64_t zeroLengthFrames_{0};
  uint16_t capacity_{0}; // kMaxFrameBytes fits
  uint16_t have_{0};     // payload bytes of the pending frame in buffer_
  uint16_t frameLen_{0}; // payload length of the pending frame (headerHave_ == 2)
  uint8_t header_[2]{};
  uint8_t headerHave_{0}; // 0: between frames; 1: half a length; 2: payload pending
  uint8_t idleFeeds_{0};
};

template <typename F> void Rfc4571Framer::Feed(uint8_t* data, size_t len, F&& onFrame) {
  while (len > 0) {
    if (headerHave_ == 2) {
      // Payload of a frame whose length came earlier.
      if (have_ == 0 && len >= frameLen_) {
        const size_t n = frameLen_;
        headerHave_ = 0;
        if (!Deliver(onFrame, data, n))
          return Reset();
        data += n;
        len -= n;
        continue;
      }
      const size_t take = len < size_t(frameLen_ - have_) ? len : size_t(frameLen_ - have_);
      Append(data, take);
      data += take;
      len -= take;
      if (have_ < frameLen_)
        break; // all of `data` consumed
      headerHave_ = 0;
      have_ = 0;
      if (!Deliver(onFrame, buffer_, frameLen_))
        return Reset();
      continue;
    }
    size_t frameLen;
    if (headerHave_ == 1 || len == 1) {
      // A length field split across Feed() calls.
      header_[headerHave_++] = *data++;
      --len;
      if (headerHave_ < 2)
        break;
      frameLen = (size_t(header_[0]) << 8) | header_[1];
    } else {
      frameLen = (size_t(data[0]) << 8) | data[1];
      data += 2;
      len -= 2;
      if (frameLen != 0 && len >= frameLen) {
        // Fast path: the whole frame is in `data`.
        if (!Deliver(onFrame, data, frameLen))
          return Reset();
        data += frameLen;
        len -= frameLen;
        continue;
      }
    }
    if (frameLen == 0) {
      ++zeroLengthFrames_;
      headerHave_ = 0;
      continue;
    }
    headerHave_ = 2;
    frameLen_ = static_cast<uint16_t>(frameLen);
  }
  if (headerHave_ == 0)
    MaybeRelease();
}

} // namespace sluice::net
