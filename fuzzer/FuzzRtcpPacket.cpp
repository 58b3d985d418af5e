// libFuzzer target: a compound RTCP buffer is iterated, every typed view is
// tried on every packet, and what parsed is written again with CompoundWriter
// and re-parsed: the fields must come back (NACK: the same set of sequence
// numbers, and a second round trip gives the same bytes). Any mismatch aborts
// (that is the finding), as does any out-of-bounds read under ASan.
#include "sluice/rtcp/RtcpWriter.hpp"

#include <array>
#include <bitset>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace sluice::rtcp;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzRtcpPacket: check failed: %s (line %d)\n", #cond, __LINE__);       \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

// Large enough for any packet rewritten from a 4 KiB input (and more).
std::array<uint8_t, 1 << 19> gOut;
std::array<uint8_t, 1 << 19> gOut2;
std::array<uint16_t, 17 << 16> gSeqs; // 17 numbers per NACK entry
std::array<ReportBlock, 31> gBlocks;
std::array<FirEntry, 1 << 16> gFir;
std::array<uint32_t, 256> gSsrcs;

struct Span {
  const uint8_t* begin;
  const uint8_t* end;
  bool Holds(ByteView v) const {
    return v.data != nullptr && v.data >= begin && v.size <= static_cast<size_t>(end - v.data);
  }
};

RtcpPacket Reparse(const CompoundWriter& w) {
  const auto pkt = RtcpPacket::Parse(w.Data(), w.Size());
  FUZZ_CHECK(pkt.has_value());
  FUZZ_CHECK(pkt->Size() == w.Size());
  return *pkt;
}

bool SameBlock(const ReportBlock& a, const ReportBlock& b) {
  return a.ssrc == b.ssrc && a.fractionLost == b.fractionLost &&
         a.cumulativeLost == b.cumulativeLost && a.extendedHighestSeq == b.extendedHighestSeq &&
         a.jitter == b.jitter && a.lsr == b.lsr && a.dlsr == b.dlsr;
}

void CheckSenderReport(const SenderReport& sr) {
  for (size_t i = 0; i < sr.ReportCount(); ++i)
    gBlocks[i] = sr.Report(i);
  SenderInfo info;
  info.ntp = {sr.NtpSeconds(), sr.NtpFraction()};
  info.rtpTimestamp = sr.RtpTimestamp();
  info.packetCount = sr.PacketCount();
  info.octetCount = sr.OctetCount();
  CompoundWriter w(gOut.data(), gOut.size());
  FUZZ_CHECK(w.AddSenderReport(sr.Ssrc(), info, gBlocks.data(), sr.ReportCount()) > 0);
  const auto back = SenderReport::Parse(Reparse(w));
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->Ssrc() == sr.Ssrc() && back->NtpSeconds() == sr.NtpSeconds() &&
             back->NtpFraction() == sr.NtpFraction() && back->RtpTimestamp() == sr.RtpTimestamp() &&
             back->PacketCount() == sr.PacketCount() && back->OctetCount() == sr.OctetCount());
  FUZZ_CHECK(back->ReportCount() == sr.ReportCount());
  for (size_t i = 0; i < sr.ReportCount(); ++i)
    FUZZ_CHECK(SameBlock(back->Report(i), gBlocks[i]));
}

void CheckReceiverReport(const ReceiverReport& rr) {
  for (size_t i = 0; i < rr.ReportCount(); ++i)
    gBlocks[i] = rr.Report(i);
  CompoundWriter w(gOut.data(), gOut.size());
  FUZZ_CHECK(w.AddReceiverReport(rr.Ssrc(), gBlocks.data(), rr.ReportCount()) > 0);
  const auto back = ReceiverReport::Parse(Reparse(w));
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->Ssrc() == rr.Ssrc());
  FUZZ_CHECK(back->ReportCount() == rr.ReportCount());
  for (size_t i = 0; i < rr.ReportCount(); ++i)
    FUZZ_CHECK(SameBlock(back->Report(i), gBlocks[i]));
}

