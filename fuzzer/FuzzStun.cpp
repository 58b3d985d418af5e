// libFuzzer target for the STUN codec and the ICE-lite server.
//
// Each input is used three ways:
//  1. StunMessage::Parse on the raw bytes; every accessor must stay inside
//     the buffer, and what parsed is written again (success response with its
//     XOR-MAPPED-ADDRESS, error response with its ERROR-CODE, the request
//     with its ICE attributes) and re-parsed: the fields, the HMAC and the
//     CRC must come back.
//  2. The raw bytes fed to an IceServer whose credentials are RFC 5769's, so
//     the sample request (a seed) authenticates.
//  3. The bytes read as a script of operations on another IceServer: signed
//     requests (valid or broken on purpose) from 12 tuples, time jumps with
//     Tick, RemoveTuple, Restart, raw slices. A model listener checks every
//     callback against the server's state and the invariants in
//     IceServer.hpp; every response must parse and verify.
// Any mismatch aborts (that is the finding), as does any out-of-bounds read
// under ASan.
#include "sluice/transport/IceServer.hpp"
#include "sluice/transport/StunMessage.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace sluice::transport;
using sluice::net::Endpoint;
using sluice::net::TcpConnection;
using sluice::net::Tuple;
using sluice::net::UdpSocket;

