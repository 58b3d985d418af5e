// Non-owning, validated views over compound RTCP (RFC 3550 §6, RFC 4585 §6,
// RFC 5104 §4.3, RFC 3611, draft-alvestrand-rmcat-remb, transport-cc).
//
// The bytes live elsewhere (a receive buffer after SRTCP decryption); every
// view here is a pointer plus a few lengths and must not outlive them.
// CompoundIterator walks the packets of a compound and checks each common
// header; the typed views (SenderReport, GenericNack, ...) are built with a
// static Parse() that checks every count against the packet length, so once a
// view exists no accessor can read outside its packet. Nothing here
// allocates, throws or aborts on wire input.
//
// Reduced-size RTCP (RFC 5506) is accepted: a compound may start with any
// packet type, e.g. a lone PLI or NACK. Unknown packet types are yielded by the
// iterator; callers skip what they do not understand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "sluice/rtp/RtpPacket.hpp"

namespace sluice::rtcp {

using rtp::ByteView;

namespace detail {
inline uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t Load24(const uint8_t* p) {
  return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | uint32_t{p[2]};
}
inline uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
} // namespace detail

// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
enum class PacketType : uint8_t {
  SR = 200,
  RR = 201,
  SDES = 202,
  BYE = 203,
  APP = 204,
  RTPFB = 205, // transport layer feedback
  PSFB = 206,  // payload-specific feedback
  XR = 207,
};

// Feedback message types (the FMT field of RTPFB / PSFB).
inline constexpr uint8_t kFmtNack = 1;         // RTPFB, RFC 4585 §6.2.1
inline constexpr uint8_t kFmtTransportCc = 15; // RTPFB, draft-holmer-rmcat-transport-wide-cc
inline constexpr uint8_t kFmtPli = 1;          // PSFB, RFC 4585 §6.3.1
inline constexpr uint8_t kFmtFir = 4;          // PSFB, RFC 5104 §4.3.1
inline constexpr uint8_t kFmtAfb = 15;         // PSFB, RFC 4585 §6.4 (REMB lives here)

// Why CompoundIterator stopped before the end of the buffer. Callers count
// drops per reason, so the values index a counter array of kParseErrorCount.
enum class ParseError : uint8_t {
  TooShort,      // fewer than 4 bytes left for a common header
  BadVersion,    // V != 2
  LengthOverrun, // (length + 1) * 4 bytes do not fit in what is left
  BadPadding,    // P set but the count octet is 0 or exceeds the packet body
};
inline constexpr size_t kParseErrorCount = 4;

// Short stable name for logs and stats ("too-short", ...).
const char* ParseErrorName(ParseError why);

// One RTCP packet of a compound: the common header and its body.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P| RC/FMT  |      PT       |             length            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// length = packet size in 32-bit words minus one (header included), so a
// packet is 4..262144 bytes. With P set, the last octet counts the padding
// octets (itself included) at the end of the packet (RFC 3550 §6.4.1). We
// accept P on any packet of a compound as long as the count fits its packet.
class RtcpPacket {
public:
  static constexpr size_t kHeaderSize = 4;

  // An empty packet, only to be assigned (e.g. by CompoundIterator::Next);
  // its accessors must not be called.
  RtcpPacket() = default;

  // Validates the packet starting at `data`, which must fit in `len` (bytes
  // after it are ignored: they are the rest of the compound).
  static std::optional<RtcpPacket> Parse(const uint8_t* data, size_t len,
                                         ParseError* why = nullptr);

  bool Padding() const { return (data_[0] & 0x20) != 0; }
  uint8_t Count() const { return data_[0] & 0x1F; } // RC, SC or FMT
  uint8_t Fmt() const { return Count(); }
  uint8_t Type() const { return data_[1]; }
  uint16_t LengthWords() const { return detail::Load16(data_ + 2); }

