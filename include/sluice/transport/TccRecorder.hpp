// Receive side of transport-wide congestion control: records the arrival of
// every received packet that carries the transport-wide sequence number
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2) and turns what it
// recorded into feedback packets (rtcp/TransportCc.hpp) for the sender.
//
// A transport sends feedback about every kIntervalMs, and at once when the
// packets waiting for a report span kMaxSpan sequence numbers, so a feedback
// always fits one packet and the record never overflows.
//
// Memory: a ring of kSlots arrivals indexed by sequence number, allocated on
// the first recorded packet (transports that only send never pay for it).
// Wrap-safe: sequence numbers are compared with SeqMath over 2^16. A packet
// older than the next one to report (already reported as lost, or a
// duplicate) is counted late and ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sluice/rtcp/TransportCc.hpp"

namespace sluice::transport {

class TccRecorder {
public:
  static constexpr size_t kSlots = 512;
  static constexpr uint16_t kMaxSpan = 400; // < kSlots and < TccFeedbackBuilder::kMaxPackets
  static constexpr uint64_t kIntervalMs = 100;

  struct Counters {
    uint64_t recorded = 0;
    uint64_t late = 0;          // older than the next seq to report, or duplicates
    uint64_t feedbacksSent = 0; // packets built
  };

  // Records `seq` received at `arrivalUs` (a monotonic clock in µs). true:
  // the waiting packets reached kMaxSpan, build feedback now.
  bool Record(uint16_t seq, int64_t arrivalUs);
  // Something waits to be reported.
  bool Pending() const { return pending_; }
  // Builds the next feedback into *out, from the oldest unreported seq to the
  // newest recorded; lost ones inside are reported not received. Call again
  // while it returns true (a span may need more than one packet). false:
  // nothing (more) to report.
  bool Build(rtcp::TccFeedbackBuilder* out);

  const Counters& GetCounters() const { return counters_; }
  size_t MemoryBytes() const { return slots_ ? kSlots * sizeof(Slot) : 0; }

private:
  struct Slot {
    int64_t arrivalUs;
    uint16_t seq;
    bool valid;
  };

  std::unique_ptr<Slot[]> slots_;
  uint16_t next_ = 0;    // oldest seq not yet reported
  uint16_t highest_ = 0; // newest seq recorded
  bool started_ = false;
  bool pending_ = false;
  uint8_t fbCount_ = 0;
  Counters counters_;
};

} // namespace sluice::transport
