#include "sluice/net/UdpSocket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "sluice/net/SendBatch.hpp"

namespace sluice::net {

// The uv handle lives apart from the socket so the socket can be destroyed
// inside its own callback: the handle is freed by libuv's close callback,
// and `owner` (nulled by ~UdpSocket) tells the receive loop to stop.
struct UdpSocket::PollHandle {
  uv_poll_t poll;
  UdpSocket* owner;
};

namespace {

// The thread's receive buffers, shared by all its sockets: only one socket
// is drained at a time and datagrams are valid only during their callback.
struct RecvBuffers {
  uint8_t data[UdpSocket::kRecvBatch][UdpSocket::kRecvBufferBytes];
  sockaddr_storage from[UdpSocket::kRecvBatch];
  iovec iov[UdpSocket::kRecvBatch];
  mmsghdr msgs[UdpSocket::kRecvBatch];

  void Prepare() {
    for (size_t i = 0; i < UdpSocket::kRecvBatch; ++i) {
      iov[i].iov_base = data[i];
      iov[i].iov_len = sizeof(data[i]);
      msghdr& h = msgs[i].msg_hdr;
      h.msg_name = &from[i];
      h.msg_namelen = sizeof(from[i]);
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      h.msg_control = nullptr;
      h.msg_controllen = 0;
      h.msg_flags = 0;
      msgs[i].msg_len = 0;
    }
  }
};

thread_local std::unique_ptr<RecvBuffers> tRecvBuffers;

std::string Errno(int err) {
  return std::strerror(err);
}

// xorshift64*, seeded per thread from the clock and pid: port choice only
// needs to differ between workers, not to be unpredictable.
uint64_t NextRandom() {
  static thread_local uint64_t state = 0;
  if (state == 0) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    state = (uint64_t(ts.tv_nsec) ^ (uint64_t(ts.tv_sec) << 30) ^ (uint64_t(getpid()) << 48)) | 1u;
  }
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

bool SetOpt(int fd, int level, int name, int value, const char* label, std::string* error) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
    return true;
  if (error != nullptr)
    *error = std::string("setsockopt(") + label + ") failed: " + Errno(errno);
  return false;
}

bool Configure(int fd, const UdpSocket::Options& o, int family, std::string* error) {
  if (family == AF_INET6 &&
      !SetOpt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6Only ? 1 : 0, "IPV6_V6ONLY", error))
    return false;
  if (o.reusePort && !SetOpt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", error))
    return false;
  if (o.sendBufferSize != 0 &&
      !SetOpt(fd, SOL_SOCKET, SO_SNDBUF, static_cast<int>(o.sendBufferSize), "SO_SNDBUF", error))
    return false;
  if (o.recvBufferSize != 0 &&
      !SetOpt(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(o.recvBufferSize), "SO_RCVBUF", error))
    return false;
  return true;
}

std::string BindFailed(const std::string& ip, uint16_t port, int err) {
  return "bind() failed [protocol:udp, ip:'" + ip + "', port:" + std::to_string(port) +
         "]: " + Errno(err);
}

// Binds `fd` to the requested port, or to the first free port of the range
// starting at a random one. Only EADDRINUSE moves on to the next port; any
// other error (an ip that is not local, permissions) fails at once.
bool BindPort(int fd, Endpoint addr, const UdpSocket::Options& o, std::string* error) {
  auto setPort = [&addr](uint16_t port) {
    if (addr.Family() == AF_INET)
      reinterpret_cast<sockaddr_in*>(&addr.storage)->sin_port = htons(port);
    else
      reinterpret_cast<sockaddr_in6*>(&addr.storage)->sin6_port = htons(port);
  };
  if (o.port != 0) {
    setPort(o.port);
    if (bind(fd, addr.Sa(), addr.len) == 0)
      return true;
    if (error != nullptr)
      *error = BindFailed(o.ip, o.port, errno);
    return false;
  }
  if (o.minPort == 0 || o.minPort > o.maxPort) {
    if (error != nullptr)
      *error = "invalid port range [min:" + std::to_string(o.minPort) +
               ", max:" + std::to_string(o.maxPort) + "]";
    return false;
  }
  const uint32_t range = uint32_t(o.maxPort) - o.minPort + 1;
  const uint32_t start = static_cast<uint32_t>(NextRandom() % range);
  for (uint32_t attempt = 0; attempt < range; ++attempt) {
    const auto port = static_cast<uint16_t>(o.minPort + (start + attempt) % range);
    setPort(port);
    if (bind(fd, addr.Sa(), addr.len) == 0)
      return true;
    if (errno != EADDRINUSE) {
      if (error != nullptr)
        *error = BindFailed(o.ip, port, errno);
      return false;
    }
  }
  if (error != nullptr)
    *error = "no more available ports [protocol:udp, ip:'" + o.ip +
             "', numAttempt:" + std::to_string(range) + "]";
  return false;
}

} // namespace

