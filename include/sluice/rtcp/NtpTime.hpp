// NTP timestamps as RTCP carries them (RFC 3550 §4) and the round-trip time
// a report block yields (RFC 3550 §6.4.1).
//
// The full form is 64 bits: seconds since 1900-01-01 (era 0; wraps in 2036,
// which the 32-bit field does by itself) and a binary fraction of a second.
// The "compact" form is the middle 32 bits: 16 bits of seconds, 16 of
// fraction, i.e. units of 1/65536 s, wrapping every 65536 s (~18.2 h). LSR,
// DLSR, LRR and DLRR are compact values; all arithmetic on them is mod 2^32.
#pragma once

#include <cstdint>
#include <optional>

#include "sluice/rtp/SeqMath.hpp"

namespace sluice::rtcp {

// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
inline constexpr uint64_t kNtpUnixOffsetSeconds = 2208988800u;

struct NtpTime {
  uint32_t seconds = 0;
  uint32_t fraction = 0; // 1/2^32 s

  // The middle 32 bits (RFC 3550 §6.4.1 "LSR").
  constexpr uint32_t Compact() const { return seconds << 16 | fraction >> 16; }
};

// Wall-clock milliseconds since the Unix epoch -> NTP. The fraction is
// truncated, so NtpToUnixMs(NtpFromUnixMs(ms)) == ms.
constexpr NtpTime NtpFromUnixMs(uint64_t unixMs) {
  const uint64_t ms = unixMs % 1000;
  return {static_cast<uint32_t>(unixMs / 1000 + kNtpUnixOffsetSeconds),
          static_cast<uint32_t>((ms << 32) / 1000)};
}

// NTP -> milliseconds since the Unix epoch, rounded to the nearest ms. Times
// before 1970 (or after the 2036 wrap) come out modulo 2^32 s.
constexpr uint64_t NtpToUnixMs(NtpTime t) {
  const uint64_t sec = static_cast<uint32_t>(t.seconds - kNtpUnixOffsetSeconds);
  return sec * 1000 + ((uint64_t{t.fraction} * 1000 + (uint64_t{1} << 31)) >> 32);
}

// Milliseconds -> compact units (1/65536 s), e.g. for DLSR; mod 2^32.
constexpr uint32_t CompactFromMs(uint64_t ms) {
  return static_cast<uint32_t>((ms * 65536 + 500) / 1000);
}

// Compact units -> milliseconds, rounded to the nearest.
constexpr uint32_t CompactToMs(uint32_t compact) {
  return static_cast<uint32_t>((uint64_t{compact} * 1000 + 32768) >> 16);
}

// RFC 3550 §6.4.1: RTT = A - LSR - DLSR, with A the arrival time of the report
// in compact form. Nothing when LSR is 0 (the reporter has no SR from us) or
// when the result, read as a signed 32-bit difference, is negative (clock
// skew, or a stale/forged LSR).
constexpr std::optional<uint32_t> RttMsFromReport(uint32_t nowCompact, uint32_t lsr,
                                                  uint32_t dlsr) {
  if (lsr == 0)
    return std::nullopt;
  const uint32_t sent = lsr + dlsr; // when our SR would have come back without delay
  if (rtp::IsNewer(sent, nowCompact))
    return std::nullopt;
  return CompactToMs(nowCompact - sent);
}

} // namespace sluice::rtcp