  // The whole packet, header and padding included.
  const uint8_t* Data() const { return data_; }
  size_t Size() const { return size_; }
  size_t PaddingSize() const { return paddingSize_; }
  // After the common header, padding excluded. Not necessarily a multiple of
  // 4 when P is set.
  ByteView Body() const { return {data_ + kHeaderSize, size_ - kHeaderSize - paddingSize_}; }

private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t paddingSize_ = 0;
};

// Walks the packets of a compound in wire order. Next() returns false at the
// end of the buffer or at the first bad header; Error() tells which (nullopt
// at a clean end). Packets yielded before the bad one stay valid.
class CompoundIterator {
public:
  CompoundIterator(const uint8_t* data, size_t len) : data_(data), len_(len) {}
  bool Next(RtcpPacket* out);
  std::optional<ParseError> Error() const { return error_; }
  // Bytes consumed by the packets yielded so far.
  size_t Offset() const { return pos_; }

private:
  const uint8_t* data_;
  size_t len_;
  size_t pos_ = 0;
  std::optional<ParseError> error_;
};

// RFC 3550 §6.4.1 report block (24 bytes), decoded. Also the writer's input.
//
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//   |                 SSRC_1 (SSRC of first source)                 |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | fraction lost |       cumulative number of packets lost       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           extended highest sequence number received           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                      interarrival jitter                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         last SR (LSR)                         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                   delay since last SR (DLSR)                  |
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//
// Cumulative lost is a signed 24-bit value (duplicates can make it negative);
// the writer clamps it to [-2^23, 2^23 - 1].
struct ReportBlock {
  static constexpr size_t kSize = 24;
  uint32_t ssrc = 0;
  uint8_t fractionLost = 0;
  int32_t cumulativeLost = 0;
  uint32_t extendedHighestSeq = 0;
  uint32_t jitter = 0;
  uint32_t lsr = 0;  // middle 32 bits of the NTP time of the last SR, 0 = none
  uint32_t dlsr = 0; // delay since that SR, 1/65536 s

  // Decodes 24 bytes; the caller has checked they exist.
  static ReportBlock Decode(const uint8_t* p);
};

// RFC 3550 §6.4.1 SR (PT 200): sender SSRC, 20-byte sender info, RC blocks.
//
//   |V=2|P|    RC   |   PT=SR=200   |             length            |
//   |                         SSRC of sender                        |
//   |              NTP timestamp, most significant word             |
//   |             NTP timestamp, least significant word             |
//   |                         RTP timestamp                         |
//   |                     sender's packet count                     |
//   |                      sender's octet count                     |
//   |                 report blocks (RC * 24 bytes)                 |
//   |                  profile-specific extensions                  |
//
// Bytes after the report blocks (profile extensions) are ignored.
class SenderReport {
public:
  static constexpr size_t kMinBodySize = 24;
  static std::optional<SenderReport> Parse(const RtcpPacket& pkt);

  uint32_t Ssrc() const { return detail::Load32(body_); }
  uint32_t NtpSeconds() const { return detail::Load32(body_ + 4); }
  uint32_t NtpFraction() const { return detail::Load32(body_ + 8); }
  uint32_t RtpTimestamp() const { return detail::Load32(body_ + 12); }
  uint32_t PacketCount() const { return detail::Load32(body_ + 16); }
  uint32_t OctetCount() const { return detail::Load32(body_ + 20); }
  size_t ReportCount() const { return count_; }
  ReportBlock Report(size_t i) const { return ReportBlock::Decode(body_ + 24 + 24 * i); }

private:
  const uint8_t* body_ = nullptr;
  size_t count_ = 0;
};

// RFC 3550 §6.4.2 RR (PT 201): reporter SSRC then RC report blocks.
class ReceiverReport {
public:
  static constexpr size_t kMinBodySize = 4;
  static std::optional<ReceiverReport> Parse(const RtcpPacket& pkt);

  uint32_t Ssrc() const { return detail::Load32(body_); }
  size_t ReportCount() const { return count_; }
  ReportBlock Report(size_t i) const { return ReportBlock::Decode(body_ + 4 + 24 * i); }

private:
  const uint8_t* body_ = nullptr;
  size_t count_ = 0;
};

// SDES item types (RFC 3550 §6.5).
inline constexpr uint8_t kSdesEnd = 0;
inline constexpr uint8_t kSdesCname = 1;

struct SdesItem {
  uint8_t type = 0;
  ByteView text; // up to 255 bytes, not NUL-terminated
};

// Items of one validated chunk, in wire order, up to the null item.
class SdesItemIterator {
public:
  SdesItemIterator(const uint8_t* items, size_t size) : p_(items), size_(size) {}
  bool Next(SdesItem* out);

private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
};

struct SdesChunk {
  uint32_t ssrc = 0;
  ByteView items; // the item list, its terminating null octets excluded
  SdesItemIterator Items() const { return {items.data, items.size}; }
};

// Chunks of a validated SDES packet.
class SdesChunkIterator {
public:
  SdesChunkIterator(const uint8_t* body, size_t size, size_t count)
      : p_(body), size_(size), left_(count) {}
  bool Next(SdesChunk* out);

private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  size_t left_;
};

// RFC 3550 §6.5 SDES (PT 202): SC chunks, each an SSRC/CSRC and a list of
// (type, length, text) items ended by one or more null octets that pad the
// chunk to a 32-bit boundary:
//
//   |V=2|P|    SC   |  PT=SDES=202  |             length            |
//   |                          SSRC/CSRC_1                          |
//   |  CNAME=1      |     length    | user and domain name        ...
//   |      ...      |       0       |   (null padding to 32 bits)   |
//
// Parse() checks every chunk, so the iterators cannot fail. Bytes after the
// SC chunks are ignored.
class Sdes {
public:
  static std::optional<Sdes> Parse(const RtcpPacket& pkt);

