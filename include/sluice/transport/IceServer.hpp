// The ICE-lite agent of one WebRtcTransport (RFC 8445 §2.5, §7.3): it only
// answers Binding requests, is always the controlled agent, and learns the
// peer's paths (tuples) from the requests that authenticate.
//
// Per request (RFC 5389 §10.1.2, RFC 8445 §7.3), in this order:
//  - not a STUN message, FINGERPRINT present but wrong, not a Binding
//    request (indications, responses, other methods): ignored, counted;
//  - USERNAME, MESSAGE-INTEGRITY or PRIORITY missing: 400, no integrity;
//  - USERNAME's local part (before ':') is not our ufrag, or the HMAC fails
//    with our password: 401, no integrity;
//  - unknown comprehension-required attributes: 420 with UNKNOWN-ATTRIBUTES;
//  - ICE-CONTROLLED present (the peer claims our role): 487;
//  - else a success response with XOR-MAPPED-ADDRESS = the tuple's remote.
// Responses carry FINGERPRINT; 420/487/success also MESSAGE-INTEGRITY.
//
// A valid request adds its tuple (OnIceTupleAdded) and refreshes its consent
// time (RFC 7675). States (values = FBS.WebRtcTransport.IceState):
//
//   New/Disconnected --request--> Connected (tuple selected)
//   New/Disconnected/Connected --request+USE-CANDIDATE--> Completed (tuple selected)
//   Completed --USE-CANDIDATE from another tuple--> Completed (selection moves)
//   any --last tuple removed (RemoveTuple, consent expiry in Tick)--> Disconnected
//
// Invariant between calls: state Connected or Completed <=> a tuple is
// selected <=> at least one tuple is known. When the selected tuple goes
// and others remain, the most recently validated one is selected.
//
// Bounds: at most kMaxTuples tuples in a fixed array; a new one when full
// evicts the least recently validated non-selected tuple (counted). Nothing
// allocates per request: the response is built on the stack.
//
// Callbacks: OnIceSend first, then tuple removed / added, then selected
// tuple, then state; each fires right after its own change, and everything
// is looked up again after every callback, so a listener may call back into
// this object (ProcessStun, RemoveTuple, Restart, ...) from inside one. It
// must not destroy it there (close through the deferred queue). The
// selected-tuple and state notifications report changes against what was
// last notified, so the listener always ends up with the current values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sluice/net/Tuple.hpp"

namespace sluice::transport {

class StunMessage;

enum class IceState : uint8_t { New = 0, Connected = 1, Completed = 2, Disconnected = 3 };

// "new", "connected", "completed", "disconnected" (mediasoup's strings).
const char* IceStateName(IceState state);

class IceServer {
public:
  class Listener {
  public:
    virtual ~Listener() = default;
    // A STUN response for `tuple`; the bytes are valid during the call only.
    virtual void OnIceSend(const net::Tuple& tuple, const uint8_t* data, size_t len) = 0;
    virtual void OnIceTupleAdded(const net::Tuple& tuple) = 0;
    virtual void OnIceTupleRemoved(const net::Tuple& tuple) = 0;
    virtual void OnIceSelectedTuple(const net::Tuple& tuple) = 0;
    virtual void OnIceStateChange(IceState state) = 0;
  };

  static constexpr size_t kMaxTuples = 8;
  static constexpr size_t kMaxResponseSize = 256; // the largest we build (a 420) is 108

  struct Counters {
    uint64_t requests = 0;      // Binding requests that passed the fingerprint check
    uint64_t badRequests = 0;   // answered 400
    uint64_t unauthorized = 0;  // answered 401
    uint64_t roleConflicts = 0; // answered 487
    uint64_t responses = 0;     // every response sent (success + errors)
    // Not answered: parse failures, bad fingerprint, indications, responses,
    // other methods, a tuple without a remote endpoint.
    uint64_t ignored = 0;
    uint64_t unknownAttributes = 0; // answered 420
    uint64_t tuplesAdded = 0;
    uint64_t tuplesRemoved = 0; // every removal: RemoveTuple, consent expiry, eviction
    uint64_t tuplesEvicted = 0; // removed to make room for a new one
    uint64_t consentExpired = 0;
  };

  // consentTimeoutMs: a tuple with no valid request for that long is removed
  // by Tick (RFC 7675 says 30 s); 0 = never.
  IceServer(Listener& listener, std::string ufrag, std::string password, uint32_t consentTimeoutMs);
  IceServer(const IceServer&) = delete;
  IceServer& operator=(const IceServer&) = delete;

  void ProcessStun(const uint8_t* data, size_t len, const net::Tuple& tuple, uint64_t nowMs);
  // Media from tuples not known here is dropped by the caller.
  bool IsValidTuple(const net::Tuple& tuple) const;
  // E.g. its TCP connection closed. Unknown tuples are ignored.
  void RemoveTuple(const net::Tuple& tuple);
  // Consent freshness: removes tuples validated consentTimeoutMs or more ago.
  void Tick(uint64_t nowMs);
  // RESTART_ICE: new credentials at once; tuples and state are kept.
  void Restart(std::string ufrag, std::string password);

  IceState State() const { return state_; }
  // nullptr when none; valid until the next call that changes tuples.
  const net::Tuple* SelectedTuple() const;
  const std::string& Ufrag() const { return ufrag_; }
  const std::string& Password() const { return password_; }
  uint32_t ConsentTimeoutMs() const { return consentTimeoutMs_; }
  // Known tuples in the order they were added, for dumps.
  size_t TupleCount() const { return count_; }
  const net::Tuple& TupleAt(size_t i) const { return entries_[i].tuple; }
  const Counters& GetCounters() const { return counters_; }

private:
  struct Entry {
    net::Tuple tuple;
    uint64_t id = 0;            // unique per insertion, never 0
    uint64_t validatedSeq = 0;  // orders validations, for "least/most recent"
    uint64_t lastConsentMs = 0; // time of the last valid request
  };
  static constexpr size_t kNone = SIZE_MAX;

  void SendError(const net::Tuple& tuple, const StunMessage& request, uint16_t code,
                 const char* reason, bool withIntegrity);
  void Validate(const net::Tuple& tuple, bool useCandidate, uint64_t nowMs);
  // Adds tuple (evicting when full); kNone if callbacks took it away again.
  size_t Insert(const net::Tuple& tuple, uint64_t nowMs);
  // Erases entry i, fixes the selection and state, tells the listener.
  void RemoveAt(size_t i);
  size_t Find(const net::Tuple& tuple) const;
  size_t FindId(uint64_t id) const;
  size_t MostRecent() const;     // kNone when empty
  size_t EvictionVictim() const; // least recently validated non-selected
  void Notify();

  Listener& listener_;
  std::string ufrag_;
  std::string password_;
  uint32_t consentTimeoutMs_;
  IceState state_ = IceState::New;
  IceState notifiedState_ = IceState::New;
  uint64_t selectedId_ = 0; // 0: none
  uint64_t notifiedSelectedId_ = 0;
  uint64_t nextId_ = 0;
  uint64_t nextSeq_ = 0;
  size_t count_ = 0;
  std::array<Entry, kMaxTuples> entries_{};
  Counters counters_;
};

} // namespace sluice::transport
