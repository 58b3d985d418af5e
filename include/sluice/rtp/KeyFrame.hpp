// Keyframe detection from the first bytes of an RTP payload, per codec.
//
// A video consumer starts (and resumes) forwarding at a keyframe, so the
// decoder behind it never sees a frame that references one it did not get.
// Each check reads only the payload descriptor / NAL header it needs and is
// bounds-checked: a short or odd payload is "not a keyframe".
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::rtp {

enum class KeyFrameCodec : uint8_t { Unknown, Vp8, Vp9, H264, H265 };

// RFC 7741 §4.2-4.3: start of partition 0 (S=1, PID=0) and P=0 in the VP8 payload header.
bool IsVp8KeyFrame(const uint8_t* payload, size_t len);
// RFC 9628 §4.2: P=0 (not inter-picture predicted) at the start of a frame (B=1) in SID 0.
bool IsVp9KeyFrame(const uint8_t* payload, size_t len);
// RFC 6184 §5.6-5.8: an IDR slice (5) or SPS (7), alone, in a STAP-A, or a starting FU-A.
bool IsH264KeyFrame(const uint8_t* payload, size_t len);
// RFC 7798 §4.4: an IRAP picture (types 16-21), alone, in an AP, or a starting FU.
bool IsH265KeyFrame(const uint8_t* payload, size_t len);

// Dispatch; Unknown answers true (no way to tell, so never gate on it).
bool IsKeyFrame(KeyFrameCodec codec, const uint8_t* payload, size_t len);

} // namespace sluice::rtp
