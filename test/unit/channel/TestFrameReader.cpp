#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "sluice/channel/FrameReader.hpp"

using sluice::channel::FrameReader;

namespace {
std::vector<uint8_t> Frame(const std::string& payload) {
  std::vector<uint8_t> out(4 + payload.size());
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[0] = n & 0xff;
  out[1] = (n >> 8) & 0xff;
  out[2] = (n >> 16) & 0xff;
  out[3] = (n >> 24) & 0xff;
  std::memcpy(out.data() + 4, payload.data(), payload.size());
  return out;
}

// Feeds `bytes` in chunks of at most `chunk` bytes, collecting frames.
std::vector<std::string> FeedInChunks(FrameReader& reader, const std::vector<uint8_t>& bytes,
                                      size_t chunk) {
  std::vector<std::string> frames;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t n = std::min({chunk, bytes.size() - pos, reader.WritableBytes()});
    REQUIRE(n > 0);
    std::memcpy(reader.WritePtr(), bytes.data() + pos, n);
    reader.Commit(n);
    pos += n;
    reader.Drain([&](const uint8_t* p, size_t len) {
      frames.emplace_back(reinterpret_cast<const char*>(p) + 4, len - 4);
      return true;
    });
  }
  return frames;
}
} // namespace

TEST_CASE("FrameReader: a frame split across every possible partial read") {
  const auto bytes = Frame("hello, worker");
  for (size_t chunk = 1; chunk <= bytes.size(); ++chunk) {
    FrameReader reader;
    const auto frames = FeedInChunks(reader, bytes, chunk);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0] == "hello, worker");
    CHECK(reader.Buffered() == 0);
  }
}

TEST_CASE("FrameReader: several frames in one read, in order, including empty ones") {
  std::vector<uint8_t> bytes;
  for (const char* p : {"a", "", "bcd", "efgh"}) {
    const auto f = Frame(p);
    bytes.insert(bytes.end(), f.begin(), f.end());
  }
  FrameReader reader;
  const auto frames = FeedInChunks(reader, bytes, bytes.size());
  REQUIRE(frames == std::vector<std::string>{"a", "", "bcd", "efgh"});
}

TEST_CASE("FrameReader: a frame larger than the base buffer grows it, then it shrinks back") {
  const std::string big(300000, 'x');
  auto bytes = Frame(big);
  const auto tail = Frame("after");
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  FrameReader reader;
  CHECK(reader.Capacity() == FrameReader::kBaseCapacity);
  const auto frames = FeedInChunks(reader, bytes, 65536);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0] == big);
  CHECK(frames[1] == "after");
  CHECK(reader.Capacity() == FrameReader::kBaseCapacity);
}

TEST_CASE("FrameReader: a length over the limit stops framing for good") {
  FrameReader reader(1000);
  auto bytes = Frame("ok");
  const std::vector<uint8_t> bad = {0xe9, 0x03, 0x00, 0x00}; // 1001
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  std::vector<std::string> frames;
  std::memcpy(reader.WritePtr(), bytes.data(), bytes.size());
  reader.Commit(bytes.size());
  const auto status = reader.Drain([&](const uint8_t* p, size_t len) {
    frames.emplace_back(reinterpret_cast<const char*>(p) + 4, len - 4);
    return true;
  });
  CHECK(status == FrameReader::Status::Oversize);
  CHECK(reader.OversizeLength() == 1001);
  REQUIRE(frames.size() == 1);
  // The buffer did not grow for the bogus length.
  CHECK(reader.Capacity() == FrameReader::kBaseCapacity);
}

TEST_CASE("FrameReader: exactly the limit is accepted") {
  FrameReader reader(70000);
  const std::string payload(70000, 'y');
  const auto frames = FeedInChunks(reader, Frame(payload), 4096);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].size() == 70000);
}

TEST_CASE("FrameReader: a consumer that stops early finds the rest on the next Drain") {
  std::vector<uint8_t> bytes;
  for (const char* p : {"one", "two", "three"}) {
    const auto f = Frame(p);
    bytes.insert(bytes.end(), f.begin(), f.end());
  }
  FrameReader reader;
  std::memcpy(reader.WritePtr(), bytes.data(), bytes.size());
  reader.Commit(bytes.size());
  std::vector<std::string> frames;
  auto takeOne = [&](const uint8_t* p, size_t len) {
    frames.emplace_back(reinterpret_cast<const char*>(p) + 4, len - 4);
    return false;
  };
  reader.Drain(takeOne);
  CHECK(frames == std::vector<std::string>{"one"});
  CHECK(reader.HasFrame());
  reader.Drain(takeOne);
  reader.Drain(takeOne);
  CHECK(frames == std::vector<std::string>{"one", "two", "three"});
  CHECK_FALSE(reader.HasFrame());
  CHECK(reader.Buffered() == 0);
}
