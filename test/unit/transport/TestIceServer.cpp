#include "sluice/transport/IceServer.hpp"
#include "sluice/transport/StunMessage.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace sluice::transport;
using sluice::net::Endpoint;
using sluice::net::TcpConnection;
using sluice::net::Tuple;
using sluice::net::UdpSocket;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kUfrag = "srvufrag";
constexpr const char* kPwd = "server-password-0123456789";
constexpr uint32_t kConsentMs = 30000;

// Tuple n: a fake UDP socket (never dereferenced) and 10.0.0.n:5000+n.
Tuple T(int n) {
  Tuple t;
  t.udp = reinterpret_cast<UdpSocket*>(uintptr_t{0x1000});
  t.remote = *Endpoint::FromIpPort("10.0.0." + std::to_string(n), static_cast<uint16_t>(5000 + n));
  return t;
}

enum class Ev { Send, Added, Removed, Selected, State };

struct Event {
  Ev kind;
  Tuple tuple;
  IceState state = IceState::New;
  Bytes bytes;
};

class Recorder : public IceServer::Listener {
public:
  void OnIceSend(const Tuple& tuple, const uint8_t* data, size_t len) override {
    Record({Ev::Send, tuple, IceState::New, Bytes(data, data + len)});
  }
  void OnIceTupleAdded(const Tuple& tuple) override {
    Record({Ev::Added, tuple, IceState::New, {}});
  }
  void OnIceTupleRemoved(const Tuple& tuple) override {
    Record({Ev::Removed, tuple, IceState::New, {}});
  }
  void OnIceSelectedTuple(const Tuple& tuple) override {
    Record({Ev::Selected, tuple, IceState::New, {}});
  }
  void OnIceStateChange(IceState state) override { Record({Ev::State, Tuple{}, state, {}}); }

  std::vector<Ev> Kinds() const {
    std::vector<Ev> kinds;
    for (const Event& e : events)
      kinds.push_back(e.kind);
    return kinds;
  }
  const Event& Last(Ev kind) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == kind)
        return *it;
    }
    FAIL("no such event");
    return events.front();
  }

  std::vector<Event> events;
  std::function<void(const Event&)> hook; // runs after recording, for re-entrancy tests

private:
  void Record(Event e) {
    events.push_back(e);
    if (hook)
      hook(events.back());
  }
};

uint8_t gTx = 0;

Bytes Request(const std::string& username, const std::string& password, bool useCandidate = false,
              std::optional<uint64_t> controlling = 0x0102030405060708ull,
              std::optional<uint64_t> controlled = std::nullopt) {
  uint8_t tx[12] = {0xAB, 0xCD};
  tx[11] = ++gTx;
  uint8_t out[512];
  const size_t n = WriteBindingRequest(out, sizeof(out), tx, username, password, 0x6e0001ff,
                                       useCandidate, controlling, controlled);
  REQUIRE(n > 0);
  return Bytes(out, out + n);
}

Bytes Check(bool useCandidate = false) {
  return Request(std::string(kUfrag) + ":peer", kPwd, useCandidate);
}

struct Fixture {
  Recorder rec;
  IceServer ice{rec, kUfrag, kPwd, kConsentMs};

  void Feed(const Bytes& b, const Tuple& t, uint64_t now = 0) {
    ice.ProcessStun(b.data(), b.size(), t, now);
  }
  // Feeds b and returns the parsed response (fails the test if none).
  StunMessage Answer(const Bytes& b, const Tuple& t, uint64_t now = 0) {
    rec.events.clear();
    Feed(b, t, now);
    REQUIRE(!rec.events.empty());
    REQUIRE(rec.events.front().kind == Ev::Send);
    CHECK(rec.events.front().tuple == t);
    const Bytes& out = rec.events.front().bytes;
    const auto msg = StunMessage::Parse(out.data(), out.size());
    REQUIRE(msg.has_value());
    CHECK(msg->CheckFingerprint());
    CHECK(std::memcmp(msg->TransactionId(), b.data() + 8, 12) == 0);
    return *msg;
  }
};

