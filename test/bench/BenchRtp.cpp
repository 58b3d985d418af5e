// Microbenchmarks of the per-packet RTP work: parse, extension lookup,
// per-consumer rewrite, RTX build, RTX decapsulation, unwrap.
#include "sluice/rtp/RtpWriter.hpp"
#include "sluice/rtp/SeqMath.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

using namespace sluice::rtp;

namespace {

// A typical browser video packet: one-byte extensions (abs-send-time id 3,
// transport-cc id 5, MID id 9 "0"), 1100 bytes of payload.
std::vector<uint8_t> VideoPacket() {
  std::vector<uint8_t> b = {0x90, 0x60, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22,
                            0x33, 0x44, 0xBE, 0xDE, 0x00, 0x03, 0x32, 0x01, 0x02, 0x03,
                            0x51, 0x00, 0x07, 0x90, 0x30, 0x00, 0x00, 0x00};
  b.resize(b.size() + 1100, 0x5A);
  return b;
}

struct Consumer {
  ExtensionIdMap map;
  std::array<uint8_t, 3> absSendTime{{1, 2, 3}};
  std::array<uint8_t, 1> mid{{'1'}};
  std::array<HeaderExtension, 1> extra{};
  RtpRewrite rw;
  Consumer() {
    map.Set(3, 2); // abs-send-time moves to id 2
    map.Set(5, 5); // transport-cc kept; MID (9) replaced by the consumer's
    extra[0] = {9, {mid.data(), mid.size()}};
    rw.ssrc = 0x01020304;
    rw.payloadType = 101;
    rw.idMap = &map;
    rw.extra = extra.data();
    rw.extraCount = extra.size();
  }
};

void BM_Parse(benchmark::State& state) {
  const std::vector<uint8_t> b = VideoPacket();
  for (auto _ : state) {
    auto pkt = RtpPacket::Parse(b.data(), b.size());
    benchmark::DoNotOptimize(pkt);
  }
}
BENCHMARK(BM_Parse);

void BM_GetExtension(benchmark::State& state) {
  const std::vector<uint8_t> b = VideoPacket();
  const RtpPacket pkt = *RtpPacket::Parse(b.data(), b.size());
  for (auto _ : state) {
    ByteView v = pkt.GetExtension(9); // last element: the worst case here
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_GetExtension);

void BM_Rewrite(benchmark::State& state) {
  const std::vector<uint8_t> b = VideoPacket();
  const RtpPacket pkt = *RtpPacket::Parse(b.data(), b.size());
  Consumer c;
  std::array<uint8_t, 1500> out{};
  for (auto _ : state) {
    ++c.rw.sequenceNumber;
    size_t n = RtpWriter::Write(pkt, c.rw, out.data(), out.size());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Rewrite);

void BM_RewriteHeaderOnly(benchmark::State& state) {
  const std::vector<uint8_t> b = VideoPacket();
  const RtpPacket pkt = *RtpPacket::Parse(b.data(), b.size());
  Consumer c;
  std::array<uint8_t, 128> out{};
  for (auto _ : state) {
    ++c.rw.sequenceNumber;
    size_t n = RtpWriter::WriteHeader(pkt, c.rw, out.data(), out.size());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RewriteHeaderOnly);

void BM_RtxBuild(benchmark::State& state) {
  const std::vector<uint8_t> b = VideoPacket();
  const RtpPacket pkt = *RtpPacket::Parse(b.data(), b.size());
  Consumer c;
  RtxRewrite rtx{0x0A0B0C0D, 102, 0};
  std::array<uint8_t, 1500> out{};
  for (auto _ : state) {
    ++rtx.sequenceNumber;
    size_t n = RtpWriter::WriteRtx(pkt, c.rw, rtx, out.data(), out.size());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RtxBuild);

void BM_RtxDecapsulate(benchmark::State& state) {
  const std::vector<uint8_t> b = VideoPacket();
  const RtpPacket pkt = *RtpPacket::Parse(b.data(), b.size());
  Consumer c;
  std::array<uint8_t, 1500> rtxBytes{};
  const size_t r =
      RtpWriter::WriteRtx(pkt, c.rw, RtxRewrite{7, 102, 9}, rtxBytes.data(), rtxBytes.size());
  std::array<uint8_t, 1500> out{};
  for (auto _ : state) {
    auto rtx = RtpPacket::Parse(rtxBytes.data(), r);
    size_t n = RtpWriter::RtxDecapsulate(*rtx, 0x01020304, 96, out.data(), out.size());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RtxDecapsulate);

void BM_SeqUnwrap(benchmark::State& state) {
  SeqUnwrapper u;
  uint16_t seq = 65000;
  for (auto _ : state) {
    int64_t v = u.Unwrap(seq++);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_SeqUnwrap);

} // namespace

BENCHMARK_MAIN();
