// Builds the outgoing bytes of a stored packet for ONE consumer.
//
// The stored packet (an RtpPacket view over a pool slot) is only read: every
// per-consumer change (SSRC, sequence number, timestamp, payload type, marker,
// header extension ids, added extensions) is applied while writing into a
// caller-provided buffer, so many consumers share one slot. Padding of the
// incoming packet is never copied (the receiver does not need it). Nothing
// here allocates; a buffer that is too small gives 0 and an error, never a
// partial write that looks valid.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "sluice/rtp/RtpPacket.hpp"

namespace sluice::rtp {

// Incoming RFC 8285 id -> outgoing id, 0 = drop. Ids are 1..255 (two-byte
// form); a default-constructed map drops every extension. 256 bytes, meant
// to live in per-consumer state, not per packet.
class ExtensionIdMap {
public:
  void Set(uint8_t incomingId, uint8_t outgoingId) { map_[incomingId] = outgoingId; }
  uint8_t Get(uint8_t incomingId) const { return map_[incomingId]; }
  void Clear() { map_.fill(0); }
  // Keeps every id as it is (1..255 -> itself).
  static ExtensionIdMap Identity();

private:
  std::array<uint8_t, 256> map_{};
};

enum class MarkerRewrite : uint8_t { Keep, Set, Clear };

// Everything one consumer changes in the packets it sends.
struct RtpRewrite {
  uint32_t ssrc = 0;
  uint16_t sequenceNumber = 0;
  uint32_t timestamp = 0;
  uint8_t payloadType = 0; // 0..127
  MarkerRewrite marker = MarkerRewrite::Keep;
  // nullptr: drop every incoming extension. Extensions of a non-RFC 8285
  // (opaque) profile are always dropped: there is no id to map.
  const ExtensionIdMap* idMap = nullptr;
  // Extensions this consumer adds (e.g. its MID, abs-send-time), written after
  // the mapped ones. An extra's id wins over a mapped incoming element with the
  // same outgoing id. Ids must be distinct and non-zero, values <= 255 bytes.
  const HeaderExtension* extra = nullptr;
  size_t extraCount = 0;
};

// RFC 4588 retransmission stream parameters of a consumer.
struct RtxRewrite {
  uint32_t ssrc = 0;
  uint8_t payloadType = 0; // 0..127
  uint16_t sequenceNumber = 0;
};

enum class WriteError : uint8_t {
  BufferTooSmall,
  TooLong,        // result over RtpPacket::kMaxPacketSize: no transport carries it
  BadPayloadType, // > 127
  BadExtension,   // extra with id 0, duplicate id or value over 255 bytes
  MissingOsn,     // RTX packet with less than 2 payload bytes
};

// The payload of a received RTX packet (RFC 4588 §4): the original sequence
// number and a view of the original payload (padding excluded).
struct RtxPayload {
  uint16_t originalSequenceNumber = 0;
  ByteView payload;
};

class RtpWriter {
public:
  // Header + (re-encoded) extension block + payload. Extensions go out in the
  // one-byte form when every outgoing id is <= 14 and every value 1..16 bytes,
  // else in the two-byte form; none at all clears X. Returns bytes written, or
  // 0 with *why set.
  static size_t Write(const RtpPacket& in, const RtpRewrite& rw, uint8_t* out, size_t cap,
                      WriteError* why = nullptr);

  // Header only, for scatter/gather sends that reference the payload in the
  // slot (in.Payload(), in.PayloadSize()). Same result as the first bytes of
  // Write(). Returns the header size or 0.
  static size_t WriteHeader(const RtpPacket& in, const RtpRewrite& rw, uint8_t* out, size_t cap,
                            WriteError* why = nullptr);

  // RFC 4588 §4 retransmission packet: the header Write() would produce with
  // SSRC, PT and sequence number taken from `rtx` (timestamp, marker, CSRCs and
  // extensions as in `rw`), then the 2-byte OSN, then the payload. The OSN is
  // rw.sequenceNumber: the number this consumer sent the original packet with.
  static size_t WriteRtx(const RtpPacket& in, const RtpRewrite& rw, const RtxRewrite& rtx,
                         uint8_t* out, size_t cap, WriteError* why = nullptr);

  // Header + OSN of the above, for scatter/gather sends.
  static size_t WriteRtxHeader(const RtpPacket& in, const RtpRewrite& rw, const RtxRewrite& rtx,
                               uint8_t* out, size_t cap, WriteError* why = nullptr);

  // OSN and original payload of a received RTX packet; nullopt when the
  // payload is shorter than the 2-byte OSN (e.g. a padding-only probe).
  static std::optional<RtxPayload> ParseRtx(const RtpPacket& rtx);

  // Rebuilds the original packet from a received RTX packet: the RTX header
  // bytes (CSRCs and extension block verbatim) with SSRC and PT replaced by
  // the media stream's, sequence number = OSN, marker kept, padding dropped,
  // then the original payload. Returns bytes written or 0 with *why set.
  static size_t RtxDecapsulate(const RtpPacket& rtx, uint32_t mediaSsrc, uint8_t mediaPayloadType,
                               uint8_t* out, size_t cap, WriteError* why = nullptr);
};

} // namespace sluice::rtp
