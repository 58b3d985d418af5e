// A minimal io_uring for one purpose: submit one flush's datagrams, to any
// number of sockets, in ONE io_uring_enter() call.
//
// Why: every consumer has its own socket (its own port), so a flush with one
// sendmmsg() per socket costs one syscall per consumer per input packet; on
// loopback that syscall overhead alone makes a forwarder ~1.5x a bare one
// sending to every destination from one socket. One IORING_OP_SENDMSG per
// datagram, submitted together on registered files, costs the same kernel
// work as that single sendmmsg().
//
// The kernel ABI is used directly (<linux/io_uring.h>, three syscalls): no
// liburing. The ring is single-threaded (one per SendBatch, i.e. per loop
// thread) and never has work in flight between calls: Submit() waits for
// every completion, so the msghdrs, iovecs and bytes given to QueueSendmsg
// need to live only until Submit returns. Sends carry MSG_DONTWAIT, so a full
// socket buffer completes at once with -EAGAIN instead of parking the request.
//
// Bounds, fixed at Create(): Capacity() SQEs per submission (CQ ring twice
// that, so completions never overflow), `fileSlots` registered files (a
// sparse table; a socket without a slot is sent on by fd, a little slower).
// Memory: ~64 B per SQE + 32 B per CQE pair, mapped once (~50 KiB for 512).
#pragma once

#include <linux/io_uring.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::net {

class SendRing {
public:
  // nullptr with *error set when the kernel refuses (ENOSYS, EPERM under a
  // seccomp filter, io_uring_disabled, RLIMIT_MEMLOCK on old kernels).
  static std::unique_ptr<SendRing> Create(unsigned entries, unsigned fileSlots, std::string* error);
  ~SendRing();
  SendRing(const SendRing&) = delete;
  SendRing& operator=(const SendRing&) = delete;

  unsigned Capacity() const { return entries_; }
  unsigned Queued() const { return queued_; }

  // A registered-file slot for `fd`, or -1: no free slot (no syscall made,
  // *refused false) or the kernel refused the update (*refused true). The
  // slot holds a reference on the file: Unregister it before close(fd), or
  // the port stays bound.
  int Register(int fd, bool* refused);
  void Unregister(int slot);
  unsigned SlotsInUse() const { return static_cast<unsigned>(fileSlots_ - freeSlots_.size()); }

  // Queues sendmsg(fd, msg, MSG_DONTWAIT); `fd` is a slot when `fixed`.
  // false when Capacity() SQEs are already queued.
  bool QueueSendmsg(int fd, bool fixed, const msghdr* msg, uint64_t userData);

  // Submits the queued SQEs and waits until each has completed. Returns how
  // many the kernel took, in queue order; the rest (only after a submit
  // error) are withdrawn and the caller must send them another way.
  unsigned Submit();

  // Hands every completion to done(userData, result) and consumes it;
  // result is the byte count or -errno.
  template <typename Done> void Drain(Done&& done);

  struct Stats {
    uint64_t enterCalls = 0;
    uint64_t submitted = 0; // SQEs the kernel took
    uint64_t withdrawn = 0; // SQEs given back after a submit error
    uint64_t completed = 0; // CQEs consumed
    uint64_t waits = 0;     // submissions that did not all complete inline
    int lastError = 0;      // errno of the last failed io_uring_enter
  };
  const Stats& GetStats() const { return stats_; }

private:
  SendRing() = default;
  bool Map(unsigned sqEntries, unsigned cqEntries, const void* params);
  unsigned CompletionsReady() const;

  int fd_{-1};
  unsigned entries_{0};
  unsigned queued_{0};
  // Mapped ring fields (kernel-shared).
  unsigned* sqHead_{nullptr};
  unsigned* sqTail_{nullptr};
  unsigned sqMask_{0};
  io_uring_sqe* sqes_{nullptr};
  unsigned* cqHead_{nullptr};
  unsigned* cqTail_{nullptr};
  unsigned cqMask_{0};
  io_uring_cqe* cqes_{nullptr};
  void* sqRing_{nullptr};
  size_t sqRingBytes_{0};
  void* cqRing_{nullptr}; // == sqRing_ with IORING_FEAT_SINGLE_MMAP
  size_t cqRingBytes_{0};
  size_t sqesBytes_{0};
  unsigned fileSlots_{0};
  std::vector<int> freeSlots_;
  Stats stats_;
};

template <typename Done> void SendRing::Drain(Done&& done) {
  unsigned head = *cqHead_;
  const unsigned tail = __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE);
  for (; head != tail; ++head) {
    const io_uring_cqe& cqe = cqes_[head & cqMask_];
    done(cqe.user_data, cqe.res);
    ++stats_.completed;
  }
  __atomic_store_n(cqHead_, head, __ATOMIC_RELEASE);
}

} // namespace sluice::net
