#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sluice/util/Base64.hpp"

using sluice::util::Base64Decode;
using sluice::util::Base64Encode;

namespace {
std::string Enc(const std::string& s) {
  return Base64Encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}
} // namespace

TEST_CASE("Base64: RFC 4648 §10 test vectors encode and decode") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(Enc(plain) == encoded);
    const auto decoded = Base64Decode(encoded);
    REQUIRE(decoded);
    CHECK(*decoded == Bytes(plain));
  }
}

TEST_CASE("Base64: every byte value and length round-trips") {
  std::vector<uint8_t> data;
  for (int i = 0; i < 256; ++i)
    data.push_back(static_cast<uint8_t>(255 - i));
  for (size_t len = 0; len <= data.size(); ++len) {
    const auto text = Base64Encode(data.data(), len);
    CHECK(text.size() == (len + 2) / 3 * 4);
    const auto back = Base64Decode(text);
    REQUIRE(back);
    CHECK(*back == std::vector<uint8_t>(data.begin(), data.begin() + len));
  }
  // The two characters beyond A-Z a-z 0-9.
  const uint8_t hi[] = {0xFB, 0xFF, 0xBF};
  CHECK(Base64Encode(hi, 3) == "+/+/");
}

TEST_CASE("Base64: a 30-byte SRTP master key+salt (AES_CM_128) is 40 characters") {
  std::vector<uint8_t> key(30);
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(i);
  const auto text = Base64Encode(key.data(), key.size());
  CHECK(text == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd");
  CHECK(*Base64Decode(text) == key);
}

TEST_CASE("Base64: rejects bad lengths, characters and padding") {
  for (const char* bad : {"Z", "Zg", "Zg=", "Zm9vY", // length not a multiple of 4
                          "Zm9v\n", " Zm9v", "Zm9-", "Zm9_", "Zm\x80v",       // alphabet
                          "====", "Z===", "Zg=a", "=Zm9", "Zg==Zm9v", "Zm=v", // padding
                          "Zh==", "Zm9="}) { // non-zero spare bits (non-canonical)
    CAPTURE(bad);
    CHECK_FALSE(Base64Decode(bad));
  }
  CHECK_FALSE(Base64Decode(std::string_view("Zm\0v", 4)));
  CHECK(Base64Decode("")->empty());
}
