// The worker's start-up settings: the command-line options the mediasoup
// Node library passes (`--name=value`), and sluice's own knobs read from
// SLUICE_* environment variables.
//
// Parsing is pure (no globals, no exit): main() turns a failure into exit
// code 42, which the Node library reports as TypeError('wrong settings').
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/channel/Logger.hpp"

namespace sluice::util {

// Exit codes of the process contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitChannelFailure = 1;
inline constexpr int kExitStartFailure = 40;
inline constexpr int kExitNoVersion = 41;
inline constexpr int kExitBadSettings = 42;

struct WorkerOptions {
  channel::LogLevel logLevel{channel::LogLevel::Error};
  std::vector<std::string> logTags;
  uint16_t rtcMinPort{10000}; // 0..65535, as given
  uint16_t rtcMaxPort{59999}; // 1..65535, >= FirstRtcPort()
  std::string dtlsCertificateFile;
  std::string dtlsPrivateKeyFile;
  std::string libwebrtcFieldTrials;
  bool disableLiburing{false};

  // The lowest port a listen info without port or portRange may get.
  // rtcMinPort 0 (accepted, as mediasoup-worker accepts it) means "from 1":
  // the range stays ours to walk, port 0 (the OS's choice, outside any range)
  // is never asked for. Ports the process may not bind (below
  // ip_unprivileged_port_start without privileges) are skipped like ports in
  // use.
  uint16_t FirstRtcPort() const { return rtcMinPort == 0 ? uint16_t{1} : rtcMinPort; }
};

// Parses argv[1..]. Each argument is `--name=value`; `name` may be any unique
// prefix of an option name (the Node library sends `--logTag=` once per tag
// for the option `logTags`). On failure returns false and sets *error to a
// line naming the offending argument.
bool ParseWorkerOptions(int argc, const char* const* argv, WorkerOptions* out, std::string* error);

// sluice's own settings. Every bound in the worker that is not fixed by the
// protocol lives here, with a default that is safe for a single 2-core box.
struct SluiceSettings {
  // Packet pool.
  uint64_t poolByteCap{256ull << 20};
  uint64_t poolSpareSlabs{4};
  uint64_t poolHoldMs{5000};
  // Retransmission ring window: clamp(k * rtt + margin, floor, ceiling).
  uint64_t ringVideoK{3};
  uint64_t ringVideoMarginMs{40};
  uint64_t ringVideoFloorMs{100};
  uint64_t ringVideoCeilingMs{1000};
  uint64_t ringVideoMaxPackets{2048};
  uint64_t ringAudioK{2};
  uint64_t ringAudioMarginMs{20};
  uint64_t ringAudioFloorMs{60};
  uint64_t ringAudioCeilingMs{500};
  uint64_t ringAudioMaxPackets{256};
  // Channel output queue: droppable notifications and logs are dropped above
  // this many queued bytes; requests stop being read until it drains.
  uint64_t channelOutLimitBytes{8ull << 20};
  // How often the memory figures are logged at debug level (0: never).
  uint64_t memoryLogIntervalMs{10000};
  // ICE-TCP bounds.
  uint64_t tcpSendQueueBytes{256ull << 10};
  uint64_t tcpMaxConnections{64};
};

struct SluiceSettingDescription {
  const char* name;
  uint64_t SluiceSettings::*field;
  uint64_t min;
  uint64_t max;
  const char* meaning;
};

// Every SLUICE_* variable, for validation and for the README.
const std::vector<SluiceSettingDescription>& SluiceSettingDescriptions();

// Reads SLUICE_* from `envp` (NULL-terminated "NAME=value" strings). A bad
// value fails with *error naming the variable; unknown SLUICE_* names are
// reported in *warnings (a typo should be visible, but must not stop a
// worker whose parent exports unrelated SLUICE_ variables).
bool ParseSluiceSettings(const char* const* envp, SluiceSettings* out, std::string* error,
                         std::vector<std::string>* warnings);

} // namespace sluice::util
