#include "sluice/net/Rfc4571Framer.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

using sluice::net::Rfc4571Framer;

namespace {

using Bytes = std::vector<uint8_t>;

// One RFC 4571 frame: 16-bit big-endian length, then the payload.
void Append(Bytes& stream, const Bytes& payload) {
  stream.push_back(static_cast<uint8_t>(payload.size() >> 8));
  stream.push_back(static_cast<uint8_t>(payload.size()));
  stream.insert(stream.end(), payload.begin(), payload.end());
}

Bytes Pattern(size_t len, uint8_t seed) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i)
    b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Several frames of awkward sizes, zero-length ones included (which are not
// delivered): the payloads expected out, and the stream carrying them.
struct Stream {
  std::vector<Bytes> frames; // non-empty frames, in order
  Bytes bytes;
  size_t zeroLength = 0;
};

Stream MakeStream() {
  Stream s;
  const size_t sizes[] = {1, 0, 2, 12, 0, 0, 3, 255, 256, 1, 40};
  uint8_t seed = 1;
  for (size_t size : sizes) {
    const Bytes payload = Pattern(size, seed++);
    Append(s.bytes, payload);
    if (size == 0)
      ++s.zeroLength;
    else
      s.frames.push_back(payload);
  }
  return s;
}

// Feeds `stream` in pieces [cuts[i], cuts[i+1]) (each from its own heap copy,
// so a read past a piece is an ASan error), collecting the frames. Checks the
// in-place promise: a frame wholly inside one piece is delivered at its own
// address in that piece.
struct Collector {
  Rfc4571Framer framer;
  std::vector<Bytes> frames;
  size_t inPlace = 0;
  size_t maxBuffered = 0;
  size_t maxCapacity = 0;

  void FeedPiece(const uint8_t* data, size_t len) {
    Bytes piece(data, data + len);
    uint8_t* begin = piece.data();
    framer.Feed(begin, len, [&](uint8_t* frame, size_t n) {
      frames.emplace_back(frame, frame + n);
      if (frame >= begin && frame + n <= begin + len)
        ++inPlace;
      frame[0] ^= 0xff; // callee may modify in place
    });
    maxBuffered = std::max(maxBuffered, framer.BufferedBytes());
    maxCapacity = std::max(maxCapacity, framer.CapacityBytes());
  }
  void FeedCuts(const Bytes& stream, const std::vector<size_t>& cuts) {
    size_t at = 0;
    for (size_t cut : cuts) {
      FeedPiece(stream.data() + at, cut - at);
      at = cut;
    }
    FeedPiece(stream.data() + at, stream.size() - at);
  }
};

size_t Largest(const std::vector<Bytes>& frames) {
  size_t n = 0;
  for (const Bytes& f : frames)
    n = std::max(n, f.size());
  return n;
}

} // namespace

TEST_CASE("net: rfc4571 framer, whole stream in one feed, all in place", "[net][rfc4571]") {
  const Stream s = MakeStream();
  Collector c;
  c.FeedCuts(s.bytes, {});
  REQUIRE(c.frames == s.frames);
  REQUIRE(c.inPlace == s.frames.size());
  REQUIRE(c.maxCapacity == 0); // nothing was copied
  REQUIRE(c.framer.BufferedBytes() == 0);
  REQUIRE(c.framer.ZeroLengthFrames() == s.zeroLength);
}

TEST_CASE("net: rfc4571 framer, every split point and every pair of split points",
          "[net][rfc4571]") {
  const Stream s = MakeStream();
  const size_t n = s.bytes.size();
  for (size_t i = 0; i <= n; ++i) {
    Collector c;
    c.FeedCuts(s.bytes, {i});
    INFO("split at " << i);
    REQUIRE(c.frames == s.frames);
    REQUIRE(c.framer.BufferedBytes() == 0);
    REQUIRE(c.framer.ZeroLengthFrames() == s.zeroLength);
    REQUIRE(c.maxCapacity <= Largest(s.frames));
  }
  for (size_t i = 0; i <= n; ++i) {
    for (size_t j = i; j <= n; ++j) {
      Collector c;
      c.FeedCuts(s.bytes, {i, j});
      INFO("splits at " << i << ", " << j);
      REQUIRE(c.frames == s.frames);
      REQUIRE(c.framer.BufferedBytes() == 0);
    }
  }
}