namespace {

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FuzzStun: check failed: %s (line %d)\n", #cond, __LINE__);             \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

constexpr const char* kVectorUfrag = "evtj";
constexpr const char* kVectorPassword = "VOkJxbRl1RmTxUk/WvJxBt";

std::array<uint8_t, 2048> gOut;

bool Inside(const void* p, size_t n, const uint8_t* data, size_t size) {
  const auto* b = static_cast<const uint8_t*>(p);
  return b >= data && n <= size && b - data <= static_cast<ptrdiff_t>(size - n);
}

// --- 1. parse and re-serialize ------------------------------------------------------

void CheckMessage(const StunMessage& msg, const uint8_t* data, size_t size) {
  FUZZ_CHECK(msg.Data() == data && msg.Size() == size);
  FUZZ_CHECK(size >= kStunHeaderSize && (size - kStunHeaderSize) % 4 == 0);
  const std::string_view user = msg.Username();
  FUZZ_CHECK(user.size() <= StunMessage::kMaxUsernameSize);
  if (!user.empty())
    FUZZ_CHECK(Inside(user.data(), user.size(), data, size));
  const std::string_view local = msg.LocalUfrag();
  const std::string_view remote = msg.RemoteUfrag();
  FUZZ_CHECK(user.substr(0, local.size()) == local);
  if (local.size() < user.size())
    FUZZ_CHECK(user[local.size()] == ':' && remote == user.substr(local.size() + 1));
  else
    FUZZ_CHECK(remote.empty());
  const std::string_view reason = msg.ErrorReason();
  if (!reason.empty())
    FUZZ_CHECK(Inside(reason.data(), reason.size(), data, size));
  FUZZ_CHECK(msg.UnknownRequiredCount() <= StunMessage::kMaxUnknown);
  for (size_t i = 0; i < msg.UnknownRequiredCount(); ++i)
    FUZZ_CHECK(msg.UnknownRequired(i) < 0x8000);
  (void)msg.CheckFingerprint();
  (void)msg.CheckIntegrity(kVectorPassword);
  (void)msg.CheckIntegrity("");
  if (!msg.HasFingerprint())
    FUZZ_CHECK(!msg.CheckFingerprint());
  if (!msg.HasMessageIntegrity())
    FUZZ_CHECK(!msg.CheckIntegrity(kVectorPassword));

  // The type: method and class encode back to the same two bytes.
  {
    StunWriter w(gOut.data(), gOut.size());
    FUZZ_CHECK(w.Begin(msg.Method(), msg.Class(), msg.TransactionId()));
    FUZZ_CHECK(std::memcmp(gOut.data(), data, 2) == 0);
  }
  if (const auto mapped = msg.XorMappedAddress()) {
    const size_t n =
        WriteBindingSuccess(gOut.data(), gOut.size(), msg.TransactionId(), *mapped, "pw");
    FUZZ_CHECK(n > 0);
    const auto back = StunMessage::Parse(gOut.data(), n);
    FUZZ_CHECK(back && back->XorMappedAddress() == mapped);
    FUZZ_CHECK(back->CheckIntegrity("pw") && back->CheckFingerprint());
    FUZZ_CHECK(std::memcmp(back->TransactionId(), msg.TransactionId(), 12) == 0);
  }
  if (const auto code = msg.ErrorCode()) {
    FUZZ_CHECK(*code >= 300 && *code <= 699);
    const size_t n = WriteBindingError(gOut.data(), gOut.size(), msg.TransactionId(), *code,
                                       msg.ErrorReason(), "pw");
    FUZZ_CHECK(n > 0);
    const auto back = StunMessage::Parse(gOut.data(), n);
    FUZZ_CHECK(back && back->ErrorCode() == code && back->ErrorReason() == msg.ErrorReason());
    FUZZ_CHECK(back->CheckIntegrity("pw") && back->CheckFingerprint());
  }
  if (msg.Class() == StunClass::Request && msg.Priority()) {
    const size_t n = WriteBindingRequest(gOut.data(), gOut.size(), msg.TransactionId(), user, "pw",
                                         *msg.Priority(), msg.UseCandidate(), msg.IceControlling(),
                                         msg.IceControlled());
    FUZZ_CHECK(n > 0);
    const auto back = StunMessage::Parse(gOut.data(), n);
    FUZZ_CHECK(back && back->Username() == user && back->Priority() == msg.Priority());
    FUZZ_CHECK(back->UseCandidate() == msg.UseCandidate());
    FUZZ_CHECK(back->IceControlling() == msg.IceControlling());
    FUZZ_CHECK(back->IceControlled() == msg.IceControlled());
    FUZZ_CHECK(back->CheckIntegrity("pw") && back->CheckFingerprint());
    FUZZ_CHECK(!back->HasUnknownRequired());
  }
}

// --- 2 and 3. the server under a model listener ---------------------------------------

constexpr size_t kTupleCount = 12;

Tuple MakeTuple(size_t i) {
  Tuple t;
  if (i % 4 == 3)
    t.tcp = reinterpret_cast<TcpConnection*>(uintptr_t{0x2000} + i);
  else
    t.udp = reinterpret_cast<UdpSocket*>(uintptr_t{0x1000} + (i % 2));
  char ip[64];
  if (i % 3 == 0)
    std::snprintf(ip, sizeof(ip), "2001:db8::%zu", i + 1);
  else
    std::snprintf(ip, sizeof(ip), "192.0.2.%zu", i + 1);
  t.remote = *Endpoint::FromIpPort(ip, static_cast<uint16_t>(40000 + i));
  return t;
}

const std::array<Tuple, kTupleCount>& Tuples() {
  static const std::array<Tuple, kTupleCount> tuples = [] {
    std::array<Tuple, kTupleCount> t;
    for (size_t i = 0; i < kTupleCount; ++i)
      t[i] = MakeTuple(i);
    return t;
  }();
  return tuples;
}

// Mirrors what the server told it; checks each callback and, on demand, that
// the mirror matches the server.
class ModelListener : public IceServer::Listener {
public:
  void Attach(const IceServer* ice) { ice_ = ice; }

