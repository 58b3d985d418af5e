#include "sluice/rtcp/RtcpWriter.hpp"

#include <cstring>

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::rtcp {

namespace {

// Largest RTCP packet: the 16-bit length field counts words minus one.
constexpr size_t kMaxPacketSize = (size_t{0xFFFF} + 1) * 4;

void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void StoreReportBlock(uint8_t* p, const ReportBlock& b) {
  Store32(p, b.ssrc);
  p[4] = b.fractionLost;
  int32_t lost = b.cumulativeLost;
  if (lost > 0x7FFFFF)
    lost = 0x7FFFFF;
  if (lost < -0x800000)
    lost = -0x800000;
  const uint32_t raw = static_cast<uint32_t>(lost) & 0xFFFFFF;
  p[5] = static_cast<uint8_t>(raw >> 16);
  p[6] = static_cast<uint8_t>(raw >> 8);
  p[7] = static_cast<uint8_t>(raw);
  Store32(p + 8, b.extendedHighestSeq);
  Store32(p + 12, b.jitter);
  Store32(p + 16, b.lsr);
  Store32(p + 20, b.dlsr);
}

// Walks `seqs` the way AddNack packs them; calls emit(pid, blp) per entry.
template <typename Emit> size_t PackNack(const uint16_t* seqs, size_t count, Emit emit) {
  size_t pairs = 0;
  uint16_t pid = 0;
  uint16_t blp = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint16_t seq = seqs[i];
    if (pairs > 0) {
      const uint16_t d = rtp::ForwardDiff(pid, seq);
      if (d == 0)
        continue;
      if (d <= 16) {
        blp = static_cast<uint16_t>(blp | 1u << (d - 1));
        continue;
      }
      emit(pid, blp);
    }
    pid = seq;
    blp = 0;
    ++pairs;
  }
  if (pairs > 0)
    emit(pid, blp);
  return pairs;
}

} // namespace

uint8_t* CompoundWriter::Begin(size_t size, uint8_t count, PacketType type) {
  if (size < RtcpPacket::kHeaderSize || size % 4 != 0 || size > kMaxPacketSize ||
      size > cap_ - size_ || buf_ == nullptr)
    return nullptr;
  uint8_t* p = buf_ + size_;
  p[0] = static_cast<uint8_t>(0x80 | (count & 0x1F)); // V=2, P=0
  p[1] = static_cast<uint8_t>(type);
  Store16(p + 2, static_cast<uint16_t>(size / 4 - 1));
  size_ += size;
  return p;
}

size_t CompoundWriter::AddSenderReport(uint32_t ssrc, const SenderInfo& info,
                                       const ReportBlock* blocks, size_t count) {
  if (count > kMaxCount || (count > 0 && blocks == nullptr))
    return 0;
  const size_t size = 4 + SenderReport::kMinBodySize + ReportBlock::kSize * count;
  uint8_t* p = Begin(size, static_cast<uint8_t>(count), PacketType::SR);
  if (p == nullptr)
    return 0;
  Store32(p + 4, ssrc);
  Store32(p + 8, info.ntp.seconds);
  Store32(p + 12, info.ntp.fraction);
  Store32(p + 16, info.rtpTimestamp);
  Store32(p + 20, info.packetCount);
  Store32(p + 24, info.octetCount);
  for (size_t i = 0; i < count; ++i)
    StoreReportBlock(p + 28 + ReportBlock::kSize * i, blocks[i]);
  return size;
}

size_t CompoundWriter::AddReceiverReport(uint32_t ssrc, const ReportBlock* blocks, size_t count) {
  if (count > kMaxCount || (count > 0 && blocks == nullptr))
    return 0;
  const size_t size = 8 + ReportBlock::kSize * count;
  uint8_t* p = Begin(size, static_cast<uint8_t>(count), PacketType::RR);
  if (p == nullptr)
    return 0;
  Store32(p + 4, ssrc);
  for (size_t i = 0; i < count; ++i)
    StoreReportBlock(p + 8 + ReportBlock::kSize * i, blocks[i]);
  return size;
}

size_t CompoundWriter::AddSdesCname(uint32_t ssrc, const char* cname, size_t len) {
  if (cname == nullptr || len == 0 || len > 255)
    return 0;
  // SSRC, type, length, text, then 1..4 null octets up to a 32-bit boundary.
  const size_t chunk = (4 + 2 + len + 1 + 3) & ~size_t{3};
  const size_t size = 4 + chunk;
  uint8_t* p = Begin(size, 1, PacketType::SDES);
  if (p == nullptr)
    return 0;
  Store32(p + 4, ssrc);
  p[8] = kSdesCname;
  p[9] = static_cast<uint8_t>(len);
  std::memcpy(p + 10, cname, len);
  std::memset(p + 10 + len, 0, size - 10 - len);
  return size;
}

