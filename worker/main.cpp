// sluice-worker: the process the mediasoup Node library spawns.
//
// Contract (ARCHITECTURE.md, "Process contract"), checked in this order:
//  1. MEDIASOUP_VERSION set, else exit 41 (the Node library always sets it);
//  2. fd 3 (requests in) and fd 4 (responses, notifications, logs out) are a
//     pipe or socket each, else exit 40 with a line saying what is expected
//     (started by hand: from a terminal, with /dev/null or closed fds). Checked
//     before anything opens a file, which would take a closed fd 3/4;
//  3. `--name=value` options and SLUICE_* variables, bad: exit 42;
//  4. DTLS certificate, loop, channel: a failure exits 40.
// WORKER_RUNNING announces readiness; SIGTERM, SIGINT or channel EOF close
// everything and exit 0.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <string>
#include <unistd.h>

#include <uv.h>

#include "sluice/channel/ChannelPipe.hpp"
#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/channel/Dispatcher.hpp"
#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/channel/Logger.hpp"
#include "sluice/net/SendBatch.hpp"
#include "sluice/router/MemoryReport.hpp"
#include "sluice/router/Worker.hpp"
#include "sluice/store/PacketPool.hpp"
#include "sluice/transport/DtlsCertificate.hpp"
#include "sluice/transport/DtlsTransport.hpp"
#include "sluice/util/WorkerSettings.hpp"

extern char** environ;

namespace {

using namespace sluice;

constexpr int kConsumerFd = 3; // controller -> worker
constexpr int kProducerFd = 4; // worker -> controller
constexpr int kShutdownFlushMs = 200;
constexpr uint64_t kPoolTickMs = 1000;

uv_loop_t* gLoop = nullptr;

uint64_t LoopNowMs() {
  return gLoop ? uv_now(gLoop) : 0;
}

void IgnoreSignals() {
  for (int sig : {SIGPIPE, SIGHUP, SIGALRM, SIGUSR1, SIGUSR2})
    std::signal(sig, SIG_IGN);
}

// Everything that lives for the process, torn down in reverse order.
struct Process {
  Process(uv_loop_t* loop, const util::WorkerOptions& options, const util::SluiceSettings& settings,
          const transport::DtlsCertificate& certificate, transport::DtlsContext& dtls)
      : writer(settings.channelOutLimitBytes),
        context(MakeContext(loop, options, settings, certificate, dtls)), memory(writer),
        worker(context, memory, [this] { Stop(util::kExitOk); }),
        dispatcher(writer, registry, worker) {}

  router::Context MakeContext(uv_loop_t* loop, const util::WorkerOptions& options,
                              const util::SluiceSettings& s,
                              const transport::DtlsCertificate& certificate,
                              transport::DtlsContext& dtls) {
    router::Context c;
    c.certificate = &certificate;
    c.dtls = &dtls;
    c.tcpMaxConnections = static_cast<size_t>(s.tcpMaxConnections);
    c.tcpSendQueueBytes = static_cast<size_t>(s.tcpSendQueueBytes);
    c.loop = loop;
    c.registry = &registry;
    c.writer = &writer;
    c.rtcMinPort = options.FirstRtcPort();
    c.rtcMaxPort = options.rtcMaxPort;
    c.videoRing = {static_cast<double>(s.ringVideoK), static_cast<uint32_t>(s.ringVideoMarginMs),
                   static_cast<uint32_t>(s.ringVideoFloorMs),
                   static_cast<uint32_t>(s.ringVideoCeilingMs),
                   static_cast<uint32_t>(s.ringVideoMaxPackets)};
    c.audioRing = {static_cast<double>(s.ringAudioK), static_cast<uint32_t>(s.ringAudioMarginMs),
                   static_cast<uint32_t>(s.ringAudioFloorMs),
                   static_cast<uint32_t>(s.ringAudioCeilingMs),
                   static_cast<uint32_t>(s.ringAudioMaxPackets)};
    return c;
  }

  void Stop(int code) {
    if (stopping)
      return;
    stopping = true;
    exitCode = code;
    uv_stop(gLoop);
  }

