#include "sluice/rtcp/TransportCc.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "sluice/transport/TccRecorder.hpp"
#include "sluice/transport/TccSendHistory.hpp"

using namespace sluice::rtcp;
using sluice::transport::TccRecorder;

namespace {

struct Sent {
  uint16_t seq;
  bool received;
  int64_t arrivalUs;
};

std::vector<uint8_t> Build(const TccFeedbackBuilder& b) {
  std::vector<uint8_t> out(b.Size());
  REQUIRE(b.Write(out.data(), out.size(), 0x11223344, 0x55667788) == out.size());
  return out;
}

struct Info {
  uint16_t base = 0;
  uint8_t fbCount = 0;
  int64_t referenceUs = 0;
};

std::vector<TccPacketResult> Read(const std::vector<uint8_t>& bytes, Info* info = nullptr) {
  const auto pkt = RtcpPacket::Parse(bytes.data(), bytes.size());
  REQUIRE(pkt.has_value());
  REQUIRE(pkt->Size() == bytes.size());
  const auto fb = TransportCcFeedback::Parse(*pkt);
  REQUIRE(fb.has_value());
  TccFeedbackReader reader(*fb);
  REQUIRE(reader.Valid());
  std::vector<TccPacketResult> out;
  TccPacketResult r;
  while (reader.Next(&r))
    out.push_back(r);
  REQUIRE(out.size() == reader.StatusCount());
  if (info != nullptr)
    *info = {reader.BaseSeq(), reader.FeedbackCount(), reader.ReferenceUs()};
  return out;
}

int64_t Tick(int64_t us) {
  return (us >= 0 ? us : us - 249) / 250;
}

// Adds `sent` to a builder, reads it back, and checks every status and every
// arrival (to the 250 µs tick, relative to the first received packet).
void RoundTrip(uint16_t base, const std::vector<Sent>& sent) {
  TccFeedbackBuilder b;
  b.Reset(base, 42);
  for (const Sent& s : sent)
    REQUIRE((s.received ? b.AddReceived(s.arrivalUs) : b.AddLost()));
  Info info;
  const auto got = Read(Build(b), &info);
  REQUIRE(info.base == base);
  REQUIRE(info.fbCount == 42);
  REQUIRE(got.size() == sent.size());
  const Sent* first = nullptr;
  const TccPacketResult* firstGot = nullptr;
  for (size_t i = 0; i < sent.size(); ++i) {
    INFO("status " << i);
    REQUIRE(got[i].seq == static_cast<uint16_t>(base + i));
    REQUIRE(got[i].received == sent[i].received);
    if (!sent[i].received)
      continue;
    if (first == nullptr) {
      first = &sent[i];
      firstGot = &got[i];
      // The first arrival, seen from the reference time (64 ms units).
      REQUIRE(got[i].arrivalUs - info.referenceUs ==
              Tick(sent[i].arrivalUs) * 250 - (sent[i].arrivalUs / 64000) * 64000);
      continue;
    }
    REQUIRE(got[i].arrivalUs - firstGot->arrivalUs ==
            (Tick(sent[i].arrivalUs) - Tick(first->arrivalUs)) * 250);
  }
}

} // namespace

TEST_CASE("transport-cc feedback: byte-exact against the draft's layout") {
  TccFeedbackBuilder b;
  b.Reset(65534, 7);
  REQUIRE(b.AddReceived(1'000'000)); // reference 15 (960 ms), delta 160 ticks: small
  REQUIRE(b.AddLost());              // seq 65535
  REQUIRE(b.AddReceived(1'100'000)); // seq 0: +400 ticks, large
  REQUIRE(b.AddReceived(1'100'500)); // seq 1: +2 ticks, small
  const std::vector<uint8_t> want = {
      0x8F, 0xCD, 0x00, 0x06,                         // V=2 FMT=15, PT=205, length 6
      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // sender, media SSRC
      0xFF, 0xFE, 0x00, 0x04,                         // base 65534, 4 statuses
      0x00, 0x00, 0x0F, 0x07,                         // reference 15, fb count 7
      0xD2, 0x40,                                     // 2-bit vector: small, none, large, small
      0xA0, 0x01, 0x90, 0x02,                         // deltas 160, 400 (2 bytes), 2
      0x00, 0x00,                                     // padding
  };
  REQUIRE(Build(b) == want);
  const auto got = Read(want);
  REQUIRE(got.size() == 4);
  CHECK(got[0].seq == 65534);
  CHECK(got[1].seq == 65535);
  CHECK(got[2].seq == 0);
  CHECK(got[3].seq == 1);
  CHECK(!got[1].received);
  CHECK(got[0].arrivalUs == 1'000'000);
  CHECK(got[2].arrivalUs == 1'100'000);
  CHECK(got[3].arrivalUs == 1'100'500);
}

