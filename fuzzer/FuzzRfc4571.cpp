// libFuzzer target: Rfc4571Framer over an arbitrary stream fed in arbitrary
// pieces, checked against an independent reference parse of the whole
// stream. Any mismatch aborts (that is the finding), as does any
// out-of-bounds access under ASan: each piece is fed from its own heap copy
// of exactly its size, and every delivered frame is overwritten in place.
//
// Input: [control][sizes...][stream...]
//   control bits 0-3: number of piece sizes k (0: the whole stream in one feed)
//   control bit 4:    sizes are 2 bytes big-endian (else 1 byte)
//   control bit 5:    one more byte follows the sizes: stop (onFrame returns
//                     false) at that frame number
// The sizes are used in turn, cyclically; a size of 0 is an empty Feed() (if
// all are 0, the rest of the stream follows in one piece).
#include "sluice/net/Rfc4571Framer.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

using sluice::net::Rfc4571Framer;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzRfc4571: check failed: %s (line %d)\n", #cond, __LINE__);          \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

struct RefFrame {
  size_t start; // offset of the length field in the stream
  size_t len;   // payload length (0: a zero-length frame, not delivered)
};

// RFC 4571 by the book, on the whole stream at once.
std::vector<RefFrame> ReferenceParse(const uint8_t* s, size_t n) {
  std::vector<RefFrame> out;
  size_t at = 0;
  while (n - at >= 2) {
    const size_t len = static_cast<size_t>(s[at]) * 256 + s[at + 1];
    if (n - at - 2 < len)
      break;
    out.push_back({at, len});
    at += 2 + len;
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const uint8_t control = data[0];
  const size_t k = control & 0x0f;
  const size_t sizeBytes = (control & 0x10) != 0 ? 2 : 1;
  const bool stopMode = (control & 0x20) != 0;
  const size_t header = 1 + k * sizeBytes + (stopMode ? 1 : 0);
  if (size < header)
    return 0;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < k; ++i) {
    const uint8_t* p = data + 1 + i * sizeBytes;
    sizes.push_back(sizeBytes == 2 ? (size_t(p[0]) << 8) | p[1] : p[0]);
  }
  bool anyNonZero = k == 0;
  for (size_t v : sizes)
    anyNonZero = anyNonZero || v != 0;
  if (!anyNonZero)
    sizes.push_back(SIZE_MAX); // only empty feeds would never progress: then the rest
  const size_t stopAt = stopMode ? data[header - 1] : SIZE_MAX;
  const uint8_t* stream = data + header;
  const size_t n = size - header;

  const std::vector<RefFrame> ref = ReferenceParse(stream, n);
  Rfc4571Framer framer;
  size_t next = 0;      // index in ref of the next frame to complete
  size_t delivered = 0; // non-empty frames delivered
  size_t zeroLength = 0;
  bool stopped = false;
  size_t fed = 0;
  for (size_t piece = 0; fed < n && !stopped; ++piece) {
    size_t len = k == 0 ? n : sizes[piece % sizes.size()];
    if (len > n - fed)
      len = n - fed;
    std::unique_ptr<uint8_t[]> copy(new uint8_t[len == 0 ? 1 : len]);
    if (len != 0)
      std::memcpy(copy.get(), stream + fed, len);
    uint8_t* begin = copy.get();
    const size_t pieceStart = fed;
    framer.Feed(begin, len, [&](uint8_t* frame, size_t frameLen) {
      // Skip the zero-length frames the framer counts instead of delivering.
      while (next < ref.size() && ref[next].len == 0) {
        ++zeroLength;
        ++next;
      }
      FUZZ_CHECK(next < ref.size());
      const RefFrame& r = ref[next++];
      FUZZ_CHECK(frameLen == r.len);
      FUZZ_CHECK(std::memcmp(frame, stream + r.start + 2, frameLen) == 0);
      // A frame wholly inside this piece is delivered in place.
      if (r.start >= pieceStart && r.start + 2 + r.len <= pieceStart + len)
        FUZZ_CHECK(frame == begin + (r.start - pieceStart) + 2);
      std::memset(frame, 0xa5, frameLen); // ours to modify
      ++delivered;
      if (delivered == stopAt) {
        stopped = true;
        return false;
      }
      return true;
    });
    fed += len;
    if (stopped)
      break;
    // Every frame complete within the fed bytes was delivered; the rest of
    // the fed bytes are exactly what the framer holds.
    size_t boundary = 0;
    while (next < ref.size() && ref[next].len == 0 && ref[next].start + 2 <= fed) {
      ++zeroLength;
      ++next;
    }
    if (next > 0)
      boundary = ref[next - 1].start + 2 + ref[next - 1].len;
    FUZZ_CHECK(next == ref.size() || ref[next].start + 2 + ref[next].len > fed);
    FUZZ_CHECK(framer.BufferedBytes() == fed - boundary);
    FUZZ_CHECK(framer.BufferedBytes() <= Rfc4571Framer::kMaxFrameBytes + 2);
    FUZZ_CHECK(framer.CapacityBytes() <= Rfc4571Framer::kMaxFrameBytes);
    FUZZ_CHECK(framer.ZeroLengthFrames() == zeroLength);
  }
  if (stopped) {
    FUZZ_CHECK(framer.BufferedBytes() == 0);
    FUZZ_CHECK(framer.CapacityBytes() == 0);
    return 0;
  }
  if (fed == n) {
    FUZZ_CHECK(next == ref.size());
    size_t total = 0;
    for (const RefFrame& r : ref)
      total += r.len != 0 ? 1 : 0;
    FUZZ_CHECK(delivered == total);
  }
  framer.Reset();
  FUZZ_CHECK(framer.BufferedBytes() == 0);
  FUZZ_CHECK(framer.CapacityBytes() == 0);
  return 0;
}
