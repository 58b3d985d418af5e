// SrtpLink: the SRTP state and the send path of a UDP transport with one
// remote (PlainTransport, PipeTransport). Our side is keyed at creation with a
// random master key (reported in srtpParameters); the remote's key arrives
// with CONNECT. Without SRTP it is a pass-through.
//
// Sends go to the socket as head + payload-in-slot when plain; protected
// packets are built in the thread's scratch buffer (SrtpSession), so a pool
// slot is never written and nothing is allocated per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/channel/Request.hpp"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/transport/SrtpSession.hpp"
#include "srtpParameters_generated.h"

namespace sluice::transport {

class SrtpLink {
public:
  // SRTP in `suite` from now on: a new local key and outbound session (also
  // when re-keying in another suite). false with *error.
  bool Offer(SrtpSuite suite, std::string* error);

  enum class Refusal : uint8_t { None, BadArgument, Failure };
  // The remote's parameters from CONNECT (nullptr: none given). With
  // `followSuite`, a suite other than ours re-keys our side in it; without,
  // it is refused. Nothing changes unless it returns Refusal::None; else
  // *error says why (BadArgument: the controller's input, TypeError).
  Refusal Accept(const FBS::SrtpParameters::SrtpParameters* remote, bool followSuite,
                 std::string* error);

  // Accept, answering the request with TypeError / Error when it refuses
  // (then false and the request is answered).
  bool AcceptFor(channel::Request& request, const FBS::SrtpParameters::SrtpParameters* remote,
                 bool followSuite);

  bool Enabled() const { return suite_.has_value(); }
  // SRTP enabled but no remote key yet: nothing can be unprotected.
  bool AwaitingRemote() const { return suite_ && !in_; }
  unsigned Sessions() const { return (in_ ? 1U : 0U) + (out_ ? 1U : 0U); }

  // In place; the plain length, 0 when it does not authenticate (or no remote
  // key yet). Pass-through without SRTP.
  size_t Unprotect(bool rtcp, uint8_t* data, size_t len);
  // The bytes that left (0: not sent: protect failed or the socket refused).
  size_t SendRtp(net::UdpSocket& socket, const net::Endpoint& to, const uint8_t* head,
                 size_t headLen, const uint8_t* tail, size_t tailLen, const store::PacketRef& hold);
  size_t SendRtcp(net::UdpSocket& socket, const net::Endpoint& to, const uint8_t* data, size_t len);

  // Our suite and key (0 without SRTP).
  flatbuffers::Offset<FBS::SrtpParameters::SrtpParameters>
  FillParameters(flatbuffers::FlatBufferBuilder& b) const;

private:
  std::optional<SrtpSuite> suite_;
  std::vector<uint8_t> localKey_;
  std::unique_ptr<SrtpSession> in_;
  std::unique_ptr<SrtpSession> out_;
};

} // namespace sluice::transport
