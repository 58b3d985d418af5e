#include "sluice/net/SendBatch.hpp"
#include "sluice/net/SocketSetup.hpp"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/store/PacketPool.hpp"

#include <catch2/catch.hpp>

#include <uv.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using sluice::net::Endpoint;
using sluice::net::SendBatch;
using sluice::net::UdpSocket;
using sluice::store::PacketPool;
using sluice::store::PacketRef;

namespace {

using Bytes = std::vector<uint8_t>;

// A loop that must be empty (every handle closed) when the test ends.
struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_NOWAIT);     // runs the close callbacks of destroyed sockets
    CHECK(uv_loop_close(&loop) == 0); // CHECK: may run while a failed REQUIRE unwinds
  }
  uv_loop_t* operator&() { return &loop; }
};

// Runs the loop until done() or ~2 s (loopback delivery is immediate, so
// the first pass normally suffices).
bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done) {
  for (int i = 0; i < 2000 && !done(); ++i) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (!done())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

struct Received {
  Bytes bytes;
  Endpoint from;
};

struct Recorder : UdpSocket::Listener {
  std::vector<Received> got;
  std::function<void(UdpSocket&)> onDatagram; // runs after recording
  void OnUdpDatagram(UdpSocket& socket, uint8_t* data, size_t len, const Endpoint& from) override {
    got.push_back({Bytes(data, data + len), from});
    if (onDatagram)
      onDatagram(socket);
  }
};

UdpSocket::Options Range(const char* ip = "127.0.0.1") {
  UdpSocket::Options o;
  o.ip = ip;
  o.minPort = 20000;
  o.maxPort = 39999;
  return o;
}

std::unique_ptr<UdpSocket> OpenOrFail(uv_loop_t* loop, const UdpSocket::Options& o,
                                      UdpSocket::Listener* listener) {
  std::string error;
  auto s = UdpSocket::Open(loop, o, listener, &error);
  INFO(error);
  REQUIRE(s);
  REQUIRE(error.empty());
  return s;
}

PacketRef Packet(PacketPool& pool, const Bytes& payload) {
  PacketRef p = pool.Allocate();
  REQUIRE(p);
  std::memcpy(p.MutableData(), payload.data(), payload.size());
  REQUIRE(p.SetLength(payload.size()));
  return p;
}

Bytes Concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Flushes leftovers so one test's queue never leaks into the next.
struct BatchGuard {
  ~BatchGuard() { SendBatch::ForThread().Flush(); }
};

// Puts the thread's batch on the io_uring path for one test (ok false when
// this kernel has none), back on sendmmsg afterwards.
struct RingScope {
  bool ok = false;
  explicit RingScope(bool on) {
    std::string error;
    ok = !on || SendBatch::ForThread().EnableRing(&error);
    if (!ok)
      WARN("no io_uring here (" << error << ")");
  }
  ~RingScope() { SendBatch::ForThread().DisableRing(); }
};

} // namespace

