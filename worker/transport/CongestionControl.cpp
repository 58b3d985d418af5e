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

bool CongestionControl::OnFeedback(const rtcp::TransportCcFeedback& feedback) {
  history_.Record(); // the remote does send feedback: worth keeping what we send
  rtcp::TccFeedbackReader reader(feedback);
  if (!reader.Valid()) {
    ++send_.badFeedbacks;
    return false;
  }
  ++send_.feedbacks;
  // What the estimator takes per feedback: at most what the history can
  // hold, so a feedback claiming 65535 statuses costs a bounded walk.
  thread_local bwe::PacketFeedback packets[TccSendHistory::kSlots];
  size_t n = 0;
  const int64_t now = NowUs();
  rtcp::TccPacketResult r;
  TccSendHistory::Sent sent;
  for (size_t walked = 0; reader.Next(&r) && walked < 65536; ++walked) {
    if (!history_.Find(r.seq, now, &sent)) {
      ++send_.packetsUnknown;
      continue;
    }
    ++(r.received ? send_.packetsAcked : send_.packetsLost);
    if (n < TccSendHistory::kSlots)
      packets[n++] = {sent.sendUs, r.received ? r.arrivalUs : bwe::kLost, sent.size, false};
  }
  if (n == 0)
    return false;
  Estimate().OnFeedback(packets, n, now);
  return true;
}

bool CongestionControl::OnRemb(uint64_t bps) {
  Estimate().OnRemb(bps, NowUs());
  return true;
}

void CongestionControl::OnRtt(uint32_t rttMs) {
  if (estimator_)
    estimator_->OnRtt(rttMs, NowUs());
}

void CongestionControl::SetOutgoingBounds(uint32_t minBps, uint32_t maxBps) {
  minBps_ = minBps;
  maxBps_ = maxBps;
  if (estimator_)
    estimator_->SetBounds(minBps_ != 0 ? minBps_ : bwe::SendSideEstimator::Config().minBps, maxBps_);
}

bwe::SendSideEstimator& CongestionControl::Estimate() {
  if (!estimator_) {
    bwe::SendSideEstimator::Config config;
    config.initialBps = initialBps_;
    if (minBps_ != 0)
      config.minBps = minBps_;
    config.maxBps = maxBps_;
    estimator_ = std::make_unique<bwe::SendSideEstimator>(config);
  }
  return *estimator_;
}

std::optional<uint32_t> CongestionControl::AvailableOutgoingBitrate() const {
  if (estimator_)
    return estimator_->TargetBps();
  if (sendExtId_ != 0)
    return initialBps_;
  return std::nullopt;
}

} // namespace sluice::transport
