#include "sluice/net/TcpServer.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using sluice::net::Endpoint;
using sluice::net::TcpConnection;
using sluice::net::TcpServer;

#if defined(__SANITIZE_ADDRESS__)
#define SLUICE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLUICE_ASAN 1
#endif
#endif

namespace {

using Bytes = std::vector<uint8_t>;

// A loop that must be empty (every handle closed) when the test ends.
struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_NOWAIT);     // runs the close callbacks of destroyed handles
    CHECK(uv_loop_close(&loop) == 0); // CHECK: may run while a failed REQUIRE unwinds
  }
  uv_loop_t* operator&() { return &loop; }
};

bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done, int ms = 3000) {
  for (int i = 0; i < ms && !done(); ++i) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (!done())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

void Pump(uv_loop_t* loop, int ms) {
  for (int i = 0; i < ms; ++i) {
    uv_run(loop, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Bytes Frame(const Bytes& payload) {
  Bytes out(2 + payload.size());
  out[0] = static_cast<uint8_t>(payload.size() >> 8);
  out[1] = static_cast<uint8_t>(payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + 2);
  return out;
}

Bytes Pattern(size_t len, uint8_t seed) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i)
    b[i] = static_cast<uint8_t>(seed + i * 13);
  return b;
}

// A plain blocking client socket (the ICE-TCP active side). Reads never block:
// they pump the server's loop in between.
struct Client {
  int fd = -1;
  Bytes received;

  Client(uint16_t port, int rcvbuf = 0) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    if (rcvbuf != 0)
      REQUIRE(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Completes from the kernel's backlog, before the server's accept().
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
  }
  ~Client() { Close(); }
  void Close() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
  Endpoint LocalEndpoint() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return *Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
  }
  void Write(const Bytes& bytes) {
    REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()));
  }
  // Appends what is readable now; 0 on EOF or reset, -1 when nothing is there.
  ssize_t ReadNow() {
    uint8_t buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0)
      received.insert(received.end(), buf, buf + n);
    if (n < 0 && errno == ECONNRESET)
      return 0;
    return n;
  }
  bool ReadUntil(uv_loop_t* loop, size_t bytes) {
    return RunUntil(loop, [&] {
      ReadNow();
      return received.size() >= bytes;
    });
  }
  bool SeesEof(uv_loop_t* loop) {
    return RunUntil(loop, [&] { return ReadNow() == 0; });
  }
  // Splits `received` into RFC 4571 payloads; false if it ends mid-frame.
  bool Parse(std::vector<Bytes>* frames) const {
    size_t at = 0;
    while (at + 2 <= received.size()) {
      const size_t len = (size_t(received[at]) << 8) | received[at + 1];
      if (at + 2 + len > received.size())
        return false;
      frames->emplace_back(received.begin() + at + 2, received.begin() + at + 2 + len);
      at += 2 + len;
    }
    return at == received.size();
  }
};

struct Recorder : TcpServer::Listener {
  std::vector<std::pair<TcpConnection*, Bytes>> frames;
  std::vector<TcpConnection*> closed;
  std::function<void(TcpServer&, TcpConnection&)> onFrame;  // after recording
  std::function<void(TcpServer&, TcpConnection&)> onClosed; // after recording

  void OnTcpFrame(TcpServer& server, TcpConnection& connection, uint8_t* data,
                  size_t len) override {
    frames.emplace_back(&connection, Bytes(data, data + len));
    data[0] ^= 0xff; // ours to modify in place
    if (onFrame)
      onFrame(server, connection);
  }
  void OnTcpConnectionClosed(TcpServer& server, TcpConnection& connection) override {
    closed.push_back(&connection);
    CHECK(connection.Closing());
    const uint8_t b = 1;
    CHECK_FALSE(connection.SendFrame(&b, 1, nullptr, 0)); // refused once closing
    if (onClosed)
      onClosed(server, connection);
  }
};

TcpServer::Options Range(const char* ip = "127.0.0.1") {
  TcpServer::Options o;
  o.ip = ip;
  o.minPort = 20000;
  o.maxPort = 39999;
  return o;
}

std::unique_ptr<TcpServer> OpenOrFail(uv_loop_t* loop, const TcpServer::Options& o,
                                      TcpServer::Listener* listener) {
  std::string error;
  auto s = TcpServer::Open(loop, o, listener, &error);
  INFO(error);
  REQUIRE(s);
  REQUIRE(error.empty());
  return s;
}

