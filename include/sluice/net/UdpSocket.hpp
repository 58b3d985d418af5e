// One UDP socket on the worker's libuv loop: batched receive, batched send.
//
// Receive: the socket is a non-blocking fd we create and bind ourselves,
// watched by a uv_poll_t (level-triggered). On readability it is drained
// with recvmmsg() into ONE per-thread buffer set (kRecvBatch buffers of
// kRecvBufferBytes), at most kMaxRecvRounds calls per wake-up so a flooded
// socket cannot starve the loop (the rest waits for the next iteration). A
// datagram larger than a buffer is dropped and counted in `truncated`.
//
// Send: Send() queues into the thread's SendBatch (see SendBatch.hpp); the
// datagram leaves on the next SendBatch::Flush(). With the batch's io_uring
// on, the socket takes a registered-file slot on its first flush and gives it
// back before its fd is closed.
//
// Lifetime: the destructor may run at any time, including from inside this
// socket's own OnUdpDatagram: delivery stops at once, the fd is closed at
// once (so the port is free again), its queued datagrams are discarded (their
// holds released), and only the small uv handle outlives the object until
// libuv's close callback frees it, so the loop must run once more after the
// last socket dies (before uv_loop_close).
//
// Footprint: sizeof(UdpSocket) plus one heap-allocated uv_poll_t wrapper,
// ~330 bytes together (a worker has hundreds of sockets); the thread's receive
// buffers (~70 KiB) are shared by all sockets. Counters are
// plain integers; one thread owns the socket.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sluice/net/Address.hpp"
#include "sluice/store/PacketPool.hpp"

namespace sluice::net {

class SendBatch;

class UdpSocket {
public:
  static constexpr size_t kRecvBatch = 32;         // datagrams per recvmmsg()
  static constexpr size_t kRecvBufferBytes = 2048; // larger datagrams: `truncated`
  static constexpr size_t kMaxRecvRounds = 4;      // recvmmsg() calls per wake-up

  class Listener {
  public:
    virtual ~Listener() = default;
    // data points into the per-thread receive buffer and is valid only during
    // the call; the callee may modify it in place (e.g. SRTP decrypt). The
    // callee may destroy `socket` (no further datagram is delivered then).
    virtual void OnUdpDatagram(UdpSocket& socket, uint8_t* data, size_t len,
                               const Endpoint& from) = 0;
  };

  struct Options {
    std::string ip;    // listen ip ("0.0.0.0", "127.0.0.1", "::", ...)
    uint16_t port = 0; // != 0: exactly this port
    // Used when port == 0: start at a random port in [minPort, maxPort] and
    // try each port once (wrapping around) until bind() succeeds.
    uint16_t minPort = 10000, maxPort = 59999;
    bool ipv6Only = false;                           // IPV6_V6ONLY (IPv6 listen ips only)
    bool reusePort = false;                          // SO_REUSEPORT
    uint32_t sendBufferSize = 0, recvBufferSize = 0; // 0: kernel default
  };

  struct Counters {
    uint64_t datagramsReceived = 0;
    uint64_t bytesReceived = 0;
    uint64_t datagramsSent = 0;
    uint64_t bytesSent = 0;
    uint64_t sendDrops = 0; // refused by Send, or EAGAIN/ENOBUFS/errors at flush
    uint64_t recvErrors = 0;
    uint64_t truncated = 0; // datagrams larger than kRecvBufferBytes, dropped
  };

  // nullptr with *error (if error != nullptr) set on failure:
  //   "invalid IP '<ip>'", "invalid port range [min:<a>, max:<b>]",
  //   "no more available ports [protocol:udp, ip:'<ip>', numAttempt:<n>]",
  //   "bind() failed [protocol:udp, ip:'<ip>', port:<p>]: <reason>",
  //   "socket() failed: ...", "setsockopt(<name>) failed: ...".
  static std::unique_ptr<UdpSocket> Open(uv_loop_t* loop, const Options& options,
                                         Listener* listener, std::string* error);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  const std::string& LocalIp() const { return localIp_; }
  uint16_t LocalPort() const;
  Endpoint LocalEndpoint() const { return local_.ToEndpoint(); }
  int Family() const { return local_.addr.sa.sa_family; }

  // Queues one datagram: head bytes (copied, <= SendBatch::kMaxHeadBytes)
  // followed by tail bytes (NOT copied: `hold` keeps them alive until the
  // flush). With an empty hold a tail cannot be kept alive, so it is copied
  // after the head instead (head + tail <= kMaxHeadBytes). Sent on the next
  // SendBatch::Flush(), or earlier when the batch fills. false: dropped and
  // counted (oversize, null bytes, empty or wrong-family destination).
  bool Send(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
            const store::PacketRef& hold, const Endpoint& to);

  const Counters& GetCounters() const { return counters_; }

private:
  friend class SendBatch;
  struct PollHandle;
  static constexpr uint32_t kNoEntry = UINT32_MAX;
  static constexpr int32_t kNoSlot = -1, kSlotRefused = -2;

  UdpSocket(int fd, Listener* listener) : listener_(listener), fd_(fd) {}
  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnHandleClosed(uv_handle_t* handle);
  static void ReceiveBurst(PollHandle* handle);

  Listener* listener_;
  PollHandle* handle_{nullptr}; // freed by OnHandleClosed after uv_close
  int fd_;
  bool v6Only_{false};
  // This socket's chain of queued entries in the thread's SendBatch, and its
  // index in the batch's list of sockets with pending entries.
  uint32_t batchHead_{kNoEntry};
  uint32_t batchTail_{kNoEntry};
  uint32_t batchSlot_{kNoEntry};
  int32_t ringSlot_{kNoSlot}; // registered file in the batch's SendRing
  PackedAddress local_;
  std::string localIp_;
  Counters counters_;
};

} // namespace sluice::net
