#include "sluice/store/SendRecord.hpp"

#include <catch2/catch.hpp>

using sluice::store::SendRecord;

namespace {

SendRecord::Sent Rec(int64_t producerExtSeq, uint32_t tsOffset = 0, uint8_t pictureIdLow = 0) {
  SendRecord::Sent s;
  s.producerExtSeq = producerExtSeq;
  s.tsOffset = tsOffset;
  s.codec = {0x80, pictureIdLow, 0x2a, 0, 0, 0, 0, 0};
  return s;
}

} // namespace

TEST_CASE("an entry is 24 bytes and capacity is a bounded power of two", "[store][sendrecord]") {
  REQUIRE(SendRecord::kBytesPerEntry == 24);
  REQUIRE(SendRecord().Capacity() == 1024);
  REQUIRE(SendRecord(SendRecord::Config{1000}).Capacity() == 1024);
  REQUIRE(SendRecord(SendRecord::Config{1}).Capacity() == 16);
  REQUIRE(SendRecord(SendRecord::Config{100000}).Capacity() == 32768);
}

TEST_CASE("lookup returns the producer seq and the rewrite context used", "[store][sendrecord]") {
  SendRecord record;
  REQUIRE_FALSE(record.Lookup(7)); // nothing sent yet
  record.Add(7, Rec(70'000, 0xfffffff0u, 0x11));
  record.Add(8, Rec(70'002, 0xfffffff0u, 0x12)); // producer seq 70'001 was not forwarded
  auto a = record.Lookup(7);
  REQUIRE(a);
  REQUIRE(a->producerExtSeq == 70'000);
  REQUIRE(a->tsOffset == 0xfffffff0u);
  REQUIRE(a->codec[1] == 0x11);
  REQUIRE(record.Lookup(8)->producerExtSeq == 70'002);
  REQUIRE_FALSE(record.Lookup(9)); // not sent yet: newer than the newest
  REQUIRE(record.GetStats().hits == 2);
  REQUIRE(record.GetStats().missNotSent == 2);
}

TEST_CASE("output seqs across the wrap, sweeping start points", "[store][sendrecord]") {
  for (uint32_t start = 65536 - 40; start < 65536 + 3; ++start) {
    SendRecord record(SendRecord::Config{64});
    for (uint32_t i = 0; i < 100; ++i)
      record.Add(uint16_t(start + i), Rec(int64_t(1'000'000 + i), i));
    // The last 64 seqs are answered, each with its own producer seq.
    for (uint32_t i = 36; i < 100; ++i) {
      auto r = record.Lookup(uint16_t(start + i));
      REQUIRE(r);
      REQUIRE(r->producerExtSeq == int64_t(1'000'000 + i));
      REQUIRE(r->tsOffset == i);
    }
    for (uint32_t i = 0; i < 36; ++i)
      REQUIRE_FALSE(record.Lookup(uint16_t(start + i)));
    REQUIRE_FALSE(record.Lookup(uint16_t(start + 100)));
    REQUIRE(record.GetStats().missTooOld == 36);
  }
}

TEST_CASE("capacity: older entries are overwritten and never returned", "[store][sendrecord]") {
  SendRecord record(SendRecord::Config{16});
  for (uint16_t s = 0; s < 40; ++s)
    record.Add(s, Rec(s * 2));
  for (uint16_t s = 0; s < 24; ++s)
    REQUIRE_FALSE(record.Lookup(s));
  for (uint16_t s = 24; s < 40; ++s)
    REQUIRE(record.Lookup(s)->producerExtSeq == s * 2);
  // A late Add older than the table's reach must not clobber seq 38's slot.
  record.Add(22, Rec(999));
  REQUIRE(record.GetStats().ignoredLate == 1);
  REQUIRE(record.Lookup(38)->producerExtSeq == 76);
}

TEST_CASE("a gap in output seqs: skipped seqs are not answered from stale slots",
          "[store][sendrecord]") {
  SendRecord record(SendRecord::Config{16});
  for (uint16_t s = 100; s < 116; ++s)
    record.Add(s, Rec(s));
  record.Add(120, Rec(120)); // 116..119 never sent; their slots hold 100..103
  for (uint16_t s = 116; s < 120; ++s)
    REQUIRE_FALSE(record.Lookup(s));
  REQUIRE(record.GetStats().missOverwritten == 4);
  REQUIRE(record.Lookup(120)->producerExtSeq == 120);
  REQUIRE(record.Lookup(115)->producerExtSeq == 115);
}

TEST_CASE("an entry from an earlier cycle of the 16-bit space is detected", "[store][sendrecord]") {
  SendRecord record(SendRecord::Config{16});
  record.Add(100, Rec(5));
  // Walk a full cycle in steps that never land on slot 100 % 16 == 4.
  for (uint16_t s : {30000, 60000})
    record.Add(s, Rec(s));
  record.Add(101, Rec(6)); // 101 + 65536: seq 100 is one behind the newest
  // The slot for 100 still holds the entry written a cycle ago: the 16-bit
  // seq matches but the extended one does not.
  REQUIRE_FALSE(record.Lookup(100));
  REQUIRE(record.GetStats().missOverwritten == 1);
  REQUIRE(record.Lookup(101)->producerExtSeq == 6);
}

TEST_CASE("clear forgets everything", "[store][sendrecord]") {
  SendRecord record;
  record.Add(5, Rec(50));
  record.Clear();
  REQUIRE_FALSE(record.Lookup(5));
  record.Add(40000, Rec(7));
  REQUIRE(record.Lookup(40000)->producerExtSeq == 7);
  REQUIRE_FALSE(record.Lookup(5));
}
