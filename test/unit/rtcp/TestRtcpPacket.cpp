#include "sluice/rtcp/NtpTime.hpp"
#include "sluice/rtcp/RtcpPacket.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace sluice::rtcp;

namespace {

using Bytes = std::vector<uint8_t>;

std::string Text(ByteView v) {
  return std::string(reinterpret_cast<const char*>(v.data), v.size);
}

// The single packet at the start of `b`; fails the test when it is bad.
RtcpPacket First(const Bytes& b) {
  const auto pkt = RtcpPacket::Parse(b.data(), b.size());
  REQUIRE(pkt.has_value());
  return *pkt;
}

// Iterates a compound; returns the packet types and sets *err.
std::vector<uint8_t> Types(const Bytes& b, std::optional<ParseError>* err) {
  CompoundIterator it(b.data(), b.size());
  RtcpPacket pkt;
  std::vector<uint8_t> types;
  while (it.Next(&pkt))
    types.push_back(pkt.Type());
  *err = it.Error();
  return types;
}

std::vector<uint16_t> NackSeqs(const GenericNack& nack) {
  std::vector<uint16_t> out;
  NackSeqIterator it = nack.Seqs();
  uint16_t seq = 0;
  while (it.Next(&seq))
    out.push_back(seq);
  return out;
}

// SR (RFC 3550 §6.4.1) with one report block, then SDES with a CNAME.
// clang-format off
const Bytes kSrSdes = {
    // |V=2|P=0| RC=1 | PT=200 | length=12 |
    0x81, 0xC8, 0x00, 0x0C,
    0x11, 0x22, 0x33, 0x44,   // SSRC of sender
    0xE9, 0x3C, 0x8A, 0x00,   // NTP seconds
    0x80, 0x00, 0x00, 0x00,   // NTP fraction (0.5 s)
    0x00, 0x01, 0xE2, 0x40,   // RTP timestamp 123456
    0x00, 0x00, 0x03, 0xE8,   // packet count 1000
    0x00, 0x0F, 0x42, 0x40,   // octet count 1000000
    0xAA, 0xBB, 0xCC, 0xDD,   // SSRC_1
    0x40, 0xFF, 0xFF, 0xFE,   // fraction lost 64/256 | cumulative lost -2
    0x00, 0x01, 0x00, 0x05,   // extended highest seq 65541
    0x00, 0x00, 0x00, 0x20,   // jitter 32
    0x3C, 0x8A, 0x80, 0x00,   // LSR
    0x00, 0x01, 0x00, 0x00,   // DLSR (1 s)
    // |V=2|P=0| SC=1 | PT=202 | length=3 |
    0x81, 0xCA, 0x00, 0x03,
    0x11, 0x22, 0x33, 0x44,   // SSRC
    0x01, 0x03, 'a',  'b',    // CNAME, length 3
    'c',  0x00, 0x00, 0x00,   // end of items, pad to 32 bits
};
// clang-format on

} // namespace

TEST_CASE("RTCP: SR + SDES compound", "[rtcp][packet]") {
  CompoundIterator it(kSrSdes.data(), kSrSdes.size());
  RtcpPacket pkt;
  REQUIRE(it.Next(&pkt));
  CHECK(pkt.Type() == 200);
  CHECK(pkt.Count() == 1);
  CHECK(pkt.Size() == 52);
  CHECK(pkt.LengthWords() == 12);
  CHECK_FALSE(pkt.Padding());
  CHECK(pkt.Body().size == 48);

  const auto sr = SenderReport::Parse(pkt);
  REQUIRE(sr.has_value());
  CHECK(sr->Ssrc() == 0x11223344);
  CHECK(sr->NtpSeconds() == 0xE93C8A00);
  CHECK(sr->NtpFraction() == 0x80000000);
  CHECK(sr->RtpTimestamp() == 123456);
  CHECK(sr->PacketCount() == 1000);
  CHECK(sr->OctetCount() == 1000000);
  REQUIRE(sr->ReportCount() == 1);
  const ReportBlock rb = sr->Report(0);
  CHECK(rb.ssrc == 0xAABBCCDD);
  CHECK(rb.fractionLost == 64);
  CHECK(rb.cumulativeLost == -2);
  CHECK(rb.extendedHighestSeq == 65541);
  CHECK(rb.jitter == 32);
  CHECK(rb.lsr == 0x3C8A8000);
  CHECK(rb.dlsr == 0x00010000);
  CHECK_FALSE(ReceiverReport::Parse(pkt).has_value());
  CHECK_FALSE(Sdes::Parse(pkt).has_value());

  REQUIRE(it.Next(&pkt));
  CHECK(pkt.Type() == 202);
  const auto sdes = Sdes::Parse(pkt);
  REQUIRE(sdes.has_value());
  CHECK(sdes->ChunkCount() == 1);
  CHECK(Text(sdes->Cname(0x11223344)) == "abc");
  CHECK_FALSE(sdes->Cname(0x11223345));

  CHECK_FALSE(it.Next(&pkt));
  CHECK_FALSE(it.Error().has_value());
  CHECK(it.Offset() == kSrSdes.size());
}

