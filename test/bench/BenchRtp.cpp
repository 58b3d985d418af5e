// Microbenchmarks of the per-packet RTP work: parse, extension lookup,
// per-consumer rewrite, RTX build, RTX decapsulation, unwrap; and the codec
// units: descriptor parse + PictureID rewrite + write (VP8, VP9), H264 and
// Opus parse.
#include "sluice/rtp/RtpWriter.hpp"
#include "sluice/rtp/SeqMath.hpp"
#include "sluice/rtp/codecs/H264.hpp"
#include "sluice/rtp/codecs/Opus.hpp"
#include "sluice/rtp/codecs/Vp8.hpp"
#include "sluice/rtp/codecs/Vp9.hpp"

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

// VP8 I(15)+L+T, TID cycling 0,2,1,2 with TID 2 dropped (an L1T3 consumer at
// TID 1): parse, then Drop or Rewrite + write.
void BM_Vp8ParseRewrite(benchmark::State& state) {
  uint8_t p[] = {0x90, 0xE0, 0x80, 0x00, 0x00, 0x00, 0x10, 0x00, 0x9D, 0x01};
  codecs::Vp8Rewriter rw;
  uint8_t out[codecs::kVp8MaxDescriptor];
  uint16_t pid = 0;
  const uint8_t tids[] = {0, 2, 1, 2};
  for (auto _ : state) {
    p[2] = static_cast<uint8_t>(0x80 | (pid >> 8 & 0x7F));
    p[3] = static_cast<uint8_t>(pid & 0xFF);
    p[5] = static_cast<uint8_t>(tids[pid % 4] << 6);
    ++pid;
    const auto d = codecs::ParseVp8(p, sizeof(p));
    codecs::PictureIdOut o;
    if (d->tid == 2) {
      benchmark::DoNotOptimize(rw.Drop(*d));
    } else if (rw.Rewrite(*d, false, &o)) {
      benchmark::DoNotOptimize(codecs::WriteVp8Descriptor(*d, o, out, sizeof(out)));
    }
  }
}
BENCHMARK(BM_Vp8ParseRewrite);

// VP9 non-flexible, 7-bit PictureID (so the descriptor grows), 3 spatial layers.
void BM_Vp9ParseRewrite(benchmark::State& state) {
  uint8_t p[] = {0xAC, 0x00, 0x00, 0x00, 0x11, 0x22};
  codecs::Vp9Rewriter rw;
  uint8_t out[16];
  uint32_t n = 0;
  for (auto _ : state) {
    p[1] = static_cast<uint8_t>((n / 3) & 0x7F);
    p[2] = static_cast<uint8_t>((n % 3) << 1);
    ++n;
    const auto d = codecs::ParseVp9(p, sizeof(p));
    codecs::PictureIdOut o;
    if (rw.Rewrite(*d, false, &o))
      benchmark::DoNotOptimize(codecs::WriteVp9Descriptor(p, *d, o, out, sizeof(out)));
  }
}
BENCHMARK(BM_Vp9ParseRewrite);

void BM_H264ParseStapA(benchmark::State& state) {
  const uint8_t p[] = {0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00,
                       0x02, 0x68, 0xCE, 0x00, 0x03, 0x65, 0x88, 0x84};
  for (auto _ : state)
    benchmark::DoNotOptimize(codecs::ParseH264(p, sizeof(p)));
}
BENCHMARK(BM_H264ParseStapA);

void BM_OpusDtx(benchmark::State& state) {
  std::vector<uint8_t> p(120, 0x55);
  p[0] = 0xFC; // config 31, stereo, code 0
  for (auto _ : state)
    benchmark::DoNotOptimize(codecs::IsOpusDtx(p.data(), p.size()));
}
BENCHMARK(BM_OpusDtx);

} // namespace

BENCHMARK_MAIN();
