#include "sluice/rtp/codecs/PictureIdRewriter.hpp"

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::rtp::codecs {

namespace {

constexpr uint16_t kPidMask = PictureIdRewriter::kPidMask;
constexpr uint16_t kShortMask = 0x7F;

uint16_t Pid(uint32_t v) {
  return static_cast<uint16_t>(v & kPidMask);
}

} // namespace

uint16_t PictureIdRewriter::ExtendSource(const PictureIdIn& in, bool fresh) const {
  if (in.pictureIdLong)
    return Pid(in.pictureId);
  const uint16_t cur = in.pictureId & kShortMask;
  if (fresh)
    return cur;
  // Place the 7-bit value at the nearest point to the last source value.
  const uint16_t last = lastSrcPid_ & kShortMask;
  if (IsNewerBits<7>(cur, last))
    return Pid(lastSrcPid_ + ForwardDiffBits<7>(last, cur));
  return Pid(lastSrcPid_ - ForwardDiffBits<7>(cur, last));
}

void PictureIdRewriter::Remember(uint16_t src, uint16_t delta) {
  history_[historyNext_] = Seen{src, delta};
  historyNext_ = static_cast<uint8_t>((historyNext_ + 1) % kHistory);
  if (historyCount_ < kHistory)
    ++historyCount_;
}

bool PictureIdRewriter::Lookup(uint16_t src, uint16_t* delta) const {
  for (uint8_t i = 0; i < historyCount_; ++i) {
    if (history_[i].src == src) {
      *delta = history_[i].delta;
      return true;
    }
  }
  return false;
}

bool PictureIdRewriter::Forward(const PictureIdIn& in, bool switching, PictureIdOut* out) {
  *out = PictureIdOut{};
  if (in.hasPictureId) {
    const bool fresh = !pidStarted_ || switching;
    const uint16_t src = ExtendSource(in, fresh);
    uint16_t delta = pidDelta_;
    if (fresh) {
      // Continue at last + 1; the very first stream keeps its own numbering.
      pidDelta_ = pidStarted_ ? ForwardDiffBits<15>(src, Pid(lastOutPid_ + 1u)) : 0;
      delta = pidDelta_;
      historyCount_ = 0;
      historyNext_ = 0;
      lastSrcPid_ = src;
      lastOutPid_ = Pid(src + delta);
      pidStarted_ = true;
      Remember(src, delta);
    } else if (!Lookup(src, &delta)) {
      if (!IsNewerBits<15>(src, lastSrcPid_))
        return false; // a late packet of a frame we never forwarded, or too old
      delta = pidDelta_;
      lastSrcPid_ = src;
      Remember(src, delta);
    }
    out->pictureId = Pid(src + delta);
    if (IsNewerBits<15>(out->pictureId, lastOutPid_))
      lastOutPid_ = out->pictureId;
  }
  if (in.hasTl0PicIdx) {
    if (!tl0Started_ || switching) {
      tl0Delta_ = tl0Started_ ? static_cast<uint8_t>(lastOutTl0_ + 1 - in.tl0PicIdx) : 0;
      lastOutTl0_ = static_cast<uint8_t>(in.tl0PicIdx + tl0Delta_);
      tl0Started_ = true;
    }
    out->tl0PicIdx = static_cast<uint8_t>(in.tl0PicIdx + tl0Delta_);
    if (IsNewer(out->tl0PicIdx, lastOutTl0_))
      lastOutTl0_ = out->tl0PicIdx;
  }
  return true;
}

bool PictureIdRewriter::DropFrame(const PictureIdIn& in) {
  if (!in.hasPictureId || !pidStarted_)
    return false;
  const uint16_t src = ExtendSource(in, false);
  // Not newer than the newest seen: another packet of a frame already counted,
  // or a late one whose successors are already out. Either way nothing moves.
  if (!IsNewerBits<15>(src, lastSrcPid_))
    return false;
  lastSrcPid_ = src;
  pidDelta_ = Pid(pidDelta_ + kPidMask); // minus one, mod 2^15
  return true;
}

} // namespace sluice::rtp::codecs
