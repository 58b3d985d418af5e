#include "sluice/rtcp/RtcpPacket.hpp"

#include <cstring>
#include <limits>

namespace sluice::rtcp {

static_assert(static_cast<size_t>(ParseError::BadPadding) + 1 == kParseErrorCount,
              "kParseErrorCount must follow the last ParseError");

using detail::Load16;
using detail::Load32;

const char* ParseErrorName(ParseError why) {
  switch (why) {
  case ParseError::TooShort:
    return "too-short";
  case ParseError::BadVersion:
    return "bad-version";
  case ParseError::LengthOverrun:
    return "length-overrun";
  case ParseError::BadPadding:
    return "bad-padding";
  }
  return "unknown";
}

std::optional<RtcpPacket> RtcpPacket::Parse(const uint8_t* data, size_t len, ParseError* why) {
  auto fail = [why](ParseError e) {
    if (why)
      *why = e;
    return std::nullopt;
  };
  if (data == nullptr || len < kHeaderSize)
    return fail(ParseError::TooShort);
  if ((data[0] >> 6) != 2)
    return fail(ParseError::BadVersion);
  const size_t size = (static_cast<size_t>(Load16(data + 2)) + 1) * 4;
  if (size > len)
    return fail(ParseError::LengthOverrun);
  RtcpPacket pkt;
  pkt.data_ = data;
  pkt.size_ = size;
  if (pkt.Padding()) {
    // The count octet is the packet's last; it includes itself, so it is at
    // least 1 and at most the whole body.
    const size_t pad = data[size - 1];
    if (pad == 0 || pad > size - kHeaderSize)
      return fail(ParseError::BadPadding);
    pkt.paddingSize_ = pad;
  }
  return pkt;
}

bool CompoundIterator::Next(RtcpPacket* out) {
  if (error_ || pos_ >= len_)
    return false;
  ParseError why = ParseError::TooShort;
  const std::optional<RtcpPacket> pkt = RtcpPacket::Parse(data_ + pos_, len_ - pos_, &why);
  if (!pkt) {
    error_ = why;
    return false;
  }
  *out = *pkt;
  pos_ += pkt->Size();
  return true;
}

ReportBlock ReportBlock::Decode(const uint8_t* p) {
  ReportBlock b;
  b.ssrc = Load32(p);
  b.fractionLost = p[4];
  // Sign-extend the 24-bit two's complement value.
  const uint32_t raw = detail::Load24(p + 5);
  b.cumulativeLost =
      (raw & 0x800000) ? static_cast<int32_t>(raw) - 0x1000000 : static_cast<int32_t>(raw);
  b.extendedHighestSeq = Load32(p + 8);
  b.jitter = Load32(p + 12);
  b.lsr = Load32(p + 16);
  b.dlsr = Load32(p + 20);
  return b;
}

std::optional<SenderReport> SenderReport::Parse(const RtcpPacket& pkt) {
  const ByteView body = pkt.Body();
  if (pkt.Type() != static_cast<uint8_t>(PacketType::SR))
    return std::nullopt;
  if (body.size < kMinBodySize + ReportBlock::kSize * pkt.Count())
    return std::nullopt;
  SenderReport sr;
  sr.body_ = body.data;
  sr.count_ = pkt.Count();
  return sr;
}

std::optional<ReceiverReport> ReceiverReport::Parse(const RtcpPacket& pkt) {
  const ByteView body = pkt.Body();
  if (pkt.Type() != static_cast<uint8_t>(PacketType::RR))
    return std::nullopt;
  if (body.size < kMinBodySize + ReportBlock::kSize * pkt.Count())
    return std::nullopt;
  ReceiverReport rr;
  rr.body_ = body.data;
  rr.count_ = pkt.Count();
  return rr;
}

namespace {

// Measures the SDES chunk at body[pos]: sets *itemsSize (item bytes before
// the null octet) and returns the chunk size including its null padding, or 0
// when the chunk does not fit.
size_t MeasureSdesChunk(const uint8_t* body, size_t size, size_t pos, size_t* itemsSize) {
  if (size - pos < 4)
    return 0;
  size_t p = pos + 4;
  for (;;) {
    if (p >= size)
      return 0; // no terminating null octet
    if (body[p] == kSdesEnd)
      break;
    if (size - p < 2 || size - p - 2 < body[p + 1])
      return 0;
    p += 2 + body[p + 1];
  }
  *itemsSize = p - (pos + 4);
  const size_t end = (p + 1 + 3) & ~size_t{3}; // null octet, then pad to 32 bits
  if (end > size)
    return 0;
  return end - pos;
}

} // namespace

bool SdesItemIterator::Next(SdesItem* out) {
  // The chunk was validated: every item fits, and there is no null item
  // inside `size_`.
  if (pos_ + 2 > size_)
    return false;
  out->type = p_[pos_];
  out->text = {p_ + pos_ + 2, p_[pos_ + 1]};
  pos_ += 2 + p_[pos_ + 1];
  return true;
}

bool SdesChunkIterator::Next(SdesChunk* out) {
  if (left_ == 0)
    return false;
  size_t itemsSize = 0;
  const size_t chunk = MeasureSdesChunk(p_, size_, pos_, &itemsSize);
  if (chunk == 0) { // cannot happen after Sdes::Parse; stay safe anyway
    left_ = 0;
    return false;
  }
  out->ssrc = Load32(p_ + pos_);
  out->items = {p_ + pos_ + 4, itemsSize};
  pos_ += chunk;
  --left_;
  return true;
}

std::optional<Sdes> Sdes::Parse(const RtcpPacket& pkt) {
  if (pkt.Type() != static_cast<uint8_t>(PacketType::SDES))
    return std::nullopt;
  const ByteView body = pkt.Body();
  size_t pos = 0;
  for (size_t i = 0; i < pkt.Count(); ++i) {
    size_t itemsSize = 0;
    const size_t chunk = MeasureSdesChunk(body.data, body.size, pos, &itemsSize);
    if (chunk == 0)
      return std::nullopt;
    pos += chunk;
  }
  Sdes sdes;
  sdes.body_ = body.data;
  sdes.size_ = body.size;
  sdes.count_ = pkt.Count();
  return sdes;
}

ByteView Sdes::Cname(uint32_t ssrc) const {
  SdesChunkIterator chunks = Chunks();
  SdesChunk chunk;
  while (chunks.Next(&chunk)) {
    if (chunk.ssrc != ssrc)
      continue;
    SdesItemIterator items = chunk.Items();
    SdesItem item;
    while (items.Next(&item)) {
      if (item.type == kSdesCname)
        return item.text;
    }
    return {};
  }
  return {};
}

std::optional<Bye> Bye::Parse(const RtcpPacket& pkt) {
  if (pkt.Type() != static_cast<uint8_t>(PacketType::BYE))
    return std::nullopt;
  const ByteView body = pkt.Body();
  const size_t ssrcBytes = 4 * size_t{pkt.Count()};
  if (body.size < ssrcBytes)
    return std::nullopt;
  Bye bye;
  bye.body_ = body.data;
  bye.count_ = pkt.Count();
  // RFC 3550 §6.6: the reason follows the list; the rest of the last word is
  // null padding. Null bytes where a length would be mean "no reason".
  if (body.size > ssrcBytes) {
    const uint8_t reasonLen = body.data[ssrcBytes];
    if (body.size - ssrcBytes - 1 < reasonLen)
      return std::nullopt;
    if (reasonLen > 0)
      bye.reason_ = {body.data + ssrcBytes + 1, reasonLen};
  }
  return bye;
}

std::optional<FeedbackHeader> FeedbackHeader::Parse(const RtcpPacket& pkt, PacketType type,
                                                    uint8_t fmt) {
  if (pkt.Type() != static_cast<uint8_t>(type) || pkt.Fmt() != fmt)
    return std::nullopt;
  const ByteView body = pkt.Body();
  if (body.size < kSize)
    return std::nullopt;
  FeedbackHeader h;
  h.senderSsrc = Load32(body.data);
  h.mediaSsrc = Load32(body.data + 4);
  h.fci = {body.data + kSize, body.size - kSize};
  return h;
}

bool NackSeqIterator::Next(uint16_t* seq) {
  while (pair_ < pairs_) {
    const uint8_t* p = fci_ + 4 * pair_;
    const uint16_t pid = Load16(p);
    if (bit_ < 0) {
      bit_ = 0;
      *seq = pid;
      return true;
    }
    const uint16_t blp = Load16(p + 2);
    while (bit_ < 16) {
      const int b = bit_++;
      if (blp & (1u << b)) {
        *seq = static_cast<uint16_t>(pid + b + 1);
        return true;
      }
    }
    ++pair_;
    bit_ = -1;
  }
  return false;
}

std::optional<GenericNack> GenericNack::Parse(const RtcpPacket& pkt) {
  const auto h = FeedbackHeader::Parse(pkt, PacketType::RTPFB, kFmtNack);
  if (!h || h->fci.size == 0 || h->fci.size % 4 != 0)
    return std::nullopt;
  GenericNack nack;
  nack.header_ = *h;
  return nack;
}

std::optional<TransportCcFeedback> TransportCcFeedback::Parse(const RtcpPacket& pkt) {
  const auto h = FeedbackHeader::Parse(pkt, PacketType::RTPFB, kFmtTransportCc);
  if (!h || h->fci.size < kMinFciSize)
    return std::nullopt;
  TransportCcFeedback fb;
  fb.header_ = *h;
  return fb;
}

std::optional<Pli> Pli::Parse(const RtcpPacket& pkt) {
  const auto h = FeedbackHeader::Parse(pkt, PacketType::PSFB, kFmtPli);
  if (!h)
    return std::nullopt;
  Pli pli;
  pli.header_ = *h;
  return pli;
}

std::optional<Fir> Fir::Parse(const RtcpPacket& pkt) {
  const auto h = FeedbackHeader::Parse(pkt, PacketType::PSFB, kFmtFir);
  if (!h || h->fci.size == 0 || h->fci.size % 8 != 0)
    return std::nullopt;
  Fir fir;
  fir.header_ = *h;
  return fir;
}

std::optional<Remb> Remb::Parse(const RtcpPacket& pkt) {
  const auto h = FeedbackHeader::Parse(pkt, PacketType::PSFB, kFmtAfb);
  if (!h || h->fci.size < 8 || std::memcmp(h->fci.data, "REMB", 4) != 0)
    return std::nullopt;
  if (h->fci.size - 8 < 4 * size_t{h->fci.data[4]})
    return std::nullopt;
  Remb remb;
  remb.header_ = *h;
  return remb;
}

uint64_t Remb::Bitrate() const {
  const uint8_t* p = header_.fci.data + 5;
  const unsigned exp = p[0] >> 2;
  const uint64_t mantissa = (uint64_t{p[0]} & 0x03) << 16 | uint64_t{p[1]} << 8 | p[2];
  if (mantissa == 0)
    return 0;
  if (exp > 0 && (mantissa >> (64 - exp)) != 0)
    return std::numeric_limits<uint64_t>::max();
  return mantissa << exp;
}

bool XrBlockIterator::Next(XrBlock* out) {
  if (size_ - pos_ < 4)
    return false;
  const uint8_t* p = p_ + pos_;
  const size_t bodySize = 4 * size_t{Load16(p + 2)};
  if (size_ - pos_ - 4 < bodySize) { // cannot happen after Xr::Parse
    pos_ = size_;
    return false;
  }
  out->type = p[0];
  out->typeSpecific = p[1];
  out->body = {p + 4, bodySize};
  pos_ += 4 + bodySize;
  return true;
}

std::optional<Xr> Xr::Parse(const RtcpPacket& pkt) {
  if (pkt.Type() != static_cast<uint8_t>(PacketType::XR))
    return std::nullopt;
  const ByteView body = pkt.Body();
  if (body.size < 4)
    return std::nullopt;
  size_t pos = 4;
  while (pos < body.size) {
    if (body.size - pos < 4)
      return std::nullopt;
    const size_t blockSize = 4 + 4 * size_t{Load16(body.data + pos + 2)};
    if (body.size - pos < blockSize)
      return std::nullopt;
    pos += blockSize;
  }
  Xr xr;
  xr.body_ = body.data;
  xr.size_ = body.size;
  return xr;
}

std::optional<XrRrtr> XrRrtr::Parse(const XrBlock& block) {
  if (block.type != kXrRrtr || block.body.size != 8)
    return std::nullopt;
  return XrRrtr{Load32(block.body.data), Load32(block.body.data + 4)};
}

std::optional<XrDlrr> XrDlrr::Parse(const XrBlock& block) {
  if (block.type != kXrDlrr || block.body.size % 12 != 0)
    return std::nullopt;
  XrDlrr dlrr;
  dlrr.body_ = block.body.data;
  dlrr.size_ = block.body.size;
  return dlrr;
}

} // namespace sluice::rtcp
