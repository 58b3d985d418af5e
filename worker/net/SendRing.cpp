#include "sluice/net/SendRing.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sluice/net/SocketSetup.hpp"

namespace sluice::net {

namespace {

int Setup(unsigned entries, io_uring_params* params) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, params));
}
int Enter(int fd, unsigned toSubmit, unsigned minComplete, unsigned flags) {
  return static_cast<int>(
      syscall(__NR_io_uring_enter, fd, toSubmit, minComplete, flags, nullptr, 0));
}
int RegisterCall(int fd, unsigned opcode, const void* arg, unsigned count) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, count));
}

void* MapRing(int fd, size_t bytes, off_t offset) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
  return p == MAP_FAILED ? nullptr : p;
}

template <typename T> T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + offset);
}

} // namespace

std::unique_ptr<SendRing> SendRing::Create(unsigned entries, unsigned fileSlots,
                                           std::string* error) {
  std::unique_ptr<SendRing> ring(new SendRing());
  // Newer kernels take cheaper paths with these (a single submitter, no
  // interrupting task work, one failed SQE not ending the submission); older
  // ones answer EINVAL and get a plain ring.
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  ring->fd_ = Setup(entries, &params);
  if (ring->fd_ < 0 && errno == EINVAL) {
    params = io_uring_params{};
    ring->fd_ = Setup(entries, &params);
  }
  if (ring->fd_ < 0) {
    if (error != nullptr)
      *error = "io_uring_setup() failed: " + ErrnoText(errno);
    return nullptr;
  }
  if (!ring->Map(params.sq_entries, params.cq_entries, &params)) {
    if (error != nullptr)
      *error = "io_uring mmap() failed: " + ErrnoText(errno);
    return nullptr;
  }
  ring->entries_ = params.sq_entries;

  // A sparse table of registered files (-1 = empty), no larger than the
  // process may have fds. Without it every SQE names a plain fd.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0)
    fileSlots = static_cast<unsigned>(std::min<rlim_t>(fileSlots, nofile.rlim_cur));
  if (fileSlots != 0) {
    std::vector<int> empty(fileSlots, -1);
    if (RegisterCall(ring->fd_, IORING_REGISTER_FILES, empty.data(), fileSlots) == 0) {
      ring->fileSlots_ = fileSlots;
      ring->freeSlots_.reserve(fileSlots);
      for (unsigned s = fileSlots; s-- > 0;)
        ring->freeSlots_.push_back(static_cast<int>(s));
    }
  }
  return ring;
}

bool SendRing::Map(unsigned sqEntries, unsigned cqEntries, const void* rawParams) {
  const auto& p = *static_cast<const io_uring_params*>(rawParams);
  sqRingBytes_ = p.sq_off.array + sqEntries * sizeof(unsigned);
  cqRingBytes_ = p.cq_off.cqes + cqEntries * sizeof(io_uring_cqe);
  const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single)
    sqRingBytes_ = cqRingBytes_ = std::max(sqRingBytes_, cqRingBytes_);
  sqRing_ = MapRing(fd_, sqRingBytes_, IORING_OFF_SQ_RING);
  if (sqRing_ == nullptr)
    return false;
  cqRing_ = single ? sqRing_ : MapRing(fd_, cqRingBytes_, IORING_OFF_CQ_RING);
  if (cqRing_ == nullptr)
    return false;
  sqesBytes_ = sqEntries * sizeof(io_uring_sqe);
  sqes_ = static_cast<io_uring_sqe*>(MapRing(fd_, sqesBytes_, IORING_OFF_SQES));
  if (sqes_ == nullptr)
    return false;

  sqHead_ = At<unsigned>(sqRing_, p.sq_off.head);
  sqTail_ = At<unsigned>(sqRing_, p.sq_off.tail);
  sqMask_ = *At<unsigned>(sqRing_, p.sq_off.ring_mask);
  cqHead_ = At<unsigned>(cqRing_, p.cq_off.head);
  cqTail_ = At<unsigned>(cqRing_, p.cq_off.tail);
  cqMask_ = *At<unsigned>(cqRing_, p.cq_off.ring_mask);
  cqes_ = At<io_uring_cqe>(cqRing_, p.cq_off.cqes);
  // SQEs are always filled in ring order, so the indirection array is the
  // identity, written once.
  unsigned* array = At<unsigned>(sqRing_, p.sq_off.array);
  for (unsigned i = 0; i < sqEntries; ++i)
    array[i] = i;
  return true;
}

