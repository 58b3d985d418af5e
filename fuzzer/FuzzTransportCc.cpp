// libFuzzer target: transport-cc feedback (rtcp/TransportCc.hpp). Every
// RTPFB FMT 15 packet of an RTCP compound is read; when the reader accepts
// it, its statuses are written again with the builder and read back: the
// same sequence numbers, the same received/lost pattern and the same arrival
// gaps must come out. Then the input's first bytes drive a TccRecorder
// (sequence numbers and arrival steps) and every feedback it builds must read
// back as valid. A mismatch aborts; ASan catches any out-of-bounds read.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sluice/rtcp/TransportCc.hpp"
#include "sluice/transport/TccRecorder.hpp"

using namespace sluice::rtcp;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzTransportCc: check failed: %s (line %d)\n", #cond, __LINE__);      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

uint8_t gOut[TccFeedbackBuilder::kMaxBytes];
TccFeedbackBuilder gBuilder;

// Reads a feedback packet's statuses; false when the reader refuses it.
bool ReadAll(const uint8_t* data, size_t len, std::vector<TccPacketResult>* out) {
  const auto pkt = RtcpPacket::Parse(data, len);
  FUZZ_CHECK(pkt.has_value());
  const auto fb = TransportCcFeedback::Parse(*pkt);
  FUZZ_CHECK(fb.has_value());
  TccFeedbackReader reader(*fb);
  if (!reader.Valid())
    return false;
  out->clear();
  TccPacketResult r;
  while (reader.Next(&r))
    out->push_back(r);
  FUZZ_CHECK(out->size() == reader.StatusCount());
  return true;
}

void RoundTrip(const TransportCcFeedback& fb) {
  TccFeedbackReader reader(fb);
  if (!reader.Valid())
    return;
  std::vector<TccPacketResult> in;
  TccPacketResult r;
  while (reader.Next(&r))
    in.push_back(r);
  gBuilder.Reset(reader.BaseSeq(), reader.FeedbackCount());
  size_t added = 0;
  for (const auto& p : in) {
    if (!(p.received ? gBuilder.AddReceived(p.arrivalUs) : gBuilder.AddLost()))
      break;
    ++added;
  }
  const size_t n = gBuilder.Write(gOut, sizeof(gOut), fb.SenderSsrc(), fb.MediaSsrc());
  if (n == 0)
    return; // nothing received among what fit
  std::vector<TccPacketResult> back;
  FUZZ_CHECK(ReadAll(gOut, n, &back));
  FUZZ_CHECK(back.size() == added);
  const TccPacketResult* firstIn = nullptr;
  const TccPacketResult* firstBack = nullptr;
  for (size_t i = 0; i < added; ++i) {
    FUZZ_CHECK(back[i].seq == in[i].seq);
    FUZZ_CHECK(back[i].received == in[i].received);
    if (!in[i].received)
      continue;
    if (firstIn == nullptr) {
      firstIn = &in[i];
      firstBack = &back[i];
    }
    FUZZ_CHECK(back[i].arrivalUs - firstBack->arrivalUs == in[i].arrivalUs - firstIn->arrivalUs);
  }
}

void DriveRecorder(const uint8_t* data, size_t size) {
  sluice::transport::TccRecorder rec;
  int64_t t = 1'000'000;
  std::vector<TccPacketResult> back;
  for (size_t i = 0; i + 3 <= size && i < 3 * 2000; i += 3) {
    const auto seq = static_cast<uint16_t>((data[i] << 8) | data[i + 1]);
    t += int64_t{data[i + 2]} * 997 - 20000; // may go backwards
    const bool due = rec.Record(seq, t);
    if (due || data[i + 2] % 17 == 0) {
      while (rec.Build(&gBuilder)) {
        const size_t n = gBuilder.Write(gOut, sizeof(gOut), 1, 2);
        FUZZ_CHECK(n != 0);
        FUZZ_CHECK(ReadAll(gOut, n, &back));
        FUZZ_CHECK(back.size() == gBuilder.Count());
      }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CompoundIterator it(data, size);
  RtcpPacket pkt;
  while (it.Next(&pkt)) {
    if (const auto fb = TransportCcFeedback::Parse(pkt))
      RoundTrip(*fb);
  }
  DriveRecorder(data, size);
  return 0;
}
