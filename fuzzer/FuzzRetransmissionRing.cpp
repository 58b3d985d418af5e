// Drives a RetransmissionRing (and its PacketPool) with insert / lookup /
// advance-time / set-RTT / expire / clear operations decoded from the input,
// and checks every step against a reference model written from the window
// rule in RetransmissionRing.hpp, not from the implementation:
//  - the model keeps the set of packets the ring must physically hold, in an
//    ordered map of extended seq (plain int64_t order: no serial arithmetic);
//  - Insert/Expire raise the horizon H to max(H, now - W) and release from the
//    lowest seq upwards while dead (arrival < H), stopping at the first live;
//  - only buckets (N - maxBuckets, N] of the newest bucket N are kept; older
//    inserts are rejected; a live duplicate is ignored, a dead one replaced;
//  - Lookup returns a packet iff held and arrival >= max(H, now - W(now)).
// Checked after every operation: the lookup result (and the exact packet),
// packets held, buckets held (= distinct buckets of held packets), and pool
// slots in use (ring's packets plus the handles the harness keeps "in flight").
#include "sluice/store/PacketPool.hpp"
#include "sluice/store/RetransmissionRing.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

using sluice::store::PacketPool;
using sluice::store::PacketRef;
using sluice::store::RetransmissionRing;
using sluice::store::RingWindowConfig;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "model mismatch at %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

class Input {
public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool Empty() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return uint16_t(U8() | U8() << 8); }
  uint32_t U32() { return uint32_t(U16()) | uint32_t(U16()) << 16; }

private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

int64_t BucketOf(int64_t seq) {
  // Floor division written independently of the ring's shift.
  return seq >= 0 ? seq / 64 : -((-seq + 63) / 64);
}

struct Model {
  struct Held {
    int64_t arrival;
    uint32_t id;
  };
  int64_t k, margin, floor, ceiling, maxBuckets;
  int64_t window;
  int64_t horizon = INT64_MIN;
  bool started = false;
  int64_t newest = 0;
  std::map<int64_t, Held> held;

  void SetRtt(uint32_t rtt) { window = std::clamp<int64_t>(k * rtt + margin, floor, ceiling); }

  void Advance(int64_t now) {
    horizon = std::max(horizon, now - window);
    while (!held.empty() && held.begin()->second.arrival < horizon)
      held.erase(held.begin());
  }

  bool Insert(int64_t seq, bool valid, int64_t now, uint32_t id) {
    Advance(now);
    if (!valid)
      return false;
    if (!started) {
      started = true;
      newest = seq;
    }
    if (seq > newest) {
      const int64_t firstKept = BucketOf(seq) - maxBuckets + 1;
      while (!held.empty() && BucketOf(held.begin()->first) < firstKept)
        held.erase(held.begin());
      newest = seq;
    } else if (BucketOf(seq) <= BucketOf(newest) - maxBuckets) {
      return false;
    }
    auto it = held.find(seq);
    if (it != held.end() && it->second.arrival >= horizon)
      return false;
    held[seq] = Held{now, id};
    return true;
  }

  const Held* Lookup(int64_t seq, int64_t now) const {
    auto it = held.find(seq);
    if (it == held.end() || it->second.arrival < std::max(horizon, now - window))
      return nullptr;
    return &it->second;
  }

  size_t Buckets() const {
    std::set<int64_t> buckets;
    for (const auto& [seq, h] : held)
      buckets.insert(BucketOf(seq));
    return buckets.size();
  }
};

uint32_t IdOf(const PacketRef& p) {
  uint32_t id;
  std::memcpy(&id, p.Data(), sizeof(id));
  return id;
}

constexpr size_t kInFlight = 4;

RingWindowConfig RingConfigFrom(uint8_t setup) {
  RingWindowConfig config = (setup & 1) ? RingWindowConfig::Audio() : RingWindowConfig::Video();
  static const uint32_t kMaxPackets[] = {1, 64, 200, 256, 2048};
  config.maxPackets = kMaxPackets[(setup >> 1) % 5];
  return config;
}

PacketPool::Config PoolConfigFrom(uint8_t setup) {
  PacketPool::Config config;
  config.byteCap = uint64_t(1 + (setup >> 4) % 8) * PacketPool::kSlabBytes; // drops happen
  config.spareSlabs = setup >> 7;
  config.holdMs = 50;
  return config;
}