TEST_CASE("net: head + tail datagram between two sockets", "[net][udp]") {
  Loop loop;
  PacketPool pool;
  Recorder ra, rb;
  auto a = OpenOrFail(&loop, Range(), &ra);
  auto b = OpenOrFail(&loop, Range(), &rb);
  BatchGuard guard;
  REQUIRE(a->LocalIp() == "127.0.0.1");
  REQUIRE(a->LocalPort() >= 20000);
  REQUIRE(a->LocalPort() <= 39999);
  REQUIRE(a->LocalPort() != b->LocalPort());
  REQUIRE(a->LocalEndpoint() == *Endpoint::FromIpPort("127.0.0.1", a->LocalPort()));

  SendBatch& batch = SendBatch::ForThread();
  const auto before = batch.GetStats();
  const Bytes head = {0x80, 0x60, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef};
  const Bytes payload = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  PacketRef p = Packet(pool, payload);
  REQUIRE(a->Send(head.data(), head.size(), p.Data(), p.Length(), p, b->LocalEndpoint()));
  REQUIRE(p.RefCount() == 2); // the batch holds the slot until the flush
  REQUIRE(batch.Pending() == 1);

  // No tail; and a tail with no hold, which is copied at Send time.
  const Bytes bare = {0xaa, 0xbb};
  REQUIRE(a->Send(bare.data(), bare.size(), nullptr, 0, PacketRef(), b->LocalEndpoint()));
  Bytes scratchTail = {7, 7, 7};
  REQUIRE(a->Send(bare.data(), bare.size(), scratchTail.data(), scratchTail.size(), PacketRef(),
                  b->LocalEndpoint()));
  scratchTail.assign({9, 9, 9}); // after Send: must not change what is sent
  REQUIRE(batch.Pending() == 3);
  REQUIRE(rb.got.empty());

  batch.Flush();
  REQUIRE(batch.Pending() == 0);
  REQUIRE(p.RefCount() == 1);
  REQUIRE(RunUntil(&loop, [&] { return rb.got.size() == 3; }));
  REQUIRE(rb.got[0].bytes == Concat(head, payload));
  REQUIRE(rb.got[0].from == a->LocalEndpoint());
  REQUIRE(rb.got[1].bytes == bare);
  REQUIRE(rb.got[2].bytes == Bytes({0xaa, 0xbb, 7, 7, 7}));

  const auto after = batch.GetStats();
  REQUIRE(after.flushes - before.flushes == 1);
  REQUIRE(after.sendmmsgCalls - before.sendmmsgCalls == 1);
  REQUIRE(after.datagrams - before.datagrams == 3);
  REQUIRE(after.drops == before.drops);
  const auto& ca = a->GetCounters();
  REQUIRE(ca.datagramsSent == 3);
  REQUIRE(ca.bytesSent == 25 + 2 + 5);
  REQUIRE(ca.sendDrops == 0);
  REQUIRE(ca.datagramsReceived == 0);
  const auto& cb = b->GetCounters();
  REQUIRE(cb.datagramsReceived == 3);
  REQUIRE(cb.bytesReceived == 32);
  REQUIRE(cb.truncated == 0);
  REQUIRE(cb.recvErrors == 0);

  // And back: b answers a.
  REQUIRE(b->Send(bare.data(), 1, nullptr, 0, PacketRef(), rb.got[0].from));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return ra.got.size() == 1; }));
  REQUIRE(ra.got[0].bytes == Bytes({0xaa}));
  REQUIRE(ra.got[0].from == b->LocalEndpoint());

  // An empty flush is not counted.
  batch.Flush();
  REQUIRE(batch.GetStats().flushes - before.flushes == 2);
}

