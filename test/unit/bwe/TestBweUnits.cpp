// The estimator's parts on hand-made inputs.
#include <catch2/catch.hpp>

#include <cmath>

#include "sluice/bwe/AckedRate.hpp"
#include "sluice/bwe/AimdRateControl.hpp"
#include "sluice/bwe/InterArrival.hpp"
#include "sluice/bwe/LossBasedControl.hpp"
#include "sluice/bwe/OveruseDetector.hpp"
#include "sluice/bwe/TrendlineFilter.hpp"

using namespace sluice::bwe;
using Result = InterArrival::Result;

TEST_CASE("InterArrival: packets within 5 ms of a group's first are one group") {
  InterArrival ia;
  GroupDelta d{};
  const int64_t off = -7'000'000'000; // receiver clock far from ours
  // Group A: sent 0..4 ms; group B: 10..14 ms, 3 ms later in the queue.
  for (int64_t s = 0; s <= 4'000; s += 1'000)
    CHECK(ia.OnPacket(s, s + off + 20'000, &d) == Result::None);
  for (int64_t s = 10'000; s <= 14'000; s += 1'000)
    CHECK(ia.OnPacket(s, s + off + 23'000, &d) == Result::None);
  // The first packet of group C closes B: one sample A -> B.
  REQUIRE(ia.OnPacket(20'000, 20'000 + off + 23'000, &d) == Result::Delta);
  CHECK(d.sendDeltaUs == 10'000);
  CHECK(d.arrivalDeltaUs == 13'000);
  CHECK(d.arrivalUs == 14'000 + off + 23'000);
}

TEST_CASE("InterArrival: a burst released by a queue joins the group") {
  InterArrival ia;
  GroupDelta d{};
  CHECK(ia.OnPacket(0, 100'000, &d) == Result::None);
  // Sent 20 ms later but arrives 1 ms after: the queue held it back.
  CHECK(ia.OnPacket(20'000, 101'000, &d) == Result::None);
  CHECK(ia.OnPacket(40'000, 140'000, &d) == Result::None);
  REQUIRE(ia.OnPacket(60'000, 160'000, &d) == Result::Delta);
  CHECK(d.sendDeltaUs == 20'000); // from the merged group's last packet
  CHECK(d.arrivalDeltaUs == 39'000);
}

TEST_CASE("InterArrival: reordering and clock jumps are guarded") {
  InterArrival ia;
  GroupDelta d{};
  ia.OnPacket(0, 50'000, &d);
  ia.OnPacket(10'000, 60'000, &d);
  CHECK(ia.OnPacket(20'000, 70'000, &d) == Result::Delta);
  // Sent before the open group began: a stale report.
  CHECK(ia.OnPacket(5'000, 55'000, &d) == Result::None);
  CHECK(ia.Ignored() == 1);
  // Closing the 20 ms group; the 30 ms group arrives before it did.
  CHECK(ia.OnPacket(30'000, 65'000, &d) == Result::Delta);
  // Closing the 30 ms group: overtaken, dropped without a sample.
  CHECK(ia.OnPacket(40'000, 90'000, &d) == Result::None);
  CHECK(ia.Ignored() == 2);
  CHECK(ia.OnPacket(50'000, 100'000, &d) == Result::Delta);
  CHECK(d.sendDeltaUs == 20'000); // measured from the 20 ms group
  // The receiver clock leaps 10 s at the 60 ms group; closing it gives no
  // sample but a discontinuity.
  CHECK(ia.OnPacket(60'000, 10'110'000, &d) == Result::Delta);
  CHECK(ia.OnPacket(70'000, 10'120'000, &d) == Result::Discontinuity);
  CHECK(ia.Discontinuities() == 1);
  CHECK(ia.OnPacket(80'000, 10'130'000, &d) == Result::Delta);
  CHECK(d.arrivalDeltaUs == 10'000);
}

TEST_CASE("TrendlineFilter: slope of a queue growing 0.1 ms per ms") {
  TrendlineFilter f;
  for (int i = 1; i <= 40; ++i) {
    // Groups every 10 ms that each arrive 1 ms later than the last.
    f.Update(1.0, int64_t{i} * 11'000);
    CHECK(f.Ready() == (i >= 20));
  }
  CHECK(f.Slope() == Approx(1.0 / 11).epsilon(0.05));
  CHECK(f.Trend() == Approx(f.Slope() * 40 * TrendlineFilter::kGain));
  f.Reset();
  CHECK_FALSE(f.Ready());
  for (int i = 1; i <= 30; ++i)
    f.Update(0.0, int64_t{i} * 10'000);
  CHECK(f.Trend() == 0);
}

TEST_CASE("OveruseDetector: above the threshold for 10 ms and growing is overuse") {
  OveruseDetector det;
  int64_t t = 0;
  CHECK(det.Detect(1, 5'000, t += 5'000) == BandwidthUsage::Normal);
  CHECK(det.Detect(20, 5'000, t += 5'000) == BandwidthUsage::Normal);      // 5 ms above
  CHECK(det.Detect(21, 5'000, t += 5'000) == BandwidthUsage::Overusing);   // 10 ms, growing
  CHECK(det.Detect(20.5, 5'000, t += 5'000) == BandwidthUsage::Overusing); // shrinking: stays
  CHECK(det.Detect(0, 5'000, t += 5'000) == BandwidthUsage::Normal);
  CHECK(det.Detect(-40, 5'000, t += 5'000) == BandwidthUsage::Underusing);
}

TEST_CASE("OveruseDetector: the threshold follows |m| up fast, down slowly, within bounds") {
  OveruseDetector det;
  int64_t t = 0;
  det.Detect(0, 10'000, t);
  // |m| = 20 (7.5 above): K_u = 0.01/ms over 100 ms steps.
  det.Detect(20, 10'000, t += 100'000);
  CHECK(det.ThresholdMs() == Approx(12.5 + 0.01 * 100 * 7.5));
  // A spike far above γ does not move it.
  const double before = det.ThresholdMs();
  det.Detect(100, 10'000, t += 100'000);
  CHECK(det.ThresholdMs() == before);
  for (int i = 0; i < 2000; ++i)
    det.Detect(0, 10'000, t += 100'000);
  CHECK(det.ThresholdMs() == OveruseDetector::kMinThresholdMs);
  // Steps longer than 100 ms count as 100 ms.
  det.Detect(10, 10'000, t += 10'000'000);
  CHECK(det.ThresholdMs() == Approx(6 + 0.01 * 100 * 4));
}

TEST_CASE("AckedRate: bytes over the window by arrival time") {
  AckedRate r;
  int64_t t = -123'456'789; // any receiver clock
  r.Add(t, 1200);
  CHECK(r.Rate() == 0);
  for (int i = 0; i < 39; ++i)
    r.Add(t += 5'000, 1200); // 1.92 Mbit/s for 195 ms: too short to tell
  CHECK(r.Rate() == 0);
  for (int i = 0; i < 400; ++i)
    r.Add(t += 5'000, 1200);
  CHECK(r.Rate() == Approx(1'920'000).epsilon(0.03));
  // Half the rate for a full window: only the new rate remains.
  for (int i = 0; i < 100; ++i)
    r.Add(t += 10'000, 1200);
  CHECK(r.Rate() == Approx(960'000).epsilon(0.03));
  // Late arrivals from before the window are dropped.
  r.Add(t - 900'000, 100'000);
  CHECK(r.Rate() == Approx(960'000).epsilon(0.03));
  // The clock going back by seconds starts over.
  r.Add(t - 5'000'000, 1200);
  CHECK(r.Rate() == 0);
}

TEST_CASE("LossBasedControl: back off above 10%, grow below 2%, hold between") {
  LossBasedControl c(1'000'000, 30'000, 0);
  int64_t t = 0;
  c.OnPackets(100, 20, t, 1'000'000);
  CHECK(c.Rate() == 1'000'000); // window still open
  c.OnPackets(100, 20, t += 500'000, 1'000'000);
  CHECK(c.LossFraction() == Approx(0.2));
  CHECK(c.Rate() == 900'000); // × (1 - 0.5 × 0.2)
  c.OnPackets(100, 5, t += 500'000, 900'000);
  CHECK(c.Rate() == 900'000);
  c.OnPackets(100, 1, t += 500'000, 900'000);
  CHECK(c.Rate() == 945'000);
  // Too few packets: the window waits for more.
  c.OnPackets(5, 5, t += 500'000, 945'000);
  CHECK(c.Rate() == 945'000);
  // Backing off starts from the target when that is lower.
  c.OnPackets(100, 40, t += 500'000, 500'000);
  CHECK(c.Rate() == Approx(500'000 * (1 - 0.5 * 45 / 105.0)).margin(1));
}

TEST_CASE("AimdRateControl: ~8%/s up, 0.85 × acked down, hold while underusing") {
  AimdRateControl c(1'000'000, 30'000, 0);
  int64_t t = 0;
  c.Update(BandwidthUsage::Normal, 0, t);
  for (int i = 0; i < 10; ++i)
    c.Update(BandwidthUsage::Normal, 0, t += 100'000);
  CHECK(c.Rate() == Approx(1'080'000).epsilon(0.001));
  // Increases stop at 1.5 × acked (+10 kbit/s).
  c.Update(BandwidthUsage::Normal, 500'000, t += 1'000'000);
  CHECK(c.Rate() == Approx(1'080'000).epsilon(0.001));
  c.Update(BandwidthUsage::Overusing, 1'000'000, t += 100'000);
  CHECK(c.Rate() == 850'000);
  CHECK(c.LinkCapacityBps() == 1'000'000);
  c.Update(BandwidthUsage::Underusing, 1'000'000, t += 100'000);
  CHECK(c.Rate() == 850'000);
  // Hold -> Increase; 850k is far below the capacity learned: multiplicative.
  c.Update(BandwidthUsage::Normal, 850'000, t += 100'000);
  CHECK(c.Rate() == Approx(850'000 * std::pow(1.08, 0.1)).epsilon(0.0001));
  // Near the learned capacity (acked within 3 σ of 1 Mbit/s): additive,
  // half an expected packet (3 per 30 fps frame at this rate) per response
  // time (default RTT 200 ms + 100 ms), for this 100 ms step.
  const double before = c.Rate();
  c.Update(BandwidthUsage::Normal, 980'000, t += 100'000);
  const double packetBits = before / 30 / 3;
  CHECK(c.Rate() - before == Approx(0.5 * (100.0 / 300) * packetBits).margin(1));
}
