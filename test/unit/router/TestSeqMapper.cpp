#include "sluice/router/SeqMapper.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <vector>

using sluice::router::SeqMapper;

namespace {

struct Sent {
  int64_t out;
  int64_t producerExt;
  uint32_t tsOffset;
};

// Maps producer seqs [from, from + n) except those in `lost`, recording what
// was sent.
void Send(SeqMapper& m, int64_t from, int n, std::vector<Sent>* sent,
          const std::vector<int64_t>& lost = {}) {
  for (int64_t p = from; p < from + n; ++p) {
    bool skip = false;
    for (auto l : lost)
      skip = skip || l == p;
    if (skip)
      continue;
    const auto out = m.Map(p);
    REQUIRE(out.has_value());
    sent->push_back(Sent{*out, p, m.TsOffset()});
  }
}

uint16_t Seq16(int64_t ext) {
  return static_cast<uint16_t>(ext);
}

void CheckOrigin(const SeqMapper& m, int64_t out, int64_t wantProducer, uint32_t wantTs) {
  INFO("out " << out << " (16-bit " << Seq16(out) << ")");
  const auto o = m.Lookup(Seq16(out));
  REQUIRE(o.has_value());
  CHECK(o->producerExt == wantProducer);
  CHECK(o->tsOffset == wantTs);
}

} // namespace

TEST_CASE("SeqMapper: nothing maps before the first sync", "[router][seqmapper]") {
  SeqMapper m;
  CHECK_FALSE(m.Started());
  CHECK_FALSE(m.Lookup(0).has_value());
  CHECK_FALSE(m.Lookup(1000).has_value());
  CHECK(sizeof(SeqMapper) <= 256); // the whole per-consumer retransmission state
}

TEST_CASE("SeqMapper: the first sync maps identity", "[router][seqmapper]") {
  SeqMapper m;
  m.Sync(1000, 0);
  CHECK(m.Started());
  CHECK(m.TsOffset() == 0);
  // Nothing sent yet: the newest output seq is the one before the first.
  CHECK(m.NewestOut() == 999);
  CHECK_FALSE(m.Lookup(1000).has_value());
  CHECK_FALSE(m.Lookup(999).has_value());
  CHECK(m.Map(1000) == 1000);
  CHECK(m.Map(1001) == 1001);
  CHECK(m.Map(1005) == 1005); // a gap stays a gap
  CHECK(m.NewestOut() == 1005);
  CHECK(m.Map(1003) == 1003); // reordered: mapped, newest unchanged
  CHECK(m.NewestOut() == 1005);
  CHECK(m.Map(999) == std::nullopt); // before the sync point
  CHECK(m.NewestOut() == 1005);
}

TEST_CASE("SeqMapper: a re-sync continues at newest + 1 with the new ts offset",
          "[router][seqmapper]") {
  SeqMapper m;
  m.Sync(1000, 0);
  for (int64_t p = 1000; p < 1010; ++p)
    REQUIRE(m.Map(p) == p);
  // Resume at a key frame far ahead in the producer stream.
  m.Sync(5000, 12345);
  CHECK(m.TsOffset() == 12345);
  CHECK(m.NewestOut() == 1009);
  CHECK(m.Map(5000) == 1010);
  CHECK(m.Map(5001) == 1011);
  CHECK(m.Map(5003) == 1013);
  CHECK(m.NewestOut() == 1013);

  SECTION("a re-sync before anything of the segment was sent starts at the same place") {
    m.Sync(9000, 777);
    m.Sync(9100, 888);
    CHECK(m.Map(9100) == 1014);
    CHECK(m.TsOffset() == 888);
  }
  SECTION("a re-sync to an older producer seq also continues the output") {
    m.Sync(3000, 1);
    CHECK(m.Map(3000) == 1014);
  }
}

TEST_CASE("SeqMapper: packets from before a re-sync do not map", "[router][seqmapper]") {
  SeqMapper m;
  m.Sync(1000, 0);
  for (int64_t p = 1000; p < 1010; ++p)
    REQUIRE(m.Map(p) == p);
  // Paused over 1010..1019; resume at key frame 1020.
  m.Sync(1020, 500);
  CHECK(m.Map(1020) == 1010);
  // Late packets from the paused range or the first segment.
  CHECK(m.Map(1019) == std::nullopt);
  CHECK(m.Map(1015) == std::nullopt);
  CHECK(m.Map(1009) == std::nullopt);
  CHECK(m.Map(1000) == std::nullopt);
  CHECK(m.NewestOut() == 1010);
  CHECK(m.Map(1021) == 1011);
  // Re-sync with nothing sent: a packet just before the sync point does not
  // map, reordering inside the new segment does.
  SeqMapper n;
  n.Sync(2000, 0);
  n.Sync(2050, 9); // re-sync with nothing sent
  CHECK(n.Map(2049) == std::nullopt);
  CHECK(n.Map(2051) == 2001);
  CHECK(n.Map(2050) == 2000);
}