// Connects a client and returns the server side, learnt from a first frame
// (as ICE learns it from the first STUN request).
TcpConnection* Accept(uv_loop_t* loop, TcpServer& server, Recorder& rec, Client& client) {
  const size_t before = rec.frames.size();
  client.Write(Frame({0xab}));
  REQUIRE(RunUntil(loop, [&] { return rec.frames.size() > before; }));
  REQUIRE(server.ConnectionCount() >= 1);
  return rec.frames.back().first;
}

} // namespace

TEST_CASE("net: tcp server accepts; frames both ways", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto server = OpenOrFail(&loop, Range(), &rec);
  REQUIRE(server->LocalIp() == "127.0.0.1");
  REQUIRE(server->LocalPort() >= 20000);
  REQUIRE(server->LocalPort() <= 39999);

  Client client(server->LocalPort());
  TcpConnection* conn = Accept(&loop, *server, rec, client);
  REQUIRE(server->ConnectionCount() == 1);
  REQUIRE(server->GetCounters().accepted == 1);
  REQUIRE(rec.frames[0].second == Bytes({0xab}));
  REQUIRE(conn->Remote() == client.LocalEndpoint());
  REQUIRE(conn->Local() == *Endpoint::FromIpPort("127.0.0.1", server->LocalPort()));

  const Bytes stun = Pattern(20, 1);
  client.Write(Frame(stun));
  REQUIRE(RunUntil(&loop, [&] { return rec.frames.size() == 2; }));
  REQUIRE(rec.frames[1].first == conn);
  REQUIRE(rec.frames[1].second == stun);

  // Server to client: head + tail, head only, and a maximum-size frame.
  const Bytes head = Pattern(12, 2), tail = Pattern(300, 3);
  REQUIRE(conn->SendFrame(head.data(), head.size(), tail.data(), tail.size()));
  REQUIRE(conn->SendFrame(head.data(), head.size(), nullptr, 0));
  const Bytes max = Pattern(65535 - 12, 4);
  REQUIRE(conn->SendFrame(head.data(), head.size(), max.data(), max.size()));
  REQUIRE(conn->QueuedBytes() == 0); // loopback takes it all at once
  REQUIRE(client.ReadUntil(&loop, (2 + 312) + (2 + 12) + (2 + 65535)));
  std::vector<Bytes> got;
  REQUIRE(client.Parse(&got));
  REQUIRE(got.size() == 3);
  Bytes whole = head;
  whole.insert(whole.end(), tail.begin(), tail.end());
  REQUIRE(got[0] == whole);
  REQUIRE(got[1] == head);
  REQUIRE(got[2].size() == 65535);
  REQUIRE(std::equal(max.begin(), max.end(), got[2].begin() + 12));

  // Refused whole: oversize, null bytes with a length.
  REQUIRE_FALSE(conn->SendFrame(head.data(), head.size(), max.data(), max.size() + 1));
  REQUIRE_FALSE(conn->SendFrame(nullptr, 4, nullptr, 0));
  REQUIRE_FALSE(conn->SendFrame(head.data(), 4, nullptr, 4));

  const auto& c = conn->GetCounters();
  REQUIRE(c.framesReceived == 2);
  REQUIRE(c.bytesReceived == 21);
  REQUIRE(c.framesSent == 3);
  REQUIRE(c.bytesSent == 312 + 12 + 65535);
  REQUIRE(c.sendDrops == 3);
  REQUIRE(c.queueHighWater == 0);
  REQUIRE(rec.closed.empty());
}

