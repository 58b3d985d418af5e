#include "sluice/net/SendBatch.hpp"

#include <cerrno>
#include <cstring>

#include "sluice/net/UdpSocket.hpp"

namespace sluice::net {

namespace {
constexpr uint32_t kNoEntry = UINT32_MAX;
} // namespace

struct SendBatch::Entry {
  UdpSocket* socket = nullptr; // nullptr: free or discarded
  store::PacketRef hold;
  const uint8_t* tail = nullptr;
  uint32_t headOffset = 0; // into arena_
  uint32_t headLen = 0;
  uint32_t tailLen = 0;
  uint32_t next = kNoEntry; // next entry of the same socket
  PackedAddress to;
};

SendBatch& SendBatch::ForThread() {
  static thread_local SendBatch batch;
  return batch;
}

SendBatch::SendBatch()
    : entries_(new Entry[kMaxEntries]), arena_(new uint8_t[kArenaBytes]),
      msgs_(new mmsghdr[kMaxEntries]), iov_(new iovec[2 * kMaxEntries]),
      sockets_(new UdpSocket*[kMaxEntries]), order_(new uint32_t[kMaxEntries]) {}

SendBatch::~SendBatch() {
  // Sockets outliving their thread's batch would be a bug; unlink them anyway
  // so a late ~UdpSocket does not walk freed entries.
  for (size_t i = 0; i < socketCount_; ++i)
    sockets_[i]->batchHead_ = sockets_[i]->batchTail_ = sockets_[i]->batchSlot_ = kNoEntry;
  for (UdpSocket* socket : slotOwners_)
    if (socket != nullptr)
      socket->ringSlot_ = UdpSocket::kNoSlot;
  // No flush here: the thread's pool may be gone. Closing the ring releases
  // its registered files.
}

bool SendBatch::EnableRing(std::string* error) {
  if (ring_)
    return true;
  Flush();
  auto ring = SendRing::Create(kMaxEntries, kRingFileSlots, error);
  if (!ring)
    return false;
  if (ring->Capacity() < kMaxEntries) {
    if (error != nullptr)
      *error = "io_uring ring smaller than the batch";
    return false;
  }
  slotOwners_.assign(kRingFileSlots, nullptr);
  ring_ = std::move(ring);
  return true;
}

void SendBatch::DisableRing() {
  if (!ring_)
    return;
  Flush();
  for (UdpSocket* socket : slotOwners_)
    if (socket != nullptr)
      ReleaseSlot(*socket);
  ring_.reset();
  slotOwners_.clear();
  slotOwners_.shrink_to_fit();
}

void SendBatch::ReleaseSlot(UdpSocket& socket) {
  const int32_t slot = socket.ringSlot_;
  socket.ringSlot_ = UdpSocket::kNoSlot;
  if (!ring_ || slot < 0)
    return;
  ring_->Unregister(slot);
  slotOwners_[static_cast<size_t>(slot)] = nullptr;
}

bool SendBatch::AttachSlot(UdpSocket& socket) {
  if (socket.ringSlot_ >= 0)
    return true;
  if (socket.ringSlot_ == UdpSocket::kSlotRefused)
    return false;
  bool refused = false;
  const int slot = ring_->Register(socket.fd_, &refused);
  if (slot < 0) {
    if (refused)
      socket.ringSlot_ = UdpSocket::kSlotRefused; // do not ask the kernel again
    return false;
  }
  socket.ringSlot_ = slot;
  slotOwners_[static_cast<size_t>(slot)] = &socket;
  return true;
}

bool SendBatch::Refuse(UdpSocket& socket) {
  ++socket.counters_.sendDrops;
  ++stats_.drops;
  return false;
}

bool SendBatch::Enqueue(UdpSocket& socket, const uint8_t* head, size_t headLen, const uint8_t* tail,
                        size_t tailLen, const store::PacketRef& hold, const Endpoint& to) {
  if ((head == nullptr && headLen != 0) || (tail == nullptr && tailLen != 0))
    return Refuse(socket);
  // Without a hold nothing keeps the tail alive until the flush: copy it.
  const bool copyTail = tailLen != 0 && hold.Empty();
  const size_t arenaBytes = headLen + (copyTail ? tailLen : 0);
  if (arenaBytes > kMaxHeadBytes || tailLen > UINT32_MAX)
    return Refuse(socket);
  PackedAddress dest;
  if (!dest.Assign(to))
    return Refuse(socket);
  const int family = dest.addr.sa.sa_family;
  if (family != socket.Family() && (family != AF_INET || socket.v6Only_))
    return Refuse(socket); // an IPv4 socket cannot reach IPv6, nor a v6-only one IPv4

  if (used_ == kMaxEntries || arenaUsed_ + arenaBytes > kArenaBytes) {
    ++stats_.earlyFlushes;
    Flush();
  }

  const uint32_t index = static_cast<uint32_t>(used_++);
  Entry& e = entries_[index];
  e.socket = &socket;
  e.headOffset = static_cast<uint32_t>(arenaUsed_);
  e.headLen = static_cast<uint32_t>(arenaBytes);
  if (headLen != 0)
    std::memcpy(arena_.get() + arenaUsed_, head, headLen);
  if (copyTail) {
    std::memcpy(arena_.get() + arenaUsed_ + headLen, tail, tailLen);
    e.tail = nullptr;
    e.tailLen = 0;
  } else {
    e.tail = tail;
    e.tailLen = static_cast<uint32_t>(tailLen);
    if (tailLen != 0)
      e.hold = hold;
  }
  arenaUsed_ += arenaBytes;
  e.next = kNoEntry;
  e.to = dest;

  if (socket.batchHead_ == kNoEntry) {
    socket.batchHead_ = socket.batchTail_ = index;
    socket.batchSlot_ = static_cast<uint32_t>(socketCount_);
    sockets_[socketCount_++] = &socket;
  } else {
    entries_[socket.batchTail_].next = index;
    socket.batchTail_ = index;
  }
  ++pending_;
  if (used_ > stats_.highWaterEntries)
    stats_.highWaterEntries = used_;
  if (arenaUsed_ > stats_.highWaterArenaBytes)
    stats_.highWaterArenaBytes = arenaUsed_;
  return true;
}

void SendBatch::Discard(UdpSocket& socket) {
  for (uint32_t i = socket.batchHead_; i != kNoEntry; i = entries_[i].next) {
    entries_[i].hold.Reset();
    entries_[i].socket = nullptr;
    --pending_;
    ++stats_.discarded;
  }
  // Swap-remove from the pending socket list; flush order across sockets is
  // not a promise, only the order within one socket.
  const uint32_t slot = socket.batchSlot_;
  if (slot != kNoEntry && slot < socketCount_) {
    UdpSocket* last = sockets_[--socketCount_];
    sockets_[slot] = last;
    last->batchSlot_ = slot;
  }
  socket.batchHead_ = socket.batchTail_ = socket.batchSlot_ = kNoEntry;
}

void SendBatch::Flush() {
  if (used_ == 0)
    return;
  if (socketCount_ != 0)
    ++stats_.flushes;
  if (ring_)
    FlushRing();
  for (size_t i = 0; i < socketCount_; ++i) {
    UdpSocket& socket = *sockets_[i];
    if (!ring_)
      FlushSocket(socket);
    socket.batchHead_ = socket.batchTail_ = socket.batchSlot_ = kNoEntry;
  }
  for (size_t i = 0; i < used_; ++i) {
    entries_[i].hold.Reset();
    entries_[i].socket = nullptr;
  }
  used_ = 0;
  arenaUsed_ = 0;
  socketCount_ = 0;
  pending_ = 0;
}

void SendBatch::Describe(size_t k, const Entry& e) {
  iovec* iov = &iov_[2 * k];
  iov[0].iov_base = arena_.get() + e.headOffset;
  iov[0].iov_len = e.headLen;
  iov[1].iov_base = const_cast<uint8_t*>(e.tail);
  iov[1].iov_len = e.tailLen;
  msghdr& h = msgs_[k].msg_hdr;
  h.msg_name = const_cast<sockaddr*>(&e.to.addr.sa);
  h.msg_namelen = e.to.len;
  h.msg_iov = iov;
  h.msg_iovlen = e.tailLen != 0 ? 2 : 1;
  h.msg_control = nullptr;
  h.msg_controllen = 0;
  h.msg_flags = 0;
  msgs_[k].msg_len = 0;
}

void SendBatch::Account(UdpSocket& socket, int64_t result) {
  if (result < 0) {
    ++socket.counters_.sendDrops;
    ++stats_.drops;
    return;
  }
  socket.counters_.bytesSent += static_cast<uint64_t>(result);
  ++socket.counters_.datagramsSent;
  ++stats_.datagrams;
}

// Socket-major order keeps each socket's datagrams in queue order: the kernel
// issues SQEs in order and none is deferred (MSG_DONTWAIT).
void SendBatch::FlushRing() {
  size_t count = 0;
  for (size_t i = 0; i < socketCount_; ++i) {
    UdpSocket& socket = *sockets_[i];
    const bool fixed = AttachSlot(socket);
    const int fd = fixed ? socket.ringSlot_ : socket.fd_;
    for (uint32_t e = socket.batchHead_; e != kNoEntry; e = entries_[e].next) {
      Describe(count, entries_[e]);
      order_[count] = e;
      ring_->QueueSendmsg(fd, fixed, &msgs_[count].msg_hdr, count); // capacity >= kMaxEntries
      ++count;
    }
  }
  ++stats_.ringSubmits;
  const unsigned taken = ring_->Submit();
  ring_->Drain([this, count](uint64_t k, int32_t result) {
    if (k < count)
      Account(*entries_[order_[k]].socket, result);
  });
  for (size_t k = taken; k < count; ++k) {
    UdpSocket& socket = *entries_[order_[k]].socket;
    ssize_t n;
    do
      n = sendmsg(socket.fd_, &msgs_[k].msg_hdr, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    Account(socket, n >= 0 ? n : -errno);
    ++stats_.ringFallbacks;
  }
}

void SendBatch::FlushSocket(UdpSocket& socket) {
  mmsghdr* msgs = msgs_.get();
  size_t count = 0;
  for (uint32_t i = socket.batchHead_; i != kNoEntry; i = entries_[i].next)
    Describe(count++, entries_[i]);

  UdpSocket::Counters& c = socket.counters_;
  size_t done = 0;
  while (done < count) {
    const int n = sendmmsg(socket.fd_, msgs + done, static_cast<unsigned>(count - done), 0);
    ++stats_.sendmmsgCalls;
    if (n > 0) {
      for (size_t k = done; k < done + static_cast<size_t>(n); ++k)
        c.bytesSent += msgs[k].msg_len;
      c.datagramsSent += static_cast<uint64_t>(n);
      stats_.datagrams += static_cast<uint64_t>(n);
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      // The socket buffer is full: the rest would fail the same way now.
      c.sendDrops += count - done;
      stats_.drops += count - done;
      break;
    }
    // The kernel refused the first remaining datagram (EMSGSIZE,
    // ENETUNREACH, EACCES, ...): drop that one and go on with the others.
    ++c.sendDrops;
    ++stats_.drops;
    ++done;
  }
}

} // namespace sluice::net
