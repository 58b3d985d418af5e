#include "sluice/net/UdpSocket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "sluice/net/SendBatch.hpp"
#include "sluice/net/SocketSetup.hpp"

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

bool Configure(int fd, const UdpSocket::Options& o, int family, std::string* error) {
  if (family == AF_INET6 &&
      !SetSocketOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6Only ? 1 : 0, "IPV6_V6ONLY", error))
    return false;
  if (o.reusePort && !SetSocketOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", error))
    return false;
  if (o.sendBufferSize != 0 &&
      !SetSocketOption(fd, SOL_SOCKET, SO_SNDBUF, static_cast<int>(o.sendBufferSize), "SO_SNDBUF",
                       error))
    return false;
  if (o.recvBufferSize != 0 &&
      !SetSocketOption(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(o.recvBufferSize), "SO_RCVBUF",
                       error))
    return false;
  return true;
}

// Binds `fd` to the requested port or the first free one of the range
// (BindFailure decides which errors move on to the next port).
bool BindPort(int fd, Endpoint addr, const UdpSocket::Options& o, std::string* error) {
  return ChoosePort(
      o.port, o.minPort, o.maxPort, "udp", o.ip,
      [&](uint16_t port) {
        SetEndpointPort(addr, port);
        if (bind(fd, addr.Sa(), addr.len) == 0)
          return PortAttempt::Bound;
        const int err = errno;
        if (error != nullptr)
          *error = "bind() failed [protocol:udp, ip:'" + o.ip + "', port:" + std::to_string(port) +
                   "]: " + ErrnoText(err);
        return BindFailure(err, o.port);
      },
      error);
}

} // namespace

std::unique_ptr<UdpSocket> UdpSocket::Open(uv_loop_t* loop, const Options& options,
                                           Listener* listener, std::string* error) {
  if (loop == nullptr || listener == nullptr)
    return OpenFailed<UdpSocket>(error, "invalid arguments: no loop or no listener");
  const auto bindAddr = Endpoint::FromIpPort(options.ip, 0);
  if (!bindAddr)
    return OpenFailed<UdpSocket>(error, "invalid IP '" + options.ip + "'");
  const int family = bindAddr->Family();

  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0)
    return OpenFailed<UdpSocket>(error, "socket() failed: " + ErrnoText(errno));
  // From here the socket owns fd: its destructor closes it.
  std::unique_ptr<UdpSocket> socket(new UdpSocket(fd, listener));
  if (!Configure(fd, options, family, error) || !BindPort(fd, *bindAddr, options, error))
    return nullptr;

  sockaddr_storage bound{};
  socklen_t boundLen = sizeof(bound);
  std::optional<Endpoint> local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLen) != 0 ||
      !(local = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&bound))))
    return OpenFailed<UdpSocket>(error, "getsockname() failed: " + ErrnoText(errno));
  socket->local_.Assign(*local);
  socket->localIp_ = local->Ip();
  socket->v6Only_ = family == AF_INET6 && options.ipv6Only;

  if (!tRecvBuffers)
    tRecvBuffers.reset(new RecvBuffers); // no zero fill: Prepare() sets what recvmmsg reads

  std::string pollError;
  socket->handle_ =
      WatchReadable<PollHandle>(loop, fd, socket.get(), &UdpSocket::OnPoll, &pollError);
  if (socket->handle_ == nullptr)
    return OpenFailed<UdpSocket>(error, pollError);
  return socket;
}

UdpSocket::~UdpSocket() {
  if (batchHead_ != kNoEntry)
    SendBatch::ForThread().Discard(*this);
  if (ringSlot_ >= 0)
    SendBatch::ForThread().ReleaseSlot(*this);
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
