#include "sluice/transport/TccSendHistory.hpp"

#include <algorithm>

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::transport {

void TccSendHistory::Record() {
  if (!slots_)
    slots_ = std::make_unique<Slot[]>(kSlots);
}

uint16_t TccSendHistory::Next(int64_t sendUs, size_t wireSize) {
  const uint16_t seq = next_++;
  if (!slots_)
    return seq;
  slots_[seq % kSlots] = {static_cast<uint32_t>(sendUs),
                          static_cast<uint16_t>(std::min<size_t>(wireSize, UINT16_MAX)), seq};
  stamped_ = std::min<uint32_t>(stamped_ + 1, kSlots);
  return seq;
}

bool TccSendHistory::Find(uint16_t seq, int64_t nowUs, Sent* out) const {
  if (!slots_ || rtp::ForwardDiff(seq, LastSeq()) >= stamped_)
    return false; // never sent, or overwritten already
  const Slot& slot = slots_[seq % kSlots];
  if (slot.seq != seq)
    return false;
  const uint32_t age = static_cast<uint32_t>(nowUs) - slot.sendUsLow;
  *out = {nowUs - int64_t{age}, slot.size};
  return true;
}

} // namespace sluice::transport
