#include "sluice/transport/IceServer.hpp"

#include <utility>

#include "sluice/transport/StunMessage.hpp"

namespace sluice::transport {

const char* IceStateName(IceState state) {
  switch (state) {
  case IceState::New:
    return "new";
  case IceState::Connected:
    return "connected";
  case IceState::Completed:
    return "completed";
  case IceState::Disconnected:
    return "disconnected";
  }
  return "unknown";
}

IceServer::IceServer(Listener& listener, std::string ufrag, std::string password,
                     uint32_t consentTimeoutMs)
    : listener_(listener), ufrag_(std::move(ufrag)), password_(std::move(password)),
      consentTimeoutMs_(consentTimeoutMs) {}

void IceServer::ProcessStun(const uint8_t* data, size_t len, const net::Tuple& from,
                            uint64_t nowMs) {
  // A copy: the caller's tuple may be one of ours, which callbacks can move.
  const net::Tuple tuple = from;
  const auto msg = StunMessage::Parse(data, len);
  if (!msg || (msg->HasFingerprint() && !msg->CheckFingerprint()) ||
      msg->Method() != kStunMethodBinding || msg->Class() != StunClass::Request) {
    ++counters_.ignored;
    return;
  }
  ++counters_.requests;

  if (msg->Username().empty() || !msg->HasMessageIntegrity() || !msg->Priority()) {
    ++counters_.badRequests;
    SendError(tuple, *msg, 400, "Bad Request", false);
    return;
  }
  if (msg->LocalUfrag() != ufrag_ || !msg->CheckIntegrity(password_)) {
    ++counters_.unauthorized;
    SendError(tuple, *msg, 401, "Unauthorized", false);
    return;
  }
  if (msg->HasUnknownRequired()) {
    ++counters_.unknownAttributes;
    SendError(tuple, *msg, 420, "Unknown Attribute", true);
    return;
  }
  if (msg->IceControlled()) {
    // We are lite, hence controlled; so is the peer, by its own account.
    // RFC 8445 §7.3.1.1: 487 makes a full agent switch to controlling.
    ++counters_.roleConflicts;
    SendError(tuple, *msg, 487, "Role Conflict", true);
    return;
  }

  uint8_t out[kMaxResponseSize];
  const size_t size =
      WriteBindingSuccess(out, sizeof(out), msg->TransactionId(), tuple.remote, password_);
  if (size == 0) { // no usable remote endpoint in the tuple
    ++counters_.ignored;
    return;
  }
  const bool useCandidate = msg->UseCandidate();
  ++counters_.responses;
  listener_.OnIceSend(tuple, out, size);
  Validate(tuple, useCandidate, nowMs);
}

void IceServer::SendError(const net::Tuple& tuple, const StunMessage& request, uint16_t code,
                          const char* reason, bool withIntegrity) {
  uint8_t out[kMaxResponseSize];
  StunWriter w(out, sizeof(out));
  w.Begin(kStunMethodBinding, StunClass::ErrorResponse, request.TransactionId());
  w.AddErrorCode(code, reason);
  if (code == 420) {
    uint16_t types[StunMessage::kMaxUnknown];
    for (size_t i = 0; i < request.UnknownRequiredCount(); ++i)
      types[i] = request.UnknownRequired(i);
    w.AddUnknownAttributes(types, request.UnknownRequiredCount());
  }
  if (withIntegrity)
    w.AddMessageIntegrity(password_);
  w.AddFingerprint();
  if (w.Size() == 0) {
    ++counters_.ignored;
    return;
  }
  ++counters_.responses;
  listener_.OnIceSend(tuple, out, w.Size());
}

void IceServer::Validate(const net::Tuple& tuple, bool useCandidate, uint64_t nowMs) {
  size_t i = Find(tuple);
  if (i == kNone) {
    i = Insert(tuple, nowMs);
    if (i == kNone)
      return;
  }
  Entry& e = entries_[i];
  e.lastConsentMs = nowMs;
  e.validatedSeq = ++nextSeq_;
  switch (state_) {
  case IceState::New:
  case IceState::Disconnected:
    selectedId_ = e.id;
    state_ = useCandidate ? IceState::Completed : IceState::Connected;
    break;
  case IceState::Connected:
    if (useCandidate) {
      selectedId_ = e.id;
      state_ = IceState::Completed;
    }
    break;
  case IceState::Completed:
    if (useCandidate)
      selectedId_ = e.id;
    break;
  }
  Notify();
}

size_t IceServer::Insert(const net::Tuple& tuple, uint64_t nowMs) {
  // Each round either finds room or evicts one tuple; callbacks may refill
  // the array, so give up after a bounded number of rounds.
  for (size_t round = 0; count_ == kMaxTuples; ++round) {
    const size_t victim = EvictionVictim();
    if (round == kMaxTuples || victim == kNone)
      return kNone;
    ++counters_.tuplesEvicted;
    RemoveAt(victim);
    const size_t again = Find(tuple); // added from inside the callback?
    if (again != kNone)
      return again;
  }
  Entry& e = entries_[count_++];
  e.tuple = tuple;
  e.id = ++nextId_;
  e.validatedSeq = ++nextSeq_;
  e.lastConsentMs = nowMs;
  ++counters_.tuplesAdded;
  listener_.OnIceTupleAdded(tuple);
  return Find(tuple);
}

void IceServer::RemoveAt(size_t i) {
  const net::Tuple gone = entries_[i].tuple;
  const uint64_t goneId = entries_[i].id;
  // Keep the array compact and in insertion order (dumps list tuples so).
  for (size_t j = i + 1; j < count_; ++j)
    entries_[j - 1] = entries_[j];
  entries_[--count_] = Entry{};
  ++counters_.tuplesRemoved;
  if (goneId == selectedId_) {
    const size_t next = MostRecent();
    if (next != kNone) {
      selectedId_ = entries_[next].id;
    } else {
      selectedId_ = 0;
      state_ = IceState::Disconnected;
    }
  }
  listener_.OnIceTupleRemoved(gone);
  Notify();
}

void IceServer::RemoveTuple(const net::Tuple& tuple) {
  const size_t i = Find(tuple);
  if (i != kNone)
    RemoveAt(i);
}

void IceServer::Tick(uint64_t nowMs) {
  if (consentTimeoutMs_ == 0)
    return;
  // One expired tuple per round; callbacks may add tuples, so bound the rounds.
  for (size_t round = 0; round < 4 * kMaxTuples; ++round) {
    size_t expired = kNone;
    for (size_t i = 0; i < count_; ++i) {
      const uint64_t last = entries_[i].lastConsentMs;
      if (nowMs >= last && nowMs - last >= consentTimeoutMs_) {
        expired = i;
        break;
      }
    }
    if (expired == kNone)
      return;
    ++counters_.consentExpired;
    RemoveAt(expired);
  }
}

void IceServer::Restart(std::string ufrag, std::string password) {
  ufrag_ = std::move(ufrag);
  password_ = std::move(password);
}

bool IceServer::IsValidTuple(const net::Tuple& tuple) const {
  return Find(tuple) != kNone;
}

const net::Tuple* IceServer::SelectedTuple() const {
  const size_t i = FindId(selectedId_);
  return i == kNone ? nullptr : &entries_[i].tuple;
}

size_t IceServer::Find(const net::Tuple& tuple) const {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].tuple == tuple)
      return i;
  }
  return kNone;
}