TEST_CASE("SeqMapper: Lookup maps NACKed output seqs back through their segment",
          "[router][seqmapper]") {
  SeqMapper m;
  std::vector<Sent> sent;
  m.Sync(1000, 0);
  Send(m, 1000, 10, &sent); // out 1000..1009
  m.Sync(5000, 111);
  Send(m, 5000, 5, &sent); // out 1010..1014
  m.Sync(200, 222);
  Send(m, 200, 10, &sent); // out 1015..1024

  CheckOrigin(m, 1000, 1000, 0);
  CheckOrigin(m, 1009, 1009, 0);
  CheckOrigin(m, 1010, 5000, 111);
  CheckOrigin(m, 1014, 5004, 111);
  CheckOrigin(m, 1015, 200, 222);
  CheckOrigin(m, 1024, 209, 222);
  for (const auto& s : sent)
    CheckOrigin(m, s.out, s.producerExt, s.tsOffset);

  // Newer than anything sent.
  CHECK_FALSE(m.Lookup(1025).has_value());
  CHECK_FALSE(m.Lookup(1100).has_value());
  CHECK_FALSE(m.Lookup(Seq16(1024 + 0x7FFF)).has_value());
  CHECK_FALSE(m.Lookup(Seq16(1024 + 0x8000)).has_value()); // tie: larger raw is newer
  // Older than the first segment.
  CHECK_FALSE(m.Lookup(999).has_value());
  CHECK_FALSE(m.Lookup(Seq16(1024 - 0x7FFF)).has_value());
}

TEST_CASE("SeqMapper: a lost producer packet leaves a hole that still maps back",
          "[router][seqmapper]") {
  // The NACK for the hole is answered from the producer's ring, which has
  // (or, here, lacks) the packet: the mapping itself is offset arithmetic.
  SeqMapper m;
  std::vector<Sent> sent;
  m.Sync(40, 0);
  Send(m, 40, 3, &sent);
  m.Sync(100, 7);
  Send(m, 100, 6, &sent, {102, 103}); // out 43, 44, (45, 46), 47, 48
  CheckOrigin(m, 45, 102, 7);
  CheckOrigin(m, 46, 103, 7);
  CheckOrigin(m, 48, 105, 7);
}

TEST_CASE("SeqMapper: Lookup across the 16-bit wrap, sweeping start points",
          "[router][seqmapper][wrap]") {
  const int64_t starts[] = {0,     1,     100,   32767,         32768,   65500,
                            65530, 65535, 65536, 65536 * 3 - 5, 1 << 20, (1LL << 32) - 3};
  for (const int64_t start : starts) {
    INFO("start " << start);
    SeqMapper m;
    std::vector<Sent> sent;
    m.Sync(start, 0);
    Send(m, start, 10, &sent);
    m.Sync(start + 50, 0x10000);
    Send(m, start + 50, 10, &sent, {start + 53});
    m.Sync(start + 20000, 0xFFFFFF00); // ts offset near the 32-bit wrap
    Send(m, start + 20000, 12, &sent);
    m.Sync(start + 20100, 0x00000010);
    Send(m, start + 20100, 3, &sent);

    // Output is one contiguous run (bar the lost one) from `start`.
    REQUIRE(sent.front().out == start);
    CHECK(m.NewestOut() == start + 10 + 10 + 12 + 3 - 1);
    for (const auto& s : sent)
      CheckOrigin(m, s.out, s.producerExt, s.tsOffset);
    CheckOrigin(m, start + 13, start + 53, 0x10000); // the lost one

    const int64_t newest = m.NewestOut();
    for (int64_t ahead : {1, 2, 100, 0x7FFF, 0x8000}) {
      INFO("ahead " << ahead);
      CHECK_FALSE(m.Lookup(Seq16(newest + ahead)).has_value());
    }
    CHECK_FALSE(m.Lookup(Seq16(start - 1)).has_value());
  }
}

TEST_CASE("SeqMapper: output wraps 16 bits while producer seqs do not",
          "[router][seqmapper][wrap]") {
  SeqMapper m;
  m.Sync(65530, 0); // extended producer seq 65530: out 65530..65539
  for (int64_t p = 65530; p < 65540; ++p)
    REQUIRE(m.Map(p) == p);
  CHECK(Seq16(m.NewestOut()) == 3);
  CheckOrigin(m, 65534, 65534, 0);
  CheckOrigin(m, 65535, 65535, 0);
  CHECK(m.Lookup(0)->producerExt == 65536);
  CHECK(m.Lookup(3)->producerExt == 65539);
  CHECK_FALSE(m.Lookup(4).has_value());

  m.Sync(7, 0xFFFFFF00); // a different producer stream position, far behind
  CHECK(m.Map(7) == 65540);
  CHECK(m.Map(8) == 65541);
  REQUIRE(m.Lookup(4).has_value());
  CHECK(m.Lookup(4)->producerExt == 7);
  CHECK(m.Lookup(4)->tsOffset == 0xFFFFFF00);
  CHECK(m.Lookup(5)->producerExt == 8);
  CHECK(m.Lookup(65535)->producerExt == 65535);
  CHECK(m.Lookup(65535)->tsOffset == 0);
  CHECK_FALSE(m.Lookup(6).has_value());
}