TEST_CASE("net: tcp several frames in one write; a frame split over two writes", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto server = OpenOrFail(&loop, Range(), &rec);
  Client client(server->LocalPort());
  TcpConnection* conn = Accept(&loop, *server, rec, client);

  Bytes batch;
  std::vector<Bytes> sent;
  for (size_t i = 0; i < 10; ++i) {
    sent.push_back(Pattern(1 + i * 97, static_cast<uint8_t>(i)));
    const Bytes f = Frame(sent.back());
    batch.insert(batch.end(), f.begin(), f.end());
    if (i == 4)
      batch.insert(batch.end(), {0, 0}); // a zero-length frame: skipped, counted
  }
  client.Write(batch);
  REQUIRE(RunUntil(&loop, [&] { return rec.frames.size() == 11; }));
  for (size_t i = 0; i < 10; ++i)
    REQUIRE(rec.frames[1 + i].second == sent[i]);
  REQUIRE(conn->ZeroLengthFramesReceived() == 1);

  // Half a frame, a pause, then the rest.
  const Bytes payload = Pattern(1200, 7);
  const Bytes f = Frame(payload);
  client.Write(Bytes(f.begin(), f.begin() + 501));
  Pump(&loop, 20);
  REQUIRE(rec.frames.size() == 11);
  REQUIRE(conn->ReceiveBufferedBytes() == 501);
  REQUIRE(conn->ReceiveBufferCapacity() == 1200);
  client.Write(Bytes(f.begin() + 501, f.end()));
  REQUIRE(RunUntil(&loop, [&] { return rec.frames.size() == 12; }));
  REQUIRE(rec.frames.back().second == payload);
  REQUIRE(conn->ReceiveBufferedBytes() == 0);
  // And the length field itself split.
  client.Write(Bytes(f.begin(), f.begin() + 1));
  Pump(&loop, 10);
  REQUIRE(conn->ReceiveBufferedBytes() == 1);
  client.Write(Bytes(f.begin() + 1, f.end()));
  REQUIRE(RunUntil(&loop, [&] { return rec.frames.size() == 13; }));
  REQUIRE(rec.frames.back().second == payload);
  REQUIRE(conn->GetCounters().framesReceived == 13);
}

TEST_CASE("net: tcp maxConnections rejects further accepts", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto o = Range();
  o.maxConnections = 2;
  auto server = OpenOrFail(&loop, o, &rec);
  Client a(server->LocalPort()), b(server->LocalPort());
  Accept(&loop, *server, rec, a);
  Accept(&loop, *server, rec, b);
  REQUIRE(server->ConnectionCount() == 2);
  Client c(server->LocalPort());
  REQUIRE(RunUntil(&loop, [&] { return server->GetCounters().rejected == 1; }));
  REQUIRE(c.SeesEof(&loop));
  REQUIRE(server->ConnectionCount() == 2);
  REQUIRE(server->GetCounters().accepted == 2);
  REQUIRE(rec.closed.empty()); // a rejected fd never became a connection

  // A slot freed by a peer close is usable again.
  a.Close();
  REQUIRE(RunUntil(&loop, [&] { return rec.closed.size() == 1; }));
  Client d(server->LocalPort());
  Accept(&loop, *server, rec, d);
  REQUIRE(server->ConnectionCount() == 2);
  REQUIRE(server->GetCounters().accepted == 3);
}

TEST_CASE("net: tcp CloseConnection from inside OnTcpFrame", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto server = OpenOrFail(&loop, Range(), &rec);
  Client client(server->LocalPort());
  Client other(server->LocalPort());
  TcpConnection* keep = Accept(&loop, *server, rec, other);
  TcpConnection* victim = nullptr;
  rec.onFrame = [&](TcpServer& s, TcpConnection& c) {
    if (&c == keep)
      return;
    victim = &c;
    s.CloseConnection(c);
    s.CloseConnection(c); // idempotent
    REQUIRE(c.Closing());
    REQUIRE_FALSE(c.SendFrame(rec.frames.back().second.data(), 1, nullptr, 0));
  };
  // Three frames in one read: only the first is delivered.
  Bytes batch = Frame({1});
  for (const Bytes& f : {Frame({2}), Frame({3})})
    batch.insert(batch.end(), f.begin(), f.end());
  client.Write(batch);
  REQUIRE(RunUntil(&loop, [&] { return rec.closed.size() == 1; }));
  Pump(&loop, 10);
  REQUIRE(rec.frames.size() == 2);
  REQUIRE(rec.closed[0] == victim);
  REQUIRE(server->ConnectionCount() == 1);
  REQUIRE(server->GetCounters().closed == 1);
  REQUIRE(client.SeesEof(&loop));

  // The other connection is unaffected.
  other.Write(Frame({9, 9}));
  REQUIRE(RunUntil(&loop, [&] { return rec.frames.size() == 3; }));
  REQUIRE(rec.frames.back().first == keep);
}

