#include "sluice/channel/Logger.hpp"

#include <cstdio>
#include <unistd.h>

#include "sluice/util/Clock.hpp"

namespace sluice::channel {

namespace {
constexpr std::string_view kTagNames[] = {"info", "ice",       "dtls", "rtp",  "srtp",
                                          "rtcp", "rtx",       "bwe",  "score", "simulcast",
                                          "svc",  "sctp",      "message"};
static_assert(sizeof(kTagNames) / sizeof(kTagNames[0]) == static_cast<size_t>(LogTag::Count));

uint64_t SteadyNowMs() {
  static const util::SteadyClock clock;
  return clock.NowMs();
}

char LevelLetter(LogLevel level) {
  switch (level) {
  case LogLevel::Debug:
    return 'D';
  case LogLevel::Warn:
    return 'W';
  default:
    return 'E';
  }
}
} // namespace

LogLevel Logger::level_ = LogLevel::Error;
uint32_t Logger::tagMask_ = 0;
LogSink* Logger::sink_ = nullptr;
uint64_t (*Logger::nowMs_)() = &SteadyNowMs;
uint64_t Logger::linesSuppressed_ = 0;

bool LogRateLimit::Allow(uint64_t nowMs, uint64_t* suppressed) {
  if (!started_) {
    started_ = true;
    lastRefillMs_ = nowMs;
  }
  if (nowMs > lastRefillMs_) {
    const uint64_t refill = (nowMs - lastRefillMs_) * kPerSecond / 1000;
    if (refill > 0) {
      tokens_ = static_cast<uint32_t>(std::min<uint64_t>(kBurst, tokens_ + refill));
      lastRefillMs_ += refill * 1000 / kPerSecond;
    }
  }
  if (tokens_ == 0) {
    ++suppressed_;
    return false;
  }
  --tokens_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

bool Logger::ParseLevel(std::string_view text, LogLevel* out) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"debug", LogLevel::Debug},
      {"warn", LogLevel::Warn},
      {"error", LogLevel::Error},
      {"none", LogLevel::None}};
  for (const auto& [name, level] : kLevels) {
    if (text == name) {
      *out = level;
      return true;
    }
  }
  return false;
}

bool Logger::ParseTag(std::string_view text, LogTag* out) {
  for (size_t i = 0; i < static_cast<size_t>(LogTag::Count); ++i) {
    if (kTagNames[i] == text) {
      *out = static_cast<LogTag>(i);
      return true;
    }
  }
  return false;
}

void Logger::SetTags(const std::string_view* names, size_t count, size_t* unknown) {
  uint32_t mask = 0;
  size_t bad = 0;
  for (size_t i = 0; i < count; ++i) {
    LogTag tag;
    if (ParseTag(names[i], &tag))
      mask |= 1u << static_cast<unsigned>(tag);
    else
      ++bad;
  }
  tagMask_ = mask;
  if (unknown)
    *unknown = bad;
}

void Logger::Write(LogRateLimit& limit, LogLevel level, LogTag tag, const char* where,
                   const char* fmt, ...) {
  uint64_t suppressed = 0;
  if (!limit.Allow(nowMs_(), &suppressed)) {
    ++linesSuppressed_;
    return;
  }
  char line[kMaxLineBytes];
  int n = std::snprintf(line, sizeof(line), "%c%s: ", LevelLetter(level), where);
  if (n < 0)
    return;
  size_t used = std::min(static_cast<size_t>(n), sizeof(line) - 1);
  va_list args;
  va_start(args, fmt);
  const int m = std::vsnprintf(line + used, sizeof(line) - used, fmt, args);
  va_end(args);
  if (m > 0)
    used = std::min(used + static_cast<size_t>(m), sizeof(line) - 1);
  if (suppressed > 0 && used < sizeof(line) - 1) {
    const int k = std::snprintf(line + used, sizeof(line) - used,
                                " [%llu similar lines suppressed]",
                                static_cast<unsigned long long>(suppressed));
    if (k > 0)
      used = std::min(used + static_cast<size_t>(k), sizeof(line) - 1);
  }
  (void)tag;
  if (sink_) {
    sink_->WriteLog(std::string_view(line, used));
    return;
  }
  line[used] = '\n';
  // stderr: the level letter is redundant for the Node side, keep it anyway
  // so a reader of a captured stderr sees the level.
  ssize_t ignored = ::write(STDERR_FILENO, line, used + 1);
  (void)ignored;
}

} // namespace sluice::channel
