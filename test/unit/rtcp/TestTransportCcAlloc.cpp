// Transport-cc receive side on the packet path: after the recorder's ring
// exists (first packet), recording, building and writing feedback make no
// allocator call.
#include <catch2/catch.hpp>

#include "../AllocCounter.hpp"
#include "sluice/rtcp/TransportCc.hpp"
#include "sluice/transport/TccRecorder.hpp"

using sluice::rtcp::TccFeedbackBuilder;
using sluice::transport::TccRecorder;

TEST_CASE("transport-cc: record, build and write allocate nothing per packet") {
  TccRecorder rec;
  static TccFeedbackBuilder builder;
  uint8_t out[TccFeedbackBuilder::kMaxBytes];
  rec.Record(65000, 1000); // allocates the ring once
  const sluice::test::AllocScope scope;
  int64_t t = 1000;
  size_t written = 0;
  for (uint32_t i = 1; i < 5000; ++i) {
    const auto seq = static_cast<uint16_t>(65000 + i);
    if (i % 13 != 0)
      rec.Record(seq, t += 700);
    if (i % 90 == 0) {
      while (rec.Build(&builder))
        written += builder.Write(out, sizeof(out), 1, 2);
    }
  }
  CHECK(written > 0);
  CHECK(scope.Count() == 0);
}