size_t CompoundWriter::AddBye(const uint32_t* ssrcs, size_t count) {
  if (ssrcs == nullptr || count == 0 || count > kMaxCount)
    return 0;
  const size_t size = 4 + 4 * count;
  uint8_t* p = Begin(size, static_cast<uint8_t>(count), PacketType::BYE);
  if (p == nullptr)
    return 0;
  for (size_t i = 0; i < count; ++i)
    Store32(p + 4 + 4 * i, ssrcs[i]);
  return size;
}

size_t CompoundWriter::NackPairCount(const uint16_t* seqs, size_t count) {
  if (seqs == nullptr)
    return 0;
  return PackNack(seqs, count, [](uint16_t, uint16_t) {});
}

size_t CompoundWriter::AddNack(uint32_t senderSsrc, uint32_t mediaSsrc, const uint16_t* seqs,
                               size_t count) {
  const size_t pairs = NackPairCount(seqs, count);
  if (pairs == 0)
    return 0;
  const size_t size = 4 + FeedbackHeader::kSize + 4 * pairs;
  uint8_t* p = Begin(size, kFmtNack, PacketType::RTPFB);
  if (p == nullptr)
    return 0;
  Store32(p + 4, senderSsrc);
  Store32(p + 8, mediaSsrc);
  uint8_t* fci = p + 12;
  PackNack(seqs, count, [&fci](uint16_t pid, uint16_t blp) {
    Store16(fci, pid);
    Store16(fci + 2, blp);
    fci += 4;
  });
  return size;
}

size_t CompoundWriter::AddPli(uint32_t senderSsrc, uint32_t mediaSsrc) {
  const size_t size = 4 + FeedbackHeader::kSize;
  uint8_t* p = Begin(size, kFmtPli, PacketType::PSFB);
  if (p == nullptr)
    return 0;
  Store32(p + 4, senderSsrc);
  Store32(p + 8, mediaSsrc);
  return size;
}

size_t CompoundWriter::AddFir(uint32_t senderSsrc, const FirEntry* entries, size_t count) {
  if (entries == nullptr || count == 0 || count > (kMaxPacketSize - 12) / 8)
    return 0;
  const size_t size = 4 + FeedbackHeader::kSize + 8 * count;
  uint8_t* p = Begin(size, kFmtFir, PacketType::PSFB);
  if (p == nullptr)
    return 0;
  Store32(p + 4, senderSsrc);
  Store32(p + 8, 0); // RFC 5104 §4.3.1.2: media source SSRC SHALL be 0
  for (size_t i = 0; i < count; ++i) {
    uint8_t* e = p + 12 + 8 * i;
    Store32(e, entries[i].ssrc);
    Store32(e + 4, uint32_t{entries[i].seqNr} << 24); // reserved bits zero
  }
  return size;
}

size_t CompoundWriter::AddRemb(uint32_t senderSsrc, uint64_t bitrate, const uint32_t* ssrcs,
                               size_t count) {
  if (count > kMaxRembSsrcs || (count > 0 && ssrcs == nullptr))
    return 0;
  unsigned exp = 0;
  while ((bitrate >> exp) >= (uint64_t{1} << 18))
    ++exp;
  const uint32_t mantissa = static_cast<uint32_t>(bitrate >> exp);
  const size_t size = 4 + FeedbackHeader::kSize + 8 + 4 * count;
  uint8_t* p = Begin(size, kFmtAfb, PacketType::PSFB);
  if (p == nullptr)
    return 0;
  Store32(p + 4, senderSsrc);
  Store32(p + 8, 0); // draft-alvestrand-rmcat-remb §2.2: media source SSRC is 0
  std::memcpy(p + 12, "REMB", 4);
  p[16] = static_cast<uint8_t>(count);
  p[17] = static_cast<uint8_t>(exp << 2 | mantissa >> 16);
  Store16(p + 18, static_cast<uint16_t>(mantissa));
  for (size_t i = 0; i < count; ++i)
    Store32(p + 20 + 4 * i, ssrcs[i]);
  return size;
}

} // namespace sluice::rtcp
