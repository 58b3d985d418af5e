// Packet groups and the delay variation between them
// (draft-ietf-rmcat-gcc-02 §5.2).
//
// A group is what the sender put on the wire in one burst: every packet sent
// within kBurstUs of the group's first packet. A packet that arrives less than
// kBurstUs after the group's latest arrival, and sooner after it than it was
// sent, also joins the group: a queue that empties lets packets through
// back to back, and comparing them one by one would read that as a jump in
// delay. Two complete groups give one sample
//   d(i) = (t_i - t_{i-1}) - (T_i - T_{i-1})
// with t the arrival of the group's last packet (receiver clock) and T its
// send time (sender clock). Only differences of each clock are used, so a
// constant offset between them cancels out.
//
// Guards (none of them crash or feed garbage downstream):
// - a packet sent before the open group began (reordered feedback) is ignored;
// - a group that arrived before its predecessor (reordering across groups)
//   is dropped;
// - |d(i)| above kMaxJumpUs is a receiver clock discontinuity (reference
//   time wrap, a restarted peer): the groups are forgotten and the caller
//   resets whatever it accumulated.
// Two groups of fixed size: no allocation.
#pragma once

#include <cstdint>

namespace sluice::bwe {

struct GroupDelta {
  int64_t sendDeltaUs;    // T_i - T_{i-1}
  int64_t arrivalDeltaUs; // t_i - t_{i-1}
  int64_t arrivalUs;      // t_i
};

class InterArrival {
public:
  static constexpr int64_t kBurstUs = 5'000;
  static constexpr int64_t kMaxJumpUs = 3'000'000;

  enum class Result : uint8_t { None, Delta, Discontinuity };

  // One received packet, in transport-seq order. Delta: *out holds the
  // sample between the two groups this packet's arrival closed.
  Result OnPacket(int64_t sendUs, int64_t arrivalUs, GroupDelta* out);
  void Reset();

  uint64_t Ignored() const { return ignored_; }
  uint64_t Discontinuities() const { return discontinuities_; }

private:
  struct Group {
    int64_t firstSendUs = 0;
    int64_t lastSendUs = 0;
    int64_t arrivalUs = 0; // latest arrival of any of its packets
    bool valid = false;
  };

  bool JoinsCurrent(int64_t sendUs, int64_t arrivalUs) const;

  Group current_;
  Group previous_;
  uint64_t ignored_ = 0;
  uint64_t discontinuities_ = 0;
};

} // namespace sluice::bwe
