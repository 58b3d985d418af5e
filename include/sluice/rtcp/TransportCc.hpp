// Transport-wide congestion control feedback (RTPFB, FMT 15),
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: what a receiver
// tells a sender about every packet carrying the transport-wide sequence
// number, so the sender can estimate the path from arrival times.
//
//   |V=2|P|  FMT=15 |    PT=205     |           length              |
//   |                     SSRC of packet sender                     |
//   |                      SSRC of media source                     |
//   |      base sequence number     |      packet status count      |
//   |                 reference time                | fb pkt. count |
//   |          packet chunk         |         packet chunk          |
//   .                                                               .
//   |         packet chunk          |  recv delta   |  recv delta   |
//   .                                                               .
//   |           recv delta          |  recv delta   | zero padding  |
//
// Packet chunks give one status per packet from the base sequence number on
// (packet status count of them, wrapping over 2^16):
//   run length chunk:    0 | S (2 bits) | run length (13 bits)
//   status vector chunk: 1 | 0 | 14 one-bit symbols (0 not received, 1 small delta)
//                        1 | 1 | 7 two-bit symbols (00 not received, 01 small
//                            delta, 10 large or negative delta)
// Every received packet has a receive delta, in 250 µs ticks from the
// previous received packet (the first from the reference time, a signed
// 24-bit count of 64 ms): small = 1 byte unsigned, large = 2 bytes signed.
//
// Builder and reader work on caller-provided memory with fixed bounds and
// never allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "sluice/rtcp/RtcpPacket.hpp"

namespace sluice::rtcp {

enum class TccSymbol : uint8_t { NotReceived = 0, SmallDelta = 1, LargeDelta = 2 };

inline constexpr int64_t kTccTickUs = 250;
inline constexpr int64_t kTccReferenceUs = 64000;

// Builds one feedback packet. Packets are added in sequence order from the
// base; each is received (with its arrival time) or not.
class TccFeedbackBuilder {
public:
  // Statuses one feedback carries at most; also bounded by kMaxBytes.
  static constexpr size_t kMaxPackets = 512;
  // Whole RTCP packet size a feedback stays within (fits any path MTU).
  static constexpr size_t kMaxBytes = 1200;

  // Starts a feedback whose first packet (base) is `baseSeq`, numbered
  // `fbCount` (the 8-bit feedback packet count). The reference time is taken
  // from the first received packet added.
  void Reset(uint16_t baseSeq, uint8_t fbCount);
  // Adds the status of packet base + Count(). false (nothing added): the
  // feedback is full or the delta from the previous received packet does not
  // fit 16 signed bits of ticks: send this one and start another there.
  bool AddReceived(int64_t arrivalUs);
  bool AddLost();

  uint16_t BaseSeq() const { return baseSeq_; }
  size_t Count() const { return count_; }
  size_t ReceivedCount() const { return deltaCount_; }
  // Bytes Write() needs (a multiple of 4).
  size_t Size() const;
  // Writes the RTCP packet; 0 when cap is too small or nothing was received
  // (a feedback must carry at least one received packet: its reference).
  size_t Write(uint8_t* out, size_t cap, uint32_t senderSsrc, uint32_t mediaSsrc) const;

private:
  // Chunks needed for symbols_[0, count): computed the way Write encodes them.
  size_t ChunkBytes() const;
  // The chunk starting at symbol i: its 16-bit value and how many symbols it covers.
  uint16_t ChunkAt(size_t i, size_t* covered) const;

  std::array<TccSymbol, kMaxPackets> symbols_{};
  std::array<int16_t, kMaxPackets> deltas_{}; // ticks, one per received packet
  uint16_t baseSeq_ = 0;
  uint8_t fbCount_ = 0;
  size_t count_ = 0;
  size_t deltaCount_ = 0;
  size_t deltaBytes_ = 0;
  int32_t referenceTime_ = 0; // 64 ms units (24-bit signed on the wire)
  int64_t lastTick_ = 0;      // arrival of the last received packet, in ticks
};

// One packet's status in a parsed feedback.
struct TccPacketResult {
  uint16_t seq;
  bool received;
  int64_t arrivalUs; // from the feedback's reference time base; received only
};

// Walks a parsed TransportCcFeedback: every status from the base sequence
// number, with arrival times rebuilt from the reference time and deltas.
// Valid() false when the chunks or deltas do not fit the FCI (truncated or
// inconsistent feedback): the caller drops the whole feedback.
class TccFeedbackReader {
public:
  explicit TccFeedbackReader(const TransportCcFeedback& feedback);

  bool Valid() const { return valid_; }
  uint16_t BaseSeq() const { return baseSeq_; }
  uint16_t StatusCount() const { return statusCount_; }
  uint8_t FeedbackCount() const { return fbCount_; }
  int64_t ReferenceUs() const { return referenceUs_; }
  // Next status, in sequence order; false at the end.
  bool Next(TccPacketResult* out);

private:
  // Reads chunks until statusCount_ symbols are known; sets deltaOffset_.
  bool ScanChunks();

  ByteView fci_;
  uint16_t baseSeq_ = 0;
  uint16_t statusCount_ = 0;
  uint8_t fbCount_ = 0;
  int64_t referenceUs_ = 0;
  bool valid_ = false;
  size_t deltaOffset_ = 0; // where the receive deltas start in fci_
  // Iteration state.
  size_t produced_ = 0;
  size_t chunkOffset_ = 8; // current chunk in fci_
  size_t inChunk_ = 0;     // symbols of the current chunk already produced
  size_t deltaPos_ = 0;
  int64_t arrivalUs_ = 0;
};

} // namespace sluice::rtcp