TEST_CASE("net: 100 datagrams to 3 sockets in one flush: one sendmmsg per sending socket, or "
          "one io_uring submission for all",
          "[net][udp]") {
  const bool onRing = GENERATE(false, true);
  INFO((onRing ? "io_uring" : "sendmmsg"));
  RingScope ring(onRing);
  if (!ring.ok)
    return;
  Loop loop;
  PacketPool pool;
  Recorder rs[2], rr[3];
  std::unique_ptr<UdpSocket> senders[2], receivers[3];
  for (int i = 0; i < 2; ++i)
    senders[i] = OpenOrFail(&loop, Range(), &rs[i]);
  for (int i = 0; i < 3; ++i)
    receivers[i] = OpenOrFail(&loop, Range(), &rr[i]);
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();

  // Datagram i = [sender, i] + a shared payload slot; sender i % 2, destination i % 3.
  PacketRef payload = Packet(pool, Bytes(200, 0x55));
  const auto before = batch.GetStats();
  for (int i = 0; i < 100; ++i) {
    const uint8_t head[2] = {uint8_t(i % 2), uint8_t(i)};
    REQUIRE(senders[i % 2]->Send(head, 2, payload.Data(), payload.Length(), payload,
                                 receivers[i % 3]->LocalEndpoint()));
  }
  REQUIRE(payload.RefCount() == 101);
  REQUIRE(batch.Pending() == 100);
  batch.Flush();
  REQUIRE(payload.RefCount() == 1);
  auto stats = batch.GetStats();
  if (onRing) {
    REQUIRE(stats.sendmmsgCalls == before.sendmmsgCalls);
    REQUIRE(stats.ringSubmits - before.ringSubmits == 1);
    REQUIRE(batch.Ring()->GetStats().enterCalls == 1); // a fresh ring: this flush's only call
    REQUIRE(batch.Ring()->GetStats().submitted == 100);
    REQUIRE(batch.Ring()->SlotsInUse() == 2); // each sender on a registered file
    REQUIRE(stats.ringFallbacks == before.ringFallbacks);
  } else {
    REQUIRE(stats.sendmmsgCalls - before.sendmmsgCalls == 2);
  }
  REQUIRE(stats.flushes - before.flushes == 1);
  REQUIRE(stats.datagrams - before.datagrams == 100);
  REQUIRE(senders[0]->GetCounters().datagramsSent == 50);
  REQUIRE(senders[1]->GetCounters().datagramsSent == 50);
  REQUIRE(senders[0]->GetCounters().bytesSent == 50 * 202);

  REQUIRE(RunUntil(&loop,
                   [&] { return rr[0].got.size() + rr[1].got.size() + rr[2].got.size() == 100; }));
  for (int r = 0; r < 3; ++r) {
    INFO("receiver " << r);
    int expected[2] = {r, r}; // next i from each sender, in queue order
    for (int s = 0; s < 2; ++s)
      while (expected[s] % 2 != s)
        expected[s] += 3;
    for (const Received& m : rr[r].got) {
      REQUIRE(m.bytes.size() == 202);
      const int s = m.bytes[0];
      REQUIRE(m.from == senders[s]->LocalEndpoint());
      REQUIRE(m.bytes[1] == expected[s]);
      REQUIRE(m.bytes[2] == 0x55);
      expected[s] += 6;
    }
    REQUIRE(expected[0] >= 100);
    REQUIRE(expected[1] >= 100);
  }

  // A flush where only one socket sends costs one call.
  const uint8_t one = 1;
  for (int i = 0; i < 10; ++i)
    REQUIRE(senders[1]->Send(&one, 1, nullptr, 0, PacketRef(), receivers[i % 3]->LocalEndpoint()));
  batch.Flush();
  if (onRing)
    REQUIRE(batch.GetStats().ringSubmits - stats.ringSubmits == 1);
  else
    REQUIRE(batch.GetStats().sendmmsgCalls - stats.sendmmsgCalls == 1);
}

TEST_CASE("net: on the ring, a destroyed socket's port is free at once and its slot reused",
          "[net][udp]") {
  RingScope ring(true);
  if (!ring.ok)
    return;
  Loop loop;
  PacketPool pool;
  Recorder rs, rr;
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();
  auto receiver = OpenOrFail(&loop, Range(), &rr);
  auto sender = OpenOrFail(&loop, Range(), &rs);
  const uint8_t byte = 7;
  REQUIRE(sender->Send(&byte, 1, nullptr, 0, PacketRef(), receiver->LocalEndpoint()));
  batch.Flush();
  REQUIRE(batch.Ring()->SlotsInUse() == 1);
  REQUIRE(RunUntil(&loop, [&] { return rr.got.size() == 1; }));

  UdpSocket::Options same = Range();
  same.port = sender->LocalPort();
  sender.reset();
  REQUIRE(batch.Ring()->SlotsInUse() == 0);
  sender = OpenOrFail(&loop, same, &rs); // the port was not held by the ring
  REQUIRE(sender->Send(&byte, 1, nullptr, 0, PacketRef(), receiver->LocalEndpoint()));
  batch.Flush();
  REQUIRE(batch.Ring()->SlotsInUse() == 1);
  REQUIRE(RunUntil(&loop, [&] { return rr.got.size() == 2; }));
  REQUIRE(rr.got[1].from == sender->LocalEndpoint());

  // Back on sendmmsg, slots released, sending still works.
  batch.DisableRing();
  REQUIRE_FALSE(batch.RingEnabled());
  REQUIRE(sender->Send(&byte, 1, nullptr, 0, PacketRef(), receiver->LocalEndpoint()));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return rr.got.size() == 3; }));
}

