#include "sluice/transport/StunMessage.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <openssl/crypto.h>

#include "sluice/util/HmacSha1.hpp"

namespace sluice::transport {

namespace {

constexpr uint32_t kFingerprintXor = 0x5354554e; // "STUN", RFC 5389 §15.5
constexpr size_t kAttrHeaderSize = 4;
constexpr size_t kSha1Size = 20;
constexpr uint8_t kFamilyIpv4 = 0x01;
constexpr uint8_t kFamilyIpv6 = 0x02;

uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
uint64_t Load64(const uint8_t* p) {
  return uint64_t{Load32(p)} << 32 | Load32(p + 4);
}
void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

size_t Padded(size_t len) {
  return (len + 3) & ~size_t{3};
}

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// The 16 bytes an IPv6 X-Address is XORed with: magic cookie + transaction
// id (RFC 5389 §15.2).
void XorMask(const uint8_t* transactionId, uint8_t out[16]) {
  Store32(out, kStunMagicCookie);
  std::memcpy(out + 4, transactionId, kStunTransactionIdSize);
}

} // namespace

uint32_t StunCrc32(const uint8_t* data, size_t len) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i)
    c = kCrcTable[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void StunHmacSha1(std::string_view key, const uint8_t* a, size_t aLen, const uint8_t* b,
                  size_t bLen, uint8_t out[20]) {
  const util::HmacSha1 mac(reinterpret_cast<const uint8_t*>(key.data()), key.size());
  mac.Sign(a, aLen, b, bLen, out);
}

// --- StunMessage ----------------------------------------------------------------------

std::optional<StunMessage> StunMessage::Parse(const uint8_t* data, size_t len) {
  if (data == nullptr || len < kStunHeaderSize)
    return std::nullopt;
  if ((data[0] & 0xC0) != 0)
    return std::nullopt;
  const size_t bodySize = Load16(data + 2);
  if (bodySize != len - kStunHeaderSize || bodySize % 4 != 0)
    return std::nullopt;
  if (Load32(data + 4) != kStunMagicCookie)
    return std::nullopt;

  StunMessage msg;
  msg.data_ = data;
  msg.size_ = static_cast<uint32_t>(len);
  size_t pos = kStunHeaderSize;
  while (pos < len) {
    if (msg.fingerprintOffset_ != 0)
      return std::nullopt; // FINGERPRINT must be the last attribute
    if (len - pos < kAttrHeaderSize)
      return std::nullopt;
    const uint16_t type = Load16(data + pos);
    const size_t valueSize = Load16(data + pos + 2);
    const size_t value = pos + kAttrHeaderSize;
    if (Padded(valueSize) > len - value)
      return std::nullopt;
    // After MESSAGE-INTEGRITY only FINGERPRINT may follow (RFC 5389 §15.4).
    if (msg.integrityOffset_ != 0 && type != stun_attr::kFingerprint)
      return std::nullopt;
    if (!msg.Record(type, value, valueSize))
      return std::nullopt;
    pos = value + Padded(valueSize);
  }
  return msg;
}

bool StunMessage::Record(uint16_t type, size_t offset, size_t len) {
  const uint8_t* v = data_ + offset;
  const auto off = static_cast<uint32_t>(offset);
  switch (type) {
  case stun_attr::kUsername:
    if (len > kMaxUsernameSize)
      return false;
    if (usernameOffset_ == 0) {
      usernameOffset_ = off;
      usernameSize_ = static_cast<uint16_t>(len);
    }
    return true;
  case stun_attr::kMessageIntegrity:
    if (len != kMessageIntegritySize)
      return false;
    integrityOffset_ = off - kAttrHeaderSize;
    return true;
  case stun_attr::kFingerprint:
    if (len != 4)
      return false;
    fingerprintOffset_ = off - kAttrHeaderSize;
    return true;
  case stun_attr::kPriority:
    if (len != 4)
      return false;
    if (!hasPriority_) {
      hasPriority_ = true;
      priority_ = Load32(v);
    }
    return true;
  case stun_attr::kUseCandidate:
    if (len != 0)
      return false;
    useCandidate_ = true;
    return true;
  case stun_attr::kIceControlling:
    if (len != 8)
      return false;
    if (!hasIceControlling_) {
      hasIceControlling_ = true;
      iceControlling_ = Load64(v);
    }
    return true;
  case stun_attr::kIceControlled:
    if (len != 8)
      return false;
    if (!hasIceControlled_) {
      hasIceControlled_ = true;
      iceControlled_ = Load64(v);
    }
    return true;
  case stun_attr::kErrorCode: {
    // | Reserved (21 bits) | Class (3) | Number (8) | Reason Phrase ...
    if (len < 4 || len > 4 + kMaxReasonSize)
      return false;
    const unsigned cls = v[2] & 0x07;
    if (cls < 3 || cls > 6 || v[3] > 99)
      return false;
    if (errorOffset_ == 0) {
      errorOffset_ = off;
      errorSize_ = static_cast<uint16_t>(len);
    }
    return true;
  }
  case stun_attr::kXorMappedAddress:
    // | 0 | Family | X-Port | X-Address (32 or 128 bits)
    if (len < 4 || !((v[1] == kFamilyIpv4 && len == 8) || (v[1] == kFamilyIpv6 && len == 20)))
      return false;
    if (xorMappedOffset_ == 0)
      xorMappedOffset_ = off;
    return true;
  case stun_attr::kMappedAddress:
  case stun_attr::kUnknownAttributes:
  case stun_attr::kRealm:
  case stun_attr::kNonce:
    return true; // understood, not used by ICE-lite
  default:
    // Comprehension-required (< 0x8000) and unknown: remembered for a 420.
    if (type < 0x8000 && unknownCount_ < kMaxUnknown)
      unknown_[unknownCount_++] = type;
    return true;
  }
}

uint16_t StunMessage::Method() const {
  const uint16_t t = Type();
  return static_cast<uint16_t>((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
}

StunClass StunMessage::Class() const {
  const uint16_t t = Type();
  return static_cast<StunClass>(((t >> 7) & 0x2) | ((t >> 4) & 0x1));
}

std::string_view StunMessage::Username() const {
  if (usernameOffset_ == 0)
    return {};
  return {reinterpret_cast<const char*>(data_ + usernameOffset_), usernameSize_};
}

std::string_view StunMessage::LocalUfrag() const {
  const std::string_view user = Username();
  return user.substr(0, user.find(':'));
}

std::string_view StunMessage::RemoteUfrag() const {
  const std::string_view user = Username();
  const size_t colon = user.find(':');
  return colon == std::string_view::npos ? std::string_view{} : user.substr(colon + 1);
}

std::optional<uint32_t> StunMessage::Priority() const {
  return hasPriority_ ? std::optional<uint32_t>(priority_) : std::nullopt;
}

std::optional<uint64_t> StunMessage::IceControlling() const {
  return hasIceControlling_ ? std::optional<uint64_t>(iceControlling_) : std::nullopt;
}

std::optional<uint64_t> StunMessage::IceControlled() const {
  return hasIceControlled_ ? std::optional<uint64_t>(iceControlled_) : std::nullopt;
}

std::optional<uint16_t> StunMessage::ErrorCode() const {
  if (errorOffset_ == 0)
    return std::nullopt;
  const uint8_t* v = data_ + errorOffset_;
  return static_cast<uint16_t>((v[2] & 0x07) * 100 + v[3]);
}

std::string_view StunMessage::ErrorReason() const {
  if (errorOffset_ == 0)
    return {};
  return {reinterpret_cast<const char*>(data_ + errorOffset_ + 4), size_t{errorSize_} - 4u};
}

std::optional<net::Endpoint> StunMessage::XorMappedAddress() const {
  if (xorMappedOffset_ == 0)
    return std::nullopt;
  const uint8_t* v = data_ + xorMappedOffset_;
  const uint16_t port = Load16(v + 2) ^ static_cast<uint16_t>(kStunMagicCookie >> 16);
  if (v[1] == kFamilyIpv4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(Load32(v + 4) ^ kStunMagicCookie);
    return net::Endpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin));
  }
  uint8_t mask[16];
  XorMask(TransactionId(), mask);
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  for (size_t i = 0; i < 16; ++i)
    sin6.sin6_addr.s6_addr[i] = v[4 + i] ^ mask[i];
  return net::Endpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6));
}