  void OnIceSend(const Tuple&, const uint8_t* data, size_t len) override {
    FUZZ_CHECK(len <= IceServer::kMaxResponseSize);
    const auto msg = StunMessage::Parse(data, len);
    FUZZ_CHECK(msg.has_value());
    FUZZ_CHECK(msg->Method() == kStunMethodBinding);
    FUZZ_CHECK(msg->CheckFingerprint());
    if (msg->Class() == StunClass::SuccessResponse) {
      FUZZ_CHECK(msg->CheckIntegrity(ice_->Password()));
      FUZZ_CHECK(msg->XorMappedAddress().has_value());
    } else {
      FUZZ_CHECK(msg->Class() == StunClass::ErrorResponse);
      const auto code = msg->ErrorCode();
      FUZZ_CHECK(code && (*code == 400 || *code == 401 || *code == 420 || *code == 487));
      FUZZ_CHECK(msg->HasMessageIntegrity() == (*code == 420 || *code == 487));
      if (msg->HasMessageIntegrity())
        FUZZ_CHECK(msg->CheckIntegrity(ice_->Password()));
    }
    ++sends;
  }
  void OnIceTupleAdded(const Tuple& tuple) override {
    FUZZ_CHECK(Find(tuple) == kTupleCount);
    FUZZ_CHECK(ice_->IsValidTuple(tuple));
    const size_t i = Index(tuple);
    known_[i] = true;
  }
  void OnIceTupleRemoved(const Tuple& tuple) override {
    const size_t i = Find(tuple);
    FUZZ_CHECK(i < kTupleCount);
    FUZZ_CHECK(!ice_->IsValidTuple(tuple));
    known_[i] = false;
  }
  void OnIceSelectedTuple(const Tuple& tuple) override {
    FUZZ_CHECK(ice_->IsValidTuple(tuple));
    FUZZ_CHECK(ice_->SelectedTuple() && *ice_->SelectedTuple() == tuple);
    selected_ = Index(tuple);
  }
  void OnIceStateChange(IceState state) override {
    FUZZ_CHECK(state != state_);
    FUZZ_CHECK(state == ice_->State());
    FUZZ_CHECK(state != IceState::New);
    state_ = state;
  }

  void CheckAgainst(const IceServer& ice) const {
    FUZZ_CHECK(ice.State() == state_);
    FUZZ_CHECK(ice.TupleCount() <= IceServer::kMaxTuples);
    size_t known = 0;
    for (size_t i = 0; i < kTupleCount; ++i) {
      FUZZ_CHECK(known_[i] == ice.IsValidTuple(Tuples()[i]));
      known += known_[i];
    }
    FUZZ_CHECK(known == ice.TupleCount());
    const Tuple* sel = ice.SelectedTuple();
    const bool up = ice.State() == IceState::Connected || ice.State() == IceState::Completed;
    FUZZ_CHECK(up == (sel != nullptr));
    FUZZ_CHECK(up == (ice.TupleCount() > 0));
    if (sel)
      FUZZ_CHECK(Index(*sel) == selected_);
    const auto& c = ice.GetCounters();
    FUZZ_CHECK(c.responses == sends);
    FUZZ_CHECK(c.responses <= c.requests);
    FUZZ_CHECK(c.badRequests + c.unauthorized + c.roleConflicts + c.unknownAttributes <=
               c.responses);
    FUZZ_CHECK(c.tuplesAdded - c.tuplesRemoved == ice.TupleCount());
  }

  uint64_t sends = 0;

private:
  static size_t Index(const Tuple& tuple) {
    for (size_t i = 0; i < kTupleCount; ++i) {
      if (Tuples()[i] == tuple)
        return i;
    }
    FUZZ_CHECK(false);
    return kTupleCount;
  }
  size_t Find(const Tuple& tuple) const {
    const size_t i = Index(tuple);
    return known_[i] ? i : kTupleCount;
  }

