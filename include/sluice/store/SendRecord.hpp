// SendRecord: what one consumer remembers about the packets it sent, so it
// can answer a NACK (ARCHITECTURE.md, memory model: per-consumer retransmission state is
// metadata only). The bytes stay in the producer stream's RetransmissionRing;
// this maps the consumer's output seq back to the producer's extended seq and
// keeps the rewrite context used, so a retransmission is rebuilt with exactly
// the same header (and VP8/VP9 descriptor) the peer saw the first time.
//
// Bounds: a fixed table of `capacity` entries (a power of two, 16..2^15),
// allocated once. 24 bytes per entry: producer extended seq (8), extended
// output seq low 32 bits (4), ts offset mod 2^32 (4), codec state (8). The
// default 1024 entries = 24 KiB covers 1 s at 1000 pps.
//
// Correctness: output seqs are unwrapped internally (rtp::SeqUnwrapper), and
// an entry carries the extended output seq it was written for. Lookup(seq)
// resolves seq against the newest seq sent (SeqMath), answers only for the
// last `capacity` seqs, and only if the entry was written for that very
// extended seq: an entry overwritten by a later packet, one from an earlier
// cycle of the 16-bit space, or one never written is never returned.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::store {

struct SendRecordConfig {
  uint32_t capacity = 1024; // rounded up to a power of two, 16..2^15
};

class SendRecord {
public:
  // Opaque per-codec rewrite state (e.g. VP8 picture id + tl0picidx the
  // consumer wrote); the codec layer owns its meaning.
  using CodecState = std::array<uint8_t, 8>;

  struct Sent {
    int64_t producerExtSeq = 0;
    uint32_t tsOffset = 0; // added to the producer ts (mod 2^32) on output
    CodecState codec{};
  };

  using Config = SendRecordConfig;

  struct Stats {
    uint64_t added = 0;
    uint64_t lookups = 0;
    uint64_t hits = 0;
    uint64_t missNotSent = 0;     // seq newer than anything sent, or nothing sent yet
    uint64_t missTooOld = 0;      // older than the last `capacity` seqs
    uint64_t missOverwritten = 0; // slot holds another seq (or none)
    uint64_t ignoredLate = 0;     // Add for a seq already out of the table's reach
  };

  static constexpr size_t kBytesPerEntry = 24;

  explicit SendRecord(const Config& config = Config());

  // Records that output seq `outSeq` carried producer packet `sent`. Seqs are
  // expected in send order; a late Add older than the table's reach is ignored.
  void Add(uint16_t outSeq, const Sent& sent);

  // The record for output seq `outSeq`, if it is one of the last `capacity`
  // seqs sent and was not overwritten.
  std::optional<Sent> Lookup(uint16_t outSeq);

  uint32_t Capacity() const { return mask_ + 1; }
  const Stats& GetStats() const { return stats_; }
  void Clear();

private:
  struct Entry {
    int64_t producerExtSeq;
    uint32_t outExtLow; // low 32 bits of the extended output seq
    uint32_t tsOffset;
    CodecState codec;
  };
  static_assert(sizeof(Entry) == kBytesPerEntry, "documented footprint");
  static constexpr int64_t kEmpty = INT64_MIN; // producerExtSeq of an unused entry

  uint32_t mask_;
  std::unique_ptr<Entry[]> entries_;
  rtp::SeqUnwrapper unwrapper_;
  bool any_ = false;
  int64_t newestExt_ = 0;
  Stats stats_;
};

} // namespace sluice::store
