// libFuzzer target for what a WebRtcTransport does with a datagram before
// any crypto: ClassifyWire (RFC 7983), then the parser of that kind.
//   Stun -> IceServer::ProcessStun (and StunMessage::Parse agrees on the kind)
//   Rtp  -> rtp::RtpPacket::Parse
//   Rtcp -> rtcp::CompoundIterator over the compound
//   Dtls -> a walk over DTLS record headers (RFC 6347 §4.1), bounds checked
// The input is used whole (one UDP datagram) and then split as an RFC 4571
// stream (16-bit length, then that many bytes), as ICE-TCP delivers it. Any
// check failing aborts; so does any out-of-bounds read under ASan.
#include "sluice/rtcp/RtcpPacket.hpp"
#include "sluice/rtp/RtpPacket.hpp"
#include "sluice/transport/IceServer.hpp"
#include "sluice/transport/StunMessage.hpp"
#include "sluice/transport/WireKind.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace sluice;
using transport::WireKind;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzWebRtcDemux: check failed: %s (line %d)\n", #cond, __LINE__);      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

class CountingListener : public transport::IceServer::Listener {
public:
  void OnIceSend(const net::Tuple&, const uint8_t* data, size_t len) override {
    FUZZ_CHECK(transport::ClassifyWire(data, len) == WireKind::Stun);
    ++sends;
  }
  void OnIceTupleAdded(const net::Tuple&) override {}
  void OnIceTupleRemoved(const net::Tuple&) override {}
  void OnIceSelectedTuple(const net::Tuple&) override {}
  void OnIceStateChange(transport::IceState) override {}
  uint64_t sends = 0;
};

// DTLS record header (RFC 6347 §4.1):
//   type (1) | version (2) | epoch (2) | sequence_number (6) | length (2)
// Returns the number of whole records; stops at a truncated record or at a
// byte outside the DTLS range of RFC 7983.
size_t WalkDtlsRecords(const uint8_t* data, size_t len) {
  constexpr size_t kHeader = transport::kMinDtlsRecordSize;
  size_t pos = 0;
  size_t records = 0;
  while (len - pos >= kHeader) {
    const uint8_t* h = data + pos;
    if (h[0] < 20 || h[0] > 63)
      break;
    const uint16_t version = static_cast<uint16_t>(h[1] << 8 | h[2]);
    const uint16_t epoch = static_cast<uint16_t>(h[3] << 8 | h[4]);
    uint64_t seq = 0;
    for (size_t i = 5; i < 11; ++i)
      seq = seq << 8 | h[i];
    const size_t length = static_cast<size_t>(h[11] << 8 | h[12]);
    FUZZ_CHECK(seq < (uint64_t{1} << 48));
    (void)version;
    (void)epoch;
    if (length > len - pos - kHeader)
      break; // truncated: the DTLS stack would drop it
    pos += kHeader + length;
    ++records;
  }
  FUZZ_CHECK(pos <= len);
  return records;
}

void Route(const uint8_t* data, size_t len, transport::IceServer& ice, const net::Tuple& tuple) {
  const WireKind kind = transport::ClassifyWire(data, len);
  // A STUN message of a method below 0x100 (so 0..3 in the first byte, which
  // covers every method ICE uses) is always classified as STUN.
  if (len > 0 && data[0] <= 3 && transport::StunMessage::Parse(data, len))
    FUZZ_CHECK(kind == WireKind::Stun);
  switch (kind) {
  case WireKind::Stun:
    FUZZ_CHECK(len >= transport::kMinStunSize && data[0] <= 3);
    ice.ProcessStun(data, len, tuple, 0);
    break;
  case WireKind::Rtp: {
    FUZZ_CHECK(len >= transport::kMinRtpSize && (data[0] >> 6) == 2);
    if (const auto pkt = rtp::RtpPacket::Parse(data, len)) {
      FUZZ_CHECK(pkt->Size() == len);
      FUZZ_CHECK(pkt->HeaderSize() + pkt->PayloadSize() + pkt->PaddingSize() == len);
    }
    break;
  }
  case WireKind::Rtcp: {
    FUZZ_CHECK(len >= transport::kMinRtcpSize && data[1] >= 192 && data[1] <= 223);
    rtcp::CompoundIterator it(data, len);
    rtcp::RtcpPacket pkt;
    size_t total = 0;
    while (it.Next(&pkt)) {
      FUZZ_CHECK(pkt.Data() == data + total);
      total += pkt.Size();
      FUZZ_CHECK(total <= len);
    }
    FUZZ_CHECK(it.Offset() == total);
    break;
  }
  case WireKind::Dtls:
    FUZZ_CHECK(len >= transport::kMinDtlsRecordSize);
    (void)WalkDtlsRecords(data, len);
    break;
  case WireKind::Unknown:
    break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CountingListener listener;
  transport::IceServer ice(listener, "evtj", "VOkJxbRl1RmTxUk/WvJxBt", 30000);
  net::Tuple udp;
  udp.udp = reinterpret_cast<net::UdpSocket*>(uintptr_t{0x1000});
  udp.remote = *net::Endpoint::FromIpPort("198.51.100.1", 3478);
  net::Tuple tcp;
  tcp.tcp = reinterpret_cast<net::TcpConnection*>(uintptr_t{0x2000});
  tcp.remote = *net::Endpoint::FromIpPort("2001:db8::1", 443);

  Route(data, size, ice, udp);

  // RFC 4571 framing: LENGTH (16 bits) then the packet; a short tail waits
  // for more bytes on a real connection and is ignored here.
  size_t pos = 0;
  while (size - pos >= 2) {
    const size_t frame = static_cast<size_t>(data[pos] << 8 | data[pos + 1]);
    if (frame > size - pos - 2)
      break;
    Route(data + pos + 2, frame, ice, tcp);
    pos += 2 + frame;
  }
  FUZZ_CHECK(ice.GetCounters().responses == listener.sends);
  return 0;
}
