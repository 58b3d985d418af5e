// SRTP per-packet cost, ours (SrtpSession on OpenSSL) against libsrtp2 (the
// Debian package, the former implementation, linked here only to compare):
//  - BM_Protect: protect one 1200-byte RTP packet (seq advancing).
//  - BM_RoundTrip: protect + unprotect (unprotect = RoundTrip - Protect).
//  - BM_SessionBytes: heap bytes per session (mallinfo2), outbound + inbound
//    after one packet of one SSRC.
// Counter "allocs" (allocator calls per iteration) is filled when the binary
// runs under test/alloc's LD_PRELOAD counter:
//   ALLOCCOUNT_FILE=/tmp/ac LD_PRELOAD=$PWD/build/test/alloc/libsluice-alloccount.so
//   build/test/bench/BenchSrtp   (one command line)
#include "BenchAllocs.hpp"
#include "sluice/transport/SrtpSession.hpp"

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <srtp.h>

#include <cstring>
#include <memory>
#include <vector>

using sluice::transport::SrtpMasterLength;
using sluice::transport::SrtpSession;
using sluice::transport::SrtpSuite;
using Dir = SrtpSession::Direction;

using sluice::bench::Allocs;

namespace {

constexpr size_t kPayload = 1188; // 12-byte header + 1188 = 1200 bytes

std::vector<uint8_t> Key(SrtpSuite s) {
  return std::vector<uint8_t>(SrtpMasterLength(s), 0x3C);
}

void Rtp(uint8_t* p, uint16_t seq) {
  const uint8_t hdr[12] = {0x80, 0x60, uint8_t(seq >> 8), uint8_t(seq), 0, 0, 0, 1, 1, 2, 3, 4};
  std::memcpy(p, hdr, sizeof(hdr));
  std::memset(p + 12, 0x5A, kPayload);
}

srtp_t LibsrtpSession(Dir dir, SrtpSuite s) {
  static const srtp_err_status_t init = srtp_init();
  (void)init;
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  switch (s) {
  case SrtpSuite::AeadAes256Gcm:
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
    break;
  case SrtpSuite::AeadAes128Gcm:
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    break;
  case SrtpSuite::AesCm128HmacSha1_80:
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    break;
  case SrtpSuite::AesCm128HmacSha1_32:
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    break;
  }
  auto key = Key(s);
  policy.ssrc.type = dir == Dir::Outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = key.data();
  policy.allow_repeat_tx = 1;
  srtp_t ctx = nullptr;
  srtp_create(&ctx, &policy);
  return ctx;
}

// One direction pair behind a common interface: 0 = ours, 1 = libsrtp.
struct Pair {
  Pair(int impl, SrtpSuite s) : impl(impl) {
    const auto key = Key(s);
    if (impl == 0) {
      out = SrtpSession::Create(Dir::Outbound, s, key.data(), key.size(), nullptr);
      in = SrtpSession::Create(Dir::Inbound, s, key.data(), key.size(), nullptr);
    } else {
      lout = LibsrtpSession(Dir::Outbound, s);
      lin = LibsrtpSession(Dir::Inbound, s);
    }
  }
  ~Pair() {
    if (lout)
      srtp_dealloc(lout);
    if (lin)
      srtp_dealloc(lin);
  }
  size_t Protect(uint8_t* p, size_t len, size_t cap) {
    if (impl == 0)
      return out->ProtectRtp(p, len, cap);
    int n = static_cast<int>(len);
    return srtp_protect(lout, p, &n) == srtp_err_status_ok ? static_cast<size_t>(n) : 0;
  }
  size_t Unprotect(uint8_t* p, size_t len) {
    if (impl == 0)
      return in->UnprotectRtp(p, len);
    int n = static_cast<int>(len);
    return srtp_unprotect(lin, p, &n) == srtp_err_status_ok ? static_cast<size_t>(n) : 0;
  }
  int impl;
  std::unique_ptr<SrtpSession> out, in;
  srtp_t lout = nullptr, lin = nullptr;
};

void BM_Protect(benchmark::State& state) {
  Pair pair(static_cast<int>(state.range(0)), static_cast<SrtpSuite>(state.range(1)));
  uint8_t buf[12 + kPayload + 64];
  uint16_t seq = 0;
  Rtp(buf, seq);
  pair.Protect(buf, 12 + kPayload, sizeof(buf));
  const uint64_t before = Allocs();
  for (auto _ : state) {
    Rtp(buf, ++seq);
    benchmark::DoNotOptimize(pair.Protect(buf, 12 + kPayload, sizeof(buf)));
  }
  state.counters["allocs"] = double(Allocs() - before) / double(state.iterations());
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(12 + kPayload));
}

void BM_RoundTrip(benchmark::State& state) {
  Pair pair(static_cast<int>(state.range(0)), static_cast<SrtpSuite>(state.range(1)));
  uint8_t buf[12 + kPayload + 64];
  uint16_t seq = 0;
  Rtp(buf, seq);
  pair.Unprotect(buf, pair.Protect(buf, 12 + kPayload, sizeof(buf)));
  const uint64_t before = Allocs();
  int64_t ok = 0;
  for (auto _ : state) {
    Rtp(buf, ++seq);
    ok += pair.Unprotect(buf, pair.Protect(buf, 12 + kPayload, sizeof(buf))) != 0;
  }
  state.counters["allocs"] = double(Allocs() - before) / double(state.iterations());
  if (ok != state.iterations())
    state.SkipWithError("unprotect failed");
}

void BM_SessionBytes(benchmark::State& state) {
  const int impl = static_cast<int>(state.range(0));
  const auto suite = static_cast<SrtpSuite>(state.range(1));
  double perPair = 0;
  for (auto _ : state) {
    constexpr int kPairs = 50;
    const size_t before = mallinfo2().uordblks;
    std::vector<std::unique_ptr<Pair>> pairs;
    pairs.reserve(kPairs);
    const size_t vectorBytes = mallinfo2().uordblks - before;
    uint8_t buf[12 + kPayload + 64];
    for (int i = 0; i < kPairs; ++i) {
      pairs.push_back(std::make_unique<Pair>(impl, suite));
      Rtp(buf, 1);
      pairs.back()->Unprotect(buf, pairs.back()->Protect(buf, 12 + kPayload, sizeof(buf)));
    }
    const size_t used = mallinfo2().uordblks - before - vectorBytes - kPairs * sizeof(Pair);
    perPair = double(used) / kPairs;
  }
  state.counters["bytesPerSession"] = perPair / 2;
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"libsrtp", "suite"});
  for (int impl : {0, 1})
    for (int suite : {0, 1, 2, 3})
      b->Args({impl, suite});
}

} // namespace

BENCHMARK(BM_Protect)->Apply(Args);
BENCHMARK(BM_RoundTrip)->Apply(Args);
BENCHMARK(BM_SessionBytes)->Apply(Args)->Iterations(3);
BENCHMARK_MAIN();
