// One accepted ICE-TCP connection (RFC 6544 passive candidate) carrying
// RFC 4571 frames; created and owned by its TcpServer (see TcpServer.hpp).
//
// Receive: the non-blocking fd is watched by a uv_poll_t (level-triggered).
// On readability it is read into ONE per-thread 64 KiB buffer, at most
// kMaxReadRounds reads per wake-up so a flooding peer cannot starve the loop,
// and each read goes through the connection's Rfc4571Framer; frames reach
// TcpServer::Listener::OnTcpFrame.
//
// Send: SendFrame() writes the whole frame (length + head + tail) at once
// with one sendmsg(); only what the kernel refuses is copied into the send
// queue, a list of kChunkBytes chunks allocated on demand and freed as they
// drain. UV_WRITABLE is polled only while the queue is non-empty. Invariants:
//   - a frame is written or queued whole, or refused whole (counted in
//     sendDrops): the peer's stream always stays parseable;
//   - QueuedBytes() <= sendQueueLimit; the memory held is that rounded up to
//     whole chunks (plus at most one partly consumed chunk);
//   - with a peer that keeps up, no allocation per frame.
//
// Lifetime: closed by the peer (EOF, RST, read error), by a send error, by
// TcpServer::CloseConnection or by ~TcpServer. Closing stops I/O and closes
// the fd at once, drops the queue, then calls OnTcpConnectionClosed; the
// object is destroyed right after, or, when the close happens inside this
// connection's own OnTcpFrame, as soon as that delivery unwinds (no further
// frame is delivered). The uv handle outlives the object until libuv's close
// callback, so the loop must run once more before uv_loop_close.
//
// Footprint (x86-64): sizeof(TcpConnection) is 280 bytes (136 of them the
// remote Endpoint that Remote() returns) plus a 168-byte heap uv_poll_t
// wrapper: ~450 bytes per connection; +136 for its own local Endpoint under
// a wildcard listen ip; plus the framer's partial-frame buffer (<= kKeepBytes
// when idle) and the send queue (nothing once drained). Plain integer
// counters; one thread owns the connection.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sluice/net/Address.hpp"
#include "sluice/net/Rfc4571Framer.hpp"

namespace sluice::net {

class TcpServer;

class TcpConnection {
public:
  static constexpr size_t kReadBufferBytes = 64 * 1024; // per thread, shared
  static constexpr size_t kMaxReadRounds = 4;           // reads per wake-up
  static constexpr size_t kChunkBytes = 16 * 1024;      // send queue allocation unit

  struct Counters {
    uint64_t framesReceived = 0;
    uint64_t bytesReceived = 0;  // frame payload bytes (length fields excluded)
    uint64_t framesSent = 0;     // frames accepted by SendFrame (written or queued)
    uint64_t bytesSent = 0;      // their payload bytes (length fields excluded)
    uint64_t sendDrops = 0;      // frames refused: queue over limit, oversize, closed
    uint64_t queueHighWater = 0; // largest QueuedBytes() seen
  };

  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // One frame: 2-byte length, then head, then tail (tail may be empty;
  // headLen + tailLen <= Rfc4571Framer::kMaxFrameBytes). The bytes are not
  // referenced after the call. false: refused and counted in sendDrops
  // (oversize, null bytes, the queue would exceed sendQueueLimit, the frame
  // alone is larger than sendQueueLimit, or the connection is closing).
  // Never closes the connection from inside the call: a send error marks it
  // broken and the close (with OnTcpConnectionClosed) follows from the loop.
  bool SendFrame(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen);

  const Endpoint& Remote() const { return remote_; }
  const Endpoint& Local() const { return *local_; }
  size_t QueuedBytes() const { return queued_; }
  // Bytes of an incomplete received frame waiting for the rest.
  size_t ReceiveBufferedBytes() const { return framer_.BufferedBytes(); }
  size_t ReceiveBufferCapacity() const { return framer_.CapacityBytes(); }
  uint64_t ZeroLengthFramesReceived() const { return framer_.ZeroLengthFrames(); }
  bool Closing() const { return closing_; }
  const Counters& GetCounters() const { return counters_; }

private:
  friend class TcpServer;
  struct PollHandle;
  struct Chunk;

  TcpConnection(TcpServer* server, int fd) : server_(server), fd_(fd) {}
  ~TcpConnection();

  // Allocates the thread's read buffer once (TcpServer::Open).
  static void PrepareReadBuffer();
  // Registers the fd with the loop (readable only); false on a libuv error.
  bool Start(uv_loop_t* loop);
  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnHandleClosed(uv_handle_t* handle);
  // Returns false when the connection was closed (and maybe destroyed).
  static bool ReceiveBurst(TcpConnection* connection);
  void Enqueue(const uint8_t* data, size_t len);
  // Writes queued bytes until EAGAIN or empty; false on a socket error.
  bool FlushQueue();
  void FreeQueue();
  void WatchWritable(bool on);
  // Stops polling, closes the fd and drops the queue (idempotent).
  void StopIo();

  TcpServer* server_;
  PollHandle* handle_{nullptr}; // freed by OnHandleClosed after uv_close
  Chunk* queueHead_{nullptr};
  Chunk* queueTail_{nullptr};
  const Endpoint* local_{nullptr};     // the server's, or ownLocal_ (wildcard listen ip)
  std::unique_ptr<Endpoint> ownLocal_; // only for wildcard listeners
  uint32_t queued_{0};                 // <= sendQueueLimit
  uint32_t index_{0};                  // position in the server's connection list
  int fd_;
  bool closing_{false};
  bool delivering_{false}; // inside Feed: the burst destroys a closed connection
  bool broken_{false};     // a send failed: close from the loop
  bool watchingWritable_{false};
  Rfc4571Framer framer_;
  Counters counters_;
  Endpoint remote_;
};

} // namespace sluice::net