  channel::ChannelWriter writer;
  channel::HandlerRegistry registry;
  router::Context context;
  router::MemoryReport memory;
  router::Worker worker;
  channel::Dispatcher dispatcher;
  bool stopping{false};
  int exitCode{util::kExitOk};
};

Process* gProcess = nullptr;

void OnSignal(uv_signal_t* handle, int signum) {
  (void)handle;
  SLUICE_DEBUG(Info, "signal %d received, closing", signum);
  gProcess->Stop(util::kExitOk);
}

void OnMemoryTimer(uv_timer_t* handle) {
  auto* process = static_cast<Process*>(handle->data);
  if (channel::Logger::Enabled(channel::LogLevel::Debug, channel::LogTag::Info)) {
    const std::string line = router::MemoryReport::Summary(process->memory.Collect());
    SLUICE_DEBUG(Info, "%s", line.c_str());
  }
}

std::unique_ptr<transport::DtlsCertificate>
LoadOrGenerateCertificate(const util::WorkerOptions& options, std::string* error) {
  if (options.dtlsCertificateFile.empty())
    return transport::DtlsCertificate::Generate(error);
  return transport::DtlsCertificate::Load(options.dtlsCertificateFile, options.dtlsPrivateKeyFile,
                                          error);
}

// Once a second: empty pool slabs past their hold time go back to the OS, and
// after entities were closed the allocator returns the free pages they left
// (glibc keeps a fragmented heap's free pages resident until asked).
void OnPoolTimer(uv_timer_t* handle) {
  store::PacketPool::ForThread().Tick(uv_now(handle->loop));
  static size_t lastEntities = 0;
  const size_t entities = gProcess->registry.Size();
  if (entities < lastEntities)
    malloc_trim(0);
  lastEntities = entities;
}

void ConfigurePool(const util::SluiceSettings& settings) {
  store::PacketPool::Config config;
  config.byteCap = settings.poolByteCap;
  config.spareSlabs = static_cast<uint32_t>(settings.poolSpareSlabs);
  config.holdMs = settings.poolHoldMs;
  store::PacketPool::ConfigureThread(config);
}

int Run(const util::WorkerOptions& options, const util::SluiceSettings& settings) {
  ConfigurePool(settings);
  std::string error;
  const auto certificate = LoadOrGenerateCertificate(options, &error);
  if (!certificate) {
    std::fprintf(stderr, "sluice-worker: DTLS certificate: %s\n", error.c_str());
    return util::kExitStartFailure;
  }
  const auto dtls = transport::DtlsContext::Create(*certificate, &error);
  if (!dtls) {
    std::fprintf(stderr, "sluice-worker: DTLS context: %s\n", error.c_str());
    return util::kExitStartFailure;
  }

  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return util::kExitStartFailure;
  gLoop = &loop;
  channel::Logger::SetClock(&LoopNowMs);

  Process process(&loop, options, settings, *certificate, *dtls);
  gProcess = &process;
  channel::ChannelPipe pipe(
      &loop, kConsumerFd, kProducerFd, process.writer,
      [&](const uint8_t* data, size_t len) { process.dispatcher.HandleFrame(data, len); },
      [&](bool error) { process.Stop(error ? util::kExitChannelFailure : util::kExitOk); });
  if (!pipe.Start()) {
    std::fprintf(stderr, "sluice-worker: fd %d/%d are not usable channel pipes\n", kConsumerFd,
                 kProducerFd);
    return util::kExitStartFailure;
  }
  channel::Logger::SetSink(&process.writer);

  uv_signal_t sigterm;
  uv_signal_t sigint;
  uv_signal_init(&loop, &sigterm);
  uv_signal_init(&loop, &sigint);
  uv_signal_start(&sigterm, &OnSignal, SIGTERM);
  uv_signal_start(&sigint, &OnSignal, SIGINT);

  uv_timer_t memoryTimer;
  uv_timer_init(&loop, &memoryTimer);
  memoryTimer.data = &process;
  if (settings.memoryLogIntervalMs > 0)
    uv_timer_start(&memoryTimer, &OnMemoryTimer, settings.memoryLogIntervalMs,
                   settings.memoryLogIntervalMs);

  // Returns slabs that stayed empty for the hold time, even with no traffic.
  uv_timer_t poolTimer;
  uv_timer_init(&loop, &poolTimer);
  uv_timer_start(&poolTimer, &OnPoolTimer, kPoolTickMs, kPoolTickMs);

  // Datagrams queued while handling this iteration's input go out together,
  // after every ready handle has run: one io_uring submission for all
  // sockets, or with disableLiburing (or no io_uring) one sendmmsg per socket.
  if (!options.disableLiburing) {
    std::string ringError;
    if (net::SendBatch::ForThread().EnableRing(&ringError))
      SLUICE_DEBUG(Info, "sending through io_uring");
    else
      SLUICE_DEBUG(Info, "io_uring unavailable, sending with sendmmsg: %s", ringError.c_str());
  }
  uv_check_t sendFlush;
  uv_check_init(&loop, &sendFlush);
  uv_check_start(&sendFlush, [](uv_check_t*) { net::SendBatch::ForThread().Flush(); });

  const std::string pid = std::to_string(getpid());
  process.writer.Notify(pid, FBS::Notification::Event::WORKER_RUNNING);
  SLUICE_DEBUG(Info, "sluice-worker running [pid:%s]", pid.c_str());

  uv_run(&loop, UV_RUN_DEFAULT);

  // Shut down: entities first (they may still queue notifications), then
  // one last flush of what the controller is owed, then the handles.
  process.worker.CloseAll();
  pipe.FlushBlocking(kShutdownFlushMs);
  channel::Logger::SetSink(nullptr);
  pipe.Close();
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&sigterm), reinterpret_cast<uv_handle_t*>(&sigint),
        reinterpret_cast<uv_handle_t*>(&memoryTimer), reinterpret_cast<uv_handle_t*>(&poolTimer),
        reinterpret_cast<uv_handle_t*>(&sendFlush)})
    uv_close(h, nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  gLoop = nullptr;
  gProcess = nullptr;
  return process.exitCode;
}

} // namespace

