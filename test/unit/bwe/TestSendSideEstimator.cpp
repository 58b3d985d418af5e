// The estimator against a simulated bottleneck (LinkSim): convergence,
// reaction to capacity changes, loss, reordering, clock jumps and bounds.
// Times below are simulated; each case runs in well under a second.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include "LinkSim.hpp"
#include "sluice/bwe/SendSideEstimator.hpp"

using sluice::bwe::kLost;
using sluice::bwe::PacketFeedback;
using sluice::bwe::SendSideEstimator;
using sluice::test::LinkConfig;
using sluice::test::LinkSim;

namespace {

constexpr int64_t kSecond = 1'000'000;

SendSideEstimator::Config WithInitial(uint32_t bps) {
  SendSideEstimator::Config c;
  c.initialBps = bps;
  return c;
}

// Watches a run: when the target first met a condition, averages over a span.
struct Watch {
  int64_t firstUs = -1;
  template <typename Pred> void Check(int64_t nowUs, Pred&& pred) {
    if (firstUs < 0 && pred())
      firstUs = nowUs;
  }
};

struct Average {
  double sum = 0;
  uint64_t n = 0;
  void Add(double v) {
    sum += v;
    ++n;
  }
  double Value() const { return n ? sum / static_cast<double>(n) : 0; }
};

const char* UsageName(SendSideEstimator::Usage u) {
  switch (u) {
  case SendSideEstimator::Usage::Normal:
    return "normal";
  case SendSideEstimator::Usage::Underusing:
    return "under";
  case SendSideEstimator::Usage::Overusing:
    return "over";
  }
  return "?";
}

} // namespace