void CheckSdes(const Sdes& sdes, Span span) {
  SdesChunkIterator chunks = sdes.Chunks();
  SdesChunk chunk;
  size_t n = 0;
  while (chunks.Next(&chunk)) {
    ++n;
    FUZZ_CHECK(span.Holds(chunk.items));
    SdesItemIterator items = chunk.Items();
    SdesItem item;
    while (items.Next(&item)) {
      FUZZ_CHECK(item.type != kSdesEnd);
      FUZZ_CHECK(span.Holds(item.text));
      FUZZ_CHECK(item.text.data >= chunk.items.data &&
                 item.text.data + item.text.size <= chunk.items.data + chunk.items.size);
    }
    const ByteView cname = sdes.Cname(chunk.ssrc);
    if (cname && cname.size > 0) {
      CompoundWriter w(gOut.data(), gOut.size());
      FUZZ_CHECK(w.AddSdesCname(chunk.ssrc, reinterpret_cast<const char*>(cname.data), cname.size) >
                 0);
      const auto back = Sdes::Parse(Reparse(w));
      FUZZ_CHECK(back.has_value() && back->ChunkCount() == 1);
      const ByteView got = back->Cname(chunk.ssrc);
      FUZZ_CHECK(got.size == cname.size && std::memcmp(got.data, cname.data, got.size) == 0);
    }
  }
  FUZZ_CHECK(n == sdes.ChunkCount());
}

void CheckBye(const Bye& bye, Span span) {
  if (bye.Reason())
    FUZZ_CHECK(span.Holds(bye.Reason()));
  for (size_t i = 0; i < bye.SsrcCount(); ++i)
    gSsrcs[i] = bye.Ssrc(i);
  CompoundWriter w(gOut.data(), gOut.size());
  const size_t n = w.AddBye(gSsrcs.data(), bye.SsrcCount());
  if (bye.SsrcCount() == 0) {
    FUZZ_CHECK(n == 0);
    return;
  }
  const auto back = Bye::Parse(Reparse(w));
  FUZZ_CHECK(back.has_value() && back->SsrcCount() == bye.SsrcCount());
  for (size_t i = 0; i < bye.SsrcCount(); ++i)
    FUZZ_CHECK(back->Ssrc(i) == gSsrcs[i]);
}

// Collects the NACK's numbers into gSeqs and (as a set) into *set.
size_t CollectNack(const GenericNack& nack, std::bitset<65536>* set) {
  set->reset();
  size_t n = 0;
  NackSeqIterator it = nack.Seqs();
  uint16_t seq = 0;
  while (it.Next(&seq)) {
    FUZZ_CHECK(n < gSeqs.size());
    gSeqs[n++] = seq;
    set->set(seq);
  }
  FUZZ_CHECK(n >= nack.PairCount() && n <= 17 * nack.PairCount());
  return n;
}

void CheckNack(const GenericNack& nack) {
  static std::bitset<65536> want;
  static std::bitset<65536> got;
  size_t n = CollectNack(nack, &want);
  CompoundWriter w(gOut.data(), gOut.size());
  const size_t size = w.AddNack(nack.SenderSsrc(), nack.MediaSsrc(), gSeqs.data(), n);
  FUZZ_CHECK(size > 0);
  const auto back = GenericNack::Parse(Reparse(w));
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->SenderSsrc() == nack.SenderSsrc() && back->MediaSsrc() == nack.MediaSsrc());
  FUZZ_CHECK(back->PairCount() <= nack.PairCount());
  n = CollectNack(*back, &got);
  FUZZ_CHECK(got == want);
  // Packed output is a fixed point of parse + pack.
  CompoundWriter w2(gOut2.data(), gOut2.size());
  FUZZ_CHECK(w2.AddNack(nack.SenderSsrc(), nack.MediaSsrc(), gSeqs.data(), n) == size);
  FUZZ_CHECK(std::memcmp(gOut.data(), gOut2.data(), size) == 0);
}

