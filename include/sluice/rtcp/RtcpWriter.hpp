// Builds compound RTCP into a caller-provided buffer.
//
// Each Add*() appends one complete RTCP packet and returns its size, or
// returns 0 and writes nothing when it does not fit in what is left of the
// buffer (or its arguments cannot be encoded): never a partial packet, so the
// bytes in [0, Size()) are always a valid compound. Nothing here allocates.
// Wire layouts are drawn in RtcpPacket.hpp; the writer emits no padding (P = 0)
// except the in-packet null octets SDES and BYE require.
//
// Compound order (RFC 3550 §6.1: SR/RR first, then SDES with a CNAME) is the
// caller's choice; RFC 5506 reduced-size feedback is a compound of one packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/rtcp/NtpTime.hpp"
#include "sluice/rtcp/RtcpPacket.hpp"

namespace sluice::rtcp {

// The 20-byte sender info of an SR (RFC 3550 §6.4.1).
struct SenderInfo {
  NtpTime ntp;
  uint32_t rtpTimestamp = 0;
  uint32_t packetCount = 0;
  uint32_t octetCount = 0;
};

class CompoundWriter {
public:
  // At most 31 report blocks / BYE SSRCs per packet (5-bit count).
  static constexpr size_t kMaxCount = 31;
  // REMB carries at most 255 SSRCs (8-bit count).
  static constexpr size_t kMaxRembSsrcs = 255;

  CompoundWriter(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap) {}

  // Bytes written so far, and what is left.
  size_t Size() const { return size_; }
  size_t Remaining() const { return cap_ - size_; }
  const uint8_t* Data() const { return buf_; }
  // Starts over at the beginning of the same buffer.
  void Reset() { size_ = 0; }

  // SR with `count` (<= 31) report blocks.
  size_t AddSenderReport(uint32_t ssrc, const SenderInfo& info, const ReportBlock* blocks,
                         size_t count);
  // RR with `count` (<= 31) report blocks; 0 blocks is the usual "empty RR"
  // a non-receiving endpoint sends to start a compound.
  size_t AddReceiverReport(uint32_t ssrc, const ReportBlock* blocks, size_t count);
  // SDES with one chunk holding one CNAME item (1..255 bytes), null-padded
  // to 32 bits (RFC 3550 §6.5).
  size_t AddSdesCname(uint32_t ssrc, const char* cname, size_t len);
  // BYE for `count` (1..31) SSRCs, no reason.
  size_t AddBye(const uint32_t* ssrcs, size_t count);
  // Generic NACK (RFC 4585 §6.2.1) for `count` (>= 1) lost sequence numbers
  // in send order. Packed greedily: a number within PID+1..PID+16 (mod 2^16)
  // of the current entry sets its BLP bit, repeats of the PID are dropped,
  // any other number opens a new entry. Numbers out of order are still all
  // covered, just less compactly. All entries go in one packet.
  size_t AddNack(uint32_t senderSsrc, uint32_t mediaSsrc, const uint16_t* seqs, size_t count);
  // PLI (RFC 4585 §6.3.1).
  size_t AddPli(uint32_t senderSsrc, uint32_t mediaSsrc);
  // FIR (RFC 5104 §4.3.1) with `count` (>= 1) entries; media SSRC 0.
  size_t AddFir(uint32_t senderSsrc, const FirEntry* entries, size_t count);
  // REMB with the bitrate rounded down to 18 bits of mantissa; `count` <= 255.
  size_t AddRemb(uint32_t senderSsrc, uint64_t bitrate, const uint32_t* ssrcs, size_t count);

  // Number of NACK FCI entries AddNack() would write for these numbers.
  static size_t NackPairCount(const uint16_t* seqs, size_t count);

private:
  // Reserves `size` bytes (a multiple of 4) and writes the common header;
  // nullptr when they do not fit.
  uint8_t* Begin(size_t size, uint8_t count, PacketType type);

  uint8_t* buf_;
  size_t cap_;
  size_t size_ = 0;
};

} // namespace sluice::rtcp