void CheckError(const StunMessage& msg, uint16_t code, bool integrity) {
  CHECK(msg.Class() == StunClass::ErrorResponse);
  CHECK(msg.Method() == kStunMethodBinding);
  CHECK(msg.ErrorCode() == std::optional<uint16_t>(code));
  CHECK(msg.HasMessageIntegrity() == integrity);
  if (integrity)
    CHECK(msg.CheckIntegrity(kPwd));
}

} // namespace

TEST_CASE("ICE: a valid request is answered and selects its tuple", "[ice]") {
  Fixture f;
  const StunMessage resp = f.Answer(Check(), T(1), 100);
  CHECK(resp.Class() == StunClass::SuccessResponse);
  CHECK(resp.Method() == kStunMethodBinding);
  CHECK(resp.XorMappedAddress() == std::optional<Endpoint>(T(1).remote));
  CHECK(resp.CheckIntegrity(kPwd));
  CHECK_FALSE(resp.CheckIntegrity("peer-password"));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Added, Ev::Selected, Ev::State});
  CHECK(f.rec.events[1].tuple == T(1));
  CHECK(f.rec.events[2].tuple == T(1));
  CHECK(f.rec.events[3].state == IceState::Connected);
  CHECK(f.ice.State() == IceState::Connected);
  REQUIRE(f.ice.SelectedTuple() != nullptr);
  CHECK(*f.ice.SelectedTuple() == T(1));
  CHECK(f.ice.IsValidTuple(T(1)));
  CHECK_FALSE(f.ice.IsValidTuple(T(2)));
  CHECK(f.ice.GetCounters().requests == 1);
  CHECK(f.ice.GetCounters().responses == 1);
  CHECK(f.ice.GetCounters().tuplesAdded == 1);

  // The same tuple again: answered, nothing else changes.
  f.Answer(Check(), T(1), 200);
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send});
}

TEST_CASE("ICE: IPv6 and TCP tuples", "[ice]") {
  Fixture f;
  Tuple tcp;
  tcp.tcp = reinterpret_cast<TcpConnection*>(uintptr_t{0x2000});
  tcp.remote = *Endpoint::FromIpPort("2001:db8::7", 443);
  const StunMessage resp = f.Answer(Check(true), tcp);
  CHECK(resp.XorMappedAddress() == std::optional<Endpoint>(tcp.remote));
  CHECK(f.ice.State() == IceState::Completed);
  CHECK(f.ice.IsValidTuple(tcp));

  // A tuple without a remote endpoint cannot be answered.
  Tuple empty;
  empty.udp = T(1).udp;
  f.rec.events.clear();
  f.Feed(Check(), empty);
  CHECK(f.rec.events.empty());
  CHECK(f.ice.GetCounters().ignored == 1);
}

TEST_CASE("ICE: 400 when USERNAME, MESSAGE-INTEGRITY or PRIORITY is missing", "[ice]") {
  Fixture f;
  // No USERNAME.
  CheckError(f.Answer(Request("", kPwd), T(1)), 400, false);
  // No MESSAGE-INTEGRITY (an empty password leaves it out).
  CheckError(f.Answer(Request(std::string(kUfrag) + ":peer", ""), T(1)), 400, false);
  // No PRIORITY.
  uint8_t out[256];
  const uint8_t tx[12] = {9};
  StunWriter w(out, sizeof(out));
  w.Begin(kStunMethodBinding, StunClass::Request, tx);
  w.AddString(stun_attr::kUsername, std::string(kUfrag) + ":peer");
  w.AddMessageIntegrity(kPwd);
  w.AddFingerprint();
  REQUIRE(w.Size() > 0);
  const StunMessage resp = f.Answer(Bytes(out, out + w.Size()), T(1));
  CheckError(resp, 400, false);
  CHECK(resp.ErrorReason() == "Bad Request");
  CHECK(f.ice.GetCounters().badRequests == 3);
  CHECK(f.ice.GetCounters().requests == 3);
  CHECK(f.ice.State() == IceState::New);
  CHECK(f.ice.TupleCount() == 0);
}