  size_t ChunkCount() const { return count_; }
  SdesChunkIterator Chunks() const { return {body_, size_, count_}; }
  // The first CNAME item of the first chunk for `ssrc`, or an absent view.
  ByteView Cname(uint32_t ssrc) const;

private:
  const uint8_t* body_ = nullptr;
  size_t size_ = 0;
  size_t count_ = 0;
};

// RFC 3550 §6.6 BYE (PT 203): SC SSRC/CSRCs, then an optional reason
// (length octet + text).
class Bye {
public:
  static std::optional<Bye> Parse(const RtcpPacket& pkt);

  size_t SsrcCount() const { return count_; }
  uint32_t Ssrc(size_t i) const { return detail::Load32(body_ + 4 * i); }
  // Absent when the packet carries no reason.
  ByteView Reason() const { return reason_; }

private:
  const uint8_t* body_ = nullptr;
  size_t count_ = 0;
  ByteView reason_;
};

// RFC 4585 §6.1 feedback message common part (RTPFB and PSFB):
//
//   |V=2|P|   FMT   |       PT      |          length               |
//   |                  SSRC of packet sender                        |
//   |                  SSRC of media source                         |
//   :            Feedback Control Information (FCI)                 :
struct FeedbackHeader {
  static constexpr size_t kSize = 8;
  uint32_t senderSsrc = 0;
  uint32_t mediaSsrc = 0;
  ByteView fci;

  // Checks PT and FMT and that the 8 bytes exist.
  static std::optional<FeedbackHeader> Parse(const RtcpPacket& pkt, PacketType type, uint8_t fmt);
};

// Lost sequence numbers of a generic NACK in wire order: for each FCI entry
// the PID, then PID + i + 1 (mod 2^16) for each set bit i of BLP, low bit
// first. At most 17 numbers per entry.
class NackSeqIterator {
public:
  NackSeqIterator(const uint8_t* fci, size_t pairs) : fci_(fci), pairs_(pairs) {}
  bool Next(uint16_t* seq);

private:
  const uint8_t* fci_;
  size_t pairs_;
  size_t pair_ = 0;
  int bit_ = -1; // -1: PID not yet yielded; 0..15: next BLP bit to look at
};

// RFC 4585 §6.2.1 generic NACK (RTPFB, FMT 1). FCI entries:
//
//   |            PID                |             BLP               |
//
// Parse() requires at least one entry and an FCI that is a whole number of them.
class GenericNack {
public:
  static std::optional<GenericNack> Parse(const RtcpPacket& pkt);

  uint32_t SenderSsrc() const { return header_.senderSsrc; }
  uint32_t MediaSsrc() const { return header_.mediaSsrc; }
  size_t PairCount() const { return header_.fci.size / 4; }
  uint16_t Pid(size_t i) const { return detail::Load16(header_.fci.data + 4 * i); }
  uint16_t Blp(size_t i) const { return detail::Load16(header_.fci.data + 4 * i + 2); }
  NackSeqIterator Seqs() const { return {header_.fci.data, PairCount()}; }

private:
  FeedbackHeader header_;
};

// Transport-wide congestion control feedback (RTPFB, FMT 15,
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). Only recognized:
// the fixed FCI fields are exposed, the packet chunks and deltas stay raw.
//
//   |      base sequence number     |      packet status count      |
//   |                 reference time                | fb pkt. count |
//   |          packet chunk         |         packet chunk          |
//   ...
class TransportCcFeedback {
public:
  static constexpr size_t kMinFciSize = 8;
  static std::optional<TransportCcFeedback> Parse(const RtcpPacket& pkt);

  uint32_t SenderSsrc() const { return header_.senderSsrc; }
  uint32_t MediaSsrc() const { return header_.mediaSsrc; }
  ByteView Fci() const { return header_.fci; }
  uint16_t BaseSequenceNumber() const { return detail::Load16(header_.fci.data); }
  uint16_t PacketStatusCount() const { return detail::Load16(header_.fci.data + 2); }
  uint32_t ReferenceTime() const { return detail::Load24(header_.fci.data + 4); } // 64 ms units
  uint8_t FeedbackPacketCount() const { return header_.fci.data[7]; }

private:
  FeedbackHeader header_;
};

