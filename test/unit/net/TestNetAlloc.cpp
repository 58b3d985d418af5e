// ARCHITECTURE.md (zero allocations per packet) for net/: after warm-up, queueing datagrams (head
// copied, tail held from a pool slot), flushing them with sendmmsg and receiving them with recvmmsg
// through the libuv loop makes no allocator call. Linked with AllocCounter.cpp, which counts every
// global operator new.
#include "../AllocCounter.hpp"
#include "sluice/net/SendBatch.hpp"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/store/PacketPool.hpp"

#include <catch2/catch.hpp>

#include <uv.h>

#include <cstring>
#include <memory>
#include <string>

using namespace sluice;
using net::Endpoint;
using net::SendBatch;
using net::UdpSocket;
using store::PacketPool;
using store::PacketRef;

namespace {

constexpr int kSockets = 3;

// Counts and checks without touching the heap.
struct Sink : UdpSocket::Listener {
  uint64_t datagrams = 0;
  uint64_t bad = 0;
  void OnUdpDatagram(UdpSocket&, uint8_t* data, size_t len, const Endpoint&) override {
    ++datagrams;
    if (len != 12 + 160 || data[0] != 0x80 || data[12] != 0x5a)
      ++bad;
    data[0] = 0; // the buffer is ours to modify (in-place decrypt)
  }
};

struct Rig {
  uv_loop_t loop;
  PacketPool pool;
  Sink sinks[kSockets];
  std::unique_ptr<UdpSocket> sockets[kSockets];
  Endpoint at[kSockets];
  uint64_t sent = 0;

  Rig() {
    uv_loop_init(&loop);
    UdpSocket::Options o;
    o.ip = "127.0.0.1";
    o.minPort = 20000;
    o.maxPort = 39999;
    for (int i = 0; i < kSockets; ++i) {
      std::string error;
      sockets[i] = UdpSocket::Open(&loop, o, &sinks[i], &error);
      INFO(error);
      REQUIRE(sockets[i]);
      at[i] = sockets[i]->LocalEndpoint();
    }
  }
  ~Rig() {
    SendBatch::ForThread().Flush();
    for (auto& s : sockets)
      s.reset();
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
  }

  uint64_t Received() const {
    uint64_t n = 0;
    for (const Sink& s : sinks)
      n += s.datagrams;
    return n;
  }

  // One loop iteration's worth: a packet arrives in a fresh slot, each
  // socket forwards it (rewritten header + held payload) to the next two.
  bool Cycle() {
    PacketRef p = pool.Allocate();
    if (!p)
      return false;
    std::memset(p.MutableData(), 0x5a, 160);
    p.SetLength(160);
    uint8_t head[12] = {0x80, 0x60};
    for (int s = 0; s < kSockets; ++s) {
      for (int d = 1; d <= 2; ++d) {
        head[3] = uint8_t(sent);
        if (!sockets[s]->Send(head, sizeof(head), p.Data(), p.Length(), p, at[(s + d) % kSockets]))
          return false;
        ++sent;
      }
    }
    p.Reset(); // the batch's holds keep the slot until the flush
    SendBatch::ForThread().Flush();
    for (int i = 0; i < 100 && Received() < sent; ++i)
      uv_run(&loop, UV_RUN_NOWAIT);
    return Received() == sent;
  }
};

} // namespace

TEST_CASE("net: zero allocator calls per send, flush and receive after warm-up", "[net][alloc]") {
  // Both send paths: one sendmmsg per socket, or one io_uring submission.
  const bool onRing = GENERATE(false, true);
  INFO((onRing ? "io_uring" : "sendmmsg"));
  std::string error;
  if (onRing && !SendBatch::ForThread().EnableRing(&error)) {
    WARN("no io_uring here (" << error << ")");
    return;
  }
  struct RingOff {
    ~RingOff() { SendBatch::ForThread().DisableRing(); }
  } ringOff;
  auto rig = std::make_unique<Rig>();
  for (int i = 0; i < 200; ++i)
    REQUIRE(rig->Cycle());
  const auto before = SendBatch::ForThread().GetStats();
  const uint64_t slabs = rig->pool.GetStats().slabsMapped;

  int ok = 0;
  uint64_t allocs = 0;
  {
    test::AllocScope scope;
    for (int i = 0; i < 10000; ++i)
      ok += rig->Cycle() ? 1 : 0;
    allocs = scope.Count();
  }
  const auto after = SendBatch::ForThread().GetStats();
  REQUIRE(ok == 10000);
  REQUIRE(allocs == 0);
  REQUIRE(after.datagrams - before.datagrams == 60000);
  if (onRing) {
    REQUIRE(after.sendmmsgCalls == before.sendmmsgCalls);
    REQUIRE(after.ringSubmits - before.ringSubmits == 10000); // one per flush
    REQUIRE(after.ringFallbacks == before.ringFallbacks);
  } else {
    REQUIRE(after.sendmmsgCalls - before.sendmmsgCalls == 30000); // one per socket per flush
  }
  REQUIRE(after.drops == before.drops);
  for (const Sink& s : rig->sinks)
    REQUIRE(s.bad == 0);
  REQUIRE(rig->pool.GetStats().slotsInUse == 0);
  REQUIRE(rig->pool.GetStats().slabsMapped == slabs);
}