TEST_CASE("ICE: 401 for a wrong ufrag or password", "[ice]") {
  Fixture f;
  CheckError(f.Answer(Request("other:peer", kPwd), T(1)), 401, false);
  CheckError(f.Answer(Request(std::string(kUfrag) + "x:peer", kPwd), T(1)), 401, false);
  CheckError(f.Answer(Request(std::string(kUfrag) + ":peer", "wrong"), T(1)), 401, false);
  const StunMessage resp = f.Answer(Request(kUfrag, "wrong"), T(1));
  CheckError(resp, 401, false);
  CHECK(resp.ErrorReason() == "Unauthorized");
  CHECK(f.ice.GetCounters().unauthorized == 4);
  CHECK(f.ice.State() == IceState::New);
  CHECK_FALSE(f.ice.IsValidTuple(T(1)));
}

TEST_CASE("ICE: 487 when the peer claims the controlled role", "[ice]") {
  Fixture f;
  const Bytes b = Request(std::string(kUfrag) + ":peer", kPwd, true, std::nullopt, 42);
  const StunMessage resp = f.Answer(b, T(1));
  CheckError(resp, 487, true);
  CHECK(f.rec.events.size() == 1);
  CHECK(f.ice.GetCounters().roleConflicts == 1);
  CHECK(f.ice.State() == IceState::New);
  // Without either role attribute the request is taken.
  f.Answer(Request(std::string(kUfrag) + ":peer", kPwd, false, std::nullopt), T(1));
  CHECK(f.ice.State() == IceState::Connected);
}

TEST_CASE("ICE: 420 for unknown comprehension-required attributes", "[ice]") {
  Fixture f;
  uint8_t out[256];
  const uint8_t tx[12] = {7};
  StunWriter w(out, sizeof(out));
  w.Begin(kStunMethodBinding, StunClass::Request, tx);
  w.AddString(stun_attr::kUsername, std::string(kUfrag) + ":peer");
  w.AddUint32(stun_attr::kPriority, 1);
  w.AddFlag(0x0077);
  w.AddUint32(0xC057, 5); // comprehension-optional: fine
  w.AddMessageIntegrity(kPwd);
  w.AddFingerprint();
  const StunMessage resp = f.Answer(Bytes(out, out + w.Size()), T(1));
  CheckError(resp, 420, true);
  // UNKNOWN-ATTRIBUTES lists 0x0077.
  const Bytes& bytes = f.rec.events.front().bytes;
  const uint8_t want[] = {0x00, 0x0A, 0x00, 0x02, 0x00, 0x77};
  CHECK(std::search(bytes.begin(), bytes.end(), std::begin(want), std::end(want)) != bytes.end());
  CHECK(f.ice.GetCounters().unknownAttributes == 1);
  CHECK(f.ice.TupleCount() == 0);
}

