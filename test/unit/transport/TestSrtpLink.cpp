#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "sluice/transport/SrtpLink.hpp"
#include "sluice/util/Base64.hpp"

using sluice::transport::SrtpLink;
using sluice::transport::SrtpMasterLength;
using sluice::transport::SrtpSession;
using sluice::transport::SrtpSuite;
using Params = FBS::SrtpParameters::SrtpParameters;

namespace {

// A link's srtpParameters as the controller would carry them to the far side.
struct Carried {
  flatbuffers::FlatBufferBuilder b;
  const Params* params = nullptr;
};

void Carry(const SrtpLink& link, Carried& out) {
  out.b.Finish(link.FillParameters(out.b));
  out.params = flatbuffers::GetRoot<Params>(out.b.GetBufferPointer());
}

void CarryRaw(FBS::SrtpParameters::SrtpCryptoSuite suite, const std::string& keyBase64,
              Carried& out) {
  out.b.Finish(FBS::SrtpParameters::CreateSrtpParametersDirect(out.b, suite, keyBase64.c_str()));
  out.params = flatbuffers::GetRoot<Params>(out.b.GetBufferPointer());
}

// A 12-byte RTP header and a payload.
std::vector<uint8_t> Rtp(uint16_t seq) {
  std::vector<uint8_t> p = {0x80,
                            96,
                            static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq),
                            0,
                            0,
                            0x10,
                            0,
                            0x11,
                            0x22,
                            0x33,
                            0x44};
  for (int i = 0; i < 40; ++i)
    p.push_back(static_cast<uint8_t>(i * 3 + seq));
  return p;
}

} // namespace

TEST_CASE("SrtpLink without SRTP passes through and refuses remote parameters",
          "[transport][srtp]") {
  SrtpLink link;
  CHECK_FALSE(link.Enabled());
  CHECK_FALSE(link.AwaitingRemote());
  CHECK(link.Sessions() == 0);
  std::string error;
  CHECK(link.Accept(nullptr, false, &error) == SrtpLink::Refusal::None);
  auto pkt = Rtp(1);
  CHECK(link.Unprotect(false, pkt.data(), pkt.size()) == pkt.size());

  SrtpLink other;
  REQUIRE(other.Offer(SrtpSuite::AeadAes256Gcm, &error));
  Carried carried;
  Carry(other, carried);
  CHECK(link.Accept(carried.params, false, &error) == SrtpLink::Refusal::BadArgument);
  CHECK(error == "srtpParameters given but SRTP is not enabled");
}

TEST_CASE("SrtpLink pair: each side's offered key is what the other unprotects with",
          "[transport][srtp]") {
  std::string error;
  SrtpLink a, b;
  REQUIRE(a.Offer(SrtpSuite::AeadAes256Gcm, &error));
  REQUIRE(b.Offer(SrtpSuite::AeadAes256Gcm, &error));
  CHECK(a.AwaitingRemote());
  CHECK(a.Sessions() == 1);

  Carried fromA;
  Carry(a, fromA);
  CHECK(fromA.params->crypto_suite() == FBS::SrtpParameters::SrtpCryptoSuite::AEAD_AES_256_GCM);
  const auto keyA = sluice::util::Base64Decode(fromA.params->key_base64()->string_view());
  REQUIRE(keyA);
  CHECK(keyA->size() == SrtpMasterLength(SrtpSuite::AeadAes256Gcm));

  // Nothing unprotects before the remote's key arrives.
  auto early = Rtp(7);
  CHECK(b.Unprotect(false, early.data(), early.size()) == 0);

  REQUIRE(b.Accept(fromA.params, false, &error) == SrtpLink::Refusal::None);
  CHECK_FALSE(b.AwaitingRemote());
  CHECK(b.Sessions() == 2);

  // What A's outbound session (keyed with the offered key) protects, B opens.
  auto out = SrtpSession::Create(SrtpSession::Direction::Outbound, SrtpSuite::AeadAes256Gcm,
                                 keyA->data(), keyA->size(), &error);
  REQUIRE(out);
  const auto plain = Rtp(100);
  std::vector<uint8_t> buf(plain.size() + 64);
  std::memcpy(buf.data(), plain.data(), plain.size());
  const size_t protectedLen = out->ProtectRtp(buf.data(), plain.size(), buf.size());
  REQUIRE(protectedLen > plain.size());
  const std::vector<uint8_t> wire(buf.begin(), buf.begin() + static_cast<long>(protectedLen));
  const size_t len = b.Unprotect(false, buf.data(), protectedLen);
  REQUIRE(len == plain.size());
  CHECK(std::memcmp(buf.data(), plain.data(), len) == 0);
  // The same packet again is a replay.
  std::vector<uint8_t> replay = wire;
  CHECK(b.Unprotect(false, replay.data(), replay.size()) == 0);
}

TEST_CASE("SrtpLink refusals: missing, malformed, other suite (pipe) or re-keyed (plain)",
          "[transport][srtp]") {
  std::string error;
  SrtpLink link;
  REQUIRE(link.Offer(SrtpSuite::AeadAes256Gcm, &error));
  Carried before;
  Carry(link, before);
  const std::string offered = before.params->key_base64()->str();

  CHECK(link.Accept(nullptr, false, &error) == SrtpLink::Refusal::BadArgument);
  CHECK(error == "missing srtpParameters (SRTP enabled)");

  Carried shortKey;
  CarryRaw(FBS::SrtpParameters::SrtpCryptoSuite::AEAD_AES_256_GCM, "AAAA", shortKey);
  CHECK(link.Accept(shortKey.params, false, &error) == SrtpLink::Refusal::BadArgument);

  const std::vector<uint8_t> cmKey(SrtpMasterLength(SrtpSuite::AesCm128HmacSha1_80), 5);
  Carried cm;
  CarryRaw(FBS::SrtpParameters::SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80,
           sluice::util::Base64Encode(cmKey.data(), cmKey.size()), cm);
  CHECK(link.Accept(cm.params, false, &error) == SrtpLink::Refusal::BadArgument);
  CHECK(error == "invalid srtpParameters (crypto suite must be AEAD_AES_256_GCM)");
  CHECK(link.AwaitingRemote());

  // Nothing changed by the refusals; following the suite re-keys our side in it.
  Carried same;
  Carry(link, same);
  CHECK(same.params->key_base64()->str() == offered);
  REQUIRE(link.Accept(cm.params, true, &error) == SrtpLink::Refusal::None);
  Carried after;
  Carry(link, after);
  CHECK(after.params->crypto_suite() ==
        FBS::SrtpParameters::SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80);
  CHECK(sluice::util::Base64Decode(after.params->key_base64()->string_view())->size() ==
        SrtpMasterLength(SrtpSuite::AesCm128HmacSha1_80));
}
