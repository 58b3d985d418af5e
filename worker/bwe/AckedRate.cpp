#include "sluice/bwe/AckedRate.hpp"

#include <algorithm>

namespace sluice::bwe {

namespace {
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
size_t Slot(int64_t bucket) {
  const auto n = static_cast<int64_t>(AckedRate::kBuckets);
  return static_cast<size_t>(((bucket % n) + n) % n);
}
} // namespace

void AckedRate::Start(int64_t arrivalUs) {
  bytes_.fill(0);
  total_ = 0;
  originUs_ = arrivalUs;
  firstUs_ = arrivalUs;
  newestUs_ = arrivalUs;
  newestBucket_ = 0;
  started_ = true;
}

void AckedRate::Reset() {
  *this = AckedRate{};
}

void AckedRate::Add(int64_t arrivalUs, uint32_t bytes) {
  if (!started_ || arrivalUs < newestUs_ - kResetUs)
    Start(arrivalUs);
  const int64_t bucket = FloorDiv(arrivalUs - originUs_, kBucketUs);
  if (bucket > newestBucket_) {
    if (bucket - newestBucket_ >= static_cast<int64_t>(kBuckets)) {
      bytes_.fill(0);
      total_ = 0;
    } else {
      for (int64_t b = newestBucket_ + 1; b <= bucket; ++b) {
        total_ -= bytes_[Slot(b)];
        bytes_[Slot(b)] = 0;
      }
    }
    newestBucket_ = bucket;
  } else if (bucket <= newestBucket_ - static_cast<int64_t>(kBuckets)) {
    return; // older than the window
  }
  bytes_[Slot(bucket)] += bytes;
  total_ += bytes;
  newestUs_ = std::max(newestUs_, arrivalUs);
}

uint32_t AckedRate::Rate() const {
  if (!started_)
    return 0;
  const int64_t windowStartUs =
      originUs_ + (newestBucket_ - static_cast<int64_t>(kBuckets) + 1) * kBucketUs;
  const int64_t spanUs = newestUs_ - std::max(windowStartUs, firstUs_);
  if (spanUs < kMinSpanUs)
    return 0;
  // In double: a receiver may claim any number of bytes in one window.
  const double bps = static_cast<double>(total_) * 8e6 / static_cast<double>(spanUs);
  return static_cast<uint32_t>(std::min(bps, 4e9));
}

} // namespace sluice::bwe