TEST_CASE("ICE: what is not a Binding request is ignored", "[ice]") {
  Fixture f;
  Bytes bad = Check();
  bad.back() ^= 0x01; // FINGERPRINT wrong: not STUN as far as we know
  f.Feed(bad, T(1));
  const Bytes garbage = {0x00, 0x01, 0x02, 0x03};
  f.Feed(garbage, T(1));
  uint8_t out[256];
  const uint8_t tx[12] = {1};
  for (StunClass cls :
       {StunClass::Indication, StunClass::SuccessResponse, StunClass::ErrorResponse}) {
    StunWriter w(out, sizeof(out));
    w.Begin(kStunMethodBinding, cls, tx);
    w.AddFingerprint();
    f.ice.ProcessStun(out, w.Size(), T(1), 0);
  }
  StunWriter w(out, sizeof(out));
  w.Begin(0x003, StunClass::Request, tx); // Allocate
  w.AddFingerprint();
  f.ice.ProcessStun(out, w.Size(), T(1), 0);
  CHECK(f.rec.events.empty());
  CHECK(f.ice.GetCounters().ignored == 6);
  CHECK(f.ice.GetCounters().requests == 0);
  // A request without FINGERPRINT is still answered.
  uint8_t tx2[12] = {2};
  const size_t n = WriteBindingRequest(out, sizeof(out), tx2, std::string(kUfrag) + ":p", kPwd, 1,
                                       false, 1, std::nullopt);
  REQUIRE(n > 8);
  f.ice.ProcessStun(out, n - 8, T(1), 0); // drop FINGERPRINT; the length field still counts it
  CHECK(f.rec.events.empty());            // so that is malformed
  out[3] = static_cast<uint8_t>(out[3] - 8);
  f.ice.ProcessStun(out, n - 8, T(1), 0);
  CHECK(f.ice.State() == IceState::Connected);
}

TEST_CASE("ICE: New -> Connected -> Completed, and the selection moves", "[ice]") {
  Fixture f;
  f.Answer(Check(), T(1));
  CHECK(f.ice.State() == IceState::Connected);
  // Another tuple without USE-CANDIDATE: added, selection stays.
  f.Answer(Check(), T(2));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Added});
  CHECK(*f.ice.SelectedTuple() == T(1));
  // USE-CANDIDATE on T(2): Completed, T(2) selected (tuple first, then state).
  f.Answer(Check(true), T(2));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Selected, Ev::State});
  CHECK(f.rec.events[1].tuple == T(2));
  CHECK(f.rec.events[2].state == IceState::Completed);
  CHECK(*f.ice.SelectedTuple() == T(2));
  // In Completed, USE-CANDIDATE from T(1) moves the selection back.
  f.Answer(Check(true), T(1));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Selected});
  CHECK(f.rec.events[1].tuple == T(1));
  CHECK(f.ice.State() == IceState::Completed);
  // Without USE-CANDIDATE nothing moves; repeated USE-CANDIDATE is quiet.
  f.Answer(Check(), T(2));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send});
  f.Answer(Check(true), T(1));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send});
  // A new tuple with USE-CANDIDATE: added and selected.
  f.Answer(Check(true), T(3));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Added, Ev::Selected});
  CHECK(f.ice.TupleCount() == 3);
}

TEST_CASE("ICE: New + USE-CANDIDATE goes straight to Completed", "[ice]") {
  Fixture f;
  f.Answer(Check(true), T(4));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Added, Ev::Selected, Ev::State});
  CHECK(f.rec.events[3].state == IceState::Completed);
  CHECK(*f.ice.SelectedTuple() == T(4));
}

TEST_CASE("ICE: consent expiry in Tick", "[ice][consent]") {
  Fixture f;
  f.Answer(Check(), T(1), 0);
  f.Answer(Check(), T(2), 10000);
  f.rec.events.clear();
  f.ice.Tick(29999);
  CHECK(f.rec.events.empty());
  // T(1) expires: T(2) takes over.
  f.ice.Tick(30000);
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Removed, Ev::Selected});
  CHECK(f.rec.events[0].tuple == T(1));
  CHECK(f.rec.events[1].tuple == T(2));
  CHECK(f.ice.State() == IceState::Connected);
  // A request refreshes consent.
  f.Answer(Check(), T(2), 35000);
  f.rec.events.clear();
  f.ice.Tick(64999);
  CHECK(f.rec.events.empty());
  f.ice.Tick(65000);
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Removed, Ev::State});
  CHECK(f.rec.events[1].state == IceState::Disconnected);
  CHECK(f.ice.State() == IceState::Disconnected);
  CHECK(f.ice.SelectedTuple() == nullptr);
  CHECK(f.ice.TupleCount() == 0);
  CHECK(f.ice.GetCounters().consentExpired == 2);
  // Media from the old tuple is no longer accepted; a new check reconnects.
  CHECK_FALSE(f.ice.IsValidTuple(T(2)));
  f.Answer(Check(), T(2), 70000);
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Added, Ev::Selected, Ev::State});
  CHECK(f.ice.State() == IceState::Connected);
  // Several expire at once, hours later.
  f.Answer(Check(true), T(3), 70001);
  f.rec.events.clear();
  f.ice.Tick(70000 + 3600 * 1000ull);
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Removed, Ev::Removed, Ev::State});
  CHECK(f.ice.State() == IceState::Disconnected);
}

