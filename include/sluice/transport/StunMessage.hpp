// STUN messages (RFC 5389) as ICE uses them (RFC 8445 §7, RFC 7675): a
// validated, non-owning view for parsing and a writer into caller buffers.
//
// Message header (RFC 5389 §6):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0 0|     STUN Message Type     |         Message Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         Magic Cookie                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Transaction ID (96 bits)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The 14-bit type interleaves a 12-bit method and a 2-bit class:
// M11..M7 C1 M6..M4 C0 M3..M0. Message Length counts the bytes after the
// header. Then TLV attributes, each padded to 4 bytes (RFC 5389 §15):
//
//   |         Type                  |            Length             |
//   |                         Value (variable)                ....
//
// What Parse() accepts (everything else is nullopt, never an exception):
//  - >= 20 bytes, top two bits 0, magic cookie 0x2112A442, Message Length ==
//    len - 20 and a multiple of 4 (one datagram or one RFC 4571 frame is one
//    message: no trailing bytes);
//  - attributes that fit, padding included; known attributes with the size
//    their RFC gives (USERNAME < 513 bytes, PRIORITY 4, ICE-CONTROLLING /
//    ICE-CONTROLLED 8, USE-CANDIDATE 0, MESSAGE-INTEGRITY 20, FINGERPRINT 4,
//    ERROR-CODE 4..767, XOR-MAPPED-ADDRESS 8 (IPv4) or 20 (IPv6));
//  - MESSAGE-INTEGRITY followed by nothing but FINGERPRINT, FINGERPRINT last.
// For a repeated attribute the first one counts (RFC 5389 §15). Unknown
// comprehension-optional attributes (>= 0x8000) are skipped; unknown
// comprehension-required ones are remembered (the first kMaxUnknown types)
// so a server can answer 420 (RFC 5389 §7.3.1).
//
// Parsing only records offsets: no allocation, no copy, and the view must
// not outlive the bytes. CheckFingerprint (CRC-32, §15.5) and CheckIntegrity
// (HMAC-SHA1 keyed with the short-term password, §15.4) also run without
// allocating: the HMAC (util/HmacSha1) is built on SHA-1 block functions with the
// state on the stack, because OpenSSL 3's HMAC()/EVP_MAC take the heap on
// every call (5 to 13 allocations measured), and consent checks arrive every
// few seconds per peer while media flows.
//
// StunWriter appends attributes to a message in a caller buffer, keeping the
// header's length field current, so MESSAGE-INTEGRITY and FINGERPRINT can be
// appended last. A write that does not fit fails the writer for good (Size()
// is 0 from then on), so callers check once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "sluice/net/Address.hpp"

namespace sluice::transport {

inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;
inline constexpr size_t kStunTransactionIdSize = 12;
inline constexpr uint16_t kStunMethodBinding = 0x001;

// Attribute types (RFC 5389 §18.2, RFC 8445 §16.1).
namespace stun_attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kAlternateServer = 0x8023;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
} // namespace stun_attr

// Values are the two class bits C1C0.
enum class StunClass : uint8_t {
  Request = 0,
  Indication = 1,
  SuccessResponse = 2,
  ErrorResponse = 3
};

class StunMessage {
public:
  // Also reachable as StunMessage::StunClass.
  using StunClass = ::sluice::transport::StunClass;

  static constexpr size_t kMaxUsernameSize = 512;     // RFC 5389 §15.3: < 513 bytes
  static constexpr size_t kMaxReasonSize = 763;       // RFC 5389 §15.6
  static constexpr size_t kMessageIntegritySize = 20; // HMAC-SHA1
  static constexpr size_t kMaxUnknown = 4; // unknown comprehension-required types remembered

  static std::optional<StunMessage> Parse(const uint8_t* data, size_t len);

  const uint8_t* Data() const { return data_; }
  size_t Size() const { return size_; }
  uint16_t Type() const { return static_cast<uint16_t>(data_[0] << 8 | data_[1]); }
  uint16_t Method() const;
  StunClass Class() const;
  const uint8_t* TransactionId() const { return data_ + 8; } // 12 bytes

  // USERNAME (empty if absent); in an ICE check it reads "LFRAG:RFRAG" from
  // the sender's point of view, so the part before the first ':' is the
  // receiver's (our) ufrag and the rest the sender's (RFC 8445 §7.2.2).
  std::string_view Username() const;
  std::string_view LocalUfrag() const;  // up to the first ':' (all if none)
  std::string_view RemoteUfrag() const; // after the first ':' (empty if none)
  std::optional<uint32_t> Priority() const;
  bool UseCandidate() const { return useCandidate_; }
  std::optional<uint64_t> IceControlling() const;
  std::optional<uint64_t> IceControlled() const;
  std::optional<uint16_t> ErrorCode() const; // class * 100 + number
  std::string_view ErrorReason() const;      // empty if no ERROR-CODE
  // nullopt when absent. IPv4-mapped IPv6 comes back as IPv4 (net::Endpoint
  // normalises it).
  std::optional<net::Endpoint> XorMappedAddress() const;
  bool HasMessageIntegrity() const { return integrityOffset_ != 0; }
  bool HasFingerprint() const { return fingerprintOffset_ != 0; }
  bool HasUnknownRequired() const { return unknownCount_ != 0; }
  // The first min(n, kMaxUnknown) unknown comprehension-required types.
  size_t UnknownRequiredCount() const { return unknownCount_; }
  uint16_t UnknownRequired(size_t i) const { return unknown_[i]; }

