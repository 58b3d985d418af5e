#include "sluice/util/WorkerSettings.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace sluice::util {

namespace {

bool ParseUint(std::string_view text, uint64_t min, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 20)
    return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return false;
    value = value * 10 + digit;
  }
  if (value < min || value > max)
    return false;
  *out = value;
  return true;
}

enum class Option {
  LogLevel,
  LogTags,
  RtcMinPort,
  RtcMaxPort,
  DtlsCertificateFile,
  DtlsPrivateKeyFile,
  LibwebrtcFieldTrials,
  DisableLiburing
};

constexpr std::pair<std::string_view, Option> kOptions[] = {
    {"logLevel", Option::LogLevel},
    {"logTags", Option::LogTags},
    {"rtcMinPort", Option::RtcMinPort},
    {"rtcMaxPort", Option::RtcMaxPort},
    {"dtlsCertificateFile", Option::DtlsCertificateFile},
    {"dtlsPrivateKeyFile", Option::DtlsPrivateKeyFile},
    {"libwebrtcFieldTrials", Option::LibwebrtcFieldTrials},
    {"disableLiburing", Option::DisableLiburing},
};

// Exact name wins; otherwise the one option the prefix selects.
bool LookupOption(std::string_view name, Option* out) {
  const std::pair<std::string_view, Option>* match = nullptr;
  size_t matches = 0;
  for (const auto& entry : kOptions) {
    if (entry.first == name) {
      *out = entry.second;
      return true;
    }
    if (!name.empty() && entry.first.substr(0, name.size()) == name) {
      match = &entry;
      ++matches;
    }
  }
  if (matches != 1)
    return false;
  *out = match->second;
  return true;
}

bool ApplyOption(Option option, std::string_view value, WorkerOptions* out) {
  uint64_t port = 0;
  switch (option) {
  case Option::LogLevel:
    return channel::Logger::ParseLevel(value, &out->logLevel);
  case Option::LogTags:
    if (value.empty())
      return false;
    out->logTags.emplace_back(value);
    return true;
  case Option::RtcMinPort:
    // 0 is valid, as for mediasoup-worker (FirstRtcPort() makes it 1).
    if (!ParseUint(value, 0, 65535, &port))
      return false;
    out->rtcMinPort = static_cast<uint16_t>(port);
    return true;
  case Option::RtcMaxPort:
    if (!ParseUint(value, 1, 65535, &port))
      return false;
    out->rtcMaxPort = static_cast<uint16_t>(port);
    return true;
  case Option::DtlsCertificateFile:
    out->dtlsCertificateFile = std::string(value);
    return !value.empty();
  case Option::DtlsPrivateKeyFile:
    out->dtlsPrivateKeyFile = std::string(value);
    return !value.empty();
  case Option::LibwebrtcFieldTrials:
    out->libwebrtcFieldTrials = std::string(value);
    return true;
  case Option::DisableLiburing:
    if (value == "true" || value.empty())
      out->disableLiburing = true;
    else if (value == "false")
      out->disableLiburing = false;
    else
      return false;
    return true;
  }
  return false;
}

} // namespace

bool ParseWorkerOptions(int argc, const char* const* argv, WorkerOptions* out, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.substr(0, 2) != "--") {
      *error = "unexpected argument '" + std::string(arg) + "' (options are --name=value)";
      return false;
    }
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(2, eq == std::string_view::npos ? arg.npos : eq - 2);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : arg.substr(eq + 1);
    Option option;
    if (!LookupOption(name, &option)) {
      *error = "unknown or ambiguous option '--" + std::string(name) + "'";
      return false;
    }
    if (eq == std::string_view::npos && option != Option::DisableLiburing) {
      *error = "option '--" + std::string(name) + "' needs a value (--name=value)";
      return false;
    }
    if (!ApplyOption(option, value, out)) {
      *error =
          "invalid value '" + std::string(value) + "' for option '--" + std::string(name) + "'";
      return false;
    }
  }
  if (out->rtcMaxPort < out->FirstRtcPort()) {
    *error = "rtcMaxPort (" + std::to_string(out->rtcMaxPort) + ") is lower than rtcMinPort (" +
             std::to_string(out->rtcMinPort) + ")";
    return false;
  }
  if (out->dtlsCertificateFile.empty() != out->dtlsPrivateKeyFile.empty()) {
    *error = "dtlsCertificateFile and dtlsPrivateKeyFile must be given together";
    return false;
  }
  return true;
}

