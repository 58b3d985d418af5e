#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "sluice/util/HmacSha1.hpp"

using sluice::util::HmacSha1;

namespace {

std::string Hex(const uint8_t* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

std::string Mac(const HmacSha1& h, const std::string& a, const std::string& b = "") {
  uint8_t out[HmacSha1::kSize];
  h.Sign(reinterpret_cast<const uint8_t*>(a.data()), a.size(),
         reinterpret_cast<const uint8_t*>(b.data()), b.size(), out);
  return Hex(out, sizeof(out));
}

} // namespace

TEST_CASE("HmacSha1: RFC 2202 test cases 1, 2, 6 and split input") {
  const std::vector<uint8_t> k1(20, 0x0b);
  const HmacSha1 h1(k1.data(), k1.size());
  CHECK(Mac(h1, "Hi There") == "b617318655057264e28bc0b6fb378c8ef146be00");
  CHECK(Mac(h1, "Hi ", "There") == "b617318655057264e28bc0b6fb378c8ef146be00");
  CHECK(Mac(h1, "", "Hi There") == "b617318655057264e28bc0b6fb378c8ef146be00");

  const std::string jefe = "Jefe";
  HmacSha1 h2;
  h2.SetKey(reinterpret_cast<const uint8_t*>(jefe.data()), jefe.size());
  CHECK(Mac(h2, "what do ya want for nothing?") == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  // Signing is const: the same object signs again with the same result.
  CHECK(Mac(h2, "what do ya want ", "for nothing?") == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");

  // A key longer than the 64-byte block is hashed first (RFC 2104 §2).
  const std::vector<uint8_t> k6(80, 0xaa);
  const HmacSha1 h6(k6.data(), k6.size());
  CHECK(Mac(h6, "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}