// RFC 4585 §6.3.1 Picture Loss Indication (PSFB, FMT 1). No FCI; any FCI
// bytes a sender adds are ignored.
class Pli {
public:
  static std::optional<Pli> Parse(const RtcpPacket& pkt);
  uint32_t SenderSsrc() const { return header_.senderSsrc; }
  uint32_t MediaSsrc() const { return header_.mediaSsrc; }

private:
  FeedbackHeader header_;
};

struct FirEntry {
  uint32_t ssrc = 0; // the media sender asked for a decoder refresh
  uint8_t seqNr = 0; // command sequence number, +1 per new request (mod 256)
};

// RFC 5104 §4.3.1 Full Intra Request (PSFB, FMT 4). The media source SSRC
// SHALL be 0; the targets are in the FCI entries:
//
//   |                              SSRC                             |
//   | Seq nr.       |    Reserved                                   |
//
// Parse() requires at least one entry and an FCI that is a whole number of
// them; the header's media SSRC is not checked.
class Fir {
public:
  static std::optional<Fir> Parse(const RtcpPacket& pkt);

  uint32_t SenderSsrc() const { return header_.senderSsrc; }
  size_t EntryCount() const { return header_.fci.size / 8; }
  FirEntry Entry(size_t i) const {
    return {detail::Load32(header_.fci.data + 8 * i), header_.fci.data[8 * i + 4]};
  }

private:
  FeedbackHeader header_;
};

// Receiver Estimated Max Bitrate (PSFB FMT 15 "AFB", RFC 4585 §6.4, with the
// draft-alvestrand-rmcat-remb-03 §2.2 payload):
//
//   |                  SSRC of media source (0)                     |
//   |  Unique identifier 'R' 'E' 'M' 'B'                            |
//   |  Num SSRC     | BR Exp    |  BR Mantissa                      |
//   |   SSRC feedback (Num SSRC entries)                            |
//
// Bitrate = mantissa (18 bits) << exp (6 bits), in bit/s; saturates at
// UINT64_MAX. Other AFB messages do not parse as Remb.
class Remb {
public:
  static std::optional<Remb> Parse(const RtcpPacket& pkt);

  uint32_t SenderSsrc() const { return header_.senderSsrc; }
  uint64_t Bitrate() const;
  size_t SsrcCount() const { return header_.fci.data[4]; }
  uint32_t Ssrc(size_t i) const { return detail::Load32(header_.fci.data + 8 + 4 * i); }

private:
  FeedbackHeader header_;
};

// RFC 3611 §3 XR report block: BT, type-specific byte, body of
// (block length * 4) bytes after the 4-byte block header.
struct XrBlock {
  uint8_t type = 0;
  uint8_t typeSpecific = 0;
  ByteView body;
};

inline constexpr uint8_t kXrRrtr = 4; // RFC 3611 §4.4
inline constexpr uint8_t kXrDlrr = 5; // RFC 3611 §4.5

// Blocks of a validated XR packet.
class XrBlockIterator {
public:
  XrBlockIterator(const uint8_t* blocks, size_t size) : p_(blocks), size_(size) {}
  bool Next(XrBlock* out);

private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
};

// RFC 3611 §2 XR (PT 207): reporter SSRC, then report blocks.
//
//   |V=2|P|reserved |   PT=XR=207   |             length            |
//   |                              SSRC                             |
//   :                         report blocks                         :
//
// Parse() requires every block to fit the packet exactly.
class Xr {
public:
  static std::optional<Xr> Parse(const RtcpPacket& pkt);
  uint32_t Ssrc() const { return detail::Load32(body_); }
  XrBlockIterator Blocks() const { return {body_ + 4, size_ - 4}; }

private:
  const uint8_t* body_ = nullptr;
  size_t size_ = 0;
};

// RFC 3611 §4.4 Receiver Reference Time (BT 4, block length 2): NTP time.
struct XrRrtr {
  uint32_t ntpSeconds = 0;
  uint32_t ntpFraction = 0;
  static std::optional<XrRrtr> Parse(const XrBlock& block);
};

struct DlrrSubBlock {
  uint32_t ssrc = 0;
  uint32_t lrr = 0;  // middle 32 bits of the receiver's RRTR NTP time
  uint32_t dlrr = 0; // delay since that RRTR, 1/65536 s
};

// RFC 3611 §4.5 DLRR (BT 5, block length 3 * n): n sub-blocks of 12 bytes.
class XrDlrr {
public:
  static std::optional<XrDlrr> Parse(const XrBlock& block);
  size_t Count() const { return size_ / 12; }
  DlrrSubBlock SubBlock(size_t i) const {
    const uint8_t* p = body_ + 12 * i;
    return {detail::Load32(p), detail::Load32(p + 4), detail::Load32(p + 8)};
  }

private:
  const uint8_t* body_ = nullptr;
  size_t size_ = 0;
};

} // namespace sluice::rtcp
