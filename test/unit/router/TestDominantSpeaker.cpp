#include "sluice/router/DominantSpeaker.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

using sluice::router::kNoSpeaker;
using sluice::router::PickDominant;
using sluice::router::SpeechActivity;
using sluice::router::SpeechScores;

namespace {

constexpr uint8_t kSilence = 127;
constexpr uint64_t kDecisionMs = 300;

// A room of speakers fed one level per 20 ms frame (or none: no packet),
// deciding every 300 ms as the observer does, recording each switch.
struct Room {
  explicit Room(size_t n) : speakers(n, SpeechActivity(0)), scores(n) {}

  // levelOf(speaker, ms since the room started) -> -dBov, or nullopt: no packet.
  void Run(uint64_t ms, const std::function<std::optional<uint8_t>(size_t, uint64_t)>& levelOf) {
    for (uint64_t end = now + ms; now < end;) {
      now += SpeechActivity::kFrameMs;
      for (size_t i = 0; i < speakers.size(); ++i)
        if (const auto l = levelOf(i, now))
          speakers[i].OnLevel(*l, now);
      if (now % kDecisionMs == 0)
        Decide();
    }
  }
  void Decide() {
    for (size_t i = 0; i < speakers.size(); ++i) {
      speakers[i].CatchUp(now);
      scores[i] = speakers[i].Scores();
    }
    const size_t next = PickDominant(scores.data(), scores.size(), dominant);
    if (next != dominant) {
      dominant = next;
      switches.emplace_back(now, next);
    }
  }

  std::vector<SpeechActivity> speakers;
  std::vector<SpeechScores> scores;
  size_t dominant = kNoSpeaker;
  uint64_t now = 0;
  std::vector<std::pair<uint64_t, size_t>> switches;
};

// Speaker `who` at -20 dBov, everyone else silent (packets at -127 dBov).
auto Only(size_t who, uint8_t dbov = 20) {
  return [who, dbov](size_t i, uint64_t) -> std::optional<uint8_t> {
    return i == who ? dbov : kSilence;
  };
}

} // namespace

TEST_CASE("speech activity: counts per interval", "[router][dominant]") {
  SpeechActivity a(0);
  uint64_t t = 0;
  CHECK(a.Immediate() == 0);
  for (int i = 0; i < 5; ++i)
    a.OnLevel(20, t += 20); // 107 of 127 above a silent floor: 10 of 13 sub-bands
  CHECK(a.Immediate() == 10);
  CHECK(a.MediumCount() == 5);
  CHECK(a.LongCount() == 1);
  for (int i = 0; i < 45; ++i)
    a.OnLevel(20, t += 20);
  CHECK(a.LongCount() == 10);
  // Quiet frames (-100 dBov: 2 sub-bands) are not active.
  for (int i = 0; i < 3; ++i)
    a.OnLevel(100, t += 20);
  CHECK(a.Immediate() == 2);
  CHECK(a.MediumCount() == 2); // the two older of the last five frames
  CHECK(a.LongCount() == 9);   // that block has fewer than 3 active frames
  // A sender that stops: the missed frames count as silent.
  a.CatchUp(t + 1000);
  CHECK(a.Immediate() == 0);
  CHECK(a.LongCount() == 0);
}

TEST_CASE("speech activity: a longer silence is capped, a clear forgets", "[router][dominant]") {
  SpeechActivity a(0);
  for (uint64_t t = 20; t <= 1000; t += 20)
    a.OnLevel(10, t);
  a.CatchUp(3'600'000); // an hour: at most one ring of frames is written
  CHECK(a.LongCount() == 0);
  a.OnLevel(10, 3'600'020);
  CHECK(a.Immediate() > 6);
  a.Clear(3'600'040);
  CHECK(a.Immediate() == 0);
  CHECK(a.MediumCount() == 0);
}