TEST_CASE("net: tcp peer close and peer reset -> OnTcpConnectionClosed", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto server = OpenOrFail(&loop, Range(), &rec);
  Client a(server->LocalPort()), b(server->LocalPort());
  TcpConnection* ca = Accept(&loop, *server, rec, a);
  TcpConnection* cb = Accept(&loop, *server, rec, b);

  a.Close(); // FIN
  REQUIRE(RunUntil(&loop, [&] { return rec.closed.size() == 1; }));
  REQUIRE(rec.closed[0] == ca);
  REQUIRE(server->ConnectionCount() == 1);

  linger hard{1, 0}; // close() sends RST
  REQUIRE(setsockopt(b.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)) == 0);
  b.Close();
  REQUIRE(RunUntil(&loop, [&] { return rec.closed.size() == 2; }));
  REQUIRE(rec.closed[1] == cb);
  REQUIRE(server->ConnectionCount() == 0);
  REQUIRE(server->GetCounters().closed == 2);
}

TEST_CASE("net: tcp server destruction with live connections", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto server = OpenOrFail(&loop, Range(), &rec);
  const uint16_t port = server->LocalPort();
  Client a(port), b(port), c(port);
  Accept(&loop, *server, rec, a);
  TcpConnection* cb = Accept(&loop, *server, rec, b);
  Accept(&loop, *server, rec, c);
  REQUIRE(server->ConnectionCount() == 3);
  // The listener may close another connection from a close callback.
  rec.onClosed = [&](TcpServer& s, TcpConnection& conn) {
    if (&conn != cb && rec.closed.size() == 1)
      s.CloseConnection(*cb);
  };
  server.reset();
  REQUIRE(rec.closed.size() == 3);
  REQUIRE(a.SeesEof(&loop));
  REQUIRE(b.SeesEof(&loop));
  REQUIRE(c.SeesEof(&loop));
  // The port is free again at once.
  auto o = Range();
  o.port = port;
  auto again = OpenOrFail(&loop, o, &rec);
  REQUIRE(again->LocalPort() == port);
}

TEST_CASE("net: tcp server destroyed from inside OnTcpFrame", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto server = OpenOrFail(&loop, Range(), &rec);
  Client a(server->LocalPort()), b(server->LocalPort());
  Accept(&loop, *server, rec, a);
  rec.onFrame = [&](TcpServer&, TcpConnection&) {
    if (rec.frames.size() == 2)
      server.reset();
  };
  Bytes batch = Frame({1});
  const Bytes more = Frame({2});
  batch.insert(batch.end(), more.begin(), more.end());
  b.Write(batch);
  REQUIRE(RunUntil(&loop, [&] { return !server; }));
  Pump(&loop, 10);
  REQUIRE(rec.frames.size() == 2); // nothing after the server went away
  REQUIRE(rec.closed.size() == 2);
  REQUIRE(a.SeesEof(&loop));
  REQUIRE(b.SeesEof(&loop));
}

TEST_CASE("net: tcp ports, errors, wildcard listen", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto first = OpenOrFail(&loop, Range(), &rec);
  std::string error;

  auto o = Range();
  o.port = first->LocalPort();
  REQUIRE_FALSE(TcpServer::Open(&loop, o, &rec, &error));
  REQUIRE(error == "bind() failed [protocol:tcp, ip:'127.0.0.1', port:" + std::to_string(o.port) +
                       "]: Address already in use");

  o.port = 0;
  o.minPort = o.maxPort = first->LocalPort();
  REQUIRE_FALSE(TcpServer::Open(&loop, o, &rec, &error));
  REQUIRE(error == "no more available ports [protocol:tcp, ip:'127.0.0.1', numAttempt:1]");

  o.ip = "1.2.3";
  REQUIRE_FALSE(TcpServer::Open(&loop, o, &rec, &error));
  REQUIRE(error == "invalid IP '1.2.3'");

  o = Range();
  o.minPort = 5000;
  o.maxPort = 4000;
  REQUIRE_FALSE(TcpServer::Open(&loop, o, &rec, &error));
  REQUIRE(error == "invalid port range [min:5000, max:4000]");

  // 0.0.0.0: each connection reports the address it was reached on.
  auto any = OpenOrFail(&loop, Range("0.0.0.0"), &rec);
  REQUIRE(any->LocalIp() == "0.0.0.0");
  Client client(any->LocalPort());
  TcpConnection* conn = Accept(&loop, *any, rec, client);
  REQUIRE(conn->Local() == *Endpoint::FromIpPort("127.0.0.1", any->LocalPort()));
  REQUIRE(conn->Remote() == client.LocalEndpoint());

  // Dual-stack "::" (when the host has IPv6): an IPv4 peer is a plain IPv4 endpoint.
  auto v6 = TcpServer::Open(&loop, Range("::"), &rec, &error);
  if (v6) {
    Client c4(v6->LocalPort());
    TcpConnection* c = Accept(&loop, *v6, rec, c4);
    REQUIRE(c->Remote() == c4.LocalEndpoint());
    REQUIRE(c->Remote().Family() == AF_INET);
  }
}

