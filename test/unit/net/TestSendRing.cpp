#include "sluice/net/SendRing.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using sluice::net::SendRing;

namespace {

// A bound, non-blocking UDP socket on 127.0.0.1 (closed by the destructor).
struct RawSocket {
  int fd = -1;
  sockaddr_in addr{};
  RawSocket() {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  }
  ~RawSocket() {
    if (fd >= 0)
      close(fd);
  }
  // Every datagram waiting, in arrival order.
  std::vector<std::string> Drain() const {
    std::vector<std::string> out;
    char buf[2048];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
      out.emplace_back(buf, static_cast<size_t>(n));
    return out;
  }
};

// One datagram's msghdr: text to `to`.
struct Message {
  std::string text;
  sockaddr_in to{};
  iovec iov{};
  msghdr hdr{};
  Message(std::string t, const sockaddr_in& dest) : text(std::move(t)), to(dest) {
    iov.iov_base = text.data();
    iov.iov_len = text.size();
    hdr.msg_name = &to;
    hdr.msg_namelen = sizeof(to);
    hdr.msg_iov = &iov;
    hdr.msg_iovlen = 1;
  }
};

std::unique_ptr<SendRing> CreateOrSkip(unsigned entries, unsigned slots) {
  std::string error;
  auto ring = SendRing::Create(entries, slots, &error);
  if (!ring)
    WARN("no io_uring here (" << error << "): the worker falls back to sendmmsg");
  return ring;
}

} // namespace

TEST_CASE("SendRing: registered and plain fds in one submission, per-socket order kept",
          "[net][ring]") {
  auto ring = CreateOrSkip(64, 4);
  if (!ring)
    return;
  REQUIRE(ring->Capacity() >= 64);
  RawSocket senderA, senderB, receiver;
  bool refused = true;
  const int slot = ring->Register(senderA.fd, &refused);
  REQUIRE(slot >= 0);
  REQUIRE_FALSE(refused);
  REQUIRE(ring->SlotsInUse() == 1);

  std::vector<std::unique_ptr<Message>> messages;
  for (int i = 0; i < 40; ++i) {
    messages.push_back(
        std::make_unique<Message>((i % 2 ? "B" : "A") + std::to_string(i), receiver.addr));
    const bool viaSlot = i % 2 == 0;
    REQUIRE(ring->QueueSendmsg(viaSlot ? slot : senderB.fd, viaSlot, &messages.back()->hdr,
                               static_cast<uint64_t>(i)));
  }
  REQUIRE(ring->Queued() == 40);
  const auto before = ring->GetStats();
  REQUIRE(ring->Submit() == 40);
  REQUIRE(ring->Queued() == 0);
  REQUIRE(ring->GetStats().enterCalls - before.enterCalls == 1); // all completed inline

  std::vector<int32_t> results(40, -1000);
  ring->Drain([&](uint64_t userData, int32_t result) {
    REQUIRE(userData < 40);
    results[userData] = result;
  });
  for (int i = 0; i < 40; ++i)
    REQUIRE(results[i] == static_cast<int32_t>(messages[i]->text.size()));
  REQUIRE(ring->GetStats().completed - before.completed == 40);

  // Everything arrived, from the right source port, each sender in order.
  const auto got = receiver.Drain();
  REQUIRE(got.size() == 40);
  int nextA = 0, nextB = 1;
  for (const std::string& g : got) {
    int& next = g[0] == 'A' ? nextA : nextB;
    REQUIRE(g.substr(1) == std::to_string(next));
    next += 2;
  }
  REQUIRE(nextA == 40);
  REQUIRE(nextB == 41);
}

TEST_CASE("SendRing: bounds, per-datagram errors and slot reuse", "[net][ring]") {
  auto ring = CreateOrSkip(8, 2);
  if (!ring)
    return;
  RawSocket a, b, c, receiver;

  // The slot table is bounded: the third socket gets none, without a syscall.
  bool refused = true;
  const int sa = ring->Register(a.fd, &refused);
  const int sb = ring->Register(b.fd, &refused);
  REQUIRE(sa >= 0);
  REQUIRE(sb >= 0);
  REQUIRE(sa != sb);
  REQUIRE(ring->Register(c.fd, &refused) == -1);
  REQUIRE_FALSE(refused);
  ring->Unregister(sa);
  REQUIRE(ring->SlotsInUse() == 1);
  const int sc = ring->Register(c.fd, &refused);
  REQUIRE(sc == sa); // the freed slot is reused

  // The SQ is bounded by the capacity.
  sockaddr_in portZero = receiver.addr;
  portZero.sin_port = 0;
  std::vector<std::unique_ptr<Message>> messages;
  for (unsigned i = 0; i < ring->Capacity(); ++i) {
    messages.push_back(std::make_unique<Message>("x", i == 3 ? portZero : receiver.addr));
    REQUIRE(ring->QueueSendmsg(sc, true, &messages.back()->hdr, i));
  }
  Message extra("y", receiver.addr);
  REQUIRE_FALSE(ring->QueueSendmsg(sc, true, &extra.hdr, 99));

  // One bad destination fails alone; the others go out.
  REQUIRE(ring->Submit() == ring->Capacity());
  unsigned ok = 0, failed = 0;
  ring->Drain([&](uint64_t userData, int32_t result) {
    if (userData == 3) {
      REQUIRE(result < 0);
      ++failed;
    } else {
      REQUIRE(result == 1);
      ++ok;
    }
  });
  REQUIRE(failed == 1);
  REQUIRE(ok == ring->Capacity() - 1);
  REQUIRE(receiver.Drain().size() == ring->Capacity() - 1);

  // A closed plain fd completes with -EBADF (nothing is withdrawn).
  Message m("z", receiver.addr);
  REQUIRE(ring->QueueSendmsg(1 << 20, false, &m.hdr, 7));
  REQUIRE(ring->Submit() == 1);
  int32_t result = 0;
  ring->Drain([&](uint64_t, int32_t r) { result = r; });
  REQUIRE(result == -EBADF);
  REQUIRE(ring->GetStats().withdrawn == 0);
}

TEST_CASE("SendRing: an unregistered socket's port is free as soon as it is closed",
          "[net][ring]") {
  auto ring = CreateOrSkip(8, 4);
  if (!ring)
    return;
  RawSocket receiver;
  auto s = std::make_unique<RawSocket>();
  const sockaddr_in bound = s->addr;
  bool refused = false;
  const int slot = ring->Register(s->fd, &refused);
  REQUIRE(slot >= 0);
  Message m("hello", receiver.addr);
  REQUIRE(ring->QueueSendmsg(slot, true, &m.hdr, 1));
  REQUIRE(ring->Submit() == 1);
  ring->Drain([](uint64_t, int32_t r) { REQUIRE(r == 5); });

  ring->Unregister(slot);
  s.reset(); // close(fd): the ring holds no reference any more
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const int rc = bind(fd, reinterpret_cast<const sockaddr*>(&bound), sizeof(bound));
  const int err = errno;
  close(fd);
  INFO(std::strerror(err));
  REQUIRE(rc == 0);
}
