#include "sluice/rtp/RtpPacket.hpp"

namespace sluice::rtp {

static_assert(static_cast<size_t>(ParseError::BadPadding) + 1 == kParseErrorCount,
              "kParseErrorCount must follow the last ParseError");

namespace {

// Result of decoding one RFC 8285 element at a position.
enum class Step { Element, Padding, End, Malformed };

// Decodes the element starting at block[*pos]; advances *pos past it.
//
// One-byte form (RFC 8285 §4.2): ID 1..14 valid, 0 is a padding byte (its
// length nibble is ignored: we step one byte), 15 stops processing.
//    0
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |  ID   |  len  |   len = data bytes - 1 (1..16 bytes)
//   +-+-+-+-+-+-+-+-+
//
// Two-byte form (RFC 8285 §4.3): ID 1..255, 0 is a padding byte.
//    0                   1
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |       ID      |     length    |   length = data bytes (0..255)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Step DecodeElement(ExtensionForm form, const uint8_t* block, size_t size, size_t* pos,
                   HeaderExtension* out) {
  if (*pos >= size)
    return Step::End;
  const uint8_t first = block[*pos];
  size_t idLen;
  uint8_t id;
  size_t dataLen;
  if (form == ExtensionForm::OneByte) {
    id = first >> 4;
    if (id == 15)
      return Step::End;
    idLen = 1;
    dataLen = static_cast<size_t>(first & 0x0F) + 1;
  } else if (form == ExtensionForm::TwoByte) {
    id = first;
    idLen = 2;
    dataLen = 0; // read below once we know the length byte exists
  } else {
    return Step::End;
  }
  if (id == 0) {
    *pos += 1;
    return Step::Padding;
  }
  if (form == ExtensionForm::TwoByte) {
    if (*pos + 2 > size)
      return Step::Malformed;
    dataLen = block[*pos + 1];
  }
  if (size - *pos < idLen + dataLen)
    return Step::Malformed;
  out->id = id;
  out->value = {block + *pos + idLen, dataLen};
  *pos += idLen + dataLen;
  return Step::Element;
}

ExtensionForm FormOf(uint16_t profile) {
  if (profile == RtpPacket::kOneByteProfile)
    return ExtensionForm::OneByte;
  if ((profile & 0xFFF0) == RtpPacket::kTwoByteProfile)
    return ExtensionForm::TwoByte;
  return ExtensionForm::Opaque;
}

bool ElementsWellFormed(ExtensionForm form, const uint8_t* block, size_t size) {
  size_t pos = 0;
  HeaderExtension ext;
  for (;;) {
    switch (DecodeElement(form, block, size, &pos, &ext)) {
    case Step::Element:
    case Step::Padding:
      break;
    case Step::End:
      return true;
    case Step::Malformed:
      return false;
    }
  }
}

std::optional<RtpPacket> Fail(ParseError* why, ParseError reason) {
  if (why)
    *why = reason;
  return std::nullopt;
}

} // namespace

const char* ParseErrorName(ParseError why) {
  switch (why) {
  case ParseError::TooShort:
    return "too-short";
  case ParseError::TooLong:
    return "too-long";
  case ParseError::BadVersion:
    return "bad-version";
  case ParseError::CsrcOverrun:
    return "csrc-overrun";
  case ParseError::ExtensionOverrun:
    return "extension-overrun";
  case ParseError::BadExtensionElement:
    return "bad-extension-element";
  case ParseError::BadPadding:
    return "bad-padding";
  }
  return "unknown";
}

bool ExtensionIterator::Next(HeaderExtension* out) {
  for (;;) {
    switch (DecodeElement(form_, block_, size_, &pos_, out)) {
    case Step::Element:
      return true;
    case Step::Padding:
      continue;
    case Step::End:
    case Step::Malformed: // cannot happen on a validated block; stop anyway
      return false;
    }
  }
}

// RFC 3550 §5.1 fixed header, then §5.3.1 extension:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           timestamp                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           synchronization source (SSRC) identifier            |
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//   |            contributing source (CSRC) identifiers             |
//   |                             ....                              |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      defined by profile       |           length              |  (if X)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        header extension                       |  length * 4 bytes
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// If P is set, the last octet counts the padding octets including itself.
std::optional<RtpPacket> RtpPacket::Parse(const uint8_t* data, size_t len, ParseError* why) {
  if (data == nullptr || len < kFixedHeaderSize)
    return Fail(why, ParseError::TooShort);
  if (len > kMaxPacketSize)
    return Fail(why, ParseError::TooLong);
  if ((data[0] >> 6) != 2)
    return Fail(why, ParseError::BadVersion);

  RtpPacket pkt;
  pkt.data_ = data;
  pkt.size_ = static_cast<uint16_t>(len);
  size_t header = kFixedHeaderSize + 4 * static_cast<size_t>(data[0] & 0x0F);
  if (header > len)
    return Fail(why, ParseError::CsrcOverrun);

  if (data[0] & 0x10) {
    if (len - header < 4)
      return Fail(why, ParseError::ExtensionOverrun);
    const uint16_t profile = Read16(data + header);
    const size_t body = 4 * static_cast<size_t>(Read16(data + header + 2));
    if (len - header - 4 < body)
      return Fail(why, ParseError::ExtensionOverrun);
    pkt.extProfile_ = profile;
    pkt.extForm_ = FormOf(profile);
    pkt.extOffset_ = static_cast<uint16_t>(header + 4);
    pkt.extSize_ = static_cast<uint16_t>(body);
    if (!ElementsWellFormed(pkt.extForm_, data + header + 4, body))
      return Fail(why, ParseError::BadExtensionElement);
    header += 4 + body;
  }
  pkt.headerSize_ = static_cast<uint16_t>(header);

  if (data[0] & 0x20) {
    if (header == len)
      return Fail(why, ParseError::BadPadding);
    const uint8_t count = data[len - 1];
    if (count == 0 || count > len - header)
      return Fail(why, ParseError::BadPadding);
    pkt.paddingSize_ = count;
  }
  return pkt;
}

ByteView RtpPacket::ExtensionBlock() const {
  if (extForm_ == ExtensionForm::None)
    return {};
  return {data_ + extOffset_, extSize_};
}

ExtensionIterator RtpPacket::Extensions() const {
  return ExtensionIterator(extForm_, data_ + extOffset_, extSize_);
}

ByteView RtpPacket::GetExtension(uint8_t id) const {
  if (id == 0)
    return {};
  ExtensionIterator it = Extensions();
  HeaderExtension ext;
  while (it.Next(&ext)) {
    if (ext.id == id)
      return ext.value;
  }
  return {};
}

} // namespace sluice::rtp