TEST_CASE("bwe: ramps from 300 kbit/s to a 2 Mbit/s bottleneck and stays near it") {
  SendSideEstimator est(WithInitial(300'000));
  LinkSim sim(est, LinkConfig{});
  constexpr double kCapacity = 2'000'000;
  Watch reached;
  sim.Run(40 * kSecond, [&](int64_t now) {
    reached.Check(now, [&] { return est.TargetBps() >= 0.85 * kCapacity; });
  });
  std::fprintf(stderr, "[bwe ramp] 300k -> 85%% of 2M after %.1f s\n", reached.firstUs / 1e6);
  REQUIRE(reached.firstUs > 0);
  // 8%/s multiplicative increase: ln(1.7M / 300k) / ln(1.08) = 22.5 s.
  CHECK(reached.firstUs <= 25 * kSecond);

  Average target;
  int64_t maxQueueUs = 0;
  uint32_t minTarget = UINT32_MAX;
  sim.Run(100 * kSecond, [&](int64_t) {
    target.Add(est.TargetBps());
    minTarget = std::min(minTarget, est.TargetBps());
    maxQueueUs = std::max(maxQueueUs, sim.QueueDelayUs());
  });
  std::fprintf(stderr, "[bwe ramp] 40-100 s: mean target %.0f, min %u, max queue delay %.0f ms\n",
               target.Value(), minTarget, maxQueueUs / 1e3);
  CHECK(target.Value() <= 1.10 * kCapacity);
  CHECK(target.Value() >= 0.85 * kCapacity);
  CHECK(minTarget >= 0.75 * kCapacity);
  CHECK(maxQueueUs <= 100'000);
  CHECK(est.LossFraction() == 0);
}

TEST_CASE("bwe: capacity drops to 700 kbit/s and comes back (timeline)") {
  SendSideEstimator est(WithInitial(1'000'000));
  LinkSim sim(est, LinkConfig{});
  std::fprintf(stderr, "\n[bwe timeline] capacity 2M, 700k from 30 s, 2M again from 60 s\n");
  std::fprintf(stderr, "%6s %9s %9s %9s %9s %9s %7s %8s %7s\n", "t(s)", "capacity", "target",
               "delay", "lossBnd", "acked", "usage", "queue", "thresh");
  auto row = [&](int64_t now) {
    if (now % (2 * kSecond) != 0 && (now < 30 * kSecond || now > 33 * kSecond))
      return;
    if (now % (kSecond / 2) != 0)
      return;
    std::fprintf(stderr, "%6.1f %9.0f %9u %9u %9u %9u %7s %6.0fms %7.1f\n", now / 1e6,
                 sim.Config().capacityBps, est.TargetBps(), est.DelayBasedBps(), est.LossBasedBps(),
                 est.AckedBps(), UsageName(est.GetUsage()), sim.QueueDelayUs() / 1e3,
                 est.ThresholdMs());
  };
  sim.Run(30 * kSecond, row);
  REQUIRE(est.TargetBps() >= 1'700'000);

  sim.Config().capacityBps = 700'000;
  Watch below;
  Watch drained;
  Average settled;
  sim.Run(60 * kSecond, [&](int64_t now) {
    row(now);
    below.Check(now, [&] { return est.TargetBps() < 700'000; });
    if (below.firstUs >= 0)
      drained.Check(now, [&] { return sim.QueueDelayUs() < 50'000; });
    if (now >= 40 * kSecond)
      settled.Add(est.TargetBps());
  });
  REQUIRE(below.firstUs > 0);
  REQUIRE(drained.firstUs > 0);
  std::fprintf(stderr,
               "[bwe drop] target below 700k %.2f s after the drop, queue < 50 ms after %.2f s, "
               "mean target 40-60 s %.0f\n",
               (below.firstUs - 30 * kSecond) / 1e6, (drained.firstUs - 30 * kSecond) / 1e6,
               settled.Value());
  CHECK(below.firstUs - 30 * kSecond <= 2 * kSecond);
  CHECK(drained.firstUs - 30 * kSecond <= 6 * kSecond);
  CHECK(settled.Value() >= 0.75 * 700'000);
  CHECK(settled.Value() <= 1.10 * 700'000);

  sim.Config().capacityBps = 2'000'000;
  Watch recovered;
  sim.Run(90 * kSecond, [&](int64_t now) {
    row(now);
    recovered.Check(now, [&] { return est.TargetBps() >= 1'700'000; });
  });
  REQUIRE(recovered.firstUs > 0);
  std::fprintf(stderr, "[bwe recover] back to 85%% of 2M %.1f s after the limit lifted\n",
               (recovered.firstUs - 60 * kSecond) / 1e6);
  CHECK(recovered.firstUs - 60 * kSecond <= 20 * kSecond);
}

TEST_CASE("bwe: 20% random loss pulls the target down, 1% does not") {
  SECTION("20%") {
    SendSideEstimator est(WithInitial(1'000'000));
    LinkConfig link;
    link.capacityBps = 10'000'000;
    link.lossRate = 0.2;
    LinkSim sim(est, link);
    Average lossFraction;
    sim.Run(10 * kSecond, [&](int64_t now) {
      if (now >= 2 * kSecond)
        lossFraction.Add(est.LossFraction());
    });
    // Each window is small at these rates; their mean is the link's.
    CHECK(lossFraction.Value() > 0.15);
    CHECK(lossFraction.Value() < 0.25);
    CHECK(est.LossBasedBps() < est.DelayBasedBps());
    CHECK(est.TargetBps() == est.LossBasedBps());
    CHECK(est.TargetBps() < 400'000);
    CHECK(est.TargetBps() >= 30'000); // the configured floor holds
  }
  SECTION("1%") {
    SendSideEstimator est(WithInitial(1'000'000));
    LinkConfig link;
    link.capacityBps = 10'000'000;
    link.lossRate = 0.01;
    LinkSim sim(est, link);
    uint32_t lossBound = est.LossBasedBps();
    bool lossBoundFell = false;
    sim.Run(10 * kSecond, [&](int64_t) {
      lossBoundFell |= est.LossBasedBps() < lossBound;
      lossBound = est.LossBasedBps();
    });
    CHECK_FALSE(lossBoundFell);
    CHECK(est.TargetBps() > 1'500'000);
  }
}

TEST_CASE("bwe: reordered arrivals and duplicate feedback keep the estimate sane") {
  SendSideEstimator est(WithInitial(1'000'000));
  LinkConfig link;
  link.reorderRate = 0.2;
  link.duplicate = true;
  LinkSim sim(est, link);
  uint32_t lo = UINT32_MAX;
  uint32_t hi = 0;
  sim.Run(60 * kSecond, [&](int64_t now) {
    if (now < 20 * kSecond)
      return;
    lo = std::min(lo, est.TargetBps());
    hi = std::max(hi, est.TargetBps());
  });
  std::fprintf(stderr, "[bwe reorder+dup] 20-60 s target within [%u, %u], ignored %llu\n", lo, hi,
               static_cast<unsigned long long>(est.IgnoredPackets()));
  CHECK(lo >= 0.6 * 2'000'000);
  CHECK(hi <= 1.2 * 2'000'000);
  // Every duplicate was recognised: at least one per packet the link carried.
  CHECK(est.IgnoredPackets() >= sim.SentPackets() * 9 / 10);
  CHECK(est.LossFraction() == 0);
}

TEST_CASE("bwe: receiver clock jumps (reference-time wrap) reset the delay measure only") {
  SendSideEstimator est(WithInitial(1'000'000));
  LinkSim sim(est, LinkConfig{});
  sim.Run(20 * kSecond, [](int64_t) {});
  const uint32_t before = est.TargetBps();
  // 2^24 reference-time units of 64 ms: the feedback's clock wraps back.
  sim.Config().clockOffsetUs -= int64_t{1 << 24} * 64'000;
  sim.Run(21 * kSecond, [](int64_t) {});
  CHECK(est.Discontinuities() >= 1);
  sim.Config().clockOffsetUs += int64_t{40} * kSecond;
  uint32_t lo = UINT32_MAX;
  sim.Run(45 * kSecond, [&](int64_t) { lo = std::min(lo, est.TargetBps()); });
  CHECK(est.Discontinuities() >= 2);
  CHECK(lo >= before * 8 / 10);
  CHECK(est.TargetBps() >= 1'700'000);
  CHECK(est.TargetBps() <= 2'200'000);
}

TEST_CASE("bwe: all-lost feedback, garbage times and empty feedback") {
  SendSideEstimator est(WithInitial(800'000));
  PacketFeedback fb[40];
  int64_t t = 1'000'000;
  for (int round = 0; round < 30; ++round) {
    for (auto& p : fb) {
      p = PacketFeedback{t, kLost, 1200, false};
      t += 5'000;
    }
    est.OnFeedback(fb, 40, t);
  }
  CHECK(est.LossFraction() == 1.0);
  CHECK(est.DelayBasedBps() == 800'000); // no arrival, no delay sample
  CHECK(est.LossBasedBps() < 800'000);
  CHECK(est.TargetBps() >= 30'000);
  CHECK(est.AckedBps() == 0);

  const uint32_t target = est.TargetBps();
  const uint64_t ignored = est.IgnoredPackets();
  fb[0] = PacketFeedback{INT64_MAX, 5, 1200, false};
  fb[1] = PacketFeedback{t + 1, INT64_MAX, 1200, false};
  fb[2] = PacketFeedback{t + 2, INT64_MIN + 1, 1200, false};
  fb[3] = PacketFeedback{INT64_MIN + 1, 0, 1200, false};
  est.OnFeedback(fb, 4, t);
  est.OnFeedback(nullptr, 10, t);
  est.OnFeedback(fb, 0, t);
  CHECK(est.IgnoredPackets() == ignored + 4);
  CHECK(est.TargetBps() == target);
}

TEST_CASE("bwe: bounds and REMB") {
  SECTION("SetBounds clamps the target, a max below the min is the min") {
    SendSideEstimator est(WithInitial(1'000'000));
    LinkSim sim(est, LinkConfig{});
    sim.Run(30 * kSecond, [](int64_t) {});
    REQUIRE(est.TargetBps() > 1'500'000);
    est.SetBounds(100'000, 500'000);
    CHECK(est.TargetBps() == 500'000);
    sim.Run(40 * kSecond, [&](int64_t) { REQUIRE(est.TargetBps() <= 500'000); });
    est.SetBounds(800'000, 300'000);
    CHECK(est.TargetBps() == 800'000);
    est.SetBounds(30'000, 0);
    sim.Run(70 * kSecond, [](int64_t) {});
    CHECK(est.TargetBps() > 1'500'000);
  }
  SECTION("the configured bounds apply from the start") {
    SendSideEstimator::Config c;
    c.initialBps = 10'000;
    c.minBps = 50'000;
    c.maxBps = 40'000;
    SendSideEstimator est(c);
    CHECK(est.TargetBps() == 50'000);
  }
  SECTION("REMB caps a transport-cc estimate") {
    SendSideEstimator est(WithInitial(1'000'000));
    LinkSim sim(est, LinkConfig{});
    sim.Run(10 * kSecond, [](int64_t) {});
    est.OnRemb(400'000, sim.Now());
    CHECK(est.TargetBps() == 400'000);
    CHECK(est.DelayBasedBps() > 400'000);
    sim.Run(15 * kSecond, [&](int64_t) { REQUIRE(est.TargetBps() <= 400'000); });
    est.OnRemb(50'000'000, sim.Now());
    sim.Run(40 * kSecond, [](int64_t) {});
    CHECK(est.TargetBps() > 1'500'000);
  }
  SECTION("REMB is the estimate when no transport-cc feedback came") {
    SendSideEstimator::Config c;
    c.maxBps = 3'000'000;
    SendSideEstimator est(c);
    est.OnRemb(1'500'000, 0);
    CHECK(est.TargetBps() == 1'500'000);
    CHECK(est.DelayBasedBps() == 1'500'000);
    est.OnRemb(200'000, 1'000'000);
    CHECK(est.TargetBps() == 200'000);
    est.OnRemb(uint64_t{1} << 40, 2'000'000);
    CHECK(est.TargetBps() == 3'000'000);
    est.OnRemb(0, 3'000'000);
    CHECK(est.TargetBps() == 30'000);
  }
}
