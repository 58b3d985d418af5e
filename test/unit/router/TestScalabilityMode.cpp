#include "sluice/router/ScalabilityMode.hpp"

#include <catch2/catch.hpp>

using sluice::router::ScalabilityMode;

namespace {

void Check(const char* text, int spatial, int temporal, bool ksvc) {
  INFO(text);
  const auto m = ScalabilityMode::Parse(text);
  CHECK(int{m.spatialLayers} == spatial);
  CHECK(int{m.temporalLayers} == temporal);
  CHECK(m.ksvc == ksvc);
}

} // namespace

TEST_CASE("ScalabilityMode: the webrtc-svc identifiers", "[router]") {
  Check("L1T1", 1, 1, false);
  Check("L1T3", 1, 3, false);
  Check("L3T3", 3, 3, false);
  Check("L3T3_KEY", 3, 3, true);
  Check("L2T2_KEY_SHIFT", 2, 2, true);
  Check("S3T3", 3, 3, false);
  Check("S2T1h", 2, 1, false);
  Check("L12T34", 12, 34, false);
}

TEST_CASE("ScalabilityMode: what the controller's pattern does not match is one layer",
          "[router]") {
  Check("", 1, 1, false);
  Check("foo", 1, 1, false);
  Check("L0T1", 1, 1, false);
  Check("L1T0", 1, 1, false);
  Check("LT3", 1, 1, false);
  Check("L3", 1, 1, false);
  Check("l3t3", 1, 1, false);
  Check("L01T3", 1, 1, false);
}

TEST_CASE("ScalabilityMode: a third digit is past the match, as in the controller", "[router]") {
  Check("L1T100", 1, 10, false);
  Check("L3T3_KE", 3, 3, false);
}
