#include "sluice/router/DominantSpeaker.hpp"

#include <cmath>

namespace sluice::router {

namespace {

constexpr double kMinScore = 1e-10;
constexpr double kLambdaImmediate = 0.78;
constexpr double kLambdaMedium = 24;
constexpr double kLambdaLong = 47;
constexpr double kC1 = 3;
constexpr double kC2 = 2;
constexpr double kC3 = 0;
// A frame is active when more than half of its sub-bands are; a medium block
// when at least this many of its frames are.
constexpr unsigned kActiveSubBands = SpeechActivity::kN1 / 2 + 1;
constexpr unsigned kActiveFrames = 3;

double LogBinomial(unsigned n, unsigned k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

// Log likelihood ratio of speech (binomial, p = 0.5) over non-speech
// (exponential with rate lambda) for n active sub-units out of total.
double Score(unsigned n, unsigned total, double lambda) {
  const double s = LogBinomial(total, n) + total * std::log(0.5) - std::log(lambda) + lambda * n;
  return s > kMinScore ? s : kMinScore;
}

} // namespace

void SpeechActivity::PushFrame(uint8_t level) {
  if (level < windowMin_)
    windowMin_ = level;
  if (++windowFrames_ == kFloorWindowFrames) {
    floor_ = windowMin_;
    windowMin_ = 127;
    windowFrames_ = 0;
  }
  const unsigned floor = windowMin_ < floor_ ? windowMin_ : floor_;
  unsigned bands = 0;
  if (level > floor)
    bands = (level - floor) * kN1 / (127 - floor);
  head_ = static_cast<uint8_t>((head_ + 1) % kFrames);
  frames_[head_] = static_cast<uint8_t>(bands);
}

void SpeechActivity::OnLevel(uint8_t dbov, uint64_t nowMs) {
  CatchUp(nowMs);
  PushFrame(static_cast<uint8_t>(127 - (dbov & 0x7f)));
  lastMs_ = nowMs;
}

void SpeechActivity::CatchUp(uint64_t nowMs) {
  if (nowMs <= lastMs_ + kIdleMs)
    return;
  const uint64_t missed = (nowMs - lastMs_) / kFrameMs;
  // Beyond a full ring the oldest silent frames would be overwritten anyway.
  for (uint64_t i = 0; i < missed && i < kFrames; ++i)
    PushFrame(0);
  lastMs_ += missed * kFrameMs;
}

void SpeechActivity::Clear(uint64_t nowMs) {
  frames_.fill(0);
  lastMs_ = nowMs;
}

unsigned SpeechActivity::MediumCount(unsigned block) const {
  unsigned active = 0;
  for (unsigned i = 0; i < kN2; ++i) {
    const unsigned idx = (head_ + kFrames - (block * kN2 + i)) % kFrames;
    if (frames_[idx] >= kActiveSubBands)
      ++active;
  }
  return active;
}

unsigned SpeechActivity::LongCount() const {
  unsigned active = 0;
  for (unsigned b = 0; b < kN3; ++b)
    if (MediumCount(b) >= kActiveFrames)
      ++active;
  return active;
}

SpeechScores SpeechActivity::Scores() const {
  return SpeechScores{Score(Immediate(), kN1, kLambdaImmediate),
                      Score(MediumCount(), kN2, kLambdaMedium),
                      Score(LongCount(), kN3, kLambdaLong)};
}

size_t PickDominant(const SpeechScores* scores, size_t n, size_t current) {
  const SpeechScores none{kMinScore, kMinScore, kMinScore};
  const SpeechScores& dominant = current < n ? scores[current] : none;
  size_t best = current;
  double bestMargin = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == current)
      continue;
    const double c1 = std::log(scores[i].immediate / dominant.immediate);
    const double c2 = std::log(scores[i].medium / dominant.medium);
    const double c3 = std::log(scores[i].longTerm / dominant.longTerm);
    if (c1 > kC1 && c2 > kC2 && c3 > kC3 && (best == current || c2 > bestMargin)) {
      best = i;
      bestMargin = c2;
    }
  }
  return best;
}

} // namespace sluice::router
