#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sluice/channel/Logger.hpp"

using namespace sluice::channel;

namespace {
struct CaptureSink : LogSink {
  std::vector<std::string> lines;
  void WriteLog(std::string_view line) override { lines.emplace_back(line); }
};

uint64_t gNowMs = 0;
uint64_t FakeNow() { return gNowMs; }

struct LoggerFixture {
  CaptureSink sink;
  LoggerFixture() {
    Logger::SetSink(&sink);
    Logger::SetClock(&FakeNow);
    gNowMs = 1000;
  }
  ~LoggerFixture() {
    Logger::SetSink(nullptr);
    Logger::SetLevel(LogLevel::Error);
    Logger::SetTags(nullptr, 0);
  }
};

void LogFromOneSite(int i) { SLUICE_WARN("flood %d", i); }
} // namespace

TEST_CASE_METHOD(LoggerFixture, "Logger: level letter, level and tag filtering") {
  Logger::SetLevel(LogLevel::Debug);
  const std::string_view tags[] = {"rtp"};
  Logger::SetTags(tags, 1);
  SLUICE_DEBUG(Rtp, "rtp line %d", 1);
  SLUICE_DEBUG(Rtcp, "rtcp line"); // tag off
  SLUICE_WARN("warn line");
  SLUICE_ERROR("error line");
  REQUIRE(sink.lines.size() == 3);
  CHECK(sink.lines[0][0] == 'D');
  CHECK(sink.lines[0].find("rtp line 1") != std::string::npos);
  CHECK(sink.lines[1][0] == 'W');
  CHECK(sink.lines[2][0] == 'E');

  sink.lines.clear();
  Logger::SetLevel(LogLevel::Error);
  SLUICE_DEBUG(Rtp, "hidden");
  SLUICE_WARN("hidden");
  SLUICE_ERROR("shown");
  CHECK(sink.lines.size() == 1);

  sink.lines.clear();
  Logger::SetLevel(LogLevel::None);
  SLUICE_ERROR("hidden");
  CHECK(sink.lines.empty());
}

TEST_CASE_METHOD(LoggerFixture, "Logger: one call site is rate-limited, the count is reported") {
  Logger::SetLevel(LogLevel::Warn);
  for (int i = 0; i < 1000; ++i)
    LogFromOneSite(i);
  CHECK(sink.lines.size() == LogRateLimit::kBurst);
  gNowMs += 1000; // one second refills kPerSecond tokens
  for (int i = 0; i < 1000; ++i)
    LogFromOneSite(i);
  REQUIRE(sink.lines.size() == LogRateLimit::kBurst + LogRateLimit::kPerSecond);
  // The first line after the flood says how many were suppressed.
  CHECK(sink.lines[LogRateLimit::kBurst].find("[980 similar lines suppressed]") !=
        std::string::npos);
}

TEST_CASE_METHOD(LoggerFixture, "Logger: long lines are truncated, not overflowed") {
  Logger::SetLevel(LogLevel::Warn);
  const std::string big(5000, 'z');
  SLUICE_WARN("%s", big.c_str());
  REQUIRE(sink.lines.size() == 1);
  CHECK(sink.lines[0].size() < Logger::kMaxLineBytes);
}
