#include "sluice/net/TcpConnection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sluice/net/SocketSetup.hpp"
#include "sluice/net/TcpServer.hpp"

namespace sluice::net {

// The uv handle lives apart from the connection so the connection can be
// destroyed while libuv still holds the handle: the handle is freed by the
// close callback, and `owner` (nulled when I/O stops) silences late events.
struct TcpConnection::PollHandle {
  uv_poll_t poll;
  TcpConnection* owner;
};

// A send queue chunk: bytes [begin, end) of data are queued.
struct TcpConnection::Chunk {
  static constexpr size_t kDataBytes = kChunkBytes - 16;
  Chunk* next = nullptr;
  uint32_t begin = 0;
  uint32_t end = 0;
  uint8_t data[kDataBytes]; // left uninitialised
};

namespace {

// Shared by all connections of the thread: one connection is read at a time
// and frames are valid only during their callback.
thread_local std::unique_ptr<uint8_t[]> tReadBuffer;

constexpr size_t kMaxIov = 64; // chunks per sendmsg() when flushing

// sendmsg() rather than writev(): MSG_NOSIGNAL, so a peer reset is EPIPE, not
// SIGPIPE, whatever the process does with signals.
ssize_t SendIov(int fd, iovec* iov, size_t count) {
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  for (;;) {
    const ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0 || errno != EINTR)
      return n;
  }
}

} // namespace

void TcpConnection::PrepareReadBuffer() {
  if (!tReadBuffer)
    tReadBuffer.reset(new uint8_t[kReadBufferBytes]); // no zero fill
}

TcpConnection::~TcpConnection() {
  StopIo();
}

bool TcpConnection::Start(uv_loop_t* loop) {
  handle_ = WatchReadable<PollHandle>(loop, fd_, this, &TcpConnection::OnPoll, nullptr);
  return handle_ != nullptr;
}

void TcpConnection::OnHandleClosed(uv_handle_t* handle) {
  delete static_cast<PollHandle*>(handle->data);
}

void TcpConnection::StopIo() {
  if (handle_ != nullptr) {
    handle_->owner = nullptr;
    // Closing a poll handle removes the fd from epoll at once, so the fd can
    // be closed now; only the handle memory waits for the loop.
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), &TcpConnection::OnHandleClosed);
    handle_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  FreeQueue();
}

void TcpConnection::FreeQueue() {
  while (queueHead_ != nullptr) {
    Chunk* next = queueHead_->next;
    delete queueHead_;
    queueHead_ = next;
  }
  queueTail_ = nullptr;
  queued_ = 0;
}

void TcpConnection::WatchWritable(bool on) {
  if (handle_ == nullptr || watchingWritable_ == on)
    return;
  watchingWritable_ = on;
  uv_poll_start(&handle_->poll, on ? UV_READABLE | UV_WRITABLE : UV_READABLE,
                &TcpConnection::OnPoll);
}

bool TcpConnection::SendFrame(const uint8_t* head, size_t headLen, const uint8_t* tail,
                              size_t tailLen) {
  const size_t payload = headLen + tailLen;
  const size_t total = 2 + payload;
  if (closing_ || broken_ || (head == nullptr && headLen != 0) ||
      (tail == nullptr && tailLen != 0) || payload > Rfc4571Framer::kMaxFrameBytes ||
      queued_ + total > server_->sendQueueLimit_) {
    ++counters_.sendDrops;
    return false;
  }
  uint8_t length[2] = {static_cast<uint8_t>(payload >> 8), static_cast<uint8_t>(payload)};
  iovec iov[3] = {
      {length, 2}, {const_cast<uint8_t*>(head), headLen}, {const_cast<uint8_t*>(tail), tailLen}};
  size_t written = 0;
  if (queued_ == 0) {
    // Nothing ahead of this frame: try the kernel first, so a peer that keeps
    // up costs no copy and no allocation.
    const ssize_t n = SendIov(fd_, iov, tailLen != 0 ? 3 : 2);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      // The stream is dead (EPIPE, ECONNRESET...): refuse from now on and let
      // the poll callback (an errored socket reports writable) close it.
      broken_ = true;
      WatchWritable(true);
      ++counters_.sendDrops;
      return false;
    }
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  // Queue what the kernel did not take; it fits (checked above).
  for (const iovec& part : iov) {
    if (written >= part.iov_len) {
      written -= part.iov_len;
      continue;
    }
    Enqueue(static_cast<const uint8_t*>(part.iov_base) + written, part.iov_len - written);
    written = 0;
  }
  ++counters_.framesSent;
  counters_.bytesSent += payload;
  if (queued_ != 0) {
    if (queued_ > counters_.queueHighWater)
      counters_.queueHighWater = queued_;
    WatchWritable(true);
  }
  return true;
}