TEST_CASE("net: port range exhaustion", "[net][udp]") {
  Loop loop;
  Recorder r;
  // Find two adjacent free ports (other processes may hold some).
  std::unique_ptr<UdpSocket> a, b;
  UdpSocket::Options o;
  o.ip = "127.0.0.1";
  for (uint16_t p = 41000; p < 41200 && !b; p += 2) {
    o.minPort = p;
    o.maxPort = uint16_t(p + 1);
    a = UdpSocket::Open(&loop, o, &r, nullptr);
    b = a ? UdpSocket::Open(&loop, o, &r, nullptr) : nullptr;
  }
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->LocalPort() != b->LocalPort());
  REQUIRE(a->LocalPort() >= o.minPort);
  REQUIRE(b->LocalPort() <= o.maxPort);

  std::string error;
  REQUIRE_FALSE(UdpSocket::Open(&loop, o, &r, &error));
  REQUIRE(error == "no more available ports [protocol:udp, ip:'127.0.0.1', numAttempt:2]");

  // Destroying a socket frees its port at once (before the loop runs).
  const uint16_t freed = a->LocalPort();
  a.reset();
  error.clear();
  auto c = UdpSocket::Open(&loop, o, &r, &error);
  REQUIRE(c);
  REQUIRE(c->LocalPort() == freed);

  // A range of one port, and bad ranges.
  o.minPort = o.maxPort = b->LocalPort();
  REQUIRE_FALSE(UdpSocket::Open(&loop, o, &r, &error));
  REQUIRE(error == "no more available ports [protocol:udp, ip:'127.0.0.1', numAttempt:1]");
  o.minPort = 5000;
  o.maxPort = 4999;
  REQUIRE_FALSE(UdpSocket::Open(&loop, o, &r, &error));
  REQUIRE(error == "invalid port range [min:5000, max:4999]");
}

TEST_CASE("net: explicit port, reusePort, bad ip, buffer sizes", "[net][udp]") {
  Loop loop;
  Recorder r;
  auto a = OpenOrFail(&loop, Range(), &r);
  const uint16_t port = a->LocalPort();
  a.reset();

  UdpSocket::Options o;
  o.ip = "127.0.0.1";
  o.port = port;
  o.minPort = 1; // ignored when port is set
  o.maxPort = 2;
  o.sendBufferSize = 256 * 1024;
  o.recvBufferSize = 256 * 1024;
  auto b = OpenOrFail(&loop, o, &r);
  REQUIRE(b->LocalPort() == port);

  std::string error;
  REQUIRE_FALSE(UdpSocket::Open(&loop, o, &r, &error));
  REQUIRE(error.rfind("bind() failed [protocol:udp, ip:'127.0.0.1', port:" + std::to_string(port) +
                          "]: ",
                      0) == 0);
  b.reset();

  o.reusePort = true;
  auto c = OpenOrFail(&loop, o, &r);
  auto d = OpenOrFail(&loop, o, &r);
  REQUIRE(c->LocalPort() == port);
  REQUIRE(d->LocalPort() == port);

  o.ip = "not-an-ip";
  REQUIRE_FALSE(UdpSocket::Open(&loop, o, &r, &error));
  REQUIRE(error == "invalid IP 'not-an-ip'");
  // An address that is not ours fails at once, not after trying every port.
  o = Range("192.0.2.1");
  REQUIRE_FALSE(UdpSocket::Open(&loop, o, &r, &error));
  REQUIRE(error.rfind("bind() failed [protocol:udp, ip:'192.0.2.1', port:", 0) == 0);
  REQUIRE_FALSE(UdpSocket::Open(&loop, Range(), nullptr, &error));
}

