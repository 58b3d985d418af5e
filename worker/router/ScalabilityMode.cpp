#include "sluice/router/ScalabilityMode.hpp"

namespace sluice::router {

namespace {

// 1..99 without a leading zero, advancing `pos`; 0 when there is none.
uint8_t ParseCount(std::string_view text, size_t* pos) {
  size_t i = *pos;
  if (i >= text.size() || text[i] < '1' || text[i] > '9')
    return 0;
  unsigned value = static_cast<unsigned>(text[i++] - '0');
  if (i < text.size() && text[i] >= '0' && text[i] <= '9')
    value = value * 10 + static_cast<unsigned>(text[i++] - '0');
  *pos = i;
  return static_cast<uint8_t>(value);
}

} // namespace

ScalabilityMode ScalabilityMode::Parse(std::string_view text) {
  ScalabilityMode mode;
  if (text.empty() || (text[0] != 'L' && text[0] != 'S'))
    return mode;
  size_t pos = 1;
  const uint8_t spatial = ParseCount(text, &pos);
  if (spatial == 0 || pos >= text.size() || text[pos] != 'T')
    return mode;
  ++pos;
  const uint8_t temporal = ParseCount(text, &pos);
  if (temporal == 0)
    return mode;
  mode.spatialLayers = spatial;
  mode.temporalLayers = temporal;
  mode.ksvc = text.substr(pos, 4) == "_KEY";
  return mode;
}

} // namespace sluice::router