void CheckFeedback(const RtcpPacket& pkt, Span span) {
  if (const auto nack = GenericNack::Parse(pkt))
    CheckNack(*nack);
  if (const auto tcc = TransportCcFeedback::Parse(pkt)) {
    FUZZ_CHECK(span.Holds(tcc->Fci()) && tcc->Fci().size >= 8);
    (void)tcc->ReferenceTime();
    (void)tcc->FeedbackPacketCount();
  }
  if (const auto pli = Pli::Parse(pkt)) {
    CompoundWriter w(gOut.data(), gOut.size());
    FUZZ_CHECK(w.AddPli(pli->SenderSsrc(), pli->MediaSsrc()) == 12);
    const auto back = Pli::Parse(Reparse(w));
    FUZZ_CHECK(back && back->SenderSsrc() == pli->SenderSsrc() &&
               back->MediaSsrc() == pli->MediaSsrc());
  }
  if (const auto fir = Fir::Parse(pkt)) {
    for (size_t i = 0; i < fir->EntryCount(); ++i)
      gFir[i] = fir->Entry(i);
    CompoundWriter w(gOut.data(), gOut.size());
    FUZZ_CHECK(w.AddFir(fir->SenderSsrc(), gFir.data(), fir->EntryCount()) > 0);
    const auto back = Fir::Parse(Reparse(w));
    FUZZ_CHECK(back && back->EntryCount() == fir->EntryCount());
    for (size_t i = 0; i < fir->EntryCount(); ++i)
      FUZZ_CHECK(back->Entry(i).ssrc == gFir[i].ssrc && back->Entry(i).seqNr == gFir[i].seqNr);
  }
  if (const auto remb = Remb::Parse(pkt)) {
    for (size_t i = 0; i < remb->SsrcCount(); ++i)
      gSsrcs[i] = remb->Ssrc(i);
    CompoundWriter w(gOut.data(), gOut.size());
    const uint64_t bitrate = remb->Bitrate();
    FUZZ_CHECK(w.AddRemb(remb->SenderSsrc(), bitrate, gSsrcs.data(), remb->SsrcCount()) > 0);
    const auto back = Remb::Parse(Reparse(w));
    FUZZ_CHECK(back && back->SsrcCount() == remb->SsrcCount());
    // Any unsaturated value is m << e with m < 2^18, so it is encoded exactly.
    if (bitrate != UINT64_MAX)
      FUZZ_CHECK(back->Bitrate() == bitrate);
    else
      FUZZ_CHECK(back->Bitrate() <= bitrate);
    for (size_t i = 0; i < remb->SsrcCount(); ++i)
      FUZZ_CHECK(back->Ssrc(i) == gSsrcs[i]);
  }
}

void CheckXr(const Xr& xr, Span span) {
  XrBlockIterator blocks = xr.Blocks();
  XrBlock block;
  while (blocks.Next(&block)) {
    FUZZ_CHECK(span.Holds(block.body));
    if (const auto rrtr = XrRrtr::Parse(block))
      FUZZ_CHECK(block.type == kXrRrtr && block.body.size == 8);
    if (const auto dlrr = XrDlrr::Parse(block)) {
      for (size_t i = 0; i < dlrr->Count(); ++i) {
        const DlrrSubBlock s = dlrr->SubBlock(i);
        (void)RttMsFromReport(s.lrr ^ s.dlrr, s.lrr, s.dlrr);
      }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CompoundIterator it(data, size);
  RtcpPacket pkt;
  size_t total = 0;
  while (it.Next(&pkt)) {
    const Span span{pkt.Data(), pkt.Data() + pkt.Size()};
    FUZZ_CHECK(pkt.Data() == data + total);
    FUZZ_CHECK(pkt.Size() >= RtcpPacket::kHeaderSize && pkt.Size() % 4 == 0);
    FUZZ_CHECK(pkt.Size() == (size_t{pkt.LengthWords()} + 1) * 4);
    FUZZ_CHECK(span.Holds(pkt.Body()));
    FUZZ_CHECK(RtcpPacket::kHeaderSize + pkt.Body().size + pkt.PaddingSize() == pkt.Size());
    total += pkt.Size();

    if (const auto sr = SenderReport::Parse(pkt))
      CheckSenderReport(*sr);
    if (const auto rr = ReceiverReport::Parse(pkt))
      CheckReceiverReport(*rr);
    if (const auto sdes = Sdes::Parse(pkt))
      CheckSdes(*sdes, span);
    if (const auto bye = Bye::Parse(pkt))
      CheckBye(*bye, span);
    CheckFeedback(pkt, span);
    if (const auto xr = Xr::Parse(pkt))
      CheckXr(*xr, span);
  }
  FUZZ_CHECK(it.Offset() == total);
  if (it.Error())
    FUZZ_CHECK(static_cast<size_t>(*it.Error()) < kParseErrorCount && total < size);
  else
    FUZZ_CHECK(total == size);
  return 0;
}