bool StunMessage::CheckFingerprint() const {
  if (fingerprintOffset_ == 0)
    return false;
  // FINGERPRINT is last, so the header's length already ends after it.
  const uint32_t crc = StunCrc32(data_, fingerprintOffset_) ^ kFingerprintXor;
  return crc == Load32(data_ + fingerprintOffset_ + kAttrHeaderSize);
}

bool StunMessage::CheckIntegrity(std::string_view password) const {
  if (integrityOffset_ == 0)
    return false;
  // The HMAC covers the message up to MESSAGE-INTEGRITY with the length field
  // as if MESSAGE-INTEGRITY were the last attribute (a FINGERPRINT after it
  // is left out).
  uint8_t header[kStunHeaderSize];
  std::memcpy(header, data_, kStunHeaderSize);
  Store16(header + 2, static_cast<uint16_t>(integrityOffset_ + kAttrHeaderSize +
                                            kMessageIntegritySize - kStunHeaderSize));
  uint8_t mac[kSha1Size];
  StunHmacSha1(password, header, sizeof(header), data_ + kStunHeaderSize,
               integrityOffset_ - kStunHeaderSize, mac);
  return CRYPTO_memcmp(mac, data_ + integrityOffset_ + kAttrHeaderSize, kSha1Size) == 0;
}