// ARCHITECTURE.md (bounded queues): a slow ICE-TCP peer loses media, the worker does not gain
// memory.
TEST_CASE("net: tcp send queue is bounded against a peer that stops reading", "[net][tcp]") {
  Loop loop;
  Recorder rec;
  auto o = Range();
  o.sendQueueLimit = 256 * 1024;
  o.sendBufferSize = 64 * 1024;
  auto server = OpenOrFail(&loop, o, &rec);
  Client client(server->LocalPort(), 64 * 1024);
  TcpConnection* conn = Accept(&loop, *server, rec, client);

  // 20 MB of 1000-byte frames: seq (4 bytes, big endian) + a seq-derived pattern.
  constexpr size_t kPayload = 1000;
  constexpr uint32_t kFrames = 20 * 1000 * 1000 / kPayload;
  Bytes payload(kPayload);
  auto fill = [&payload](uint32_t seq) {
    payload[0] = uint8_t(seq >> 24), payload[1] = uint8_t(seq >> 16);
    payload[2] = uint8_t(seq >> 8), payload[3] = uint8_t(seq);
    for (size_t i = 4; i < kPayload; ++i)
      payload[i] = uint8_t(seq + i);
  };
  client.received.reserve(16 << 20); // so the client's reads do not show in the heap figures
  const size_t heapBefore = mallinfo2().uordblks;
  size_t heapPeak = heapBefore;
  size_t queuedPeak = 0;
  uint32_t accepted = 0;
  for (uint32_t seq = 0; seq < kFrames; ++seq) {
    fill(seq);
    // Head + tail split at an odd place, as a transport would send them.
    if (conn->SendFrame(payload.data(), 13, payload.data() + 13, kPayload - 13))
      ++accepted;
    queuedPeak = std::max(queuedPeak, conn->QueuedBytes());
    if (seq % 256 == 0) {
      uv_run(&loop, UV_RUN_NOWAIT); // the queue flushes on writable, nothing is read
      heapPeak = std::max(heapPeak, size_t(mallinfo2().uordblks));
    }
  }
  const auto& c = conn->GetCounters();
  INFO("accepted " << accepted << ", peak queue " << queuedPeak << ", heap growth "
                   << (heapPeak - heapBefore));
  REQUIRE(queuedPeak <= o.sendQueueLimit);
  REQUIRE(c.queueHighWater <= o.sendQueueLimit);
  REQUIRE(c.queueHighWater > o.sendQueueLimit - 2 * (kPayload + 2)); // it did fill up
  REQUIRE(c.sendDrops > 0);
  REQUIRE(c.framesSent == accepted);
  REQUIRE(c.framesSent + c.sendDrops == kFrames);
  REQUIRE(accepted < kFrames / 10); // most of 20 MB was refused, not stored
#ifndef SLUICE_ASAN
  // The queue's chunks are all the heap grew by: limit + partial chunks.
  REQUIRE(heapPeak - heapBefore < o.sendQueueLimit + 4 * TcpConnection::kChunkBytes);
#endif

  // The client reads again: every accepted frame arrives whole and in order.
  REQUIRE(RunUntil(&loop, [&] {
    while (client.ReadNow() > 0) {
    }
    return conn->QueuedBytes() == 0 && client.received.size() == accepted * (kPayload + 2);
  }));
  REQUIRE(conn->QueuedBytes() == 0);
#ifndef SLUICE_ASAN
  // Drained chunks are freed.
  REQUIRE(size_t(mallinfo2().uordblks) < heapBefore + TcpConnection::kChunkBytes);
#endif
  std::vector<Bytes> got;
  REQUIRE(client.Parse(&got));
  REQUIRE(got.size() == accepted);
  int64_t last = -1;
  for (const Bytes& f : got) {
    REQUIRE(f.size() == kPayload);
    const uint32_t seq =
        (uint32_t(f[0]) << 24) | (uint32_t(f[1]) << 16) | (uint32_t(f[2]) << 8) | f[3];
    REQUIRE(int64_t(seq) > last);
    last = seq;
    fill(seq);
    REQUIRE(f == payload);
  }
  // Sending works normally again.
  REQUIRE(conn->SendFrame(payload.data(), 10, nullptr, 0));
  REQUIRE(conn->QueuedBytes() == 0);
}