TEST_CASE("net: destroying a socket drops its queued datagrams and holds", "[net][udp]") {
  Loop loop;
  PacketPool pool;
  Recorder ra, rb, rc;
  auto a = OpenOrFail(&loop, Range(), &ra);
  auto b = OpenOrFail(&loop, Range(), &rb);
  auto c = OpenOrFail(&loop, Range(), &rc);
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();
  const auto before = batch.GetStats();

  PacketRef p = Packet(pool, Bytes(100, 0x11));
  const uint8_t headA = 0xa0, headC = 0xc0;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(a->Send(&headA, 1, p.Data(), p.Length(), p, b->LocalEndpoint()));
    REQUIRE(c->Send(&headC, 1, p.Data(), p.Length(), p, b->LocalEndpoint()));
  }
  REQUIRE(p.RefCount() == 11);
  REQUIRE(pool.GetStats().slotsInUse == 1);
  REQUIRE(batch.Pending() == 10);

  a.reset();
  REQUIRE(p.RefCount() == 6);
  REQUIRE(batch.Pending() == 5);
  REQUIRE(batch.GetStats().discarded - before.discarded == 5);

  batch.Flush();
  REQUIRE(p.RefCount() == 1);
  REQUIRE(batch.GetStats().sendmmsgCalls - before.sendmmsgCalls == 1); // c only
  REQUIRE(RunUntil(&loop, [&] { return rb.got.size() == 5; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  uv_run(&loop, UV_RUN_NOWAIT);
  REQUIRE(rb.got.size() == 5);
  for (const Received& m : rb.got) {
    REQUIRE(m.bytes[0] == 0xc0);
    REQUIRE(m.from == c->LocalEndpoint());
  }
  p.Reset();
  REQUIRE(pool.GetStats().slotsInUse == 0);

  // Every socket with pending entries destroyed: the flush sends nothing.
  p = Packet(pool, Bytes(10, 0x22));
  REQUIRE(c->Send(&headC, 1, p.Data(), p.Length(), p, b->LocalEndpoint()));
  c.reset();
  p.Reset();
  REQUIRE(pool.GetStats().slotsInUse == 0);
  const auto mid = batch.GetStats();
  batch.Flush();
  REQUIRE(batch.GetStats().sendmmsgCalls == mid.sendmmsgCalls);
  REQUIRE(batch.GetStats().flushes == mid.flushes);
  REQUIRE(batch.Pending() == 0);
}

TEST_CASE("net: a listener destroys its socket inside the receive callback", "[net][udp]") {
  Loop loop;
  Recorder rs, rb, rd;
  auto sender = OpenOrFail(&loop, Range(), &rs);
  auto victim = OpenOrFail(&loop, Range(), &rb);
  auto other = OpenOrFail(&loop, Range(), &rd);
  BatchGuard guard;
  const Endpoint victimAt = victim->LocalEndpoint();
  rb.onDatagram = [&](UdpSocket& s) {
    REQUIRE(&s == victim.get());
    victim.reset();
  };
  for (uint8_t i = 0; i < 5; ++i) {
    REQUIRE(sender->Send(&i, 1, nullptr, 0, PacketRef(), victimAt));
    REQUIRE(sender->Send(&i, 1, nullptr, 0, PacketRef(), other->LocalEndpoint()));
  }
  SendBatch::ForThread().Flush();
  REQUIRE(RunUntil(&loop, [&] { return !victim && rd.got.size() == 5; }));
  uv_run(&loop, UV_RUN_NOWAIT);
  REQUIRE(rb.got.size() == 1); // nothing delivered after the destroy
  REQUIRE(rb.got[0].bytes == Bytes({0}));
  rb.onDatagram = nullptr;

  // The loop and the other sockets carry on; the victim's port is free.
  UdpSocket::Options o;
  o.ip = "127.0.0.1";
  o.port = victimAt.Port();
  auto again = OpenOrFail(&loop, o, &rb);
  const uint8_t x = 0x77;
  REQUIRE(sender->Send(&x, 1, nullptr, 0, PacketRef(), again->LocalEndpoint()));
  SendBatch::ForThread().Flush();
  REQUIRE(RunUntil(&loop, [&] { return rb.got.size() == 2; }));
  REQUIRE(rb.got[1].bytes == Bytes({0x77}));
}

TEST_CASE("net: truncated datagrams and receive rounds are bounded", "[net][udp]") {
  Loop loop;
  PacketPool pool;
  Recorder ra, rb;
  auto a = OpenOrFail(&loop, Range(), &ra);
  auto opts = Range();
  opts.recvBufferSize = 1 << 20;
  auto b = OpenOrFail(&loop, opts, &rb);
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();

  // 1600 + 1600 = 3200 bytes > kRecvBufferBytes: dropped and counted.
  PacketRef big = Packet(pool, Bytes(1600, 0x33));
  const Bytes head(1600, 0x44);
  REQUIRE(a->Send(head.data(), head.size(), big.Data(), big.Length(), big, b->LocalEndpoint()));
  const Bytes exact(UdpSocket::kRecvBufferBytes, 0x66); // exactly one buffer: delivered
  REQUIRE(a->Send(exact.data(), 1000, exact.data() + 1000, exact.size() - 1000, big,
                  b->LocalEndpoint()));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return rb.got.size() == 1; }));
  REQUIRE(rb.got[0].bytes == exact);
  REQUIRE(b->GetCounters().truncated == 1);
  REQUIRE(b->GetCounters().datagramsReceived == 1);
  REQUIRE(b->GetCounters().bytesReceived == exact.size());

  // 150 queued datagrams: one wake-up reads at most kMaxRecvRounds x kRecvBatch.
  rb.got.clear();
  for (int i = 0; i < 150; ++i) {
    const uint8_t v = uint8_t(i);
    REQUIRE(a->Send(&v, 1, nullptr, 0, PacketRef(), b->LocalEndpoint()));
  }
  batch.Flush();
  REQUIRE(a->GetCounters().sendDrops == 0);
  const size_t perWake = UdpSocket::kMaxRecvRounds * UdpSocket::kRecvBatch;
  REQUIRE(RunUntil(&loop, [&] { return !rb.got.empty(); }));
  REQUIRE(rb.got.size() == perWake);
  REQUIRE(RunUntil(&loop, [&] { return rb.got.size() == 150; }));
  for (int i = 0; i < 150; ++i)
    REQUIRE(rb.got[i].bytes[0] == uint8_t(i));
}

