#include "sluice/rtp/codecs/CodecKind.hpp"

namespace sluice::rtp::codecs {

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

struct Entry {
  std::string_view mime;
  CodecKind kind;
  const char* name;
};

constexpr Entry kEntries[] = {
    {"video/VP8", CodecKind::Vp8, "VP8"},    {"video/VP9", CodecKind::Vp9, "VP9"},
    {"video/H264", CodecKind::H264, "H264"}, {"video/H264-SVC", CodecKind::H264Svc, "H264-SVC"},
    {"audio/opus", CodecKind::Opus, "opus"}, {"audio/multiopus", CodecKind::MultiOpus, "multiopus"},
};

} // namespace

CodecKind CodecFromMimeType(std::string_view mimeType) {
  for (const Entry& e : kEntries) {
    if (EqualsNoCase(mimeType, e.mime))
      return e.kind;
  }
  return CodecKind::Unknown;
}

const char* CodecName(CodecKind kind) {
  for (const Entry& e : kEntries) {
    if (e.kind == kind)
      return e.name;
  }
  return "unknown";
}

} // namespace sluice::rtp::codecs