TEST_CASE("SeqMapper: more than kSegments re-syncs forget the oldest",
          "[router][seqmapper][bound]") {
  constexpr int kPer = 3;
  SeqMapper m;
  std::vector<Sent> sent;
  // kSegments + 2 segments: the first two are forgotten.
  const int total = static_cast<int>(SeqMapper::kSegments) + 2;
  for (int s = 0; s < total; ++s) {
    const int64_t p = 1000 * (s + 1);
    m.Sync(p, static_cast<uint32_t>(s * 100));
    Send(m, p, kPer, &sent);
  }
  REQUIRE(sent.size() == static_cast<size_t>(total * kPer));
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto& s = sent[i];
    const int segment = static_cast<int>(i) / kPer;
    INFO("segment " << segment << " out " << s.out);
    if (segment < 2) {
      CHECK_FALSE(m.Lookup(Seq16(s.out)).has_value());
    } else {
      CheckOrigin(m, s.out, s.producerExt, s.tsOffset);
    }
  }
  // Exactly kSegments kept: the oldest kept one starts at out 1000 + 2 * kPer.
  CheckOrigin(m, 1000 + 2 * kPer, 3000, 200);
  CHECK_FALSE(m.Lookup(1000 + 2 * kPer - 1).has_value());
}

TEST_CASE("SeqMapper: skipped packets close the output seqs, NACKs map through", "[router][seqmapper]") {
  using sluice::rtp::codecs::LayerRewrite;
  const int64_t starts[] = {100, 65530, 65536 * 2 - 2};
  for (const int64_t start : starts) {
    INFO("start " << start);
    SeqMapper m(SeqMapper::kLayeredSegments);
    m.Sync(start, 7, 1);
    CHECK(m.Map(start) == start);
    m.Skip(start + 1);
    m.Skip(start + 2);
    CHECK(m.Map(start + 3) == start + 1);
    m.Skip(start + 4);
    CHECK(m.Map(start + 5) == start + 2);
    // A late packet older than the skips maps into its own (old) place only
    // if it is not past the head segment's start: here it is refused.
    CHECK(m.Map(start + 1) == std::nullopt);
    CHECK(m.NewestOut() == start + 2);
    for (auto [out, producer] : {std::pair<int64_t, int64_t>{start, start},
                                 {start + 1, start + 3},
                                 {start + 2, start + 5}}) {
      const auto o = m.Lookup(Seq16(out));
      REQUIRE(o.has_value());
      CHECK(o->producerExt == producer);
      CHECK(o->tsOffset == 7);
      CHECK(int{o->source} == 1);
    }
    // A skip of an older packet changes nothing.
    m.Skip(start + 4);
    CHECK(m.Map(start + 6) == start + 3);
  }
}

TEST_CASE("SeqMapper: a changed payload rewrite starts a segment that NACKs find", "[router][seqmapper]") {
  using sluice::rtp::codecs::LayerRewrite;
  SeqMapper m(SeqMapper::kLayeredSegments);
  LayerRewrite a;
  a.pidDelta = 5;
  LayerRewrite b = a;
  b.pidDelta = 4;
  b.maxTemporal = 1;
  m.Sync(1000, 0);
  CHECK(m.Map(1000, a) == 1000);
  CHECK(m.Map(1001, a) == 1001);
  CHECK(m.Map(1002, b) == 1002);
  // A late packet with the old rewrite cannot join the new segment.
  CHECK(m.Map(1001, a) == std::nullopt);
  CHECK(m.Lookup(1001)->layers == a);
  CHECK(m.Lookup(1002)->layers == b);
  CHECK(m.Lookup(1001)->producerExt == 1001);
}

TEST_CASE("SeqMapper: a layered mapper remembers kLayeredSegments runs, then forgets",
          "[router][seqmapper]") {
  SeqMapper m(SeqMapper::kLayeredSegments);
  m.Sync(0, 0);
  int64_t p = 0;
  for (size_t run = 0; run < SeqMapper::kLayeredSegments + 4; ++run) {
    REQUIRE(m.Map(p).has_value());
    m.Skip(p + 1);
    p += 2;
  }
  // The newest kLayeredSegments runs map back; the oldest ones do not.
  const int64_t newest = m.NewestOut();
  CHECK(m.Lookup(Seq16(newest))->producerExt == p - 2);
  CHECK(m.Lookup(Seq16(newest - (SeqMapper::kLayeredSegments - 1))).has_value());
  CHECK_FALSE(m.Lookup(Seq16(newest - SeqMapper::kLayeredSegments - 1)).has_value());
}
