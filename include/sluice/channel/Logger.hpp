// Worker logging: Log frames on the channel, filtered by level and tag,
// rate-limited per call site so a packet flood cannot flood the controller.
//
// A log line is formatted into a fixed stack buffer (truncated at
// kMaxLineBytes) and handed to the sink; nothing here allocates. Before a
// sink is installed (start-up) and after it is removed (shutdown), lines go
// to stderr, which the Node library logs as errors.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::channel {

enum class LogLevel : uint8_t { Debug = 0, Warn = 1, Error = 2, None = 3 };

// The tags mediasoup's Node library knows (WorkerLogTag); lines without a
// specific subsystem use Info.
enum class LogTag : uint8_t {
  Info,
  Ice,
  Dtls,
  Rtp,
  Srtp,
  Rtcp,
  Rtx,
  Bwe,
  Score,
  Simulcast,
  Svc,
  Sctp,
  Message,
  Count
};

// Receives finished lines: the first byte is the level letter (D, W, E).
class LogSink {
public:
  virtual ~LogSink() = default;
  virtual void WriteLog(std::string_view line) = 0;
};

// Per call site limiter: a token bucket of kBurst lines refilled at
// kPerSecond lines per second; suppressed lines are counted and reported on
// the next line that passes.
class LogRateLimit {
public:
  static constexpr uint32_t kBurst = 20;
  static constexpr uint32_t kPerSecond = 10;

  // Returns true when the line may be written; *suppressed receives the
  // number of lines dropped since the previous one that passed.
  bool Allow(uint64_t nowMs, uint64_t* suppressed);

private:
  uint64_t lastRefillMs_{0};
  uint32_t tokens_{kBurst};
  uint64_t suppressed_{0};
  bool started_{false};
};

class Logger {
public:
  static constexpr size_t kMaxLineBytes = 1024;

  static void SetLevel(LogLevel level) { level_ = level; }
  static LogLevel Level() { return level_; }
  // Enables exactly the given tags (unknown names are ignored and reported
  // through *unknown when given).
  static void SetTags(const std::string_view* names, size_t count, size_t* unknown = nullptr);
  static bool TagEnabled(LogTag tag) { return (tagMask_ >> static_cast<unsigned>(tag)) & 1u; }
  static bool ParseLevel(std::string_view text, LogLevel* out);
  static bool ParseTag(std::string_view text, LogTag* out);

  // Debug lines need both the level and the tag; warnings and errors only
  // the level (an operator must see them whatever tags are on).
  static bool Enabled(LogLevel level, LogTag tag) {
    if (level < level_)
      return false;
    return level != LogLevel::Debug || tag == LogTag::Info || TagEnabled(tag);
  }

  static void SetSink(LogSink* sink) { sink_ = sink; }
  static void SetClock(uint64_t (*nowMs)()) { nowMs_ = nowMs; }

  // Formats and writes one line unless the call site is over its rate.
  static void Write(LogRateLimit& limit, LogLevel level, LogTag tag, const char* where,
                    const char* fmt, ...) __attribute__((format(printf, 5, 6)));

  static uint64_t LinesSuppressed() { return linesSuppressed_; }

private:
  static LogLevel level_;
  static uint32_t tagMask_;
  static LogSink* sink_;
  static uint64_t (*nowMs_)();
  static uint64_t linesSuppressed_;
};

} // namespace sluice::channel

#define SLUICE_LOG_AT(level, tag, ...)                                                             \
  do {                                                                                             \
    if (::sluice::channel::Logger::Enabled(level, tag)) {                                          \
      static ::sluice::channel::LogRateLimit sluiceLogLimit_;                                      \
      ::sluice::channel::Logger::Write(sluiceLogLimit_, level, tag, __func__, __VA_ARGS__);        \
    }                                                                                              \
  } while (false)

#define SLUICE_DEBUG(tag, ...)                                                                     \
  SLUICE_LOG_AT(::sluice::channel::LogLevel::Debug, ::sluice::channel::LogTag::tag, __VA_ARGS__)
#define SLUICE_WARN(...)                                                                           \
  SLUICE_LOG_AT(::sluice::channel::LogLevel::Warn, ::sluice::channel::LogTag::Info, __VA_ARGS__)
#define SLUICE_ERROR(...)                                                                          \
  SLUICE_LOG_AT(::sluice::channel::LogLevel::Error, ::sluice::channel::LogTag::Info, __VA_ARGS__)
