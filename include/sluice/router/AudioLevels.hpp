// The arithmetic of the audio level observer, apart from its timer and
// channel so that it can be tested on its own: per producer the sum and
// count of the RFC 6464 levels received in one interval, and the choice of
// the loudest producers above a threshold at the end of it.
//
// A level is -dBov as the extension carries it (0 loudest, 127 silence); a
// volume is the signed dBov number mediasoup reports (-127..0). Both fit a
// fixed-size record per producer: an interval of at most 5 s at one packet
// per 2.5 ms stays far below the 32-bit sum's range.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::router {

struct LevelSum {
  uint32_t sum = 0; // of -dBov levels
  uint32_t count = 0;

  void Add(uint8_t dbov) {
    sum += dbov;
    ++count;
  }
  void Reset() { *this = LevelSum{}; }
  // The interval's average as a volume in dBov (rounded to the nearest);
  // meaningful only when count > 0.
  int8_t Volume() const {
    return static_cast<int8_t>(-static_cast<int32_t>((sum + count / 2) / count));
  }
};

struct LoudEntry {
  size_t index = 0; // into the sums given to SelectLoudest
  int8_t volume = 0;
};

// Writes into out[0..maxEntries) the producers that received levels and whose
// average volume is at least `threshold` dBov, loudest first (equal volumes
// keep the sums' order); returns how many. O(n * maxEntries), no allocation.
size_t SelectLoudest(const LevelSum* sums, size_t n, int8_t threshold, LoudEntry* out,
                     size_t maxEntries);

} // namespace sluice::router