// One ring, its model, and up to kInFlight handles the harness keeps as if a
// send were in progress. Declared after the pool it draws from, so all
// handles are gone before the pool is destroyed.
class Harness {
public:
  Harness(PacketPool& pool, uint8_t setup, Input& in)
      : pool_(pool), config_(RingConfigFrom(setup)),
        ring_(config_), model_{int64_t(config_.k),
                               config_.marginMs,
                               config_.floorMs,
                               config_.ceilingMs,
                               int64_t(ring_.GetStats().maxBuckets),
                               config_.ceilingMs,
                               INT64_MIN,
                               false,
                               0,
                               {}},
        now_(in.U8()),              // small start: negative horizons happen
        base_(int16_t(in.U16())) {} // negative seqs happen

  void Step(uint8_t op, Input& in) {
    const int64_t ref = model_.started ? model_.newest : base_;
    switch (op % 8) {
    case 0:
    case 1: // near the newest: in order, gaps, reordering, duplicates
      Insert(ref + int8_t(in.U8()));
      break;
    case 2: // huge forward or backward jumps
      Insert(ref + int64_t(int32_t(in.U32())) * ((op & 0x80) ? 4096 : 1));
      break;
    case 3:
      Lookup(ref - int64_t(in.U8()) + 8, op >> 6);
      break;
    case 4: { // time passes; the pool's timer runs
      const uint8_t b = in.U8();
      now_ += (op & 0x80) ? int64_t(b) * b * 16 : b;
      pool_.Tick(uint64_t(now_));
      break;
    }
    case 5: {
      const uint32_t rtt = in.U16() % 1500;
      ring_.SetRtt(rtt);
      model_.SetRtt(rtt);
      FUZZ_CHECK(ring_.WindowMs() == uint32_t(model_.window));
      break;
    }
    case 6:
      ring_.Expire(uint64_t(now_));
      model_.Advance(now_);
      break;
    case 7:
      if ((op >> 3) == 0x1f) { // rare: stream reset
        ring_.Clear();
        model_.held.clear();
        model_.started = false;
      } else { // an in-flight send completes
        inFlight_[(op >> 3) % kInFlight].Reset();
      }
      break;
    }
    CheckOccupancy();
  }

private:
  void Insert(int64_t seq) {
    PacketRef p = pool_.Allocate(); // may be empty at the cap: Insert must say no
    const uint32_t id = nextId_++;
    if (p)
      std::memcpy(p.MutableData(), &id, sizeof(id));
    const bool expected = model_.Insert(seq, bool(p), now_, id);
    FUZZ_CHECK(ring_.Insert(seq, p, uint64_t(now_)) == expected);
  }

  void Lookup(int64_t seq, size_t keepAs) {
    PacketRef got = ring_.Lookup(seq, uint64_t(now_));
    const Model::Held* want = model_.Lookup(seq, now_);
    FUZZ_CHECK(got.Empty() == (want == nullptr));
    if (want == nullptr)
      return;
    FUZZ_CHECK(got.ExtSeq() == seq);
    FUZZ_CHECK(IdOf(got) == want->id);
    inFlightId_[keepAs] = want->id;
    inFlight_[keepAs] = got;
  }

  // Packets and buckets held match the model; pool slots in use are exactly
  // the ring's packets plus in-flight handles to packets it no longer holds.
  void CheckOccupancy() const {
    FUZZ_CHECK(ring_.PacketsHeld() == model_.held.size());
    FUZZ_CHECK(ring_.BucketsHeld() == model_.Buckets());
    FUZZ_CHECK(ring_.BucketsHeld() <= uint64_t(model_.maxBuckets));
    std::set<uint32_t> extra;
    for (size_t i = 0; i < kInFlight; ++i) {
      if (inFlight_[i].Empty())
        continue;
      bool inRing = false;
      for (const auto& [seq, h] : model_.held)
        inRing = inRing || h.id == inFlightId_[i];
      if (!inRing)
        extra.insert(inFlightId_[i]);
    }
    const auto ps = pool_.GetStats();
    FUZZ_CHECK(ps.slotsInUse == model_.held.size() + extra.size());
    FUZZ_CHECK(ps.bytesHeld <= ps.byteCap);
    FUZZ_CHECK(ps.slotsCapacity >= ps.slotsInUse);
  }

  PacketPool& pool_;
  RingWindowConfig config_;
  RetransmissionRing ring_;
  Model model_;
  int64_t now_;
  int64_t base_;
  uint32_t nextId_ = 1;
  PacketRef inFlight_[kInFlight];
  uint32_t inFlightId_[kInFlight] = {};
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t setup = in.U8();
  PacketPool pool(PoolConfigFrom(setup));
  {
    Harness harness(pool, setup, in);
    while (!in.Empty())
      harness.Step(in.U8(), in);
  }
  FUZZ_CHECK(pool.GetStats().slotsInUse == 0);
  return 0;
}