size_t IceServer::FindId(uint64_t id) const {
  if (id == 0)
    return kNone;
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].id == id)
      return i;
  }
  return kNone;
}

size_t IceServer::MostRecent() const {
  size_t best = kNone;
  for (size_t i = 0; i < count_; ++i) {
    if (best == kNone || entries_[i].validatedSeq > entries_[best].validatedSeq)
      best = i;
  }
  return best;
}

size_t IceServer::EvictionVictim() const {
  size_t best = kNone;
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].id == selectedId_)
      continue;
    if (best == kNone || entries_[i].validatedSeq < entries_[best].validatedSeq)
      best = i;
  }
  return best;
}

void IceServer::Notify() {
  // Compare with what the listener was last told, not with what this call
  // changed: a nested call may already have told it, and a later change may
  // supersede ours. Record before calling out.
  if (selectedId_ != notifiedSelectedId_) {
    notifiedSelectedId_ = selectedId_;
    const size_t i = FindId(selectedId_);
    if (i != kNone) {
      const net::Tuple selected = entries_[i].tuple;
      listener_.OnIceSelectedTuple(selected);
    }
  }
  if (state_ != notifiedState_) {
    notifiedState_ = state_;
    listener_.OnIceStateChange(state_);
  }
}

} // namespace sluice::transport