TEST_CASE("ICE: consent timeout 0 never expires", "[ice][consent]") {
  Recorder rec;
  IceServer ice(rec, kUfrag, kPwd, 0);
  const Bytes b = Check();
  ice.ProcessStun(b.data(), b.size(), T(1), 0);
  ice.Tick(UINT64_MAX);
  CHECK(ice.State() == IceState::Connected);
  CHECK(ice.IsValidTuple(T(1)));
}

TEST_CASE("ICE: RemoveTuple", "[ice]") {
  Fixture f;
  f.Answer(Check(), T(1), 1);
  f.Answer(Check(), T(2), 2);
  f.Answer(Check(), T(3), 3);
  f.Answer(Check(), T(2), 4); // T(2) is now the most recently validated
  f.rec.events.clear();
  f.ice.RemoveTuple(T(9)); // unknown: nothing
  CHECK(f.rec.events.empty());
  f.ice.RemoveTuple(T(3)); // not selected
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Removed});
  CHECK(*f.ice.SelectedTuple() == T(1));
  f.rec.events.clear();
  f.ice.RemoveTuple(T(1)); // selected: the most recent one (T(2)) takes over
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Removed, Ev::Selected});
  CHECK(f.rec.events[1].tuple == T(2));
  f.rec.events.clear();
  f.ice.RemoveTuple(T(2));
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Removed, Ev::State});
  CHECK(f.ice.State() == IceState::Disconnected);
  CHECK(f.ice.GetCounters().tuplesRemoved == 3);
}

TEST_CASE("ICE: at most kMaxTuples, the least recently validated goes", "[ice][bound]") {
  Fixture f;
  f.Answer(Check(true), T(1), 1); // selected
  for (int n = 2; n <= static_cast<int>(IceServer::kMaxTuples); ++n)
    f.Answer(Check(), T(n), static_cast<uint64_t>(n));
  CHECK(f.ice.TupleCount() == IceServer::kMaxTuples);
  f.Answer(Check(), T(2), 100); // refresh T(2): T(3) is now the oldest non-selected
  f.Answer(Check(), T(9), 101);
  CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Removed, Ev::Added});
  CHECK(f.rec.events[1].tuple == T(3));
  CHECK(f.rec.events[2].tuple == T(9));
  CHECK(f.ice.TupleCount() == IceServer::kMaxTuples);
  CHECK_FALSE(f.ice.IsValidTuple(T(3)));
  CHECK(f.ice.IsValidTuple(T(9)));
  CHECK(*f.ice.SelectedTuple() == T(1));
  CHECK(f.ice.GetCounters().tuplesEvicted == 1);
  // The selected tuple is never evicted, however old.
  for (int n = 10; n < 30; ++n)
    f.Answer(Check(), T(n), 200 + static_cast<uint64_t>(n));
  CHECK(f.ice.IsValidTuple(T(1)));
  CHECK(f.ice.TupleCount() == IceServer::kMaxTuples);
  CHECK(f.ice.GetCounters().tuplesEvicted == 21);
  // Tuples are listed in the order they were added.
  CHECK(f.ice.TupleAt(0) == T(1));
  CHECK(f.ice.TupleAt(IceServer::kMaxTuples - 1) == T(29));
}

