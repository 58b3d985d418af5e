#include "sluice/channel/ChannelPipe.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/channel/Logger.hpp"

namespace sluice::channel {

namespace {
bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}
// "" when `fd` can carry the channel in the direction asked, else why not.
std::string FdProblem(int fd, bool forReading) {
  const std::string name = "fd " + std::to_string(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0)
    return name + " is not open";
  if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
    return name + " is a regular file or device, not a pipe or socket";
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0)
    return name + " is not usable";
  const int mode = flags & O_ACCMODE;
  if (forReading && mode == O_WRONLY)
    return name + " is open for writing only";
  if (!forReading && mode == O_RDONLY)
    return name + " is open for reading only";
  return std::string();
}
void CloseHandle(uv_handle_t* handle) {
  if (handle->loop && !uv_is_closing(handle))
    uv_close(handle, nullptr);
}
} // namespace

ChannelPipe::ChannelPipe(uv_loop_t* loop, int readFd, int writeFd, ChannelWriter& writer,
                         FrameHandler onFrame, CloseHandler onClose)
    : readFd_(readFd), writeFd_(writeFd), writer_(writer), onFrame_(std::move(onFrame)),
      onClose_(std::move(onClose)) {
  // uv_poll_init fails on an fd epoll cannot watch (a closed fd, a regular
  // file, /dev/null); a handle it failed on stays zeroed, and Start refuses.
  pollsReady_ = uv_poll_init(loop, &readPoll_, readFd_) == 0 &&
                uv_poll_init(loop, &writePoll_, writeFd_) == 0;
  uv_prepare_init(loop, &prepare_);
  readPoll_.data = writePoll_.data = prepare_.data = this;
}

ChannelPipe::~ChannelPipe() {
  Close();
}

bool ChannelPipe::CheckFds(int readFd, int writeFd, std::string* why) {
  *why = FdProblem(readFd, true);
  if (why->empty())
    *why = FdProblem(writeFd, false);
  return why->empty();
}

bool ChannelPipe::Start() {
  if (!pollsReady_ || !SetNonBlocking(readFd_) || !SetNonBlocking(writeFd_))
    return false;
  uv_prepare_start(&prepare_, &ChannelPipe::OnPrepare);
  UpdateReadInterest();
  return true;
}

void ChannelPipe::Close() {
  if (closed_)
    return;
  closed_ = true;
  CloseHandle(reinterpret_cast<uv_handle_t*>(&readPoll_));
  CloseHandle(reinterpret_cast<uv_handle_t*>(&writePoll_));
  CloseHandle(reinterpret_cast<uv_handle_t*>(&prepare_));
}

void ChannelPipe::Fail(bool error) {
  if (failed_)
    return;
  failed_ = true;
  if (reading_)
    uv_poll_stop(&readPoll_);
  reading_ = false;
  if (onClose_)
    onClose_(error);
}

void ChannelPipe::UpdateReadInterest() {
  if (closed_ || failed_)
    return;
  // Resume only once the queue has drained to half its limit, so reading
  // does not flap on every flush.
  const auto& queue = writer_.Queue();
  const bool want = reading_ ? !queue.OverLimit() : queue.QueuedBytes() <= queue.Limit() / 2;
  if (want && !reading_) {
    // Frames that arrived before the pause are already buffered: the pipe
    // may never become readable again for them.
    reading_ = true;
    if (reader_.HasFrame())
      DrainFrames();
    if (failed_ || closed_)
      return;
    if (queue.OverLimit()) {
      reading_ = false;
      return;
    }
    uv_poll_start(&readPoll_, UV_READABLE | UV_DISCONNECT, &ChannelPipe::OnReadable);
    return;
  } else if (!want && reading_)
    uv_poll_stop(&readPoll_);
  reading_ = want;
}

void ChannelPipe::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<ChannelPipe*>(handle->data);
  if (status < 0) {
    SLUICE_ERROR("channel read poll failed: %s", uv_strerror(status));
    self->Fail(true);
    return;
  }
  self->ReadAvailable();
}

void ChannelPipe::ReadAvailable() {
  for (int i = 0; i < kMaxReadsPerWake && reading_ && !failed_; ++i) {
    const ssize_t n = ::read(readFd_, reader_.WritePtr(), reader_.WritableBytes());
    if (n == 0) {
      SLUICE_DEBUG(Info, "channel closed by the controller");
      Fail(false);
      return;
    }
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      SLUICE_ERROR("channel read failed: errno %d", errno);
      Fail(true);
      return;
    }
    reader_.Commit(static_cast<size_t>(n));
    DrainFrames();
    UpdateReadInterest();
  }
}

void ChannelPipe::DrainFrames() {
  // Stop between frames once the output queue is over its limit: the rest
  // waits in the reader until the controller has read what it is owed.
  const auto status = reader_.Drain([this](const uint8_t* frame, size_t len) {
    onFrame_(frame, len);
    return !failed_ && !writer_.Queue().OverLimit();
  });
  if (status == FrameReader::Status::Oversize) {
    SLUICE_ERROR("channel frame length %u exceeds the %zu-byte limit; framing cannot be "
                 "recovered, closing the channel",
                 reader_.OversizeLength(), FrameReader::kMaxPayload);
    Fail(true);
  }
}

void ChannelPipe::OnWritable(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<ChannelPipe*>(handle->data);
  if (status < 0) {
    self->Fail(true);
    return;
  }
  self->Flush();
}

void ChannelPipe::OnPrepare(uv_prepare_t* handle) {
  static_cast<ChannelPipe*>(handle->data)->Flush();
}

void ChannelPipe::Flush() {
  if (closed_)
    return;
  bool broken = false;
  const bool ok = writer_.Queue().Flush(
      [&](const uint8_t* data, size_t len) -> long {
        for (;;) {
          const ssize_t n = ::write(writeFd_, data, len);
          if (n >= 0)
            return static_cast<long>(n);
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
          broken = true;
          return -1;
        }
      },
      kFlushCapBytes);
  if (!ok || broken) {
    // The controller is gone (EPIPE): nothing more can be said to it.
    Fail(true);
    return;
  }
  // Resuming reads may answer buffered requests at once; decide about the
  // write poll after that, or those answers would wait for an unrelated wake.
  UpdateReadInterest();
  if (failed_ || closed_)
    return;
  const bool pending = !writer_.Queue().Empty();
  if (pending && !writeWaiting_)
    uv_poll_start(&writePoll_, UV_WRITABLE, &ChannelPipe::OnWritable);
  else if (!pending && writeWaiting_)
    uv_poll_stop(&writePoll_);
  writeWaiting_ = pending;
}

void ChannelPipe::FlushBlocking(int timeoutMs) {
  int waited = 0;
  while (!writer_.Queue().Empty() && waited <= timeoutMs) {
    const bool ok = writer_.Queue().Flush(
        [&](const uint8_t* data, size_t len) -> long {
          const ssize_t n = ::write(writeFd_, data, len);
          if (n >= 0)
            return static_cast<long>(n);
          return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        },
        kFlushCapBytes);
    if (!ok)
      return;
    if (writer_.Queue().Empty())
      return;
    pollfd pfd{writeFd_, POLLOUT, 0};
    ::poll(&pfd, 1, 10);
    waited += 10;
  }
}

} // namespace sluice::channel
