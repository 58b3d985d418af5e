#include "sluice/router/AudioLevels.hpp"

namespace sluice::router {

size_t SelectLoudest(const LevelSum* sums, size_t n, int8_t threshold, LoudEntry* out,
                     size_t maxEntries) {
  size_t used = 0;
  for (size_t i = 0; i < n; ++i) {
    if (sums[i].count == 0)
      continue;
    const int8_t volume = sums[i].Volume();
    if (volume < threshold)
      continue;
    // Insertion into the kept list, which stays sorted loudest first; a
    // producer no louder than the last kept one is dropped when it is full.
    size_t pos = used;
    while (pos > 0 && out[pos - 1].volume < volume)
      --pos;
    if (pos >= maxEntries)
      continue;
    const size_t last = used < maxEntries ? used : maxEntries - 1;
    for (size_t j = last; j > pos; --j)
      out[j] = out[j - 1];
    out[pos] = LoudEntry{i, volume};
    if (used < maxEntries)
      ++used;
  }
  return used;
}

} // namespace sluice::router