const std::vector<SluiceSettingDescription>& SluiceSettingDescriptions() {
  using S = SluiceSettings;
  static const std::vector<SluiceSettingDescription> kAll = {
      {"SLUICE_POOL_BYTE_CAP", &S::poolByteCap, 1ull << 20, 1ull << 40,
       "hard cap on bytes held by the packet pool; packets beyond it are dropped and counted"},
      {"SLUICE_POOL_SPARE_SLABS", &S::poolSpareSlabs, 0, 1u << 20,
       "wholly free slabs kept for the next burst instead of being returned to the OS"},
      {"SLUICE_POOL_HOLD_MS", &S::poolHoldMs, 0, 3600000,
       "how long a wholly free slab (beyond the spare ones) waits before it is returned"},
      {"SLUICE_RING_VIDEO_K", &S::ringVideoK, 1, 20, "video retransmission window: k x RTT"},
      {"SLUICE_RING_VIDEO_MARGIN_MS", &S::ringVideoMarginMs, 0, 10000,
       "video retransmission window: + margin"},
      {"SLUICE_RING_VIDEO_FLOOR_MS", &S::ringVideoFloorMs, 10, 60000,
       "video retransmission window: lower clamp"},
      {"SLUICE_RING_VIDEO_CEILING_MS", &S::ringVideoCeilingMs, 10, 60000,
       "video retransmission window: upper clamp"},
      {"SLUICE_RING_VIDEO_MAX_PACKETS", &S::ringVideoMaxPackets, 64, 1u << 16,
       "video retransmission ring: bound in packets whatever the window"},
      {"SLUICE_RING_AUDIO_K", &S::ringAudioK, 1, 20, "audio retransmission window: k x RTT"},
      {"SLUICE_RING_AUDIO_MARGIN_MS", &S::ringAudioMarginMs, 0, 10000,
       "audio retransmission window: + margin"},
      {"SLUICE_RING_AUDIO_FLOOR_MS", &S::ringAudioFloorMs, 10, 60000,
       "audio retransmission window: lower clamp"},
      {"SLUICE_RING_AUDIO_CEILING_MS", &S::ringAudioCeilingMs, 10, 60000,
       "audio retransmission window: upper clamp"},
      {"SLUICE_RING_AUDIO_MAX_PACKETS", &S::ringAudioMaxPackets, 64, 1u << 16,
       "audio retransmission ring: bound in packets whatever the window"},
      {"SLUICE_CHANNEL_OUT_LIMIT", &S::channelOutLimitBytes, 64u << 10, 1ull << 30,
       "bytes queued toward the controller above which droppable notifications and logs are "
       "dropped (counted) and requests are not read until it drains"},
      {"SLUICE_MEMORY_LOG_INTERVAL_MS", &S::memoryLogIntervalMs, 0, 86400000,
       "period of the debug-level memory figures log line (0 = off)"},
      {"SLUICE_TCP_SEND_QUEUE_BYTES", &S::tcpSendQueueBytes, 4096, 64ull << 20,
       "ICE-TCP: bytes queued per connection behind a slow peer; frames beyond are dropped "
       "(counted)"},
      {"SLUICE_TCP_MAX_CONNECTIONS", &S::tcpMaxConnections, 1, 65536,
       "ICE-TCP: accepted connections per TCP listener; further ones are closed at once"},
  };
  return kAll;
}

bool ParseSluiceSettings(const char* const* envp, SluiceSettings* out, std::string* error,
                         std::vector<std::string>* warnings) {
  const auto& all = SluiceSettingDescriptions();
  for (; envp && *envp; ++envp) {
    const std::string_view entry(*envp);
    if (entry.substr(0, 7) != "SLUICE_")
      continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos)
      continue;
    const std::string_view name = entry.substr(0, eq);
    const std::string_view value = entry.substr(eq + 1);
    const SluiceSettingDescription* desc = nullptr;
    for (const auto& d : all) {
      if (name == d.name)
        desc = &d;
    }
    if (!desc) {
      warnings->push_back("unknown setting " + std::string(name) + " ignored");
      continue;
    }
    uint64_t parsed = 0;
    if (!ParseUint(value, desc->min, desc->max, &parsed)) {
      *error = "invalid value '" + std::string(value) + "' for " + std::string(name) +
               " (an integer from " + std::to_string(desc->min) + " to " +
               std::to_string(desc->max) + ")";
      return false;
    }
    out->*(desc->field) = parsed;
  }
  if (out->ringVideoFloorMs > out->ringVideoCeilingMs ||
      out->ringAudioFloorMs > out->ringAudioCeilingMs) {
    *error = "SLUICE_RING_*_FLOOR_MS is above SLUICE_RING_*_CEILING_MS";
    return false;
  }
  return true;
}

} // namespace sluice::util
