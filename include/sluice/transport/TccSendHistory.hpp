// Send side of transport-wide congestion control: the transport-wide
// sequence number stamped on every outgoing RTP packet (RTX and probes
// included) of a transport whose remote negotiated the extension, and what
// was sent under each number, so the remote's feedback can be matched.
//
// A fixed ring of kSlots entries (8 bytes each: the low 32 bits of the send
// time in µs, the wire size, the seq): 2 KiB, enough for ~2500 packets/s with
// feedback every 100 ms. It is allocated when the remote's first feedback
// arrives (Record()): a remote that negotiated the extension but never sends
// feedback costs nothing but the counter. Feedback
// about a seq older than the ring (or never sent) finds nothing and is
// ignored. Send times are rebuilt from the low 32 bits relative to "now", so
// they are right for packets sent within the last 71 minutes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sluice::transport {

class TccSendHistory {
public:
  static constexpr size_t kSlots = 256;

  // The seq for the next packet, recorded (once recording) as sent at sendUs
  // with wireSize bytes.
  uint16_t Next(int64_t sendUs, size_t wireSize);
  // Starts recording (allocates the ring); idempotent.
  void Record();

  struct Sent {
    int64_t sendUs;
    uint32_t size;
  };
  // What was sent under `seq`, if the ring still holds it. nowUs: a time not
  // before the send (to rebuild the full send time).
  bool Find(uint16_t seq, int64_t nowUs, Sent* out) const;

  size_t MemoryBytes() const { return slots_ ? kSlots * sizeof(Slot) : 0; }
  uint16_t LastSeq() const { return static_cast<uint16_t>(next_ - 1); }

private:
  struct Slot {
    uint32_t sendUsLow;
    uint16_t size;
    uint16_t seq;
  };
  std::unique_ptr<Slot[]> slots_;
  uint16_t next_ = 1;
  uint32_t stamped_ = 0; // saturates at kSlots: slots below it hold a real send
};

} // namespace sluice::transport