std::unique_ptr<UdpSocket> UdpSocket::Open(uv_loop_t* loop, const Options& options,
                                           Listener* listener, std::string* error) {
  auto fail = [error](std::string message) {
    if (error != nullptr)
      *error = std::move(message);
    return std::unique_ptr<UdpSocket>();
  };
  if (loop == nullptr || listener == nullptr)
    return fail("invalid arguments: no loop or no listener");
  const auto bindAddr = Endpoint::FromIpPort(options.ip, 0);
  if (!bindAddr)
    return fail("invalid IP '" + options.ip + "'");
  const int family = bindAddr->Family();

  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0)
    return fail("socket() failed: " + Errno(errno));
  // From here the socket owns fd: its destructor closes it.
  std::unique_ptr<UdpSocket> socket(new UdpSocket(fd, listener));
  if (!Configure(fd, options, family, error) || !BindPort(fd, *bindAddr, options, error))
    return nullptr;

  sockaddr_storage bound{};
  socklen_t boundLen = sizeof(bound);
  std::optional<Endpoint> local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLen) != 0 ||
      !(local = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&bound))))
    return fail("getsockname() failed: " + Errno(errno));
  socket->local_.Assign(*local);
  socket->localIp_ = local->Ip();
  socket->v6Only_ = family == AF_INET6 && options.ipv6Only;

  if (!tRecvBuffers)
    tRecvBuffers.reset(new RecvBuffers); // no zero fill: Prepare() sets what recvmmsg reads

  auto* handle = new PollHandle;
  handle->owner = socket.get();
  int err = uv_poll_init_socket(loop, &handle->poll, fd);
  if (err != 0) {
    delete handle; // never registered with the loop
    return fail(std::string("uv_poll_init_socket() failed: ") + uv_strerror(err));
  }
  handle->poll.data = handle;
  socket->handle_ = handle;
  err = uv_poll_start(&handle->poll, UV_READABLE, &UdpSocket::OnPoll);
  if (err != 0)
    return fail(std::string("uv_poll_start() failed: ") + uv_strerror(err));
  return socket;
}

UdpSocket::~UdpSocket() {
  if (batchHead_ != kNoEntry)
    SendBatch::ForThread().Discard(*this);
  if (handle_ != nullptr) {
    handle_->owner = nullptr;
    // Closing a poll handle stops it and removes the fd from epoll right away,
    // so the fd can be closed now; only the handle memory waits for the loop.
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), &UdpSocket::OnHandleClosed);
  }
  if (fd_ >= 0)
    ::close(fd_);
}

void UdpSocket::OnHandleClosed(uv_handle_t* handle) {
  delete static_cast<PollHandle*>(handle->data);
}

uint16_t UdpSocket::LocalPort() const {
  if (local_.len == sizeof(sockaddr_in))
    return ntohs(local_.addr.v4.sin_port);
  if (local_.len == sizeof(sockaddr_in6))
    return ntohs(local_.addr.v6.sin6_port);
  return 0;
}

bool UdpSocket::Send(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
                     const store::PacketRef& hold, const Endpoint& to) {
  return SendBatch::ForThread().Enqueue(*this, head, headLen, tail, tailLen, hold, to);
}

void UdpSocket::OnPoll(uv_poll_t* poll, int status, int events) {
  auto* handle = static_cast<PollHandle*>(poll->data);
  if (handle->owner == nullptr)
    return;
  if (status < 0) {
    ++handle->owner->counters_.recvErrors;
    return;
  }
  if ((events & UV_READABLE) != 0)
    ReceiveBurst(handle);
}

void UdpSocket::ReceiveBurst(PollHandle* handle) {
  RecvBuffers& rb = *tRecvBuffers;
  for (size_t round = 0; round < kMaxRecvRounds; ++round) {
    UdpSocket* socket = handle->owner;
    if (socket == nullptr)
      return;
    rb.Prepare();
    const int n = recvmmsg(socket->fd_, rb.msgs, kRecvBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        ++socket->counters_.recvErrors;
      return;
    }
    for (int i = 0; i < n; ++i) {
      socket = handle->owner; // the previous callback may have destroyed it
      if (socket == nullptr)
        return;
      const mmsghdr& m = rb.msgs[i];
      if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++socket->counters_.truncated;
        continue;
      }
      const auto from = Endpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&rb.from[i]));
      if (!from) {
        ++socket->counters_.recvErrors;
        continue;
      }
      ++socket->counters_.datagramsReceived;
      socket->counters_.bytesReceived += m.msg_len;
      socket->listener_->OnUdpDatagram(*socket, rb.data[i], m.msg_len, *from);
    }
    if (static_cast<size_t>(n) < kRecvBatch)
      return; // drained
  }
}

} // namespace sluice::net
