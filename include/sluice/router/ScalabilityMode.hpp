// An encoding's scalabilityMode (W3C webrtc-svc identifiers such as "L1T3",
// "L3T3_KEY", "S3T3"), as the mediasoup controller interprets it: spatial and
// temporal layer counts and whether upper spatial layers depend on lower
// ones only on key frames (K-SVC, "_KEY").
//
// What does not parse (absent, empty, "foo", "L0T1", "LT3") is one layer
// of each: the controller treats it the same way. Parsed once, when the
// producer or consumer is created; nothing per packet.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::router {

struct ScalabilityMode {
  uint8_t spatialLayers = 1;  // 1..99
  uint8_t temporalLayers = 1; // 1..99
  bool ksvc = false;          // "_KEY" suffix

  // "[LS]<1-99>T<1-99>" optionally followed by "_KEY" (anything after the
  // match, e.g. "h" in "L1T3h" or the third digit of "L1T100", is ignored,
  // as the controller does).
  static ScalabilityMode Parse(std::string_view text);
};

} // namespace sluice::router
