// A transport's congestion control state, both directions
// (draft-holmer-rmcat-transport-wide-cc-extensions-01):
//  - toward its senders: records the transport-wide seq of received packets
//    (TccRecorder) and sends them feedback every kIntervalMs or when the
//    record is full;
//  - toward its receivers: stamps the next transport-wide seq into every
//    outgoing RTP packet once a consumer negotiated the extension
//    (TccSendHistory), and matches the feedback that comes back with what was
//    sent (send time, size, arrival time, or lost).
// The transport hands it packets and feedback; it sends through the
// transport's MediaPort. Fixed-size state, allocated on first use of each
// direction; nothing per packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/router/MediaPort.hpp"
#include "sluice/rtcp/TransportCc.hpp"
#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/transport/TccRecorder.hpp"
#include "sluice/transport/TccSendHistory.hpp"

namespace sluice::transport {

class CongestionControl {
public:
  // What the remote's feedback said about the packets we sent.
  struct SendCounters {
    uint64_t feedbacks = 0;      // transport-cc feedback packets read
    uint64_t badFeedbacks = 0;   // refused by the reader (inconsistent)
    uint64_t packetsAcked = 0;   // reported received
    uint64_t packetsLost = 0;    // reported not received
    uint64_t packetsUnknown = 0; // reported about a seq we no longer (or never) hold
  };

  CongestionControl(router::MediaPort& port, uint32_t rtcpSsrc) : port_(port), rtcpSsrc_(rtcpSsrc) {}

  // Receive side: a packet routed to a producer whose transport-wide cc
  // extension id is `extId` (0: not negotiated).
  void OnReceivedRtp(const rtp::RtpPacket& packet, uint8_t extId);
  // Timer: feedback when due.
  void Tick(uint64_t nowMs);

  // Send side. The remote's extension id (from a consumer's parameters).
  void SetSendExtensionId(uint8_t id) { sendExtId_ = id; }
  uint8_t SendExtensionId() const { return sendExtId_; }
  // An outgoing RTP packet's head (header with extensions, then the
  // rewritten payload head; wireLen the whole packet on the wire): when the
  // head carries the transport-wide cc element, returns a copy (valid until
  // the next call on this thread) with the next seq written in and records
  // the send; otherwise returns `head` unchanged.
  const uint8_t* Stamp(const uint8_t* head, size_t headLen, size_t wireLen);
  // Feedback from the remote about our packets.
  void OnFeedback(const rtcp::TransportCcFeedback& feedback);

  const TccRecorder::Counters& ReceiveCounters() const { return recorder_.GetCounters(); }
  const SendCounters& GetSendCounters() const { return send_; }
  size_t MemoryBytes() const { return recorder_.MemoryBytes() + history_.MemoryBytes(); }

private:
  void SendFeedback();

  router::MediaPort& port_;
  uint32_t rtcpSsrc_;
  TccRecorder recorder_;
  uint32_t feedbackMediaSsrc_ = 0; // the last packet recorded, named in the feedback
  uint64_t nextFeedbackMs_ = 0;
  uint8_t sendExtId_ = 0;
  TccSendHistory history_;
  SendCounters send_;
};

} // namespace sluice::transport
