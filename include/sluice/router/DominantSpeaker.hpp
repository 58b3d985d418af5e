// Dominant speaker identification after I. Volfin and I. Cohen, "Dominant
// speaker identification for multipoint videoconferencing", Computer Speech
// and Language 27 (2013) 895-910.
//
// The paper scores each participant's speech activity over three nested time
// intervals and lets a participant take over from the dominant speaker only
// when he beats him on all three:
//   immediate  one 20 ms frame, split into N1 = 13 sub-bands; n1 of them are
//              active. With only the RFC 6464 level per packet at hand, the
//              level's height above the speaker's noise floor, scaled to
//              0..N1, stands for the number of active sub-bands.
//   medium     the last N2 = 5 frames (100 ms); n2 of them are active (more
//              than half of their sub-bands active).
//   long       the last N3 = 10 medium blocks (1 s); n3 of them are active
//              (at least 3 of their 5 frames active: our choice, so that the
//              short gaps of running speech do not void a block).
// Each interval's score is the log likelihood ratio of speech (a binomial
// with p = 0.5 over the sub-units) against non-speech (an exponential with
// rate lambda = 0.78, 24, 47 for immediate, medium, long):
//   score(n) = log C(N, n) + N log 0.5 - log lambda + lambda n,
// floored at a tiny positive value so that ratios stay defined. A candidate
// replaces the dominant speaker when log(candidate / dominant) exceeds
// C1 = 3, C2 = 2 and C3 = 0 on the immediate, medium and long scores; among
// several, the one with the largest medium margin wins. A short burst (a
// cough) cannot take over: it does not last long enough to raise the long
// score above that of someone who has been talking.
//
// Each speaker's state is fixed in size: a ring of the last N2 * N3 frames'
// sub-band counts, the noise floor and the time of the last level.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::router {

struct SpeechScores {
  double immediate = 0;
  double medium = 0;
  double longTerm = 0;
};

class SpeechActivity {
public:
  static constexpr unsigned kN1 = 13;
  static constexpr unsigned kN2 = 5;
  static constexpr unsigned kN3 = 10;
  static constexpr unsigned kFrames = kN2 * kN3;
  static constexpr uint64_t kFrameMs = 20;
  // A speaker with no level for longer than this is taken as silent for
  // the frames he missed (a sender that stops, or DTX).
  static constexpr uint64_t kIdleMs = 2 * kFrameMs;
  // The noise floor is the quietest level of the previous window of this
  // many frames (15 s) or of the current one, whichever is lower; it starts
  // at silence, so a new speaker is measured against digital silence.
  static constexpr uint32_t kFloorWindowFrames = 750;

  explicit SpeechActivity(uint64_t nowMs = 0) : lastMs_(nowMs) {}

  // One packet's level as -dBov (0 loudest, 127 silence).
  void OnLevel(uint8_t dbov, uint64_t nowMs);
  // Fills the frames a silent speaker missed up to nowMs.
  void CatchUp(uint64_t nowMs);
  // Forgets all activity (a paused speaker).
  void Clear(uint64_t nowMs);
  SpeechScores Scores() const;

  // Counts over the ring, newest first; exposed for tests.
  unsigned Immediate() const { return frames_[head_]; }
  unsigned MediumCount(unsigned block = 0) const;
  unsigned LongCount() const;

private:
  void PushFrame(uint8_t level);

  std::array<uint8_t, kFrames> frames_{}; // active sub-bands per frame
  uint8_t head_ = 0;                      // the newest frame
  uint8_t floor_ = 0;
  uint8_t windowMin_ = 127;
  uint32_t windowFrames_ = 0;
  uint64_t lastMs_;
};

// The index of the speaker that should be dominant given every speaker's
// scores and the current dominant (`current`, or kNoSpeaker for none yet); returns
// `current` when nobody takes over.
constexpr size_t kNoSpeaker = static_cast<size_t>(-1);
size_t PickDominant(const SpeechScores* scores, size_t n, size_t current);

} // namespace sluice::router
