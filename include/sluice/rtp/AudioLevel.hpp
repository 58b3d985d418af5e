// The client-to-mixer audio level header extension (RFC 6464 §3, URI
// "urn:ietf:params:rtp-hdrext:ssrc-audio-level"): one byte per packet giving
// the level of the audio it carries.
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |V|    level    |
//   +-+-+-+-+-+-+-+-+
//
//   V      the sender's voice activity flag (optional to honour, §3)
//   level  0..127: the level as -dBov (0 is the loudest a signal can be,
//          127 is -127 dBov, digital silence)
//
// The element can be sent in the one-byte or the two-byte header form
// (RFC 8285); RtpPacket::GetExtension finds it in either. Senders using the
// two-byte form may pad the value, so the first byte is the level whatever
// the length (§3 allows nothing else in it). Parsing reads one byte of
// someone else's buffer: nothing allocates, nothing throws.
#pragma once

#include <cstdint>
#include <optional>

#include "sluice/rtp/RtpPacket.hpp"

namespace sluice::rtp {

struct AudioLevel {
  uint8_t dbov = 127; // the level's magnitude: the volume is -dbov dBov
  bool voice = false;
};

// The extension element's value (RtpPacket::GetExtension); nullopt when it
// is absent or empty.
std::optional<AudioLevel> ParseAudioLevel(ByteView value);

} // namespace sluice::rtp