// --- StunWriter -----------------------------------------------------------------------

bool StunWriter::Begin(uint16_t method, StunClass cls, const uint8_t* transactionId) {
  if (out_ == nullptr || cap_ < kStunHeaderSize || transactionId == nullptr || method > 0xFFF)
    return Fail();
  const auto c = static_cast<uint16_t>(cls);
  const auto type = static_cast<uint16_t>(((method & 0xF80) << 2) | ((method & 0x070) << 1) |
                                          (method & 0x00F) | ((c & 0x2) << 7) | ((c & 0x1) << 4));
  Store16(out_, type);
  Store16(out_ + 2, 0);
  Store32(out_ + 4, kStunMagicCookie);
  std::memcpy(out_ + 8, transactionId, kStunTransactionIdSize);
  size_ = kStunHeaderSize;
  begun_ = true;
  failed_ = false;
  return true;
}

uint8_t* StunWriter::Reserve(uint16_t type, size_t len) {
  if (!begun_ || failed_ || len > 0xFFFF) {
    Fail();
    return nullptr;
  }
  const size_t total = kAttrHeaderSize + Padded(len);
  if (total > cap_ - size_ || size_ - kStunHeaderSize + total > 0xFFFF) {
    Fail();
    return nullptr;
  }
  uint8_t* p = out_ + size_;
  Store16(p, type);
  Store16(p + 2, static_cast<uint16_t>(len));
  std::memset(p + kAttrHeaderSize + len, 0, Padded(len) - len);
  size_ += total;
  Store16(out_ + 2, static_cast<uint16_t>(size_ - kStunHeaderSize));
  return p + kAttrHeaderSize;
}

bool StunWriter::AddBytes(uint16_t type, const void* value, size_t len) {
  if (value == nullptr && len != 0)
    return Fail();
  uint8_t* p = Reserve(type, len);
  if (p == nullptr)
    return false;
  if (len != 0)
    std::memcpy(p, value, len);
  return true;
}

bool StunWriter::AddUint32(uint16_t type, uint32_t value) {
  uint8_t* p = Reserve(type, 4);
  if (p == nullptr)
    return false;
  Store32(p, value);
  return true;
}

bool StunWriter::AddUint64(uint16_t type, uint64_t value) {
  uint8_t* p = Reserve(type, 8);
  if (p == nullptr)
    return false;
  Store32(p, static_cast<uint32_t>(value >> 32));
  Store32(p + 4, static_cast<uint32_t>(value));
  return true;
}

bool StunWriter::AddXorAddress(uint16_t type, const net::Endpoint& address) {
  const uint16_t xport = static_cast<uint16_t>(kStunMagicCookie >> 16);
  if (address.Family() == AF_INET && address.len == sizeof(sockaddr_in)) {
    sockaddr_in sin;
    std::memcpy(&sin, &address.storage, sizeof(sin));
    uint8_t* p = Reserve(type, 8);
    if (p == nullptr)
      return false;
    p[0] = 0;
    p[1] = kFamilyIpv4;
    Store16(p + 2, static_cast<uint16_t>(ntohs(sin.sin_port) ^ xport));
    Store32(p + 4, ntohl(sin.sin_addr.s_addr) ^ kStunMagicCookie);
    return true;
  }
  if (address.Family() == AF_INET6 && address.len == sizeof(sockaddr_in6) && begun_) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, &address.storage, sizeof(sin6));
    uint8_t mask[16];
    XorMask(out_ + 8, mask);
    uint8_t* p = Reserve(type, 20);
    if (p == nullptr)
      return false;
    p[0] = 0;
    p[1] = kFamilyIpv6;
    Store16(p + 2, static_cast<uint16_t>(ntohs(sin6.sin6_port) ^ xport));
    for (size_t i = 0; i < 16; ++i)
      p[4 + i] = sin6.sin6_addr.s6_addr[i] ^ mask[i];
    return true;
  }
  return Fail();
}