TEST_CASE("net: rfc4571 framer, one byte at a time", "[net][rfc4571]") {
  const Stream s = MakeStream();
  Collector c;
  size_t expectBuffered = 0;
  for (size_t i = 0; i < s.bytes.size(); ++i) {
    c.FeedPiece(&s.bytes[i], 1);
    // The framer holds exactly the bytes of the frame in progress.
    expectBuffered = (expectBuffered + 1);
    if (expectBuffered >= 2) {
      const size_t frameLen =
          (size_t(s.bytes[i + 1 - expectBuffered]) << 8) | s.bytes[i + 2 - expectBuffered];
      if (expectBuffered == frameLen + 2)
        expectBuffered = 0;
    }
    REQUIRE(c.framer.BufferedBytes() == expectBuffered);
  }
  REQUIRE(c.frames == s.frames);
  // Only 1-byte frames arrive whole in one feed (after their length field).
  REQUIRE(c.inPlace == 2);
  // Every other frame was reassembled...
  REQUIRE(c.maxCapacity == Largest(s.frames)); // ...in a buffer no larger than the largest
  REQUIRE(c.framer.ZeroLengthFrames() == s.zeroLength);
}

TEST_CASE("net: rfc4571 framer, feeds cut at frame boundaries deliver in place", "[net][rfc4571]") {
  const Stream s = MakeStream();
  std::vector<size_t> cuts;
  for (size_t at = 0; at < s.bytes.size();) {
    at += 2 + ((size_t(s.bytes[at]) << 8) | s.bytes[at + 1]);
    cuts.push_back(at);
  }
  cuts.pop_back();
  Collector c;
  c.FeedCuts(s.bytes, cuts);
  REQUIRE(c.frames == s.frames);
  REQUIRE(c.inPlace == s.frames.size());
  REQUIRE(c.maxCapacity == 0);

  // A length field split from its payload: the payload still is not copied.
  Collector d;
  Bytes one;
  Append(one, Pattern(100, 9));
  d.FeedCuts(one, {1});
  d.FeedCuts(one, {2});
  REQUIRE(d.frames.size() == 2);
  REQUIRE(d.inPlace == 2);
  REQUIRE(d.maxCapacity == 0);
}

TEST_CASE("net: rfc4571 framer, random splits", "[net][rfc4571]") {
  std::mt19937 rng(4571);
  for (int round = 0; round < 300; ++round) {
    // A random stream of frames, zero-length ones included.
    Stream s;
    const int frames = 1 + static_cast<int>(rng() % 20);
    for (int f = 0; f < frames; ++f) {
      const size_t size = rng() % 4 == 0 ? 0 : rng() % 3000;
      const Bytes payload = Pattern(size, static_cast<uint8_t>(rng()));
      Append(s.bytes, payload);
      if (size == 0)
        ++s.zeroLength;
      else
        s.frames.push_back(payload);
    }
    std::vector<size_t> cuts;
    for (size_t at = 0;;) {
      at += rng() % (rng() % 2 == 0 ? 8 : 2000);
      if (at >= s.bytes.size())
        break;
      cuts.push_back(at);
    }
    Collector c;
    c.FeedCuts(s.bytes, cuts);
    INFO("round " << round);
    REQUIRE(c.frames == s.frames);
    REQUIRE(c.framer.BufferedBytes() == 0);
    REQUIRE(c.framer.ZeroLengthFrames() == s.zeroLength);
    REQUIRE(c.maxCapacity <= Largest(s.frames));
  }
}

