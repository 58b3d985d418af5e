// First-byte demultiplexing of what arrives on a WebRTC transport's 5-tuple
// (RFC 7983 §7, which updates RFC 5764 §5.1.2), plus RTP/RTCP separation on a
// muxed port (RFC 5761 §4).
//
//                  +----------------+
//                  |        [0..3] -+--> STUN
//                  |                |
//                  |      [16..19] -+--> ZRTP        (Unknown here)
//      packet -->  |                |
//                  |      [20..63] -+--> DTLS
//                  |                |
//                  |      [64..79] -+--> TURN Channel (Unknown here)
//                  |                |
//                  |    [128..191] -+--> RTP/RTCP
//                  +----------------+
//
// RTP and RTCP share the [128..191] range (V=2); the second octet tells them
// apart: RTCP packet types 192..223 collide only with RTP payload types 64..95
// with the marker bit set, which RFC 5761 §4 forbids a muxing peer to use.
//
// Each kind also needs its smallest possible header to be present (STUN 20,
// DTLS record 13, RTP 12, RTCP 4 bytes), so a caller may read that header
// without another length check. Everything else is Unknown: the caller drops
// it and counts it. Header-only, no allocation, never reads past data + len.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::transport {

enum class WireKind : uint8_t { Stun, Dtls, Rtp, Rtcp, Unknown };

inline constexpr size_t kMinStunSize = 20;       // RFC 5389 §6 header
inline constexpr size_t kMinDtlsRecordSize = 13; // RFC 6347 §4.1 record header
inline constexpr size_t kMinRtpSize = 12;        // RFC 3550 §5.1 fixed header
inline constexpr size_t kMinRtcpSize = 4;        // RFC 3550 §6.4 common header

inline WireKind ClassifyWire(const uint8_t* data, size_t len) {
  if (data == nullptr || len == 0)
    return WireKind::Unknown;
  const uint8_t b = data[0];
  if (b <= 3)
    return len >= kMinStunSize ? WireKind::Stun : WireKind::Unknown;
  if (b >= 20 && b <= 63)
    return len >= kMinDtlsRecordSize ? WireKind::Dtls : WireKind::Unknown;
  if (b >= 128 && b <= 191) {
    if (len >= kMinRtcpSize && data[1] >= 192 && data[1] <= 223)
      return WireKind::Rtcp;
    return len >= kMinRtpSize ? WireKind::Rtp : WireKind::Unknown;
  }
  return WireKind::Unknown;
}

// Short stable name for logs and stats ("stun", ...).
inline const char* WireKindName(WireKind kind) {
  switch (kind) {
  case WireKind::Stun:
    return "stun";
  case WireKind::Dtls:
    return "dtls";
  case WireKind::Rtp:
    return "rtp";
  case WireKind::Rtcp:
    return "rtcp";
  case WireKind::Unknown:
    return "unknown";
  }
  return "unknown";
}

} // namespace sluice::transport
