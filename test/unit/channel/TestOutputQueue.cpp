#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "consumer_generated.h"
#include "directTransport_generated.h"
#include "sluice/channel/ChannelWriter.hpp"
#include "sluice/channel/OutputQueue.hpp"

using sluice::channel::OutputQueue;

namespace {
std::vector<uint8_t> Bytes(size_t n, uint8_t v) {
  return std::vector<uint8_t>(n, v);
}
} // namespace

TEST_CASE("OutputQueue: droppable frames are dropped and counted over the limit, others never") {
  OutputQueue q(100);
  const auto a = Bytes(60, 1);
  CHECK(q.Push(a.data(), a.size(), true));
  CHECK_FALSE(q.Push(a.data(), a.size(), true)); // 120 > 100
  CHECK(q.QueuedBytes() == 60);
  CHECK(q.Push(a.data(), a.size(), false)); // a response is never dropped
  CHECK(q.QueuedBytes() == 120);
  CHECK(q.OverLimit());
  CHECK(q.HighWaterBytes() == 120);
}

TEST_CASE("OutputQueue: partial writes keep order; drained buffer shrinks back") {
  OutputQueue q(1 << 30);
  std::vector<uint8_t> all;
  for (int i = 0; i < 1000; ++i) {
    const auto f = Bytes(1000, static_cast<uint8_t>(i));
    q.Push(f.data(), f.size(), false);
    all.insert(all.end(), f.begin(), f.end());
  }
  CHECK(q.Capacity() >= 1000000);
  std::vector<uint8_t> out;
  // A writer that takes at most 777 bytes a call and blocks every 5th call.
  int calls = 0;
  while (!q.Empty()) {
    REQUIRE(q.Flush(
        [&](const uint8_t* p, size_t len) -> long {
          if (++calls % 5 == 0)
            return 0;
          const size_t n = std::min<size_t>(len, 777);
          out.insert(out.end(), p, p + n);
          return static_cast<long>(n);
        },
        1 << 20));
  }
  CHECK(out == all);
  CHECK(q.Capacity() <= OutputQueue::kBaseCapacity);
}

TEST_CASE("OutputQueue: a failing writer is reported") {
  OutputQueue q(1000);
  const auto f = Bytes(10, 0);
  q.Push(f.data(), f.size(), false);
  CHECK_FALSE(q.Flush([](const uint8_t*, size_t) -> long { return -1; }, 1000));
  CHECK(q.QueuedBytes() == 10);
}

TEST_CASE("ChannelWriter: media notifications (CONSUMER_RTP, DIRECTTRANSPORT_RTCP) are dropped "
          "over the limit and counted; state notifications are not") {
  using Event = FBS::Notification::Event;
  sluice::channel::ChannelWriter writer(4096);
  auto rtp = [&writer] {
    auto& b = writer.NotificationBuilder();
    const std::vector<uint8_t> packet(1000, 0x80);
    const auto body = FBS::Consumer::CreateRtpNotification(b, b.CreateVector(packet));
    return writer.Notify("consumer-1", Event::CONSUMER_RTP,
                         FBS::Notification::Body::Consumer_RtpNotification, body.Union());
  };
  size_t accepted = 0;
  while (rtp())
    ++accepted;
  CHECK(accepted == 3); // ~1.1 KB each under a 4 KiB limit
  CHECK(writer.Counters().droppedNotifications == 1);
  CHECK_FALSE(rtp());
  CHECK(writer.Counters().droppedNotifications == 2);
  const size_t queued = writer.Queue().QueuedBytes();
  CHECK(queued <= 4096);

  auto& b = writer.NotificationBuilder();
  const std::vector<uint8_t> rtcp(1000, 0x81);
  const auto body = FBS::DirectTransport::CreateRtcpNotification(b, b.CreateVector(rtcp));
  CHECK_FALSE(writer.Notify("transport-1", Event::DIRECTTRANSPORT_RTCP,
                            FBS::Notification::Body::DirectTransport_RtcpNotification,
                            body.Union()));
  CHECK(writer.Queue().QueuedBytes() == queued);
  // A state change is never lost: it is queued past the limit.
  CHECK(writer.Notify("consumer-1", Event::CONSUMER_PRODUCER_CLOSE));
  CHECK(writer.Queue().QueuedBytes() > queued);
  CHECK(writer.Counters().droppedNotifications == 3);
}