  // false when absent or wrong.
  bool CheckFingerprint() const;
  bool CheckIntegrity(std::string_view password) const;

private:
  StunMessage() = default;
  // Takes note of one attribute whose value is at data_[offset, offset + len);
  // false when a known attribute is malformed.
  bool Record(uint16_t type, size_t offset, size_t len);

  const uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  // Byte offsets from data_ of each attribute's value (0: absent; no value
  // starts before offset 24). The MESSAGE-INTEGRITY / FINGERPRINT offsets
  // are those of the attribute header.
  uint32_t usernameOffset_ = 0;
  uint32_t errorOffset_ = 0;
  uint32_t xorMappedOffset_ = 0;
  uint32_t integrityOffset_ = 0;
  uint32_t fingerprintOffset_ = 0;
  uint16_t usernameSize_ = 0;
  uint16_t errorSize_ = 0;
  uint32_t priority_ = 0;
  uint64_t iceControlling_ = 0;
  uint64_t iceControlled_ = 0;
  bool hasPriority_ = false;
  bool hasIceControlling_ = false;
  bool hasIceControlled_ = false;
  bool useCandidate_ = false;
  uint8_t unknownCount_ = 0;
  uint16_t unknown_[kMaxUnknown] = {};
};

// Builds one message in out[0, cap). Attribute values are zero-padded.
class StunWriter {
public:
  StunWriter(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}

  // Writes the header (length 0); must come first.
  bool Begin(uint16_t method, StunClass cls, const uint8_t* transactionId);
  bool AddBytes(uint16_t type, const void* value, size_t len);
  bool AddString(uint16_t type, std::string_view value) {
    return AddBytes(type, value.data(), value.size());
  }
  bool AddUint32(uint16_t type, uint32_t value);
  bool AddUint64(uint16_t type, uint64_t value);
  bool AddFlag(uint16_t type) { return AddBytes(type, nullptr, 0); }
  // XOR-MAPPED-ADDRESS style (RFC 5389 §15.2); false for an empty endpoint.
  bool AddXorAddress(uint16_t type, const net::Endpoint& address);
  // code 300..699; the reason is cut to kMaxReasonSize bytes.
  bool AddErrorCode(uint16_t code, std::string_view reason);
  bool AddUnknownAttributes(const uint16_t* types, size_t count);
  // Over everything written so far (RFC 5389 §15.4).
  bool AddMessageIntegrity(std::string_view password);
  // Over everything written so far (RFC 5389 §15.5); add it last.
  bool AddFingerprint();

  // Bytes written, or 0 when anything failed (or Begin was not called).
  size_t Size() const { return failed_ || !begun_ ? 0 : size_; }

private:
  uint8_t* Reserve(uint16_t type, size_t len); // attribute header + padded value
  bool Fail() {
    failed_ = true;
    return false;
  }

  uint8_t* out_;
  size_t cap_;
  size_t size_ = 0;
  bool begun_ = false;
  bool failed_ = false;
};

// Binding success response: XOR-MAPPED-ADDRESS = mapped, MESSAGE-INTEGRITY
// keyed with password, FINGERPRINT. Returns the size, 0 if cap is too small.
size_t WriteBindingSuccess(uint8_t* out, size_t cap, const uint8_t* transactionId,
                           const net::Endpoint& mapped, std::string_view password);
// Binding error response: ERROR-CODE, MESSAGE-INTEGRITY only when password
// is not empty, FINGERPRINT.
size_t WriteBindingError(uint8_t* out, size_t cap, const uint8_t* transactionId, uint16_t code,
                         std::string_view reason, std::string_view password);
// Binding request as an ICE agent sends it (RFC 8445 §7.1.1): USERNAME,
// PRIORITY, [USE-CANDIDATE], [ICE-CONTROLLING], [ICE-CONTROLLED],
// MESSAGE-INTEGRITY (if password is not empty), FINGERPRINT. For tests,
// fuzz seeds and tools; the worker itself only answers.
size_t WriteBindingRequest(uint8_t* out, size_t cap, const uint8_t* transactionId,
                           std::string_view username, std::string_view password, uint32_t priority,
                           bool useCandidate, std::optional<uint64_t> iceControlling,
                           std::optional<uint64_t> iceControlled);

// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) as FINGERPRINT uses it.
uint32_t StunCrc32(const uint8_t* data, size_t len);
// HMAC-SHA1 (RFC 2104) over the concatenation of two buffers, no allocation.
void StunHmacSha1(std::string_view key, const uint8_t* a, size_t aLen, const uint8_t* b,
                  size_t bLen, uint8_t out[20]);

} // namespace sluice::transport
