// The thread's queued outgoing datagrams, for all UdpSockets.
//
// Each entry holds {socket, destination (28 bytes), head bytes copied into a
// bump-allocated arena, a tail pointer + length, a PacketRef hold keeping the
// tail's slot alive}. Entries of one socket form an intrusive singly linked
// list (head/tail indices kept in the socket), so Flush() sends each socket's
// datagrams in queue order, then releases every hold. Two ways to send:
//   - with the ring enabled (EnableRing, the worker's default unless the
//     controller passes disableLiburing): ONE io_uring_enter() for the whole
//     flush, one SENDMSG per datagram on the socket's registered file (see
//     SendRing.hpp for why: a syscall per consumer socket was most of the
//     forwarding cost);
//   - otherwise (or when the kernel has no io_uring): ONE sendmmsg() per
//     socket, more only after a partial send or an error.
//
// Bounds: at most kMaxEntries datagrams and kArenaBytes of head bytes are
// queued; an Enqueue that would overflow either flushes first (counted in
// earlyFlushes). Everything is allocated once when the thread's batch is
// created (~350 KiB: 256 KiB arena, 512 entries, mmsghdr/iovec arrays; pages are
// touched only up to the high-water mark; the ring adds ~50 KiB of mapped SQ/CQ
// and one registered-file slot per socket, up to kRingFileSlots): no heap
// allocation per datagram or per flush.
//
// Failures: EAGAIN/ENOBUFS drop the rest of that socket's datagrams for this
// flush; another error drops the one datagram the kernel refused and carries
// on; on the ring each datagram fails or succeeds on its own. If the kernel
// refuses a ring submission, what it did not take goes out by sendmsg().
// Every drop is counted here (drops) and on the socket (sendDrops).
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
#include <string>
#include <vector>

#include "sluice/net/Address.hpp"
#include "sluice/net/SendRing.hpp"
#include "sluice/store/PacketPool.hpp"

namespace sluice::net {

class UdpSocket;

class SendBatch {
public:
  static constexpr size_t kMaxHeadBytes = 1600 + 64; // a whole SRTP-protected packet
  static constexpr size_t kMaxEntries = 512;
  static constexpr size_t kArenaBytes = 256 * 1024; // ~157 maximal heads, ~4000 RTP headers
  static constexpr unsigned kRingFileSlots = 8192;  // sockets on registered files

  // The calling thread's batch, created on first use.
  static SendBatch& ForThread();

  // Switches flushes to one io_uring submission. false (and *error set) when
  // the kernel offers no io_uring: flushes stay on sendmmsg().
  bool EnableRing(std::string* error);
  // Back to sendmmsg(); registered files are released.
  void DisableRing();
  bool RingEnabled() const { return ring_ != nullptr; }
  const SendRing* Ring() const { return ring_.get(); }

  // Sends every queued datagram (in queue order per socket), then releases
  // every hold; the batch is empty afterwards.
  void Flush();
  // Datagrams queued and not yet flushed or discarded.
  size_t Pending() const { return pending_; }

  struct Stats {
    uint64_t flushes = 0; // Flush calls that had datagrams to send
    uint64_t sendmmsgCalls = 0;
    uint64_t ringSubmits = 0;   // flushes that went through the ring
    uint64_t ringFallbacks = 0; // datagrams the ring gave back, sent by sendmsg()
    uint64_t datagrams = 0;     // sent
    uint64_t drops = 0;         // refused at Enqueue or by the kernel at flush
    uint64_t discarded = 0;     // queued by a socket destroyed before the flush
    uint64_t earlyFlushes = 0;  // flushes forced by a full batch
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
  // Gives back `socket`'s registered-file slot (before its fd is closed).
  void ReleaseSlot(UdpSocket& socket);
  void FlushSocket(UdpSocket& socket);
  void FlushRing();
  // The socket's registered-file slot, taken on its first ring flush; false:
  // none (table full or refused), send by fd.
  bool AttachSlot(UdpSocket& socket);
  // msgs_[k] (and its two iovecs) describe `e`.
  void Describe(size_t k, const Entry& e);
  // One datagram's outcome: bytes sent, or -errno.
  void Account(UdpSocket& socket, int64_t result);
  bool Refuse(UdpSocket& socket);

  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<uint8_t[]> arena_;
  std::unique_ptr<mmsghdr[]> msgs_;
  std::unique_ptr<iovec[]> iov_;          // two per message: head, tail
  std::unique_ptr<UdpSocket*[]> sockets_; // sockets with pending entries
  std::unique_ptr<uint32_t[]> order_;     // ring flush: msgs_ index -> entry index
  std::unique_ptr<SendRing> ring_;
  std::vector<UdpSocket*> slotOwners_; // registered-file slot -> socket
  size_t used_ = 0;                    // entries_ [0, used_) taken
  size_t arenaUsed_ = 0;
  size_t socketCount_ = 0;
  size_t pending_ = 0;
  Stats stats_;
};

} // namespace sluice::net
