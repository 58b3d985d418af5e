#include "sluice/transport/CongestionControl.hpp"

#include <cstring>

#include <uv.h>

namespace sluice::transport {

namespace {

// Monotonic µs: the loop's ms clock is too coarse for 250 µs deltas.
int64_t NowUs() {
  return static_cast<int64_t>(uv_hrtime() / 1000);
}

// The largest head a consumer writes (header, extensions, payload head).
thread_local uint8_t tStamped[2304];

} // namespace

void CongestionControl::OnReceivedRtp(const rtp::RtpPacket& packet, uint8_t extId) {
  const auto ext = extId != 0 ? packet.GetExtension(extId) : rtp::ByteView{};
  if (ext.size != 2)
    return;
  feedbackMediaSsrc_ = packet.Ssrc();
  if (recorder_.Record(static_cast<uint16_t>((ext.data[0] << 8) | ext.data[1]), NowUs()))
    SendFeedback();
}

void CongestionControl::Tick(uint64_t nowMs) {
  if (recorder_.Pending() && nowMs >= nextFeedbackMs_) {
    SendFeedback();
    nextFeedbackMs_ = nowMs + TccRecorder::kIntervalMs;
  }
}

void CongestionControl::SendFeedback() {
  // One builder per thread: its arrays (1.5 KB) are not kept per transport.
  thread_local rtcp::TccFeedbackBuilder builder;
  uint8_t buf[rtcp::TccFeedbackBuilder::kMaxBytes];
  while (recorder_.Build(&builder)) {
    const size_t n = builder.Write(buf, sizeof(buf), rtcpSsrc_, feedbackMediaSsrc_);
    if (n != 0)
      port_.SendRtcp(buf, n);
  }
}

const uint8_t* CongestionControl::Stamp(const uint8_t* head, size_t headLen, size_t wireLen) {
  if (sendExtId_ == 0 || headLen > sizeof(tStamped))
    return head;
  const auto packet = rtp::RtpPacket::Parse(head, headLen);
  if (!packet)
    return head;
  const auto ext = packet->GetExtension(sendExtId_);
  if (ext.size != 2)
    return head;
  const auto offset = static_cast<size_t>(ext.data - head);
  std::memcpy(tStamped, head, headLen);
  const uint16_t seq = history_.Next(NowUs(), wireLen);
  tStamped[offset] = static_cast<uint8_t>(seq >> 8);
  tStamped[offset + 1] = static_cast<uint8_t>(seq);
  return tStamped;
}

void CongestionControl::OnFeedback(const rtcp::TransportCcFeedback& feedback) {
  history_.Record(); // the remote does send feedback: worth keeping what we send
  rtcp::TccFeedbackReader reader(feedback);
  if (!reader.Valid()) {
    ++send_.badFeedbacks;
    return;
  }
  ++send_.feedbacks;
  const int64_t now = NowUs();
  rtcp::TccPacketResult r;
  TccSendHistory::Sent sent;
  while (reader.Next(&r)) {
    if (!history_.Find(r.seq, now, &sent))
      ++send_.packetsUnknown;
    else if (r.received)
      ++send_.packetsAcked;
    else
      ++send_.packetsLost;
  }
}

} // namespace sluice::transport