TEST_CASE("transport-cc feedback: run-length and one-bit chunks") {
  TccFeedbackBuilder b;
  b.Reset(100, 0);
  for (int i = 0; i < 20; ++i) // a run of 20 small deltas: one run-length chunk
    REQUIRE(b.AddReceived(64000 + i * 1000));
  for (int i = 0; i < 3; ++i)
    REQUIRE(b.AddLost());
  REQUIRE(b.AddReceived(64000 + 30'000)); // then 1 small: a one-bit vector of 4
  const auto bytes = Build(b);
  REQUIRE(bytes[20] == 0x20); // run: S=01, length 20
  REQUIRE(bytes[21] == 20);
  REQUIRE(bytes[22] == 0x84); // one-bit vector: 0 0 0 1, then padding symbols
  REQUIRE(bytes[23] == 0x00);
}

TEST_CASE("transport-cc feedback: round trips at every chunk boundary and across the wrap") {
  std::mt19937 rng(7);
  for (const size_t n : {1u, 2u, 6u, 7u, 8u, 13u, 14u, 15u, 27u, 28u, 29u, 100u, 400u}) {
    for (int pattern = 0; pattern < 6; ++pattern) {
      INFO("n " << n << " pattern " << pattern);
      std::vector<Sent> sent;
      int64_t t = 5'000'123;
      for (size_t i = 0; i < n; ++i) {
        bool received = true;
        switch (pattern) {
        case 0: t += 2000; break;                                   // steady
        case 1: received = i % 2 == 0; t += 1000; break;             // every other lost
        case 2: received = i == 0 || rng() % 4 != 0; t += rng() % 90'000; break; // large gaps
        case 3: received = i == 0 || i + 1 == n; t += 500; break;   // a long loss run
        case 4: t += static_cast<int64_t>(rng() % 20'000) - 8000; break; // reordering: negative
        case 5: received = i == 0 || rng() % 9 != 0; t += (i % 15 == 0) ? 70'000 : 300; break;
        }
        sent.push_back({0, received, t});
      }
      RoundTrip(static_cast<uint16_t>(65535 - n / 2), sent);
    }
  }
}

TEST_CASE("transport-cc feedback: the reference time wraps at 24 bits") {
  const int64_t base = (int64_t{1} << 24) * 64000 + 3 * 64000 + 1234;
  RoundTrip(10, {{0, true, base}, {0, true, base + 5000}, {0, false, 0}, {0, true, base + 9000}});
  TccFeedbackBuilder b;
  b.Reset(10, 0);
  REQUIRE(b.AddReceived(base));
  const auto bytes = Build(b);
  CHECK(bytes[16] == 0x00);
  CHECK(bytes[17] == 0x00);
  CHECK(bytes[18] == 0x03); // reference 2^24 + 3 written as 3
}

TEST_CASE("transport-cc feedback: limits") {
  TccFeedbackBuilder b;
  b.Reset(0, 0);
  REQUIRE(b.AddReceived(0));
  CHECK_FALSE(b.AddReceived(int64_t{40000} * 250)); // > 32767 ticks after the last
  CHECK(b.Count() == 1);
  CHECK(b.AddReceived(int64_t{32000} * 250));
  uint8_t small[8];
  CHECK(b.Write(small, sizeof(small), 1, 2) == 0);
  TccFeedbackBuilder lostOnly;
  lostOnly.Reset(0, 0);
  REQUIRE(lostOnly.AddLost());
  uint8_t buf[64];
  CHECK(lostOnly.Write(buf, sizeof(buf), 1, 2) == 0); // no reference without a received packet
  TccFeedbackBuilder full;
  full.Reset(0, 0);
  size_t added = 0;
  while (full.AddReceived(static_cast<int64_t>(added) * 100'000))
    ++added;
  CHECK(added <= TccFeedbackBuilder::kMaxPackets);
  CHECK(full.Size() <= TccFeedbackBuilder::kMaxBytes);
}

TEST_CASE("transport-cc feedback: the reader refuses what does not add up") {
  TccFeedbackBuilder b;
  b.Reset(1, 0);
  for (int i = 0; i < 10; ++i)
    REQUIRE(b.AddReceived(64000 + i * 100'000)); // large deltas: 2 bytes each
  auto bytes = Build(b);
  auto reads = [](std::vector<uint8_t> v) {
    const auto pkt = RtcpPacket::Parse(v.data(), v.size());
    if (!pkt)
      return false;
    const auto fb = TransportCcFeedback::Parse(*pkt);
    return fb.has_value() && TccFeedbackReader(*fb).Valid();
  };
  REQUIRE(reads(bytes));
  SECTION("more statuses than the chunks hold") {
    bytes[15] = 200;
    CHECK_FALSE(reads(bytes));
  }
  SECTION("deltas cut short") {
    bytes.resize(bytes.size() - 8);
    bytes[3] = static_cast<uint8_t>(bytes.size() / 4 - 1);
    CHECK_FALSE(reads(bytes));
  }
  SECTION("a reserved two-bit symbol") {
    bytes[20] = 0xFF;
    CHECK_FALSE(reads(bytes));
  }
  SECTION("an empty run") {
    bytes[20] = 0x20;
    bytes[21] = 0x00;
    CHECK_FALSE(reads(bytes));
  }
}

TEST_CASE("transport-cc recorder: reports every seq once, losses included, across the wrap") {
  TccRecorder rec;
  TccFeedbackBuilder b;
  CHECK_FALSE(rec.Build(&b));
  int64_t t = 1'000'000;
  for (uint16_t seq = 65530; seq != 6; ++seq) {
    t += 1000;
    if (seq != 65533 && seq != 2)
      CHECK_FALSE(rec.Record(seq, t));
  }
  CHECK(rec.MemoryBytes() > 0);
  REQUIRE(rec.Build(&b));
  const auto got = Read(Build(b));
  REQUIRE(got.size() == 12); // 65530 .. 5
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].seq == static_cast<uint16_t>(65530 + i));
    CHECK(got[i].received == (got[i].seq != 65533 && got[i].seq != 2));
  }
  CHECK_FALSE(rec.Build(&b));
  // Late: 65533 arrives after it was reported lost; a duplicate of 5.
  CHECK_FALSE(rec.Record(65533, t + 1));
  CHECK_FALSE(rec.Record(5, t + 2));
  CHECK(rec.GetCounters().late == 2);
  CHECK_FALSE(rec.Pending());
  // The next feedback starts where the last one ended, its count one more.
  rec.Record(7, t + 5000);
  REQUIRE(rec.Build(&b));
  Info info;
  const auto next = Read(Build(b), &info);
  CHECK(info.base == 6);
  CHECK(info.fbCount == 1);
  REQUIRE(next.size() == 2);
  CHECK_FALSE(next[0].received);
  CHECK(next[1].received);
}

TEST_CASE("transport-cc recorder: asks for feedback when the span fills; a jump starts over") {
  TccRecorder rec;
  int64_t t = 0;
  uint16_t seq = 100;
  size_t n = 0;
  while (!rec.Record(seq++, t += 100))
    ++n;
  CHECK(n + 1 == TccRecorder::kMaxSpan);
  TccFeedbackBuilder b;
  REQUIRE(rec.Build(&b));
  CHECK(b.Count() == TccRecorder::kMaxSpan);
  CHECK_FALSE(rec.Build(&b));
  rec.Record(seq + 5000, t += 100); // far ahead: the ring restarts there
  REQUIRE(rec.Build(&b));
  CHECK(b.BaseSeq() == static_cast<uint16_t>(seq + 5000));
  CHECK(b.Count() == 1);
}

TEST_CASE("transport-cc send history: records once feedback started, forgets beyond its ring") {
  sluice::transport::TccSendHistory h;
  sluice::transport::TccSendHistory::Sent sent{};
  CHECK(h.Next(1000, 1200) == 1);
  CHECK_FALSE(h.Find(1, 2000, &sent)); // not recording yet
  CHECK(h.MemoryBytes() == 0);
  h.Record();
  CHECK(h.MemoryBytes() == sluice::transport::TccSendHistory::kSlots * 8);
  const int64_t base = (int64_t{1} << 33) + 5; // send times past 32 bits of µs
  for (int i = 0; i < 300; ++i)
    h.Next(base + i * 1000, 100 + i);
  // seqs 2..301 sent; the ring keeps the last 256: 46..301.
  CHECK_FALSE(h.Find(45, base + 400'000, &sent));
  REQUIRE(h.Find(46, base + 400'000, &sent));
  CHECK(sent.sendUs == base + 44 * 1000);
  CHECK(sent.size == 144);
  REQUIRE(h.Find(301, base + 400'000, &sent));
  CHECK(sent.sendUs == base + 299 * 1000);
  CHECK_FALSE(h.Find(302, base + 400'000, &sent)); // not sent yet
  CHECK_FALSE(h.Find(1, base + 400'000, &sent));
}
