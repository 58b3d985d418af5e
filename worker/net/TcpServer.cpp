#include "sluice/net/TcpServer.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

#include "sluice/net/SocketSetup.hpp"

namespace sluice::net {

struct TcpServer::PollHandle {
  uv_poll_t poll;
  TcpServer* owner;
};

namespace {

// A fresh listening-socket candidate with every option that must precede
// bind()/listen(); -1 with *error set on failure.
int NewSocket(int family, const TcpServer::Options& o, std::string* error) {
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    if (error != nullptr)
      *error = "socket() failed: " + ErrnoText(errno);
    return -1;
  }
  const bool ok =
      SetSocketOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", error) &&
      (family != AF_INET6 ||
       SetSocketOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6Only ? 1 : 0, "IPV6_V6ONLY", error)) &&
      (o.sendBufferSize == 0 ||
       SetSocketOption(fd, SOL_SOCKET, SO_SNDBUF, static_cast<int>(o.sendBufferSize), "SO_SNDBUF",
                       error)) &&
      (o.recvBufferSize == 0 ||
       SetSocketOption(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(o.recvBufferSize), "SO_RCVBUF",
                       error));
  if (!ok) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A listening fd on the requested port or the first free one of the range; -1
// with *error set. With SO_REUSEADDR two sockets may bind one port until one
// listens, so EADDRINUSE can come from bind() or listen(); after a listen()
// failure the socket is bound and the next port needs a new one.
int OpenListening(Endpoint addr, const TcpServer::Options& o, std::string* error) {
  int fd = -1;
  const bool ok = ChoosePort(
      o.port, o.minPort, o.maxPort, "tcp", o.ip,
      [&](uint16_t port) {
        if (fd < 0 && (fd = NewSocket(addr.Family(), o, error)) < 0)
          return PortAttempt::Failed;
        SetEndpointPort(addr, port);
        const char* call = "bind()";
        if (bind(fd, addr.Sa(), addr.len) == 0) {
          if (listen(fd, TcpServer::kBacklog) == 0)
            return PortAttempt::Bound;
          call = "listen()";
          ::close(fd);
          fd = -1;
        }
        const int err = errno;
        if (error != nullptr)
          *error = std::string(call) + " failed [protocol:tcp, ip:'" + o.ip +
                   "', port:" + std::to_string(port) + "]: " + ErrnoText(err);
        return BindFailure(err, o.port);
      },
      error);
  if (!ok && fd >= 0) {
    ::close(fd);
    fd = -1;
  }
  return fd;
}

bool IsWildcard(const Endpoint& e) {
  if (e.Family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&e.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&e.storage);
  return IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
}

} // namespace

std::unique_ptr<TcpServer> TcpServer::Open(uv_loop_t* loop, const Options& options,
                                           Listener* listener, std::string* error) {
  if (loop == nullptr || listener == nullptr)
    return OpenFailed<TcpServer>(error, "invalid arguments: no loop or no listener");
  if (options.sendQueueLimit > UINT32_MAX)
    return OpenFailed<TcpServer>(error, "invalid sendQueueLimit " +
                                            std::to_string(options.sendQueueLimit));
  const auto bindAddr = Endpoint::FromIpPort(options.ip, 0);
  if (!bindAddr)
    return OpenFailed<TcpServer>(error, "invalid IP '" + options.ip + "'");

  const int fd = OpenListening(*bindAddr, options, error);
  if (fd < 0)
    return nullptr;
  // From here the server owns fd: its destructor closes it.
  std::unique_ptr<TcpServer> server(new TcpServer(loop, listener, options, fd));

  sockaddr_storage bound{};
  socklen_t boundLen = sizeof(bound);
  std::optional<Endpoint> local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLen) != 0 ||
      !(local = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&bound))))
    return OpenFailed<TcpServer>(error, "getsockname() failed: " + ErrnoText(errno));
  server->local_ = *local;
  server->localIp_ = local->Ip();
  server->wildcard_ = IsWildcard(*bindAddr);

  TcpConnection::PrepareReadBuffer();

  std::string pollError;
  server->handle_ =
      WatchReadable<PollHandle>(loop, fd, server.get(), &TcpServer::OnPoll, &pollError);
  if (server->handle_ == nullptr)
    return OpenFailed<TcpServer>(error, pollError);
  return server;
}

TcpServer::~TcpServer() {
  if (handle_ != nullptr) {
    handle_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), &TcpServer::OnHandleClosed);
  }
  if (fd_ >= 0)
    ::close(fd_);
  // CloseConnection removes each from the list before its callback, so the
  // listener may close others from there.
  while (!connections_.empty())
    CloseConnection(*connections_.back());
}

void TcpServer::OnHandleClosed(uv_handle_t* handle) {
  delete static_cast<PollHandle*>(handle->data);
}

void TcpServer::OnPoll(uv_poll_t* poll, int status, int events) {
  TcpServer* server = static_cast<PollHandle*>(poll->data)->owner;
  if (server == nullptr)
    return;
  if (status < 0) {
    ++server->counters_.acceptErrors;
    return;
  }
  if ((events & UV_READABLE) != 0)
    server->AcceptBurst();
}

void TcpServer::AcceptBurst() {
  for (size_t i = 0; i < kMaxAcceptsPerWake; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    const int fd =
        accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        ++counters_.acceptErrors; // EMFILE, ENOBUFS...: retried on the next wake-up
      return;
    }
    if (connections_.size() >= maxConnections_) {
      ::close(fd);
      ++counters_.rejected;
      continue;
    }
    Adopt(fd, peer);
  }
}

void TcpServer::Adopt(int fd, const sockaddr_storage& peer) {
  const auto remote = Endpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&peer));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); // best effort
  std::optional<Endpoint> ownLocal;
  if (wildcard_) {
    sockaddr_storage bound{};
    socklen_t boundLen = sizeof(bound);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLen) == 0)
      ownLocal = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&bound));
  }
  if (!remote || (wildcard_ && !ownLocal)) {
    ::close(fd);
    ++counters_.acceptErrors;
    return;
  }

  auto* connection = new TcpConnection(this, fd);
  connection->remote_ = *remote;
  if (ownLocal) {
    connection->ownLocal_.reset(new Endpoint(*ownLocal));
    connection->local_ = connection->ownLocal_.get();
  } else {
    connection->local_ = &local_;
  }
  if (!connection->Start(loop_)) {
    delete connection; // closes the fd (and the handle if it was registered)
    ++counters_.acceptErrors;
    return;
  }
  connection->index_ = static_cast<uint32_t>(connections_.size());
  connections_.push_back(connection);
  ++counters_.accepted;
}

void TcpServer::CloseConnection(TcpConnection& connection) {
  if (connection.closing_)
    return;
  assert(connection.server_ == this && connections_[connection.index_] == &connection);
  connection.closing_ = true;
  connection.StopIo();
  // Unlink first: the listener may close other connections or destroy the
  // server from its callback, and ~TcpServer must not see this one again.
  const uint32_t index = connection.index_;
  connections_[index] = connections_.back();
  connections_[index]->index_ = index;
  connections_.pop_back();
  ++counters_.closed;
  listener_->OnTcpConnectionClosed(*this, connection); // `this` may be gone after
  if (!connection.delivering_)
    delete &connection;
  // else: the receive burst running its framer destroys it when Feed returns.
}

} // namespace sluice::net
