#include "sluice/rtcp/TransportCc.hpp"

#include <cstring>

namespace sluice::rtcp {

namespace {

constexpr size_t kFixedBytes = 4 + 4 + 4 + 8; // RTCP header, two SSRCs, FCI fixed part
constexpr size_t kRunMax = 0x1FFF;           // 13-bit run length
constexpr size_t kOneBitSymbols = 14;
constexpr size_t kTwoBitSymbols = 7;

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Statuses a chunk covers, and the symbol at `index` of it (index < covered).
size_t ChunkCovers(uint16_t chunk) {
  if ((chunk & 0x8000u) == 0)
    return chunk & kRunMax;
  return (chunk & 0x4000u) != 0 ? kTwoBitSymbols : kOneBitSymbols;
}

uint8_t ChunkSymbol(uint16_t chunk, size_t index) {
  if ((chunk & 0x8000u) == 0)
    return static_cast<uint8_t>((chunk >> 13) & 0x3u);
  if ((chunk & 0x4000u) == 0)
    return static_cast<uint8_t>((chunk >> (13 - index)) & 0x1u);
  return static_cast<uint8_t>((chunk >> (12 - 2 * index)) & 0x3u);
}

} // namespace

// --- builder ------------------------------------------------------------------

void TccFeedbackBuilder::Reset(uint16_t baseSeq, uint8_t fbCount) {
  baseSeq_ = baseSeq;
  fbCount_ = fbCount;
  count_ = 0;
  deltaCount_ = 0;
  deltaBytes_ = 0;
  referenceTime_ = 0;
  lastTick_ = 0;
}

bool TccFeedbackBuilder::AddLost() {
  // Upper bound on the chunk bytes (every chunk covers >= 7 statuses).
  if (count_ == kMaxPackets ||
      kFixedBytes + 2 * ((count_ + 1 + 6) / 7) + deltaBytes_ + 3 > kMaxBytes)
    return false;
  symbols_[count_++] = TccSymbol::NotReceived;
  return true;
}

bool TccFeedbackBuilder::AddReceived(int64_t arrivalUs) {
  if (count_ == kMaxPackets ||
      kFixedBytes + 2 * ((count_ + 1 + 6) / 7) + deltaBytes_ + 2 + 3 > kMaxBytes)
    return false;
  const int64_t tick = FloorDiv(arrivalUs, kTccTickUs);
  int64_t last = lastTick_;
  int64_t reference = referenceTime_;
  if (deltaCount_ == 0) {
    reference = FloorDiv(arrivalUs, kTccReferenceUs);
    last = reference * (kTccReferenceUs / kTccTickUs);
  }
  const int64_t delta = tick - last;
  if (delta < INT16_MIN || delta > INT16_MAX)
    return false;
  referenceTime_ = static_cast<int32_t>(reference & 0xFFFFFF);
  lastTick_ = tick;
  const bool small = delta >= 0 && delta <= 0xFF;
  symbols_[count_++] = small ? TccSymbol::SmallDelta : TccSymbol::LargeDelta;
  deltas_[deltaCount_++] = static_cast<int16_t>(delta);
  deltaBytes_ += small ? 1 : 2;
  return true;
}

uint16_t TccFeedbackBuilder::ChunkAt(size_t i, size_t* covered) const {
  const size_t remaining = count_ - i;
  const TccSymbol first = symbols_[i];
  size_t run = 1;
  while (run < remaining && run < kRunMax && symbols_[i + run] == first)
    ++run;
  const auto rle = [&] {
    *covered = run;
    return static_cast<uint16_t>((static_cast<unsigned>(first) << 13) | run);
  };
  if (run >= kOneBitSymbols)
    return rle();
  const size_t window = remaining < kOneBitSymbols ? remaining : kOneBitSymbols;
  bool anyLarge = false;
  for (size_t j = 0; j < window; ++j)
    anyLarge |= symbols_[i + j] == TccSymbol::LargeDelta;
  if (!anyLarge) {
    uint16_t chunk = 0x8000u;
    for (size_t j = 0; j < window; ++j)
      chunk |= static_cast<uint16_t>(static_cast<unsigned>(symbols_[i + j]) << (13 - j));
    *covered = window;
    return chunk;
  }
  if (run >= kTwoBitSymbols)
    return rle();
  const size_t n = remaining < kTwoBitSymbols ? remaining : kTwoBitSymbols;
  uint16_t chunk = 0xC000u;
  for (size_t j = 0; j < n; ++j)
    chunk |= static_cast<uint16_t>(static_cast<unsigned>(symbols_[i + j]) << (12 - 2 * j));
  *covered = n;
  return chunk;
}

size_t TccFeedbackBuilder::ChunkBytes() const {
  size_t bytes = 0;
  for (size_t i = 0, covered = 0; i < count_; i += covered) {
    ChunkAt(i, &covered);
    bytes += 2;
  }
  return bytes;
}

size_t TccFeedbackBuilder::Size() const {
  return (kFixedBytes + ChunkBytes() + deltaBytes_ + 3) & ~size_t{3};
}

size_t TccFeedbackBuilder::Write(uint8_t* out, size_t cap, uint32_t senderSsrc,
                                 uint32_t mediaSsrc) const {
  const size_t size = Size();
  if (deltaCount_ == 0 || size > cap)
    return 0;
  std::memset(out, 0, size);
  out[0] = 0x80u | kFmtTransportCc;
  out[1] = static_cast<uint8_t>(PacketType::RTPFB);
  Store16(out + 2, static_cast<uint16_t>(size / 4 - 1));
  for (int b = 0; b < 4; ++b) {
    out[4 + b] = static_cast<uint8_t>(senderSsrc >> (24 - 8 * b));
    out[8 + b] = static_cast<uint8_t>(mediaSsrc >> (24 - 8 * b));
  }
  uint8_t* p = out + 12;
  Store16(p, baseSeq_);
  Store16(p + 2, static_cast<uint16_t>(count_));
  p[4] = static_cast<uint8_t>(referenceTime_ >> 16);
  p[5] = static_cast<uint8_t>(referenceTime_ >> 8);
  p[6] = static_cast<uint8_t>(referenceTime_);
  p[7] = fbCount_;
  p += 8;
  for (size_t i = 0, covered = 0; i < count_; i += covered, p += 2)
    Store16(p, ChunkAt(i, &covered));
  for (size_t d = 0, s = 0; s < count_; ++s) {
    if (symbols_[s] == TccSymbol::SmallDelta) {
      *p++ = static_cast<uint8_t>(deltas_[d++]);
    } else if (symbols_[s] == TccSymbol::LargeDelta) {
      Store16(p, static_cast<uint16_t>(deltas_[d++]));
      p += 2;
    }
  }
  return size;
}

// --- reader -------------------------------------------------------------------

TccFeedbackReader::TccFeedbackReader(const TransportCcFeedback& feedback) : fci_(feedback.Fci()) {
  baseSeq_ = feedback.BaseSequenceNumber();
  statusCount_ = feedback.PacketStatusCount();
  fbCount_ = feedback.FeedbackPacketCount();
  int32_t ref = static_cast<int32_t>(feedback.ReferenceTime());
  if (ref & 0x800000)
    ref -= 0x1000000; // 24-bit signed
  referenceUs_ = int64_t{ref} * kTccReferenceUs;
  arrivalUs_ = referenceUs_;
  valid_ = ScanChunks();
}

bool TccFeedbackReader::ScanChunks() {
  size_t offset = 8;
  size_t symbols = 0;
  size_t deltaBytes = 0;
  while (symbols < statusCount_) {
    if (offset + 2 > fci_.size)
      return false;
    const uint16_t chunk = detail::Load16(fci_.data + offset);
    offset += 2;
    const size_t covers = ChunkCovers(chunk);
    for (size_t j = 0; j < covers && symbols < statusCount_; ++j, ++symbols) {
      const uint8_t s = ChunkSymbol(chunk, j);
      if (s == 3)
        return false; // reserved
      deltaBytes += s;
    }
    if ((chunk & 0x8000u) == 0 && covers == 0)
      return false; // an empty run would make no progress
  }
  deltaOffset_ = offset;
  deltaPos_ = offset;
  return offset + deltaBytes <= fci_.size;
}

bool TccFeedbackReader::Next(TccPacketResult* out) {
  if (!valid_ || produced_ >= statusCount_)
    return false;
  uint16_t chunk = detail::Load16(fci_.data + chunkOffset_);
  if (inChunk_ == ChunkCovers(chunk)) {
    chunkOffset_ += 2;
    inChunk_ = 0;
    chunk = detail::Load16(fci_.data + chunkOffset_);
  }
  const uint8_t s = ChunkSymbol(chunk, inChunk_++);
  out->seq = static_cast<uint16_t>(baseSeq_ + produced_++);
  out->received = s != 0;
  out->arrivalUs = 0;
  if (s == 1) {
    arrivalUs_ += int64_t{fci_.data[deltaPos_++]} * kTccTickUs;
  } else if (s == 2) {
    arrivalUs_ += int64_t{static_cast<int16_t>(detail::Load16(fci_.data + deltaPos_))} * kTccTickUs;
    deltaPos_ += 2;
  }
  if (s != 0)
    out->arrivalUs = arrivalUs_;
  return true;
}

} // namespace sluice::rtcp