TEST_CASE("net: refused sends are counted", "[net][udp]") {
  Loop loop;
  Recorder r;
  auto a = OpenOrFail(&loop, Range(), &r);
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();
  const auto before = batch.GetStats();
  const Bytes big(SendBatch::kMaxHeadBytes + 1, 0);
  const Endpoint to = a->LocalEndpoint();
  REQUIRE_FALSE(a->Send(big.data(), big.size(), nullptr, 0, PacketRef(), to));
  // Without a hold the tail is copied, so head + tail must fit.
  REQUIRE_FALSE(a->Send(big.data(), 1000, big.data(), 1000, PacketRef(), to));
  REQUIRE_FALSE(a->Send(big.data(), 10, nullptr, 0, PacketRef(), Endpoint()));
  REQUIRE_FALSE(a->Send(big.data(), 10, nullptr, 0, PacketRef(), *Endpoint::FromIpPort("::1", 9)));
  REQUIRE_FALSE(a->Send(nullptr, 10, nullptr, 0, PacketRef(), to));
  REQUIRE_FALSE(a->Send(big.data(), 10, nullptr, 10, PacketRef(), to));
  REQUIRE(a->GetCounters().sendDrops == 6);
  REQUIRE(batch.GetStats().drops - before.drops == 6);
  REQUIRE(batch.Pending() == 0);
  // A maximal head is accepted.
  REQUIRE(a->Send(big.data(), SendBatch::kMaxHeadBytes, nullptr, 0, PacketRef(), to));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return r.got.size() == 1; }));
  REQUIRE(r.got[0].bytes.size() == SendBatch::kMaxHeadBytes);

  // The kernel refuses one datagram (EMSGSIZE): only that one is dropped,
  // the next one in the same sendmmsg batch still leaves.
  PacketPool pool;
  PacketRef p = pool.Allocate();
  const Bytes huge(70000, 1);
  const auto mid = batch.GetStats();
  REQUIRE(a->Send(big.data(), 10, huge.data(), huge.size(), p, to));
  REQUIRE(a->Send(big.data(), 3, nullptr, 0, PacketRef(), to));
  batch.Flush();
  REQUIRE(a->GetCounters().sendDrops == 7);
  REQUIRE(batch.GetStats().drops - mid.drops == 1);
  REQUIRE(batch.GetStats().datagrams - mid.datagrams == 1);
  REQUIRE(p.RefCount() == 1);
  REQUIRE(RunUntil(&loop, [&] { return r.got.size() == 2; }));
  REQUIRE(r.got[1].bytes.size() == 3);
}