SendRing::~SendRing() {
  if (sqes_ != nullptr)
    munmap(sqes_, sqesBytes_);
  if (cqRing_ != nullptr && cqRing_ != sqRing_)
    munmap(cqRing_, cqRingBytes_);
  if (sqRing_ != nullptr)
    munmap(sqRing_, sqRingBytes_);
  if (fd_ >= 0)
    ::close(fd_);
}

int SendRing::Register(int fd, bool* refused) {
  *refused = false;
  if (freeSlots_.empty())
    return -1;
  const int slot = freeSlots_.back();
  io_uring_files_update update{};
  update.offset = static_cast<uint32_t>(slot);
  update.fds = reinterpret_cast<uint64_t>(&fd);
  if (RegisterCall(fd_, IORING_REGISTER_FILES_UPDATE, &update, 1) != 1) {
    *refused = true;
    return -1;
  }
  freeSlots_.pop_back();
  return slot;
}

void SendRing::Unregister(int slot) {
  if (slot < 0 || static_cast<unsigned>(slot) >= fileSlots_)
    return;
  const int none = -1;
  io_uring_files_update update{};
  update.offset = static_cast<uint32_t>(slot);
  update.fds = reinterpret_cast<uint64_t>(&none);
  // Nothing is ever in flight between Submit() calls, so the kernel drops
  // its file reference now and the socket's port is free once it is closed.
  RegisterCall(fd_, IORING_REGISTER_FILES_UPDATE, &update, 1);
  freeSlots_.push_back(slot);
}

bool SendRing::QueueSendmsg(int fd, bool fixed, const msghdr* msg, uint64_t userData) {
  if (queued_ == entries_)
    return false;
  io_uring_sqe& sqe = sqes_[(*sqTail_ + queued_) & sqMask_];
  std::memset(&sqe, 0, sizeof(sqe));
  sqe.opcode = IORING_OP_SENDMSG;
  sqe.fd = fd;
  sqe.flags = fixed ? IOSQE_FIXED_FILE : 0;
  sqe.addr = reinterpret_cast<uint64_t>(msg);
  sqe.len = 1;
  sqe.msg_flags = MSG_DONTWAIT;
  sqe.user_data = userData;
  ++queued_;
  return true;
}

unsigned SendRing::CompletionsReady() const {
  return __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE) - *cqHead_;
}

unsigned SendRing::Submit() {
  const unsigned toSubmit = queued_;
  queued_ = 0;
  if (toSubmit == 0)
    return 0;
  const unsigned ready = CompletionsReady(); // 0 when the caller drains after each Submit
  __atomic_store_n(sqTail_, *sqTail_ + toSubmit, __ATOMIC_RELEASE);
  unsigned taken = 0;
  while (taken < toSubmit) {
    const int n = Enter(fd_, toSubmit - taken, 0, 0);
    ++stats_.enterCalls;
    if (n > 0) {
      taken += static_cast<unsigned>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    stats_.lastError = n < 0 ? errno : EAGAIN;
    // Withdraw what the kernel did not take: it consumes SQEs in order and
    // only inside io_uring_enter, so its head marks the end of what it took.
    __atomic_store_n(sqTail_, __atomic_load_n(sqHead_, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    stats_.withdrawn += toSubmit - taken;
    break;
  }
  stats_.submitted += taken;
  // Sends with MSG_DONTWAIT complete inside the submit; wait only if one
  // did not, because the caller reuses the buffers once we return.
  if (CompletionsReady() - ready < taken)
    ++stats_.waits;
  while (CompletionsReady() - ready < taken) {
    const int n = Enter(fd_, 0, ready + taken, IORING_ENTER_GETEVENTS);
    ++stats_.enterCalls;
    if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      stats_.lastError = errno;
      break;
    }
  }
  return taken;
}

} // namespace sluice::net