void TcpConnection::Enqueue(const uint8_t* data, size_t len) {
  static_assert(sizeof(Chunk) == kChunkBytes, "one allocation unit per chunk");
  while (len > 0) {
    if (queueTail_ == nullptr || queueTail_->end == Chunk::kDataBytes) {
      auto* chunk = new Chunk;
      if (queueTail_ != nullptr)
        queueTail_->next = chunk;
      else
        queueHead_ = chunk;
      queueTail_ = chunk;
    }
    const size_t room = Chunk::kDataBytes - queueTail_->end;
    const size_t take = len < room ? len : room;
    std::memcpy(queueTail_->data + queueTail_->end, data, take);
    queueTail_->end += static_cast<uint32_t>(take);
    queued_ += static_cast<uint32_t>(take);
    data += take;
    len -= take;
  }
}

bool TcpConnection::FlushQueue() {
  while (queueHead_ != nullptr) {
    iovec iov[kMaxIov];
    size_t count = 0;
    for (Chunk* c = queueHead_; c != nullptr && count < kMaxIov; c = c->next)
      iov[count++] = {c->data + c->begin, size_t(c->end - c->begin)};
    const ssize_t n = SendIov(fd_, iov, count);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK;
    size_t done = static_cast<size_t>(n);
    queued_ -= static_cast<uint32_t>(done);
    while (done > 0) {
      Chunk* c = queueHead_;
      const size_t inChunk = c->end - c->begin;
      if (done < inChunk) {
        c->begin += static_cast<uint32_t>(done);
        break;
      }
      done -= inChunk;
      queueHead_ = c->next;
      delete c;
    }
    if (queueHead_ == nullptr) {
      queueTail_ = nullptr;
      break;
    }
    if (static_cast<size_t>(n) == 0)
      return true; // nothing taken: wait for the next writable event
  }
  if (queued_ == 0)
    WatchWritable(false);
  return true;
}

void TcpConnection::OnPoll(uv_poll_t* poll, int status, int events) {
  TcpConnection* connection = static_cast<PollHandle*>(poll->data)->owner;
  if (connection == nullptr)
    return;
  // status < 0: libuv saw POLLERR (e.g. a reset) and stopped the handle.
  if (status < 0 || connection->broken_) {
    connection->server_->CloseConnection(*connection);
    return;
  }
  if ((events & UV_WRITABLE) != 0 && !connection->FlushQueue()) {
    connection->server_->CloseConnection(*connection);
    return;
  }
  if ((events & (UV_READABLE | UV_DISCONNECT)) != 0)
    ReceiveBurst(connection);
}

bool TcpConnection::ReceiveBurst(TcpConnection* connection) {
  uint8_t* buffer = tReadBuffer.get();
  auto deliver = [connection](uint8_t* frame, size_t len) {
    ++connection->counters_.framesReceived;
    connection->counters_.bytesReceived += len;
    TcpServer* server = connection->server_;
    server->listener_->OnTcpFrame(*server, *connection, frame, len);
    return !connection->closing_; // closed from the callback: stop here
  };
  for (size_t round = 0; round < kMaxReadRounds; ++round) {
    const ssize_t n = ::read(connection->fd_, buffer, kReadBufferBytes);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    if (n <= 0) {
      // EOF or a read error (ECONNRESET...): the connection is over.
      connection->server_->CloseConnection(*connection);
      return false;
    }
    connection->delivering_ = true;
    connection->framer_.Feed(buffer, static_cast<size_t>(n), deliver);
    connection->delivering_ = false;
    if (connection->closing_) {
      // Closed (and the listener told) during delivery; destruction was left
      // to us because the framer was running.
      delete connection;
      return false;
    }
    if (static_cast<size_t>(n) < kReadBufferBytes)
      return true; // drained
  }
  return true;
}

} // namespace sluice::net