TEST_CASE("RTCP: report block cumulative lost is signed 24-bit", "[rtcp][packet]") {
  uint8_t p[24] = {0, 0, 0, 1, 0xFF, 0x7F, 0xFF, 0xFF};
  CHECK(ReportBlock::Decode(p).cumulativeLost == 0x7FFFFF);
  CHECK(ReportBlock::Decode(p).fractionLost == 0xFF);
  p[5] = 0x80;
  p[6] = 0x00;
  p[7] = 0x00;
  CHECK(ReportBlock::Decode(p).cumulativeLost == -0x800000);
  p[5] = 0xFF;
  p[6] = 0xFF;
  p[7] = 0xFF;
  CHECK(ReportBlock::Decode(p).cumulativeLost == -1);
}

TEST_CASE("RTCP: RR with two blocks, and truncated report counts", "[rtcp][packet]") {
  // clang-format off
  Bytes b = {
      0x82, 0xC9, 0x00, 0x0D,  // RC=2, PT=201, length 13
      0x01, 0x02, 0x03, 0x04,  // reporter SSRC
      0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04,
      0x00, 0x00, 0x00, 0x0B, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06,
      0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x09,
  };
  // clang-format on
  auto rr = ReceiverReport::Parse(First(b));
  REQUIRE(rr.has_value());
  CHECK(rr->Ssrc() == 0x01020304);
  REQUIRE(rr->ReportCount() == 2);
  CHECK(rr->Report(0).ssrc == 10);
  CHECK(rr->Report(0).extendedHighestSeq == 1);
  CHECK(rr->Report(0).dlsr == 4);
  CHECK(rr->Report(1).ssrc == 11);
  CHECK(rr->Report(1).fractionLost == 1);
  CHECK(rr->Report(1).cumulativeLost == 5);
  CHECK(rr->Report(1).dlsr == 9);
  CHECK_FALSE(SenderReport::Parse(First(b)).has_value());

  // RC=3 claims a block the length does not hold.
  b[0] = 0x83;
  CHECK_FALSE(ReceiverReport::Parse(First(b)).has_value());
  // An SR body shorter than the sender info.
  const Bytes shortSr = {0x80, 0xC8, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04};
  CHECK_FALSE(SenderReport::Parse(First(shortSr)).has_value());
}

TEST_CASE("RTCP: unknown packet type in the middle is yielded", "[rtcp][packet]") {
  // clang-format off
  const Bytes b = {
      0x80, 0xC9, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04,   // empty RR
      0x80, 0xD2, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF,   // PT 210: unknown
      0x81, 0xCB, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04,   // BYE
  };
  // clang-format on
  std::optional<ParseError> err;
  CHECK(Types(b, &err) == std::vector<uint8_t>{201, 210, 203});
  CHECK_FALSE(err.has_value());
}

TEST_CASE("RTCP: reduced-size feedback alone (RFC 5506)", "[rtcp][packet]") {
  // |V=2|P=0| FMT=1 | PT=206 | length=2 | sender | media
  const Bytes b = {0x81, 0xCE, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02};
  std::optional<ParseError> err;
  CHECK(Types(b, &err) == std::vector<uint8_t>{206});
  CHECK_FALSE(err.has_value());
  const auto pli = Pli::Parse(First(b));
  REQUIRE(pli.has_value());
  CHECK(pli->SenderSsrc() == 1);
  CHECK(pli->MediaSsrc() == 2);
  CHECK_FALSE(Fir::Parse(First(b)).has_value());
  CHECK_FALSE(GenericNack::Parse(First(b)).has_value());
  CHECK_FALSE(Remb::Parse(First(b)).has_value());
}