bool StunWriter::AddErrorCode(uint16_t code, std::string_view reason) {
  if (code < 300 || code > 699)
    return Fail();
  if (reason.size() > StunMessage::kMaxReasonSize)
    reason = reason.substr(0, StunMessage::kMaxReasonSize);
  uint8_t* p = Reserve(stun_attr::kErrorCode, 4 + reason.size());
  if (p == nullptr)
    return false;
  p[0] = 0;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(code / 100);
  p[3] = static_cast<uint8_t>(code % 100);
  if (!reason.empty())
    std::memcpy(p + 4, reason.data(), reason.size());
  return true;
}

bool StunWriter::AddUnknownAttributes(const uint16_t* types, size_t count) {
  if (types == nullptr && count != 0)
    return Fail();
  uint8_t* p = Reserve(stun_attr::kUnknownAttributes, 2 * count);
  if (p == nullptr)
    return false;
  for (size_t i = 0; i < count; ++i)
    Store16(p + 2 * i, types[i]);
  return true;
}

bool StunWriter::AddMessageIntegrity(std::string_view password) {
  // Reserve first: the HMAC covers a header whose length already counts
  // MESSAGE-INTEGRITY.
  uint8_t* p = Reserve(stun_attr::kMessageIntegrity, StunMessage::kMessageIntegritySize);
  if (p == nullptr)
    return false;
  const size_t covered = size_ - kAttrHeaderSize - StunMessage::kMessageIntegritySize;
  StunHmacSha1(password, out_, covered, nullptr, 0, p);
  return true;
}

bool StunWriter::AddFingerprint() {
  uint8_t* p = Reserve(stun_attr::kFingerprint, 4);
  if (p == nullptr)
    return false;
  const size_t covered = size_ - kAttrHeaderSize - 4;
  Store32(p, StunCrc32(out_, covered) ^ kFingerprintXor);
  return true;
}

// --- Binding messages -----------------------------------------------------------------

size_t WriteBindingSuccess(uint8_t* out, size_t cap, const uint8_t* transactionId,
                           const net::Endpoint& mapped, std::string_view password) {
  StunWriter w(out, cap);
  w.Begin(kStunMethodBinding, StunClass::SuccessResponse, transactionId);
  w.AddXorAddress(stun_attr::kXorMappedAddress, mapped);
  w.AddMessageIntegrity(password);
  w.AddFingerprint();
  return w.Size();
}

size_t WriteBindingError(uint8_t* out, size_t cap, const uint8_t* transactionId, uint16_t code,
                         std::string_view reason, std::string_view password) {
  StunWriter w(out, cap);
  w.Begin(kStunMethodBinding, StunClass::ErrorResponse, transactionId);
  w.AddErrorCode(code, reason);
  if (!password.empty())
    w.AddMessageIntegrity(password);
  w.AddFingerprint();
  return w.Size();
}

size_t WriteBindingRequest(uint8_t* out, size_t cap, const uint8_t* transactionId,
                           std::string_view username, std::string_view password, uint32_t priority,
                           bool useCandidate, std::optional<uint64_t> iceControlling,
                           std::optional<uint64_t> iceControlled) {
  StunWriter w(out, cap);
  w.Begin(kStunMethodBinding, StunClass::Request, transactionId);
  if (!username.empty())
    w.AddString(stun_attr::kUsername, username);
  w.AddUint32(stun_attr::kPriority, priority);
  if (useCandidate)
    w.AddFlag(stun_attr::kUseCandidate);
  if (iceControlling)
    w.AddUint64(stun_attr::kIceControlling, *iceControlling);
  if (iceControlled)
    w.AddUint64(stun_attr::kIceControlled, *iceControlled);
  if (!password.empty())
    w.AddMessageIntegrity(password);
  w.AddFingerprint();
  return w.Size();
}

} // namespace sluice::transport
