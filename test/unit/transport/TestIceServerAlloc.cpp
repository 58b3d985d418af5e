// Proves a consent check from a known tuple makes no allocator calls: parse,
// fingerprint, HMAC-SHA1, response, listener call. Linked with
// AllocCounter.cpp (operator new); OpenSSL's own heap use goes through
// CRYPTO_malloc, counted by CryptoAllocCounter.cpp (counting memory functions
// installed before anything in the process touches OpenSSL).
#include "AllocCounter.hpp"
#include "CryptoAllocCounter.hpp"
#include "sluice/transport/IceServer.hpp"
#include "sluice/transport/StunMessage.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace sluice::transport;

namespace {

class NullListener : public IceServer::Listener {
public:
  void OnIceSend(const sluice::net::Tuple&, const uint8_t*, size_t len) override { sent += len; }
  void OnIceTupleAdded(const sluice::net::Tuple&) override {}
  void OnIceTupleRemoved(const sluice::net::Tuple&) override {}
  void OnIceSelectedTuple(const sluice::net::Tuple&) override {}
  void OnIceStateChange(IceState) override {}
  size_t sent = 0;
};

} // namespace

TEST_CASE("ICE: consent checks from known tuples allocate nothing", "[ice][alloc]") {
  NullListener listener;
  IceServer ice(listener, "ufrag", "password-0123456789abcd", 30000);
  sluice::net::Tuple tuples[2];
  tuples[0].udp = reinterpret_cast<sluice::net::UdpSocket*>(uintptr_t{0x1000});
  tuples[0].remote = *sluice::net::Endpoint::FromIpPort("192.0.2.7", 4000);
  tuples[1] = tuples[0];
  tuples[1].remote = *sluice::net::Endpoint::FromIpPort("2001:db8::9", 4001);

  std::vector<std::vector<uint8_t>> requests;
  for (uint8_t i = 0; i < 16; ++i) {
    uint8_t tx[12] = {i, 1, 2, 3};
    uint8_t out[256];
    const size_t n =
        WriteBindingRequest(out, sizeof(out), tx, "ufrag:peer", "password-0123456789abcd", 100 + i,
                            i % 2 == 0, 0x1234ull, std::nullopt);
    requests.emplace_back(out, out + n);
  }
  // Warm-up: both tuples become known.
  for (size_t t = 0; t < 2; ++t)
    ice.ProcessStun(requests[t].data(), requests[t].size(), tuples[t], 0);
  REQUIRE(ice.TupleCount() == 2);

  const uint64_t cryptoBefore = sluice::test::CryptoAllocCalls();
  sluice::test::AllocScope scope;
  for (int round = 0; round < 1000; ++round) {
    const auto& r = requests[static_cast<size_t>(round) % requests.size()];
    ice.ProcessStun(r.data(), r.size(), tuples[round % 2], static_cast<uint64_t>(round));
    ice.Tick(static_cast<uint64_t>(round));
  }
  CHECK(scope.Count() == 0);
  if (sluice::test::CryptoAllocCounterInstalled())
    CHECK(sluice::test::CryptoAllocCalls() - cryptoBefore == 0);
  else
    WARN("OpenSSL allocated before the test could hook it; its allocations are not counted");
  CHECK(ice.GetCounters().responses == 1002);
  CHECK(listener.sent > 0);
  CHECK(ice.State() == IceState::Completed);
}