  const IceServer* ice_ = nullptr;
  std::array<bool, kTupleCount> known_{};
  size_t selected_ = kTupleCount;
  IceState state_ = IceState::New;
};

// Reads the script bytes one at a time; 0 once exhausted.
struct Reader {
  const uint8_t* p;
  size_t left;
  uint8_t Byte() {
    if (left == 0)
      return 0;
    --left;
    return *p++;
  }
};

// A Binding request from the credentials of a script step. flags: bit 0
// USE-CANDIDATE, 1 ICE-CONTROLLED, 2 wrong password, 3 wrong ufrag,
// 4 no PRIORITY, 5 unknown required attribute, 6 corrupt FINGERPRINT,
// 7 no MESSAGE-INTEGRITY.
size_t SignedRequest(uint8_t flags, uint8_t txByte, const std::string& ufrag,
                     const std::string& password, uint8_t* out, size_t cap) {
  const uint8_t tx[12] = {txByte, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, flags};
  StunWriter w(out, cap);
  w.Begin(kStunMethodBinding, StunClass::Request, tx);
  const std::string user = ((flags & 8) ? std::string("x") : ufrag) + ":peer";
  w.AddString(stun_attr::kUsername, user);
  if (!(flags & 16))
    w.AddUint32(stun_attr::kPriority, 0x6e0001ffu ^ txByte);
  if (flags & 1)
    w.AddFlag(stun_attr::kUseCandidate);
  if (flags & 2)
    w.AddUint64(stun_attr::kIceControlled, txByte);
  else
    w.AddUint64(stun_attr::kIceControlling, txByte);
  if (flags & 32)
    w.AddFlag(0x0040 | (txByte & 0x0F));
  if (!(flags & 128))
    w.AddMessageIntegrity((flags & 4) ? password + "!" : password);
  w.AddFingerprint();
  const size_t n = w.Size();
  FUZZ_CHECK(n > 0);
  if (flags & 64)
    out[n - 1] ^= 0x5A;
  return n;
}

void RunScript(const uint8_t* data, size_t size) {
  ModelListener model;
  std::string ufrag = "ufragA";
  std::string password = "passwordA-0123456789abc";
  IceServer ice(model, ufrag, password, 30000);
  model.Attach(&ice);
  Reader in{data, size};
  uint64_t now = 0;
  uint8_t buf[512];
  for (size_t step = 0; in.left > 0 && step < 256; ++step) {
    const uint8_t op = in.Byte();
    const Tuple& tuple = Tuples()[in.Byte() % kTupleCount];
    switch (op % 8) {
    case 0:
    case 1:
    case 2: { // mostly-valid requests: flags only from the low bits on op 0/1
      const uint8_t raw = in.Byte();
      const uint8_t flags = op % 8 == 2 ? raw : static_cast<uint8_t>(raw & 1);
      const size_t n = SignedRequest(flags, in.Byte(), ufrag, password, buf, sizeof(buf));
      ice.ProcessStun(buf, n, tuple, now);
      break;
    }
    case 3: // time passes
      now += uint64_t{in.Byte()} * 500;
      ice.Tick(now);
      break;
    case 4:
      ice.RemoveTuple(tuple);
      break;
    case 5: { // RESTART_ICE; the old credentials must now get 401
      ufrag = (ufrag == "ufragA") ? "ufragB" : "ufragA";
      password = (ufrag == "ufragA") ? "passwordA-0123456789abc" : "passwordB-0123456789xyz";
      ice.Restart(ufrag, password);
      break;
    }
    case 6: { // a raw slice of the script as a datagram
      const size_t n = std::min<size_t>(in.Byte(), in.left);
      ice.ProcessStun(in.p, n, tuple, now);
      in.p += n;
      in.left -= n;
      break;
    }
    case 7: // time goes backwards (a clock must not, but Tick must cope)
      now -= std::min<uint64_t>(now, in.Byte());
      ice.Tick(now);
      break;
    }
    model.CheckAgainst(ice);
  }
}

class QuietListener : public IceServer::Listener {
  void OnIceSend(const Tuple&, const uint8_t*, size_t) override {}
  void OnIceTupleAdded(const Tuple&) override {}
  void OnIceTupleRemoved(const Tuple&) override {}
  void OnIceSelectedTuple(const Tuple&) override {}
  void OnIceStateChange(IceState) override {}
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (const auto msg = StunMessage::Parse(data, size))
    CheckMessage(*msg, data, size);

  {
    ModelListener model;
    IceServer ice(model, kVectorUfrag, kVectorPassword, 30000);
    model.Attach(&ice);
    ice.ProcessStun(data, size, Tuples()[0], 0);
    model.CheckAgainst(ice);
    ice.Tick(30000);
    model.CheckAgainst(ice);
  }
  {
    QuietListener quiet;
    IceServer ice(quiet, kVectorUfrag, kVectorPassword, 0);
    ice.ProcessStun(data, size, Tuples()[1], 0);
  }

  RunScript(data, size);
  return 0;
}
