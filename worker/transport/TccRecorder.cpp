#include "sluice/transport/TccRecorder.hpp"

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::transport {

bool TccRecorder::Record(uint16_t seq, int64_t arrivalUs) {
  if (!slots_)
    slots_ = std::make_unique<Slot[]>(kSlots); // value-initialized: no slot valid
  if (!started_) {
    started_ = true;
    next_ = seq;
    highest_ = seq;
  } else if (rtp::IsNewer(next_, seq)) {
    ++counters_.late; // reported already (as lost) or a duplicate of a reported one
    return false;
  } else if (rtp::ForwardDiff(next_, seq) >= kSlots) {
    // A jump the ring cannot span (a sender restart, a huge gap): what waits
    // is abandoned and reporting starts over at this packet.
    for (size_t i = 0; i < kSlots; ++i)
      slots_[i].valid = false;
    next_ = seq;
    highest_ = seq;
  }
  Slot& slot = slots_[seq % kSlots];
  if (slot.valid && slot.seq == seq) {
    ++counters_.late;
    return false;
  }
  slot = {arrivalUs, seq, true};
  if (rtp::IsNewer(seq, highest_))
    highest_ = seq;
  pending_ = true;
  ++counters_.recorded;
  return rtp::ForwardDiff(next_, highest_) + 1u >= kMaxSpan;
}

bool TccRecorder::Build(rtcp::TccFeedbackBuilder* out) {
  if (!pending_)
    return false;
  out->Reset(next_, fbCount_);
  const uint16_t end = static_cast<uint16_t>(highest_ + 1);
  uint16_t seq = next_;
  for (; seq != end; ++seq) {
    Slot& slot = slots_[seq % kSlots];
    const bool received = slot.valid && slot.seq == seq;
    if (!(received ? out->AddReceived(slot.arrivalUs) : out->AddLost()))
      break; // full: the rest goes in the next feedback
    if (received)
      slot.valid = false;
  }
  next_ = seq;
  pending_ = seq != end;
  ++fbCount_;
  ++counters_.feedbacksSent;
  return out->ReceivedCount() != 0;
}

} // namespace sluice::transport
