// The thread's queued outgoing datagrams, for all UdpSockets.
//
// Each entry holds {socket, destination (28 bytes), head bytes copied into a
// bump-allocated arena, a tail pointer + length, a PacketRef hold keeping the
// tail's slot alive}. Entries of one socket form an intrusive singly linked
// list (head/tail indices kept in the socket), so Flush() sends each socket's
// datagrams in queue order with ONE sendmmsg() per socket (more only after a
// partial send or an error), then releases every hold.
//
// Bounds: at most kMaxEntries datagrams and kArenaBytes of head bytes are
// queued; an Enqueue that would overflow either flushes first (counted in
// earlyFlushes). Everything is allocated once when the thread's batch is
// created (~350 KiB: 256 KiB arena, 512 entries, mmsghdr/iovec arrays; pages are
// touched only up to the high-water mark): no heap allocation per datagram or
// per flush.
//
// Failures: EAGAIN/ENOBUFS drop the rest of that socket's datagrams for this
// flush; another error drops the one datagram the kernel refused and carries
// on. Every drop is counted here (drops) and on the socket (sendDrops).
// Datagrams of a socket destroyed before the flush are discarded (holds
// released at once, counted in discarded).
//
// Thread exit: flush (or destroy the sockets) before the thread's PacketPool
// is destroyed, so no hold outlives its pool.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sluice/net/Address.hpp"
#include "sluice/store/PacketPool.hpp"

namespace sluice::net {

class UdpSocket;

class SendBatch {
public:
  static constexpr size_t kMaxHeadBytes = 1600 + 64; // a whole SRTP-protected packet
  static constexpr size_t kMaxEntries = 512;
  static constexpr size_t kArenaBytes = 256 * 1024; // ~157 maximal heads, ~4000 RTP headers

  // The calling thread's batch, created on first use.
  static SendBatch& ForThread();

  // One sendmmsg() per socket with pending datagrams, in queue order per
  // socket; then every hold is released and the batch is empty.
  void Flush();
  // Datagrams queued and not yet flushed or discarded.
  size_t Pending() const { return pending_; }

  struct Stats {
    uint64_t flushes = 0; // Flush calls that had datagrams to send
    uint64_t sendmmsgCalls = 0;
    uint64_t datagrams = 0;    // sent
    uint64_t drops = 0;        // refused at Enqueue or by the kernel at flush
    uint64_t discarded = 0;    // queued by a socket destroyed before the flush
    uint64_t earlyFlushes = 0; // flushes forced by a full batch
    uint64_t highWaterEntries = 0;
    uint64_t highWaterArenaBytes = 0;
  };
  const Stats& GetStats() const { return stats_; }

  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

private:
  friend class UdpSocket;
  struct Entry;

  SendBatch();
  // Queues for `socket`; false when refused (counted on both sides).
  bool Enqueue(UdpSocket& socket, const uint8_t* head, size_t headLen, const uint8_t* tail,
               size_t tailLen, const store::PacketRef& hold, const Endpoint& to);
  // Drops `socket`'s queued datagrams (it is being destroyed).
  void Discard(UdpSocket& socket);
  void FlushSocket(UdpSocket& socket);
  bool Refuse(UdpSocket& socket);

  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<uint8_t[]> arena_;
  std::unique_ptr<mmsghdr[]> msgs_;
  std::unique_ptr<iovec[]> iov_;          // two per message: head, tail
  std::unique_ptr<UdpSocket*[]> sockets_; // sockets with pending entries
  size_t used_ = 0;                       // entries_ [0, used_) taken
  size_t arenaUsed_ = 0;
  size_t socketCount_ = 0;
  size_t pending_ = 0;
  Stats stats_;
};

} // namespace sluice::net