TEST_CASE("net: a full batch flushes before it overflows", "[net][udp]") {
  Loop loop;
  PacketPool pool;
  Recorder ra, rb;
  auto a = OpenOrFail(&loop, Range(), &ra);
  auto b = OpenOrFail(&loop, Range(), &rb);
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();
  const Endpoint to = b->LocalEndpoint();

  // By entry count.
  auto before = batch.GetStats();
  PacketRef p = Packet(pool, Bytes(20, 1));
  const uint8_t head = 0;
  for (size_t i = 0; i < SendBatch::kMaxEntries + 10; ++i)
    REQUIRE(a->Send(&head, 1, p.Data(), p.Length(), p, to));
  REQUIRE(batch.GetStats().earlyFlushes - before.earlyFlushes == 1);
  REQUIRE(batch.Pending() == 10);
  REQUIRE(p.RefCount() == 11);
  REQUIRE(a->GetCounters().datagramsSent == SendBatch::kMaxEntries);
  batch.Flush();
  REQUIRE(p.RefCount() == 1);
  REQUIRE(a->GetCounters().datagramsSent == SendBatch::kMaxEntries + 10);

  // By arena bytes.
  before = batch.GetStats();
  const Bytes big(SendBatch::kMaxHeadBytes, 2);
  const size_t fit = SendBatch::kArenaBytes / SendBatch::kMaxHeadBytes;
  for (size_t i = 0; i < fit + 1; ++i)
    REQUIRE(a->Send(big.data(), big.size(), nullptr, 0, PacketRef(), to));
  REQUIRE(batch.GetStats().earlyFlushes - before.earlyFlushes == 1);
  REQUIRE(batch.Pending() == 1);
  REQUIRE(batch.GetStats().highWaterArenaBytes >= fit * SendBatch::kMaxHeadBytes);
  batch.Flush();
  REQUIRE(a->GetCounters().sendDrops == 0);
}

