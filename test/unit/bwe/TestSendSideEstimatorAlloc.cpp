// The estimator on the feedback path: after construction, feedback, RTT,
// REMB and bound updates make no allocator call.
#include <catch2/catch.hpp>

#include "../AllocCounter.hpp"
#include "sluice/bwe/SendSideEstimator.hpp"

using sluice::bwe::kLost;
using sluice::bwe::PacketFeedback;
using sluice::bwe::SendSideEstimator;

TEST_CASE("bwe: the estimator allocates nothing per feedback") {
  SendSideEstimator est(SendSideEstimator::Config{});
  PacketFeedback fb[64];
  const sluice::test::AllocScope scope;
  int64_t send = 0;
  int64_t arrive = 5'000'000'000;
  for (int round = 0; round < 2000; ++round) {
    for (int i = 0; i < 64; ++i) {
      send += 1'500;
      arrive += 1'500 + (round % 50 == 0 ? 900 : 0);
      fb[i] = PacketFeedback{send, i % 29 == 0 ? kLost : arrive, 1200, false};
    }
    est.OnFeedback(fb, 64, send + 30'000);
    if (round % 7 == 0)
      est.OnFeedback(fb, 64, send + 30'000); // duplicate
    est.OnRtt(60, send);
    if (round % 100 == 0) {
      est.OnRemb(3'000'000, send);
      est.SetBounds(50'000, round % 200 == 0 ? 0 : 5'000'000);
    }
  }
  CHECK(est.TargetBps() > 0);
  CHECK(scope.Count() == 0);
}