TEST_CASE("RTCP: bad headers end iteration, earlier packets stay usable", "[rtcp][packet]") {
  const Bytes rr = {0x80, 0xC9, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04};
  auto withTail = [&rr](Bytes tail) {
    Bytes b = rr;
    b.insert(b.end(), tail.begin(), tail.end());
    return b;
  };
  std::optional<ParseError> err;

  SECTION("TooShort") {
    CHECK(Types(withTail({0x80, 0xC9}), &err) == std::vector<uint8_t>{201});
    CHECK(err == ParseError::TooShort);
    CHECK(Types({}, &err).empty());
    CHECK_FALSE(err.has_value());
  }
  SECTION("BadVersion") {
    CHECK(Types(withTail({0x40, 0xC9, 0x00, 0x01, 0, 0, 0, 0}), &err) == std::vector<uint8_t>{201});
    CHECK(err == ParseError::BadVersion);
    CHECK(Types(withTail({0xC0, 0xC9, 0x00, 0x00}), &err).size() == 1);
    CHECK(err == ParseError::BadVersion);
  }
  SECTION("LengthOverrun") {
    CHECK(Types(withTail({0x80, 0xC9, 0x00, 0x02, 0, 0, 0, 0}), &err) == std::vector<uint8_t>{201});
    CHECK(err == ParseError::LengthOverrun);
    // 0xFFFF words
    CHECK(Types({0x80, 0xC9, 0xFF, 0xFF, 0, 0, 0, 0}, &err).empty());
    CHECK(err == ParseError::LengthOverrun);
  }
  SECTION("BadPadding") {
    // P set, count octet 0.
    CHECK(Types(withTail({0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 0}), &err).size() == 1);
    CHECK(err == ParseError::BadPadding);
    // P set, count 9 > 4 body bytes.
    CHECK(Types(withTail({0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 9}), &err).size() == 1);
    CHECK(err == ParseError::BadPadding);
    // P set on a header-only packet: no room for the count octet.
    CHECK(Types(withTail({0xA0, 0xC9, 0x00, 0x00}), &err).size() == 1);
    CHECK(err == ParseError::BadPadding);
  }
  SECTION("the packet before the bad one is intact") {
    const Bytes b = withTail({0x40, 0, 0, 0});
    CompoundIterator it(b.data(), b.size());
    RtcpPacket pkt;
    REQUIRE(it.Next(&pkt));
    CHECK_FALSE(it.Next(&pkt));
    CHECK_FALSE(it.Next(&pkt)); // stays stopped
    CHECK(it.Error() == ParseError::BadVersion);
    CHECK(it.Offset() == 8);
    const auto first = ReceiverReport::Parse(*RtcpPacket::Parse(b.data(), b.size()));
    REQUIRE(first.has_value());
    CHECK(first->Ssrc() == 0x01020304);
  }
  CHECK(std::string(ParseErrorName(ParseError::BadPadding)) == "bad-padding");
  CHECK(std::string(ParseErrorName(ParseError::TooShort)) == "too-short");
}

TEST_CASE("RTCP: padding is excluded from the body", "[rtcp][packet]") {
  // RR, P=1, length 2: SSRC then 4 padding octets (count 4).
  const Bytes b = {0xA0, 0xC9, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x04};
  const RtcpPacket pkt = First(b);
  CHECK(pkt.Padding());
  CHECK(pkt.PaddingSize() == 4);
  CHECK(pkt.Size() == 12);
  CHECK(pkt.Body().size == 4);
  REQUIRE(ReceiverReport::Parse(pkt).has_value());

  // Padding that eats into a report block makes the RR too short.
  // clang-format off
  Bytes rb = {0xA1, 0xC9, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04,
              0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4};
  // clang-format on
  CHECK(First(rb).Body().size == 24);
  CHECK_FALSE(ReceiverReport::Parse(First(rb)).has_value());
}

