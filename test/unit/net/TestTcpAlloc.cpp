// ARCHITECTURE.md (zero allocations per packet) for ICE-TCP: with a peer that keeps up, receiving
// frames (read, reassembly across reads, delivery) and sending them (SendFrame straight to the
// kernel) makes no allocator call after warm-up. Linked with AllocCounter.cpp, which counts every
// global operator new.
#include "../AllocCounter.hpp"
#include "sluice/net/TcpServer.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <string>

using namespace sluice;
using net::TcpConnection;
using net::TcpServer;

namespace {

// Counts and checks without touching the heap.
struct Sink : TcpServer::Listener {
  TcpConnection* connection = nullptr;
  uint64_t frames = 0;
  uint64_t bad = 0;
  uint64_t closed = 0;
  void OnTcpFrame(TcpServer&, TcpConnection& c, uint8_t* data, size_t len) override {
    connection = &c;
    ++frames;
    if (len != 200 || data[0] != 0x80 || data[199] != 0x5a)
      ++bad;
    data[0] = 0; // ours to modify (in-place decrypt)
  }
  void OnTcpConnectionClosed(TcpServer&, TcpConnection&) override { ++closed; }
};

// One round: the client writes `count` frames as one stream cut in the middle
// of a frame (so reassembly across reads happens), the server echoes each
// frame back with SendFrame, the client reads the echoes.
struct Rig {
  uv_loop_t loop;
  Sink sink;
  std::unique_ptr<TcpServer> server;
  int client = -1;
  uint8_t stream[10 * 202];
  uint8_t in[65536];
  uint64_t echoedBytes = 0;

  Rig() {
    uv_loop_init(&loop);
    TcpServer::Options o;
    o.ip = "127.0.0.1";
    o.minPort = 20000;
    o.maxPort = 39999;
    std::string error;
    server = TcpServer::Open(&loop, o, &sink, &error);
    INFO(error);
    REQUIRE(server);
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server->LocalPort());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
    int one = 1; // no Nagle: the second half of a round must not wait for an ACK
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (size_t f = 0; f < 10; ++f) {
      uint8_t* p = stream + f * 202;
      p[0] = 0;
      p[1] = 200;
      std::memset(p + 2, 0x5a, 200);
      p[2] = 0x80;
    }
  }
  ~Rig() {
    ::close(client);
    server.reset();
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
  }

  void Round() {
    const uint64_t target = sink.frames + 10;
    const uint8_t echo[200] = {0x80};
    send(client, stream, 707, MSG_NOSIGNAL); // 3.5 frames
    bool rest = false;
    for (int i = 0; i < 100000 && sink.frames < target; ++i) {
      uv_run(&loop, UV_RUN_NOWAIT);
      if (!rest && sink.frames == target - 7) {
        send(client, stream + 707, sizeof(stream) - 707, MSG_NOSIGNAL);
        rest = true;
      }
    }
    for (int i = 0; i < 10 && sink.connection != nullptr; ++i)
      sink.connection->SendFrame(echo, 20, echo + 20, 180);
    const uint64_t want = echoedBytes + 10 * 202;
    while (echoedBytes < want) {
      const ssize_t n = recv(client, in, sizeof(in), 0);
      if (n <= 0)
        break;
      echoedBytes += static_cast<uint64_t>(n);
    }
  }
};

} // namespace

TEST_CASE("net: tcp frames both ways make no allocation after warm-up", "[net][tcp][alloc]") {
  Rig rig;
  for (int i = 0; i < 20; ++i)
    rig.Round(); // warm-up: the framer buffer for the split frame, libuv's watcher arrays
  const uint64_t framesBefore = rig.sink.frames;
  test::AllocScope scope;
  for (int i = 0; i < 200; ++i)
    rig.Round();
  const uint64_t allocs = scope.Count();
  REQUIRE(rig.sink.frames == framesBefore + 2000);
  REQUIRE(rig.sink.bad == 0);
  REQUIRE(rig.sink.closed == 0);
  REQUIRE(rig.echoedBytes == 220 * 10 * 202);
  REQUIRE(rig.sink.connection->QueuedBytes() == 0);
  REQUIRE(rig.sink.connection->GetCounters().sendDrops == 0);
  REQUIRE(allocs == 0);
}
