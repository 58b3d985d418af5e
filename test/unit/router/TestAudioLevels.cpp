#include "sluice/router/AudioLevels.hpp"

#include <catch2/catch.hpp>

#include <vector>

using sluice::router::LevelSum;
using sluice::router::LoudEntry;
using sluice::router::SelectLoudest;

namespace {

LevelSum Sum(std::initializer_list<uint8_t> levels) {
  LevelSum s;
  for (uint8_t l : levels)
    s.Add(l);
  return s;
}

std::vector<LoudEntry> Select(const std::vector<LevelSum>& sums, int8_t threshold, size_t max) {
  std::vector<LoudEntry> out(max);
  out.resize(SelectLoudest(sums.data(), sums.size(), threshold, out.data(), max));
  return out;
}

} // namespace

TEST_CASE("level sum: average as a negative dBov volume, rounded", "[router][audiolevels]") {
  CHECK(Sum({30, 30, 30}).Volume() == -30);
  CHECK(Sum({20, 40}).Volume() == -30);
  CHECK(Sum({20, 21}).Volume() == -21); // 20.5 rounds away from zero
  CHECK(Sum({20, 20, 21}).Volume() == -20);
  CHECK(Sum({0}).Volume() == 0);
  CHECK(Sum({127, 127}).Volume() == -127);
  LevelSum s = Sum({10});
  s.Reset();
  CHECK(s.count == 0);
  CHECK(s.sum == 0);
}

TEST_CASE("select loudest: order, threshold, maxEntries", "[router][audiolevels]") {
  // volumes: -50, -20, -80, none, -35, -20
  const std::vector<LevelSum> sums = {Sum({50}),  Sum({20}), Sum({80}),
                                      LevelSum{}, Sum({35}), Sum({20, 20})};
  SECTION("everyone above the threshold, loudest first, ties in order") {
    const auto out = Select(sums, -127, 10);
    REQUIRE(out.size() == 5);
    CHECK(out[0].index == 1);
    CHECK(out[0].volume == -20);
    CHECK(out[1].index == 5);
    CHECK(out[2].index == 4);
    CHECK(out[2].volume == -35);
    CHECK(out[3].index == 0);
    CHECK(out[4].index == 2);
    CHECK(out[4].volume == -80);
  }
  SECTION("threshold is inclusive") {
    const auto out = Select(sums, -50, 10);
    REQUIRE(out.size() == 4);
    CHECK(out.back().index == 0);
    CHECK(Select(sums, -49, 10).size() == 3);
  }
  SECTION("maxEntries keeps the loudest") {
    const auto out = Select(sums, -127, 2);
    REQUIRE(out.size() == 2);
    CHECK(out[0].index == 1);
    CHECK(out[1].index == 5);
    const auto one = Select(sums, -127, 1);
    REQUIRE(one.size() == 1);
    CHECK(one[0].volume == -20);
  }
  SECTION("a louder one arriving after the list is full displaces the quietest") {
    const std::vector<LevelSum> rising = {Sum({90}), Sum({70}), Sum({50}), Sum({10})};
    const auto out = Select(rising, -127, 2);
    REQUIRE(out.size() == 2);
    CHECK(out[0].index == 3);
    CHECK(out[1].index == 2);
  }
  SECTION("nobody above the threshold, or no levels at all") {
    CHECK(Select(sums, -10, 4).empty());
    CHECK(Select({LevelSum{}, LevelSum{}}, -127, 4).empty());
    CHECK(Select({}, -127, 4).empty());
  }
}
