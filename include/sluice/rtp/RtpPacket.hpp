// Non-owning, validated view over the bytes of one RTP packet.
//
// The bytes live elsewhere (a PacketPool slot, a receive buffer); an RtpPacket
// is a small value (pointer + a few 16-bit offsets) that must not outlive
// them. Parse() checks every length in the RFC 3550 header, the header
// extension block and, for the RFC 8285 profiles, every extension element, so
// once a view exists no accessor can read outside [data, data + size).
// Nothing here allocates, throws or aborts on wire input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace sluice::rtp {

// A (pointer, length) pair into someone else's bytes. `data == nullptr`
// means "absent"; a present zero-length value (allowed for RFC 8285
// two-byte elements) has a non-null `data` and `size == 0`.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  explicit operator bool() const { return data != nullptr; }
};

// Why Parse() refused a packet. Callers count drops per reason, so the
// values index a counter array of kParseErrorCount entries.
enum class ParseError : uint8_t {
  TooShort,            // null or shorter than the 12-byte fixed header
  TooLong,             // longer than kMaxPacketSize (offsets are 16-bit)
  BadVersion,          // V != 2
  CsrcOverrun,         // CC * 4 bytes of CSRC do not fit
  ExtensionOverrun,    // X set but the extension header or its body does not fit
  BadExtensionElement, // RFC 8285 element runs past the end of the extension block
  BadPadding,          // P set but the count octet is 0 or exceeds what follows the header
};
inline constexpr size_t kParseErrorCount = 7;

// Short stable name for logs and stats ("too-short", ...).
const char* ParseErrorName(ParseError why);

// Layout of the header extension block (RFC 8285 §4.2, §4.3).
enum class ExtensionForm : uint8_t {
  None,    // X bit clear
  OneByte, // profile 0xBEDE
  TwoByte, // profile 0x100 + 4 app bits
  Opaque,  // any other profile: kept as an uninterpreted block
};

// One element of an RFC 8285 extension block.
struct HeaderExtension {
  uint8_t id = 0;
  ByteView value;
};

// Walks the elements of a validated RFC 8285 block in wire order. Padding
// bytes (ID 0) are skipped; in the one-byte form ID 15 ends the walk (RFC
// 8285 §4.2: elements after it are not considered). Yields nothing for the
// None and Opaque forms.
class ExtensionIterator {
public:
  ExtensionIterator(ExtensionForm form, const uint8_t* block, size_t size)
      : block_(block), size_(size), form_(form) {}
  // Fills *out and returns true, or returns false at the end.
  bool Next(HeaderExtension* out);

private:
  const uint8_t* block_;
  size_t size_;
  size_t pos_ = 0;
  ExtensionForm form_;
};

class RtpPacket {
public:
  static constexpr size_t kFixedHeaderSize = 12;
  static constexpr size_t kMaxPacketSize = 0xFFFF;
  static constexpr uint16_t kOneByteProfile = 0xBEDE;
  static constexpr uint16_t kTwoByteProfile = 0x1000; // upper 12 bits; low 4 are app bits

  // Validates `len` bytes at `data` as an RTP packet (RFC 3550 §5.1, §5.3.1
  // and RFC 8285). On failure returns nullopt and, when `why` is given,
  // stores the reason. Does not look at the payload type range: telling RTP
  // from RTCP is the demultiplexer's job.
  static std::optional<RtpPacket> Parse(const uint8_t* data, size_t len, ParseError* why = nullptr);

  // Fixed header fields.
  bool Marker() const { return (data_[1] & 0x80) != 0; }
  uint8_t PayloadType() const { return data_[1] & 0x7F; }
  uint16_t SequenceNumber() const { return Read16(data_ + 2); }
  uint32_t Timestamp() const { return Read32(data_ + 4); }
  uint32_t Ssrc() const { return Read32(data_ + 8); }

  // CSRC list: CsrcCount() entries, at most 15.
  size_t CsrcCount() const { return data_[0] & 0x0F; }
  uint32_t Csrc(size_t i) const { return Read32(data_ + kFixedHeaderSize + 4 * i); }
  ByteView Csrcs() const { return {data_ + kFixedHeaderSize, 4 * CsrcCount()}; }

  // Sizes: Size() == HeaderSize() + PayloadSize() + PaddingSize().
  const uint8_t* Data() const { return data_; }
  size_t Size() const { return size_; }
  size_t HeaderSize() const { return headerSize_; }
  const uint8_t* Payload() const { return data_ + headerSize_; }
  size_t PayloadSize() const { return size_ - headerSize_ - paddingSize_; }
  size_t PaddingSize() const { return paddingSize_; }

  // Header extension block (after the 4-byte profile/length word).
  ExtensionForm ExtForm() const { return extForm_; }
  uint16_t ExtensionProfile() const { return extProfile_; }
  ByteView ExtensionBlock() const;
  ExtensionIterator Extensions() const;

  // Value of the first element with this id, or an absent view. Only the
  // RFC 8285 forms have ids; id 0 (padding) never matches, nor does 15 in
  // the one-byte form.
  ByteView GetExtension(uint8_t id) const;

  static uint16_t Read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
  static uint32_t Read32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
  }

private:
  RtpPacket() = default;

  const uint8_t* data_ = nullptr;
  uint16_t size_ = 0;
  uint16_t headerSize_ = 0;
  uint16_t extOffset_ = 0; // start of the element bytes
  uint16_t extSize_ = 0;   // element bytes (length field * 4)
  uint16_t extProfile_ = 0;
  uint8_t paddingSize_ = 0;
  ExtensionForm extForm_ = ExtensionForm::None;
};

} // namespace sluice::rtp
