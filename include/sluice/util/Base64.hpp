// Base64 (RFC 4648 §4): the standard alphabet A-Z a-z 0-9 + / with '='
// padding. Used for SDES-style key material (a=crypto inline:) and wherever
// the channel carries binary as text.
//
// Decoding is strict: the length must be a multiple of 4, padding may appear
// only as the last one or two characters, no whitespace or other characters,
// and the unused low bits of the last symbol must be zero (RFC 4648 §3.5),
// so every byte string has exactly one accepted encoding. Bad input yields
// nullopt, never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::util {

std::string Base64Encode(const uint8_t* data, size_t len);

std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text);

} // namespace sluice::util
