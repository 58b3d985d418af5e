// Serial-number arithmetic for RTP sequence numbers (16 bit) and timestamps
// (32 bit). This is the ONE place that knows about the half-range rule
// (RFC 1982 style, as RFC 3550 Appendix A.1 applies it to sequence numbers);
// everything else asks IsNewer/ForwardDiff or, better, works on the 64-bit
// extended values an Unwrapper hands out at the edge.
//
// Serial comparison is not transitive (a < b < c < a is possible around the
// circle), so never use IsNewer as a std::map/std::set/std::sort comparator:
// unwrap first and compare the int64_t values.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace sluice::rtp {

// Distance walked forward from `from` to reach `to`, modulo 2^N.
// ForwardDiff(65535, 1) == 2; ForwardDiff(1, 65535) == 65534.
template <typename T> constexpr T ForwardDiff(T from, T to) {
  static_assert(std::is_unsigned_v<T>, "serial arithmetic needs an unsigned type");
  // Integer promotion may widen to int; the cast back brings us to mod 2^N.
  return static_cast<T>(to - from);
}

// True when `a` is newer (later in serial order) than `b`: a is reached from b
// by walking forward less than half the circle.
//
// Tie rule: when a and b are exactly half the circle apart (0x8000 for seq,
// 0x80000000 for ts) the direction is ambiguous; we call the one with the
// larger raw value newer. So for every a != b exactly one of IsNewer(a, b) and
// IsNewer(b, a) holds, and IsNewer(a, a) is false.
template <typename T> constexpr bool IsNewer(T a, T b) {
  static_assert(std::is_unsigned_v<T>, "serial arithmetic needs an unsigned type");
  constexpr T kHalf = static_cast<T>(T(1) << (std::numeric_limits<T>::digits - 1));
  const T diff = ForwardDiff(b, a);
  if (diff == kHalf)
    return a > b;
  return diff != 0 && diff < kHalf;
}

// The same two rules for a field narrower than its carrier type, taken modulo
// 2^Bits: the 15-bit VP8/VP9 PictureID and the 7-bit short form live in a
// uint16_t / uint8_t. Same tie rule as IsNewer (half the circle apart: the
// larger raw value is newer). Inputs are masked, so stray high bits are ignored.
template <unsigned Bits, typename T> constexpr T ForwardDiffBits(T from, T to) {
  static_assert(std::is_unsigned_v<T>, "serial arithmetic needs an unsigned type");
  static_assert(Bits > 1 && Bits < std::numeric_limits<T>::digits, "use ForwardDiff");
  constexpr T kMask = static_cast<T>((T(1) << Bits) - 1);
  return static_cast<T>((to - from) & kMask);
}

template <unsigned Bits, typename T> constexpr bool IsNewerBits(T a, T b) {
  constexpr T kMask = static_cast<T>((T(1) << Bits) - 1);
  constexpr T kHalf = static_cast<T>(T(1) << (Bits - 1));
  const T diff = ForwardDiffBits<Bits>(b, a);
  if (diff == kHalf)
    return (a & kMask) > (b & kMask);
  return diff != 0 && diff < kHalf;
}

// Extends a stream of N-bit serial values to int64_t, counting wraps.
//
// Invariants:
//  - The first value unwraps to itself (0 <= result < 2^N); later values are
//    placed relative to the previously unwrapped value (not the highest), at
//    the nearest point under IsNewer: a step forward of d < 2^(N-1) adds d,
//    a step back subtracts. Reordering and loss are therefore correct as long
//    as consecutive inputs are less than half the circle apart.
//  - A packet older than the first one, across a backward wrap (first 0, then
//    65535), unwraps below zero (-1). Callers indexing by extended value must
//    accept negative values or offset them.
//  - Results stay within int64_t for any realistic stream (2^63 / 2^32 wraps).
template <typename T> class Unwrapper {
  static_assert(std::is_unsigned_v<T>, "serial arithmetic needs an unsigned type");
  static_assert(std::numeric_limits<T>::digits <= 32, "must leave room in int64_t");

public:
  int64_t Unwrap(T value) {
    if (!last_) {
      last_ = static_cast<int64_t>(value);
    } else {
      const T lastRaw = static_cast<T>(*last_); // low N bits, also for negatives
      if (IsNewer(value, lastRaw))
        *last_ += static_cast<int64_t>(ForwardDiff(lastRaw, value));
      else
        *last_ -= static_cast<int64_t>(ForwardDiff(value, lastRaw));
    }
    return *last_;
  }

  // The value returned by the most recent Unwrap, if any since construction
  // or Reset. It is the reference point of the next Unwrap.
  std::optional<int64_t> Last() const { return last_; }

  // Forget history: the next value unwraps to itself again.
  void Reset() { last_.reset(); }

private:
  std::optional<int64_t> last_;
};

using SeqUnwrapper = Unwrapper<uint16_t>;
using TsUnwrapper = Unwrapper<uint32_t>;

} // namespace sluice::rtp
