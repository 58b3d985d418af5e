// Microbenchmarks of the per-packet RTP work: parse, extension lookup,
// per-consumer rewrite, RTX build, RTX decapsulation, unwrap; and the codec
// units: descriptor parse + PictureID rewrite + write (VP8, VP9), H264 and
// Opus parse, then each codec step alone (parse, rewrite, write; VP9 with
// and without SS; H264 single NAL, STAP-A, FU-A and frame marking).
// The codec cases report "allocs" per iteration under test/alloc's counter
// (see BenchAllocs.hpp); it must stay 0.
#include "BenchAllocs.hpp"
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
using sluice::bench::Allocs;
using sluice::bench::ReportAllocs;

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
  const uint64_t before = Allocs();
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
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp8ParseRewrite);

// VP9 non-flexible, 7-bit PictureID (so the descriptor grows), 3 spatial layers.
void BM_Vp9ParseRewrite(benchmark::State& state) {
  uint8_t p[] = {0xAC, 0x00, 0x00, 0x00, 0x11, 0x22};
  codecs::Vp9Rewriter rw;
  uint8_t out[16];
  uint32_t n = 0;
  const uint64_t before = Allocs();
  for (auto _ : state) {
    p[1] = static_cast<uint8_t>((n / 3) & 0x7F);
    p[2] = static_cast<uint8_t>((n % 3) << 1);
    ++n;
    const auto d = codecs::ParseVp9(p, sizeof(p));
    codecs::PictureIdOut o;
    if (rw.Rewrite(*d, false, &o))
      benchmark::DoNotOptimize(codecs::WriteVp9Descriptor(p, *d, o, out, sizeof(out)));
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9ParseRewrite);

void BM_H264ParseStapA(benchmark::State& state) {
  const uint8_t p[] = {0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00,
                       0x02, 0x68, 0xCE, 0x00, 0x03, 0x65, 0x88, 0x84};
  const uint64_t before = Allocs();
  for (auto _ : state)
    benchmark::DoNotOptimize(codecs::ParseH264(p, sizeof(p)));
  ReportAllocs(state, before);
}
BENCHMARK(BM_H264ParseStapA);

void BM_OpusDtx(benchmark::State& state) {
  std::vector<uint8_t> p(120, 0x55);
  p[0] = 0xFC; // config 31, stereo, code 0
  const uint64_t before = Allocs();
  for (auto _ : state)
    benchmark::DoNotOptimize(codecs::IsOpusDtx(p.data(), p.size()));
  ReportAllocs(state, before);
}
BENCHMARK(BM_OpusDtx);

// --- each codec step alone ---------------------------------------------------

// VP8 key frame start, I (15-bit) + L + T + K: the longest descriptor.
constexpr uint8_t kVp8Key[] = {0x90, 0xF0, 0x81, 0x23, 0x05, 0x65,
                               0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A};

void BM_Vp8Parse(benchmark::State& state) {
  const uint64_t before = Allocs();
  for (auto _ : state) {
    auto d = codecs::ParseVp8(kVp8Key, sizeof(kVp8Key));
    benchmark::DoNotOptimize(d);
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp8Parse);

// Rewriter alone: consecutive frames of one stream, a stream switch every
// 256 frames (re-base of both deltas).
void BM_Vp8Rewrite(benchmark::State& state) {
  codecs::Vp8Descriptor d = *codecs::ParseVp8(kVp8Key, sizeof(kVp8Key));
  codecs::Vp8Rewriter rw;
  uint32_t n = 0;
  const uint64_t before = Allocs();
  for (auto _ : state) {
    d.pictureId = static_cast<uint16_t>((d.pictureId + 1) & 0x7FFF);
    d.tl0PicIdx = static_cast<uint8_t>(d.tl0PicIdx + 1);
    codecs::PictureIdOut o;
    benchmark::DoNotOptimize(rw.Rewrite(d, (++n & 0xFF) == 0, &o));
    benchmark::DoNotOptimize(o);
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp8Rewrite);

void BM_Vp8Write(benchmark::State& state) {
  const codecs::Vp8Descriptor d = *codecs::ParseVp8(kVp8Key, sizeof(kVp8Key));
  codecs::PictureIdOut o{0x1234, 7};
  uint8_t out[codecs::kVp8MaxDescriptor];
  const uint64_t before = Allocs();
  for (auto _ : state) {
    ++o.pictureId;
    benchmark::DoNotOptimize(codecs::WriteVp8Descriptor(d, o, out, sizeof(out)));
    benchmark::ClobberMemory();
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp8Write);

// VP9 non-flexible inter frame: I (15-bit) + L + TL0PICIDX.
constexpr uint8_t kVp9Delta[] = {0xEC, 0x81, 0x23, 0x22, 0x07, 0x11, 0x22};
// VP9 key frame with SS: 3 spatial layers with resolutions, N_G 2.
constexpr uint8_t kVp9KeySs[] = {0xAA, 0x80, 0x01, 0x00, 0x09, 0x58, 0x01, 0x40,
                                 0x00, 0xB4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00,
                                 0x02, 0xD0, 0x02, 0x04, 0x02, 0x34, 0x01, 0x42};

void BM_Vp9Parse(benchmark::State& state) {
  const uint64_t before = Allocs();
  for (auto _ : state) {
    auto d = codecs::ParseVp9(kVp9Delta, sizeof(kVp9Delta));
    benchmark::DoNotOptimize(d);
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9Parse);

void BM_Vp9ParseWithSs(benchmark::State& state) {
  const uint64_t before = Allocs();
  for (auto _ : state) {
    auto d = codecs::ParseVp9(kVp9KeySs, sizeof(kVp9KeySs));
    benchmark::DoNotOptimize(d);
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9ParseWithSs);

// The SS read into its table (what a consumer does once per key frame).
void BM_Vp9ParseSsTable(benchmark::State& state) {
  const codecs::Vp9Descriptor d = *codecs::ParseVp9(kVp9KeySs, sizeof(kVp9KeySs));
  const uint64_t before = Allocs();
  for (auto _ : state) {
    auto ss = codecs::ParseVp9Ss(kVp9KeySs + d.ssOffset, d.ssSize);
    benchmark::DoNotOptimize(ss);
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9ParseSsTable);

void BM_Vp9Rewrite(benchmark::State& state) {
  codecs::Vp9Descriptor d = *codecs::ParseVp9(kVp9Delta, sizeof(kVp9Delta));
  codecs::Vp9Rewriter rw;
  uint32_t n = 0;
  const uint64_t before = Allocs();
  for (auto _ : state) {
    d.pictureId = static_cast<uint16_t>((d.pictureId + 1) & 0x7FFF);
    d.tl0PicIdx = static_cast<uint8_t>(d.tl0PicIdx + 1);
    codecs::PictureIdOut o;
    benchmark::DoNotOptimize(rw.Rewrite(d, (++n & 0xFF) == 0, &o));
    benchmark::DoNotOptimize(o);
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9Rewrite);

void BM_Vp9Write(benchmark::State& state) {
  const codecs::Vp9Descriptor d = *codecs::ParseVp9(kVp9Delta, sizeof(kVp9Delta));
  codecs::PictureIdOut o{0x1234, 7};
  uint8_t out[16];
  const uint64_t before = Allocs();
  for (auto _ : state) {
    ++o.pictureId;
    benchmark::DoNotOptimize(codecs::WriteVp9Descriptor(kVp9Delta, d, o, out, sizeof(out)));
    benchmark::ClobberMemory();
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9Write);

void BM_Vp9WriteWithSs(benchmark::State& state) {
  const codecs::Vp9Descriptor d = *codecs::ParseVp9(kVp9KeySs, sizeof(kVp9KeySs));
  codecs::PictureIdOut o{0x1234, 7};
  uint8_t out[64];
  const uint64_t before = Allocs();
  for (auto _ : state) {
    ++o.pictureId;
    benchmark::DoNotOptimize(codecs::WriteVp9Descriptor(kVp9KeySs, d, o, out, sizeof(out)));
    benchmark::ClobberMemory();
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_Vp9WriteWithSs);

void BM_H264ParseSingle(benchmark::State& state) {
  const uint8_t p[] = {0x65, 0x88, 0x84, 0x00, 0x33, 0xFF};
  const uint64_t before = Allocs();
  for (auto _ : state)
    benchmark::DoNotOptimize(codecs::ParseH264(p, sizeof(p)));
  ReportAllocs(state, before);
}
BENCHMARK(BM_H264ParseSingle);

void BM_H264ParseFuA(benchmark::State& state) {
  const uint8_t p[] = {0x7C, 0x85, 0x88, 0x84, 0x00, 0x33, 0xFF};
  const uint64_t before = Allocs();
  for (auto _ : state)
    benchmark::DoNotOptimize(codecs::ParseH264(p, sizeof(p)));
  ReportAllocs(state, before);
}
BENCHMARK(BM_H264ParseFuA);

// Frame marking (the H264 temporal layer): parse + write the 3-byte form.
void BM_H264FrameMarking(benchmark::State& state) {
  uint8_t fm[] = {0x51, 0x03, 0x9C};
  uint8_t out[3];
  const uint64_t before = Allocs();
  for (auto _ : state) {
    ++fm[2];
    auto f = codecs::ParseFrameMarking(fm, sizeof(fm));
    benchmark::DoNotOptimize(codecs::WriteFrameMarking(*f, out, sizeof(out)));
    benchmark::ClobberMemory();
  }
  ReportAllocs(state, before);
}
BENCHMARK(BM_H264FrameMarking);

} // namespace

BENCHMARK_MAIN();