TEST_CASE("ICE: Restart changes credentials at once and keeps state", "[ice]") {
  Fixture f;
  f.Answer(Check(true), T(1));
  f.ice.Restart("newufrag", "new-password-abcdefghij");
  CHECK(f.ice.Ufrag() == "newufrag");
  CHECK(f.ice.Password() == "new-password-abcdefghij");
  CHECK(f.ice.State() == IceState::Completed);
  CHECK(f.ice.IsValidTuple(T(1)));
  CheckError(f.Answer(Check(), T(1)), 401, false);
  const StunMessage ok = f.Answer(Request("newufrag:peer", "new-password-abcdefghij"), T(1));
  CHECK(ok.Class() == StunClass::SuccessResponse);
  CHECK(ok.CheckIntegrity("new-password-abcdefghij"));
  CHECK_FALSE(ok.CheckIntegrity(kPwd));
}

TEST_CASE("ICE: listeners may call back in", "[ice][reentrancy]") {
  SECTION("RemoveTuple from OnIceTupleAdded") {
    Fixture f;
    f.rec.hook = [&f](const Event& e) {
      if (e.kind == Ev::Added)
        f.ice.RemoveTuple(e.tuple);
    };
    f.Feed(Check(), T(1));
    CHECK(f.rec.Kinds() == std::vector<Ev>{Ev::Send, Ev::Added, Ev::Removed});
    CHECK(f.ice.TupleCount() == 0);
    CHECK(f.ice.State() == IceState::New);
    CHECK(f.ice.SelectedTuple() == nullptr);
  }
  SECTION("RemoveTuple of the selected tuple from OnIceStateChange") {
    Fixture f;
    f.Answer(Check(), T(2));
    f.rec.hook = [&f](const Event& e) {
      if (e.kind == Ev::State && e.state == IceState::Completed)
        f.ice.RemoveTuple(T(1));
    };
    f.rec.events.clear();
    f.Feed(Check(true), T(1));
    // Completed with T(1), then T(1) removed: T(2) (validated longest ago,
    // but the only one left) is selected.
    CHECK(f.rec.Kinds() ==
          std::vector<Ev>{Ev::Send, Ev::Added, Ev::Selected, Ev::State, Ev::Removed, Ev::Selected});
    CHECK(f.rec.events.back().tuple == T(2));
    CHECK(*f.ice.SelectedTuple() == T(2));
    CHECK(f.ice.State() == IceState::Completed);
  }
  SECTION("ProcessStun from OnIceSend") {
    Fixture f;
    const Bytes other = Check(true);
    bool once = false;
    f.rec.hook = [&](const Event& e) {
      if (e.kind == Ev::Send && !once) {
        once = true;
        f.ice.ProcessStun(other.data(), other.size(), T(2), 0);
      }
    };
    f.Feed(Check(), T(1));
    CHECK(f.ice.State() == IceState::Completed);
    CHECK(*f.ice.SelectedTuple() == T(2));
    CHECK(f.ice.TupleCount() == 2);
    // The last notifications match the final state.
    CHECK(f.rec.Last(Ev::Selected).tuple == T(2));
    CHECK(f.rec.Last(Ev::State).state == IceState::Completed);
  }
  SECTION("Restart and Tick from callbacks") {
    Fixture f;
    f.rec.hook = [&f](const Event& e) {
      if (e.kind == Ev::Selected)
        f.ice.Restart("u2", "p2-0123456789abcdefghij");
      if (e.kind == Ev::State && e.state == IceState::Connected)
        f.ice.Tick(kConsentMs);
    };
    f.Feed(Check(), T(1), 0);
    CHECK(f.ice.Ufrag() == "u2");
    CHECK(f.ice.State() == IceState::Disconnected);
    CHECK(f.rec.Last(Ev::State).state == IceState::Disconnected);
  }
}

TEST_CASE("IceState names", "[ice]") {
  CHECK(std::string(IceStateName(IceState::New)) == "new");
  CHECK(std::string(IceStateName(IceState::Disconnected)) == "disconnected");
  CHECK(static_cast<int>(IceState::Completed) == 2);
}