TEST_CASE("RTCP: SDES chunks and items", "[rtcp][packet]") {
  // clang-format off
  const Bytes b = {
      0x83, 0xCA, 0x00, 0x08,          // SC=3, PT=202, length 8
      0x00, 0x00, 0x00, 0x0A,          // chunk 1: SSRC 10
      0x02, 0x02, 'h',  'i',           //   NAME "hi"
      0x01, 0x01, 'x',  0x00,          //   CNAME "x", end
      0x00, 0x00, 0x00, 0x0B,          // chunk 2: SSRC 11
      0x01, 0x04, 'h',  'o',           //   CNAME "host"
      's',  't',  0x00, 0x00,          //   end, pad
      0x00, 0x00, 0x00, 0x0C,          // chunk 3: SSRC 12, no items
      0x00, 0x00, 0x00, 0x00,
  };
  // clang-format on
  const auto sdes = Sdes::Parse(First(b));
  REQUIRE(sdes.has_value());
  CHECK(sdes->ChunkCount() == 3);
  CHECK(Text(sdes->Cname(10)) == "x");
  CHECK(Text(sdes->Cname(11)) == "host");
  CHECK_FALSE(sdes->Cname(12));

  SdesChunkIterator chunks = sdes->Chunks();
  SdesChunk chunk;
  REQUIRE(chunks.Next(&chunk));
  CHECK(chunk.ssrc == 10);
  SdesItemIterator items = chunk.Items();
  SdesItem item;
  REQUIRE(items.Next(&item));
  CHECK(item.type == 2);
  CHECK(Text(item.text) == "hi");
  REQUIRE(items.Next(&item));
  CHECK(item.type == kSdesCname);
  CHECK(Text(item.text) == "x");
  CHECK_FALSE(items.Next(&item));
  REQUIRE(chunks.Next(&chunk));
  CHECK(chunk.ssrc == 11);
  REQUIRE(chunks.Next(&chunk));
  CHECK(chunk.ssrc == 12);
  CHECK(chunk.items.size == 0);
  CHECK_FALSE(chunks.Next(&chunk));

  SECTION("malformed") {
    Bytes bad = b;
    bad[0] = 0x84; // a 4th chunk that is not there
    CHECK_FALSE(Sdes::Parse(First(bad)).has_value());
    bad = b;
    bad[21] = 0x06; // CNAME length runs into chunk 3, leaving no terminator
    CHECK_FALSE(Sdes::Parse(First(bad)).has_value());
    // Items end exactly at the packet end with no null octet.
    const Bytes noEnd = {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b'};
    CHECK_FALSE(Sdes::Parse(First(noEnd)).has_value());
    // The null octet is the chunk's last byte: already 32-bit aligned.
    const Bytes noPad = {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 'a', 0x00};
    CHECK(Text(Sdes::Parse(First(noPad))->Cname(1)) == "a");
    // An empty CNAME is well formed.
    const Bytes emptyCname = {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x00, 0x00, 0x00};
    CHECK(Text(Sdes::Parse(First(emptyCname))->Cname(1)).empty());
    // Null octet present, but the P padding cuts the chunk's 32-bit padding.
    const Bytes cutPad = {0xA1, 0xCA, 0x00, 0x03, 0,    0,    0,    1,
                          0x01, 0x02, 'a',  'b',  0x00, 0x00, 0x00, 0x03};
    CHECK_FALSE(Sdes::Parse(First(cutPad)).has_value());
  }
}

TEST_CASE("RTCP: BYE with and without reason", "[rtcp][packet]") {
  // clang-format off
  Bytes b = {
      0x82, 0xCB, 0x00, 0x04,        // SC=2, PT=203, length 4
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x02,
      0x04, 'g',  'o',  'n',         // reason length 4
      'e',  0x00, 0x00, 0x00,
  };
  // clang-format on
  auto bye = Bye::Parse(First(b));
  REQUIRE(bye.has_value());
  REQUIRE(bye->SsrcCount() == 2);
  CHECK(bye->Ssrc(0) == 1);
  CHECK(bye->Ssrc(1) == 2);
  CHECK(Text(bye->Reason()) == "gone");

  b[12] = 0x08; // reason overruns the packet
  CHECK_FALSE(Bye::Parse(First(b)).has_value());
  b[0] = 0x85; // 5 SSRCs in 4 words
  CHECK_FALSE(Bye::Parse(First(b)).has_value());

  const Bytes plain = {0x81, 0xCB, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07};
  bye = Bye::Parse(First(plain));
  REQUIRE(bye.has_value());
  CHECK(bye->SsrcCount() == 1);
  CHECK(bye->Ssrc(0) == 7);
  CHECK_FALSE(bye->Reason());
}

TEST_CASE("RTCP: generic NACK expands PID + BLP, across the wrap", "[rtcp][packet][nack]") {
  // RFC 4585 §6.2.1
  //   |V=2|P=0| FMT=1 | PT=205 | length |
  //   | SSRC of packet sender | SSRC of media source |
  //   | PID | BLP | ...
  // clang-format off
  const Bytes b = {
      0x81, 0xCD, 0x00, 0x04,
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x02,
      0xFF, 0xFA, 0x00, 0xFF,      // 65530 + bits 0..7: 65531..65535, 0, 1, 2
      0x00, 0x64, 0x80, 0x01,      // 100 + bit 0 (101) + bit 15 (116)
  };
  // clang-format on
  const auto nack = GenericNack::Parse(First(b));
  REQUIRE(nack.has_value());
  CHECK(nack->SenderSsrc() == 1);
  CHECK(nack->MediaSsrc() == 2);
  REQUIRE(nack->PairCount() == 2);
  CHECK(nack->Pid(0) == 65530);
  CHECK(nack->Blp(0) == 0x00FF);
  CHECK(nack->Pid(1) == 100);
  CHECK(nack->Blp(1) == 0x8001);
  CHECK(NackSeqs(*nack) ==
        std::vector<uint16_t>{65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 100, 101, 116});

  // No FCI at all.
  const Bytes empty = {0x81, 0xCD, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  CHECK_FALSE(GenericNack::Parse(First(empty)).has_value());
  // FCI cut to 2 bytes by padding.
  const Bytes half = {0xA1, 0xCD, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x05, 0x00, 0x02};
  CHECK_FALSE(GenericNack::Parse(First(half)).has_value());
  // Wrong FMT.
  Bytes fmt = b;
  fmt[0] = 0x82;
  CHECK_FALSE(GenericNack::Parse(First(fmt)).has_value());
}

TEST_CASE("RTCP: transport-cc feedback is recognized", "[rtcp][packet]") {
  // clang-format off
  const Bytes b = {
      0x8F, 0xCD, 0x00, 0x05,      // FMT=15, PT=205, length 5
      0x00, 0x00, 0x00, 0x01,      // sender
      0x00, 0x00, 0x00, 0x02,      // media
      0x00, 0x10, 0x00, 0x02,      // base seq 16, status count 2
      0x00, 0x01, 0x00, 0x07,      // reference time 256, fb pkt count 7
      0x20, 0x02, 0x04, 0x08,      // one run-length chunk, two deltas
  };
  // clang-format on
  const auto fb = TransportCcFeedback::Parse(First(b));
  REQUIRE(fb.has_value());
  CHECK(fb->SenderSsrc() == 1);
  CHECK(fb->MediaSsrc() == 2);
  CHECK(fb->BaseSequenceNumber() == 16);
  CHECK(fb->PacketStatusCount() == 2);
  CHECK(fb->ReferenceTime() == 256);
  CHECK(fb->FeedbackPacketCount() == 7);
  CHECK(fb->Fci().size == 12);
  CHECK_FALSE(GenericNack::Parse(First(b)).has_value());

  const Bytes shortFci = {0x8F, 0xCD, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 1};
  CHECK_FALSE(TransportCcFeedback::Parse(First(shortFci)).has_value());
}

TEST_CASE("RTCP: FIR with several entries", "[rtcp][packet]") {
  // RFC 5104 §4.3.1: | SSRC | Seq nr. | Reserved | per entry; media SSRC 0.
  // clang-format off
  const Bytes b = {
      0x84, 0xCE, 0x00, 0x06,
      0x00, 0x00, 0x00, 0x01,      // sender
      0x00, 0x00, 0x00, 0x00,      // media source: 0
      0x00, 0x00, 0x00, 0x0A,      // entry 1 SSRC 10
      0x07, 0x00, 0x00, 0x00,      //   seq 7
      0xFF, 0xFF, 0xFF, 0xFF,      // entry 2 SSRC 0xFFFFFFFF
      0xFF, 0x00, 0x00, 0x00,      //   seq 255
  };
  // clang-format on
  const auto fir = Fir::Parse(First(b));
  REQUIRE(fir.has_value());
  CHECK(fir->SenderSsrc() == 1);
  REQUIRE(fir->EntryCount() == 2);
  CHECK(fir->Entry(0).ssrc == 10);
  CHECK(fir->Entry(0).seqNr == 7);
  CHECK(fir->Entry(1).ssrc == 0xFFFFFFFF);
  CHECK(fir->Entry(1).seqNr == 255);
  CHECK_FALSE(Pli::Parse(First(b)).has_value());

  // Half an entry.
  const Bytes half = {0x84, 0xCE, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 10};
  CHECK_FALSE(Fir::Parse(First(half)).has_value());
}

TEST_CASE("RTCP: REMB bitrate exponents and SSRC list", "[rtcp][packet][remb]") {
  // clang-format off
  Bytes b = {
      0x8F, 0xCE, 0x00, 0x06,      // FMT=15 (AFB), PT=206, length 6
      0x00, 0x00, 0x00, 0x01,      // sender
      0x00, 0x00, 0x00, 0x00,      // media source 0
      'R',  'E',  'M',  'B',
      0x02, 0x0B, 0xD0, 0x90,      // 2 SSRCs, exp 2, mantissa 250000
      0x00, 0x00, 0x00, 0x0A,
      0x00, 0x00, 0x00, 0x0B,
  };
  // clang-format on
  auto remb = Remb::Parse(First(b));
  REQUIRE(remb.has_value());
  CHECK(remb->SenderSsrc() == 1);
  CHECK(remb->Bitrate() == 1000000);
  REQUIRE(remb->SsrcCount() == 2);
  CHECK(remb->Ssrc(0) == 10);
  CHECK(remb->Ssrc(1) == 11);

  auto bitrate = [&b](uint8_t e, uint8_t m1, uint8_t m2) {
    b[17] = e;
    b[18] = m1;
    b[19] = m2;
    return Remb::Parse(First(b))->Bitrate();
  };
  CHECK(bitrate(0x03, 0xFF, 0xFF) == 262143);                    // exp 0, max mantissa
  CHECK(bitrate(0x04, 0x00, 0x01) == 2);                         // exp 1
  CHECK(bitrate(0xFC, 0x00, 0x01) == (uint64_t{1} << 63));       // exp 63
  CHECK(bitrate(0xFC, 0x00, 0x02) == UINT64_MAX);                // saturates
  CHECK(bitrate(0xB8, 0x00, 0x01) == (uint64_t{1} << 46));       // exp 46
  CHECK(bitrate(0xBB, 0xFF, 0xFF) == (uint64_t{0x3FFFF} << 46)); // fits exactly
  CHECK(bitrate(0xFC, 0x00, 0x00) == 0);

  b[16] = 3; // SSRC count overruns
  CHECK_FALSE(Remb::Parse(First(b)).has_value());
  b[16] = 0; // no SSRCs is fine
  CHECK(Remb::Parse(First(b)).has_value());
  b[12] = 'X'; // some other AFB message
  CHECK_FALSE(Remb::Parse(First(b)).has_value());
}

TEST_CASE("RTCP: XR with RRTR, DLRR and an unknown block", "[rtcp][packet][xr]") {
  // RFC 3611: | BT | type-specific | block length (words after the header) |
  // clang-format off
  Bytes b = {
      0x80, 0xCF, 0x00, 0x0C,      // PT=207, length 12
      0x00, 0x00, 0x00, 0x01,      // SSRC
      0x04, 0x00, 0x00, 0x02,      // RRTR, 2 words
      0xE9, 0x3C, 0x8A, 0x00,      //   NTP seconds
      0x40, 0x00, 0x00, 0x00,      //   NTP fraction
      0x05, 0x00, 0x00, 0x06,      // DLRR, 2 sub-blocks
      0x00, 0x00, 0x00, 0x0A, 0x8A, 0x00, 0x40, 0x00, 0x00, 0x00, 0x80, 0x00,
      0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x07, 0x33, 0x00, 0x00,      // BT 7, empty
  };
  // clang-format on
  const auto xr = Xr::Parse(First(b));
  REQUIRE(xr.has_value());
  CHECK(xr->Ssrc() == 1);
  XrBlockIterator blocks = xr->Blocks();
  XrBlock block;

  REQUIRE(blocks.Next(&block));
  CHECK(block.type == kXrRrtr);
  const auto rrtr = XrRrtr::Parse(block);
  REQUIRE(rrtr.has_value());
  CHECK(rrtr->ntpSeconds == 0xE93C8A00);
  CHECK(rrtr->ntpFraction == 0x40000000);
  CHECK_FALSE(XrDlrr::Parse(block).has_value());

  REQUIRE(blocks.Next(&block));
  const auto dlrr = XrDlrr::Parse(block);
  REQUIRE(dlrr.has_value());
  REQUIRE(dlrr->Count() == 2);
  CHECK(dlrr->SubBlock(0).ssrc == 10);
  CHECK(dlrr->SubBlock(0).lrr == 0x8A004000);
  CHECK(dlrr->SubBlock(0).dlrr == 0x8000);
  CHECK(dlrr->SubBlock(1).ssrc == 11);
  CHECK(dlrr->SubBlock(1).lrr == 0);
  CHECK_FALSE(XrRrtr::Parse(block).has_value());

  REQUIRE(blocks.Next(&block));
  CHECK(block.type == 7);
  CHECK(block.typeSpecific == 0x33);
  CHECK(block.body.size == 0);
  CHECK_FALSE(blocks.Next(&block));

  b[50] = 0x01; // last block claims a word that is not there
  CHECK_FALSE(Xr::Parse(First(b)).has_value());
  b[50] = 0x00;
  b[23] = 0x05; // DLRR of 5 words: not whole sub-blocks (the rest reads as BT 0, empty)
  const auto xr5 = Xr::Parse(First(b));
  REQUIRE(xr5.has_value());
  blocks = xr5->Blocks();
  REQUIRE(blocks.Next(&block));
  REQUIRE(blocks.Next(&block));
  CHECK(block.type == kXrDlrr);
  CHECK_FALSE(XrDlrr::Parse(block).has_value());
  REQUIRE(blocks.Next(&block));
  CHECK(block.type == 0);
  REQUIRE(blocks.Next(&block));
  CHECK(block.type == 7);
}

TEST_CASE("NTP: wall clock, compact form and RTT", "[rtcp][ntp]") {
  CHECK(NtpFromUnixMs(0).seconds == 2208988800u);
  CHECK(NtpFromUnixMs(0).fraction == 0);
  CHECK(NtpFromUnixMs(1500).seconds == 2208988801u);
  CHECK(NtpFromUnixMs(1500).fraction == 0x80000000u);
  CHECK(NtpFromUnixMs(1250).fraction == 0x40000000u);
  for (uint64_t ms : {uint64_t{0}, uint64_t{1}, uint64_t{999}, uint64_t{1700000000123},
                      uint64_t{2085978495999}}) // the last ms of NTP era 0
    CHECK(NtpToUnixMs(NtpFromUnixMs(ms)) == ms);
  CHECK(NtpTime{0x12345678, 0x9ABCDEF0}.Compact() == 0x56789ABC);

  CHECK(CompactFromMs(1000) == 65536);
  CHECK(CompactFromMs(500) == 32768);
  CHECK(CompactToMs(65536) == 1000);
  CHECK(CompactToMs(6554) == 100);

  // A = 1.6 s, LSR = 1 s, DLSR = 0.5 s: 100 ms.
  CHECK(RttMsFromReport(0x0001999A, 0x00010000, 0x00008000) == 100u);
  // Compact time wrapped between the SR and the report.
  CHECK(RttMsFromReport(0x00001000, 0xFFFF8000, 0x00004000) == 313u);
  CHECK(RttMsFromReport(0x00010000, 0x00010000, 0) == 0u);
  // No SR received yet.
  CHECK_FALSE(RttMsFromReport(0x00020000, 0, 0).has_value());
  // Negative: the peer claims to have held our SR longer than it was out.
  CHECK_FALSE(RttMsFromReport(0x00018000, 0x00010000, 0x00010000).has_value());
}

TEST_CASE("RTCP: RTT from a parsed report block", "[rtcp][ntp]") {
  const auto sr = SenderReport::Parse(First(kSrSdes));
  REQUIRE(sr.has_value());
  const ReportBlock rb = sr->Report(0);
  // Our SR went out at compact 0x3C8A8000; the peer held it 1 s; now + 1.25 s.
  CHECK(RttMsFromReport(0x3C8A8000 + 0x00014000, rb.lsr, rb.dlsr) == 250u);
}
