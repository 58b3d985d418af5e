// The two pipes to the controller on the libuv loop: fd 3 in, fd 4 out.
//
// Reads are drained into the FrameReader and dispatched frame by frame.
// Output is flushed once per loop iteration (a prepare handle, just before
// the loop blocks) with a byte cap, and on writability when the pipe was
// full. While the output queue is over its limit the pipe stops reading
// requests, which bounds the responses that can pile up behind a controller
// that does not read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <uv.h>

#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/channel/FrameReader.hpp"

namespace sluice::channel {

class ChannelPipe {
public:
  static constexpr size_t kFlushCapBytes = 4u << 20;
  static constexpr int kMaxReadsPerWake = 16;

  using FrameHandler = std::function<void(const uint8_t*, size_t)>;
  // Called once when the channel ends: `error` is false for a clean EOF.
  using CloseHandler = std::function<void(bool error)>;

  ChannelPipe(uv_loop_t* loop, int readFd, int writeFd, ChannelWriter& writer, FrameHandler onFrame,
              CloseHandler onClose);
  ~ChannelPipe();

  // Whether `readFd` can carry the channel in and `writeFd` out: open, a pipe
  // or a socket (what the Node library's spawn gives), readable resp.
  // writable. false with *why ("fd 3 is not open", "fd 4 is a regular file
  // or device, not a pipe or socket", ...). Call before the process opens
  // any file, which could land on a closed channel fd.
  static bool CheckFds(int readFd, int writeFd, std::string* why);

  // Makes both fds non-blocking and starts the handles; false (nothing
  // started) if either fd cannot be watched by the loop.
  bool Start();
  // Writes what is queued, blocking for at most `timeoutMs` (shutdown path).
  void FlushBlocking(int timeoutMs);
  // Stops every handle; safe to call more than once.
  void Close();

  const FrameReader& Reader() const { return reader_; }

private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnWritable(uv_poll_t* handle, int status, int events);
  static void OnPrepare(uv_prepare_t* handle);

  void ReadAvailable();
  void DrainFrames();
  void Flush();
  void UpdateReadInterest();
  void Fail(bool error);

  int readFd_;
  int writeFd_;
  ChannelWriter& writer_;
  FrameHandler onFrame_;
  CloseHandler onClose_;
  FrameReader reader_;
  uv_poll_t readPoll_{};
  uv_poll_t writePoll_{};
  uv_prepare_t prepare_{};
  bool pollsReady_{false}; // both uv_poll_init succeeded
  bool reading_{false};
  bool writeWaiting_{false};
  bool closed_{false};
  bool failed_{false};
};

} // namespace sluice::channel