TEST_CASE("net: rfc4571 framer, max-size 65535 frame", "[net][rfc4571]") {
  const Bytes big = Pattern(Rfc4571Framer::kMaxFrameBytes, 3);
  Bytes stream;
  Append(stream, Pattern(5, 1));
  Append(stream, big);
  Append(stream, Pattern(7, 2));
  REQUIRE(stream[7] == 0xff);
  REQUIRE(stream[8] == 0xff);
  const std::vector<Bytes> expected = {Pattern(5, 1), big, Pattern(7, 2)};

  SECTION("whole") {
    Collector c;
    c.FeedCuts(stream, {});
    REQUIRE(c.frames == expected);
    REQUIRE(c.inPlace == 3);
  }
  SECTION("split in the length field, in the payload, and in 1000-byte pieces") {
    for (size_t cut : {size_t(8), size_t(9), size_t(30000), stream.size() - 10}) {
      Collector c;
      c.FeedCuts(stream, {cut});
      REQUIRE(c.frames == expected);
      REQUIRE(c.maxBuffered <= Rfc4571Framer::kMaxFrameBytes + 2);
      // A large buffer is released as soon as it empties.
      REQUIRE(c.framer.CapacityBytes() == 0);
    }
    Collector c;
    std::vector<size_t> cuts;
    for (size_t at = 1000; at < stream.size(); at += 1000)
      cuts.push_back(at);
    c.FeedCuts(stream, cuts);
    REQUIRE(c.frames == expected);
    REQUIRE(c.maxCapacity == Rfc4571Framer::kMaxFrameBytes);
    REQUIRE(c.maxBuffered <= Rfc4571Framer::kMaxFrameBytes + 2);
    REQUIRE(c.framer.CapacityBytes() == 0);
  }
}

TEST_CASE("net: rfc4571 framer buffer is released when idle or on Reset", "[net][rfc4571]") {
  Bytes small;
  Append(small, Pattern(100, 4));
  Collector c;
  c.FeedCuts(small, {50});
  REQUIRE(c.frames.size() == 1);
  REQUIRE(c.framer.CapacityBytes() == 100); // small: kept for the next split frame
  // The feed that completed the frame was the first idle one.
  for (int i = 0; i + 2 < Rfc4571Framer::kReleaseAfterIdleFeeds; ++i)
    c.FeedPiece(small.data(), small.size()); // whole frames: nothing buffered
  REQUIRE(c.framer.CapacityBytes() == 100);
  c.FeedPiece(small.data(), small.size());
  REQUIRE(c.framer.CapacityBytes() == 0);
  REQUIRE(c.frames.size() == Rfc4571Framer::kReleaseAfterIdleFeeds);

  // Reset drops a partial frame and its buffer; the next frame parses.
  c.FeedPiece(small.data(), 60);
  REQUIRE(c.framer.BufferedBytes() == 60);
  REQUIRE(c.framer.CapacityBytes() == 100);
  c.framer.Reset();
  REQUIRE(c.framer.BufferedBytes() == 0);
  REQUIRE(c.framer.CapacityBytes() == 0);
  c.FeedPiece(small.data(), small.size());
  REQUIRE(c.frames.size() == 1 + Rfc4571Framer::kReleaseAfterIdleFeeds);
  REQUIRE(c.frames.back() == Pattern(100, 4));

  // Half a length field is held inline, never in the heap buffer.
  c.FeedPiece(small.data(), 1);
  REQUIRE(c.framer.BufferedBytes() == 1);
  REQUIRE(c.framer.CapacityBytes() == 0);
}

TEST_CASE("net: rfc4571 framer, zero-length frames only", "[net][rfc4571]") {
  Bytes stream(10, 0); // five empty frames
  Collector c;
  c.FeedCuts(stream, {1, 3, 4});
  REQUIRE(c.frames.empty());
  REQUIRE(c.framer.ZeroLengthFrames() == 5);
  REQUIRE(c.framer.BufferedBytes() == 0);
  c.FeedCuts({}, {}); // an empty feed is harmless
  REQUIRE(c.framer.ZeroLengthFrames() == 5);
}

TEST_CASE("net: rfc4571 framer stops when onFrame returns false", "[net][rfc4571]") {
  const Stream s = MakeStream();
  for (size_t cut : {size_t(0), size_t(5), size_t(40)}) {
    Rfc4571Framer framer;
    Bytes copy = s.bytes;
    size_t seen = 0;
    framer.Feed(copy.data(), cut, [&](uint8_t*, size_t) { return ++seen < 100; });
    const size_t before = seen;
    framer.Feed(copy.data() + cut, copy.size() - cut, [&](uint8_t*, size_t) {
      ++seen;
      return seen < before + 2; // stop at the second frame of this feed
    });
    REQUIRE(seen == before + 2);
    REQUIRE(framer.BufferedBytes() == 0); // the rest is discarded
    REQUIRE(framer.CapacityBytes() == 0);
  }
}
