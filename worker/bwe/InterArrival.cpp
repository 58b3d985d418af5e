#include "sluice/bwe/InterArrival.hpp"

#include <algorithm>

namespace sluice::bwe {

bool InterArrival::JoinsCurrent(int64_t sendUs, int64_t arrivalUs) const {
  if (sendUs - current_.firstSendUs <= kBurstUs)
    return true;
  // Arrived in a burst: sooner after the group's last packet than it was
  // sent after it, and within the burst time. The queue released them
  // together; they tell nothing about each other's delay.
  const int64_t arrivalGap = arrivalUs - current_.arrivalUs;
  const int64_t sendGap = sendUs - current_.lastSendUs;
  return arrivalGap >= 0 && arrivalGap < kBurstUs && arrivalGap - sendGap < 0;
}

InterArrival::Result InterArrival::OnPacket(int64_t sendUs, int64_t arrivalUs, GroupDelta* out) {
  if (!current_.valid) {
    current_ = Group{sendUs, sendUs, arrivalUs, true};
    return Result::None;
  }
  if (sendUs < current_.firstSendUs) {
    ++ignored_;
    return Result::None;
  }
  if (JoinsCurrent(sendUs, arrivalUs)) {
    current_.lastSendUs = std::max(current_.lastSendUs, sendUs);
    current_.arrivalUs = std::max(current_.arrivalUs, arrivalUs);
    return Result::None;
  }
  // The packet opens a new group: the current one is complete.
  const Group done = current_;
  current_ = Group{sendUs, sendUs, arrivalUs, true};
  if (!previous_.valid) {
    previous_ = done;
    return Result::None;
  }
  const int64_t sendDelta = done.lastSendUs - previous_.lastSendUs;
  const int64_t arrivalDelta = done.arrivalUs - previous_.arrivalUs;
  const int64_t variation = arrivalDelta - sendDelta;
  if (variation > kMaxJumpUs || variation < -kMaxJumpUs) {
    // The receiver's clock moved under us; start over from this group.
    ++discontinuities_;
    previous_ = done;
    return Result::Discontinuity;
  }
  if (arrivalDelta < 0) {
    // Overtaken by a later group: its sample would be noise.
    ++ignored_;
    return Result::None;
  }
  previous_ = done;
  *out = GroupDelta{sendDelta, arrivalDelta, done.arrivalUs};
  return Result::Delta;
}

void InterArrival::Reset() {
  current_ = Group{};
  previous_ = Group{};
}

} // namespace sluice::bwe