TEST_CASE("scores: silence is the floor, speech beats it on all three", "[router][dominant]") {
  SpeechActivity quiet(0);
  SpeechActivity talker(0);
  for (uint64_t t = 20; t <= 1000; t += 20) {
    quiet.OnLevel(kSilence, t);
    talker.OnLevel(25, t);
  }
  const auto q = quiet.Scores();
  const auto s = talker.Scores();
  CHECK(q.immediate == Approx(1e-10));
  CHECK(q.medium == Approx(1e-10));
  CHECK(q.longTerm == Approx(1e-10));
  CHECK(s.immediate > 1);
  CHECK(s.medium > 100);
  CHECK(s.longTerm > 400);
  const SpeechScores both[] = {q, s};
  CHECK(PickDominant(both, 2, kNoSpeaker) == 1);
  CHECK(PickDominant(both, 2, 1) == 1);
  CHECK(PickDominant(both, 2, 0) == 1);
}

TEST_CASE("dominant speaker: none while everyone is silent", "[router][dominant]") {
  Room room(3);
  room.Run(3000, [](size_t, uint64_t) { return std::optional<uint8_t>(kSilence); });
  CHECK(room.switches.empty());
  // Faint background noise (-80 dBov: 4 sub-bands) is not speech either.
  room.Run(3000, [](size_t, uint64_t) { return std::optional<uint8_t>(80); });
  CHECK(room.switches.empty());
}

TEST_CASE("dominant speaker: the first talker is found at the first decision",
          "[router][dominant]") {
  Room room(3);
  room.Run(300, Only(1));
  REQUIRE(room.switches.size() == 1);
  CHECK(room.switches[0] == std::pair<uint64_t, size_t>{300, 1});
}

TEST_CASE("dominant speaker: moves when the other speaks while he is quiet", "[router][dominant]") {
  Room room(2);
  room.Run(2000, Only(0));
  REQUIRE(room.switches.size() == 1);
  CHECK(room.dominant == 0);
  room.Run(3000, Only(1));
  REQUIRE(room.switches.size() == 2);
  CHECK(room.switches[1].second == 1);
  // Not at once (his long-term score needs to pass the former speaker's
  // last second), but within about a second.
  CHECK(room.switches[1].first > 2000 + kDecisionMs);
  CHECK(room.switches[1].first <= 2000 + 1200);
}

TEST_CASE("dominant speaker: no switch on a cough while he talks", "[router][dominant]") {
  Room room(2);
  room.Run(2000, Only(0, 30));
  REQUIRE(room.switches.size() == 1);
  // Speaker 1 coughs loudly (-3 dBov) for 200 ms while 0 keeps talking.
  room.Run(2000, [](size_t i, uint64_t t) -> std::optional<uint8_t> {
    if (i == 0)
      return 30;
    return t >= 2500 && t < 2700 ? 3 : kSilence;
  });
  CHECK(room.switches.size() == 1);
  CHECK(room.dominant == 0);
}

TEST_CASE("dominant speaker: both talking, the dominant keeps the floor", "[router][dominant]") {
  Room room(2);
  room.Run(1000, Only(0, 40));
  REQUIRE(room.dominant == 0);
  // The other talks louder at the same time: no interruption while he goes on.
  room.Run(3000, [](size_t i, uint64_t) -> std::optional<uint8_t> { return i == 0 ? 40 : 10; });
  CHECK(room.dominant == 0);
  // He stops: the floor goes over.
  room.Run(2000, Only(1, 10));
  CHECK(room.dominant == 1);
  CHECK(room.switches.size() == 2);
}

TEST_CASE("dominant speaker: a sender that stops sending is taken as silent",
          "[router][dominant]") {
  Room room(2);
  room.Run(2000, Only(0));
  REQUIRE(room.dominant == 0);
  // Speaker 0's packets stop (DTX or gone); 1 talks.
  room.Run(3000, [](size_t i, uint64_t) -> std::optional<uint8_t> {
    if (i == 0)
      return std::nullopt;
    return 20;
  });
  CHECK(room.dominant == 1);
}

TEST_CASE("dominant speaker: the most active of several candidates wins", "[router][dominant]") {
  Room room(3);
  room.Run(1000, Only(0));
  REQUIRE(room.dominant == 0);
  // 0 stops; 1 talks steadily, 2 only in every other 100 ms block.
  room.Run(3000, [](size_t i, uint64_t t) -> std::optional<uint8_t> {
    if (i == 1)
      return 20;
    if (i == 2)
      return (t / 100) % 2 == 0 ? 20 : kSilence;
    return kSilence;
  });
  CHECK(room.dominant == 1);
}