TEST_CASE("net: IPv6 on ::1 and a dual-stack socket", "[net][udp][ipv6]") {
  Loop loop;
  Recorder r6a, r6b, r4, rd;
  std::string error;
  auto probe = UdpSocket::Open(&loop, Range("::1"), &r6a, &error);
  if (!probe) {
    WARN("IPv6 loopback unavailable, skipped: " << error);
    return;
  }
  BatchGuard guard;
  SendBatch& batch = SendBatch::ForThread();
  auto b = OpenOrFail(&loop, Range("::1"), &r6b);
  REQUIRE(probe->LocalIp() == "::1");
  REQUIRE(probe->Family() == AF_INET6);
  const Bytes msg = {1, 2, 3};
  REQUIRE(probe->Send(msg.data(), 2, msg.data() + 2, 1, PacketRef(), b->LocalEndpoint()));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return r6b.got.size() == 1; }));
  REQUIRE(r6b.got[0].bytes == msg);
  REQUIRE(r6b.got[0].from == *Endpoint::FromIpPort("::1", probe->LocalPort()));
  REQUIRE(r6b.got[0].from.Ip() == "::1");

  // "::" without v6only receives IPv4 peers as plain IPv4 endpoints and can answer them.
  auto dual = OpenOrFail(&loop, Range("::"), &rd);
  REQUIRE(dual->LocalIp() == "::");
  auto v4 = OpenOrFail(&loop, Range(), &r4);
  const Endpoint dualAt4 = *Endpoint::FromIpPort("127.0.0.1", dual->LocalPort());
  REQUIRE(v4->Send(msg.data(), 3, nullptr, 0, PacketRef(), dualAt4));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return rd.got.size() == 1; }));
  REQUIRE(rd.got[0].from == v4->LocalEndpoint());
  REQUIRE(rd.got[0].from.Family() == AF_INET);
  REQUIRE(dual->Send(msg.data(), 1, nullptr, 0, PacketRef(), rd.got[0].from));
  batch.Flush();
  REQUIRE(RunUntil(&loop, [&] { return r4.got.size() == 1; }));
  REQUIRE(r4.got[0].bytes == Bytes({1}));

  // A v6-only socket refuses IPv4 destinations.
  auto opts = Range("::");
  opts.ipv6Only = true;
  auto only6 = OpenOrFail(&loop, opts, &rd);
  REQUIRE_FALSE(only6->Send(msg.data(), 1, nullptr, 0, PacketRef(), v4->LocalEndpoint()));
  REQUIRE(only6->GetCounters().sendDrops == 1);
}

TEST_CASE("net: a socket stays small", "[net][udp]") {
  // The socket plus its separately allocated uv handle wrapper.
  const size_t footprint = sizeof(UdpSocket) + sizeof(uv_poll_t) + sizeof(void*);
  INFO("footprint " << footprint);
  REQUIRE(footprint < 512);
}

TEST_CASE("BindFailure: in use moves on; a port we may not bind moves on only within a range") {
  using sluice::net::BindFailure;
  using sluice::net::PortAttempt;
  CHECK(BindFailure(EADDRINUSE, 0) == PortAttempt::InUse);
  CHECK(BindFailure(EADDRINUSE, 5000) ==
        PortAttempt::InUse); // a fixed port: ChoosePort fails on anything but Bound
  CHECK(BindFailure(EACCES, 0) == PortAttempt::InUse);   // rtcMinPort 0, non-root: skip 1..1023
  CHECK(BindFailure(EACCES, 80) == PortAttempt::Failed); // asked for exactly that port
  CHECK(BindFailure(EADDRNOTAVAIL, 0) == PortAttempt::Failed); // an ip that is not local
}

TEST_CASE("a port walk that passes ports in use succeeds with no error left behind") {
  Loop loop;
  Recorder listener;
  auto taken = OpenOrFail(&loop, Range(), &listener);
  const uint16_t busy = taken->LocalPort();
  // A two-port range around the busy port: the random start hits it first about half the
  // time; every open must succeed on the free one with an empty error.
  for (int i = 0; i < 16; ++i) {
    UdpSocket::Options o = Range();
    o.minPort = busy == 39999 ? busy - 1 : busy;
    o.maxPort = o.minPort + 1;
    std::string error = "stale";
    auto s = UdpSocket::Open(&loop, o, &listener, &error);
    REQUIRE(s);
    CHECK(s->LocalPort() != busy);
    s.reset();
    uv_run(&loop, UV_RUN_NOWAIT); // the port is free again once the close callback ran
    CHECK(error.empty());
  }
}
