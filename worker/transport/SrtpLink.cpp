#include "sluice/transport/SrtpLink.hpp"

#include <openssl/rand.h>

#include "sluice/util/Base64.hpp"

namespace sluice::transport {

bool SrtpLink::Offer(SrtpSuite suite, std::string* error) {
  std::vector<uint8_t> key(SrtpMasterLength(suite));
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    *error = "cannot generate an SRTP key";
    return false;
  }
  auto out =
      SrtpSession::Create(SrtpSession::Direction::Outbound, suite, key.data(), key.size(), error);
  if (!out)
    return false;
  suite_ = suite;
  localKey_ = std::move(key);
  out_ = std::move(out);
  return true;
}

SrtpLink::Refusal SrtpLink::Accept(const FBS::SrtpParameters::SrtpParameters* remote,
                                   bool followSuite, std::string* error) {
  if (!suite_) {
    if (remote == nullptr)
      return Refusal::None;
    *error = "srtpParameters given but SRTP is not enabled";
    return Refusal::BadArgument;
  }
  if (remote == nullptr) {
    *error = "missing srtpParameters (SRTP enabled)";
    return Refusal::BadArgument;
  }
  const auto suite = static_cast<SrtpSuite>(remote->crypto_suite());
  const auto key = util::Base64Decode(remote->key_base64()->string_view());
  if (!key || static_cast<uint8_t>(suite) > static_cast<uint8_t>(SrtpSuite::AesCm128HmacSha1_32) ||
      key->size() != SrtpMasterLength(suite)) {
    *error = "invalid srtpParameters (wrong key or crypto suite)";
    return Refusal::BadArgument;
  }
  if (suite != *suite_ && !followSuite) {
    *error =
        "invalid srtpParameters (crypto suite must be " + std::string(SrtpSuiteName(*suite_)) + ")";
    return Refusal::BadArgument;
  }
  auto in =
      SrtpSession::Create(SrtpSession::Direction::Inbound, suite, key->data(), key->size(), error);
  if (!in)
    return Refusal::Failure;
  // Re-keying last, so a failure above leaves our side as it was.
  if (suite != *suite_ && !Offer(suite, error))
    return Refusal::Failure;
  in_ = std::move(in);
  return Refusal::None;
}

bool SrtpLink::AcceptFor(channel::Request& request,
                         const FBS::SrtpParameters::SrtpParameters* remote, bool followSuite) {
  std::string error;
  switch (Accept(remote, followSuite, &error)) {
  case Refusal::None:
    return true;
  case Refusal::BadArgument:
    request.TypeError(error);
    return false;
  case Refusal::Failure:
    request.Error("SRTP: " + error);
    return false;
  }
  return false;
}

size_t SrtpLink::Unprotect(bool rtcp, uint8_t* data, size_t len) {
  if (!suite_)
    return len;
  if (!in_)
    return 0;
  return rtcp ? in_->UnprotectRtcp(data, len) : in_->UnprotectRtp(data, len);
}

size_t SrtpLink::SendRtp(net::UdpSocket& socket, const net::Endpoint& to, const uint8_t* head,
                         size_t headLen, const uint8_t* tail, size_t tailLen,
                         const store::PacketRef& hold) {
  if (out_) {
    const auto bytes = out_->ProtectRtpToScratch(head, headLen, tail, tailLen);
    return bytes.len != 0 && socket.Send(bytes.data, bytes.len, nullptr, 0, store::PacketRef(), to)
               ? bytes.len
               : 0;
  }
  return socket.Send(head, headLen, tail, tailLen, hold, to) ? headLen + tailLen : 0;
}

size_t SrtpLink::SendRtcp(net::UdpSocket& socket, const net::Endpoint& to, const uint8_t* data,
                          size_t len) {
  if (out_) {
    const auto bytes = out_->ProtectRtcpToScratch(data, len);
    if (bytes.len == 0)
      return 0;
    data = bytes.data;
    len = bytes.len;
  }
  return socket.Send(data, len, nullptr, 0, store::PacketRef(), to) ? len : 0;
}

flatbuffers::Offset<FBS::SrtpParameters::SrtpParameters>
SrtpLink::FillParameters(flatbuffers::FlatBufferBuilder& b) const {
  if (!suite_)
    return 0;
  const std::string key = util::Base64Encode(localKey_.data(), localKey_.size());
  return FBS::SrtpParameters::CreateSrtpParametersDirect(
      b, static_cast<FBS::SrtpParameters::SrtpCryptoSuite>(*suite_), key.c_str());
}

} // namespace sluice::transport