int main(int argc, char* argv[]) {
  IgnoreSignals();
  const char* version = std::getenv("MEDIASOUP_VERSION");
  if (!version || !*version) {
    std::fprintf(stderr,
                 "sluice-worker: MEDIASOUP_VERSION is not set. sluice-worker is spawned by "
                 "the mediasoup Node library (MEDIASOUP_WORKER_BIN=/path/to/sluice-worker): "
                 "it needs MEDIASOUP_VERSION and the channel on fds 3 (in) and 4 (out)\n");
    return util::kExitNoVersion;
  }
  std::string why;
  if (!channel::ChannelPipe::CheckFds(kConsumerFd, kProducerFd, &why)) {
    std::fprintf(stderr,
                 "sluice-worker: %s. sluice-worker is spawned by the mediasoup Node library "
                 "(MEDIASOUP_WORKER_BIN=/path/to/sluice-worker): it needs the channel on fds %d "
                 "(requests in) and %d (responses out), pipes or sockets, and MEDIASOUP_VERSION "
                 "in its environment\n",
                 why.c_str(), kConsumerFd, kProducerFd);
    return util::kExitStartFailure;
  }

  util::WorkerOptions options;
  std::string error;
  if (!util::ParseWorkerOptions(argc, argv, &options, &error)) {
    std::fprintf(stderr, "sluice-worker: wrong settings: %s\n", error.c_str());
    return util::kExitBadSettings;
  }
  util::SluiceSettings settings;
  std::vector<std::string> warnings;
  if (!util::ParseSluiceSettings(environ, &settings, &error, &warnings)) {
    std::fprintf(stderr, "sluice-worker: wrong settings: %s\n", error.c_str());
    return util::kExitBadSettings;
  }
  channel::Logger::SetLevel(options.logLevel);
  std::vector<std::string_view> tags(options.logTags.begin(), options.logTags.end());
  channel::Logger::SetTags(tags.data(), tags.size());
  for (const auto& w : warnings)
    std::fprintf(stderr, "sluice-worker: %s\n", w.c_str());

  return Run(options, settings);
}
