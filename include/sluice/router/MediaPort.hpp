// What a Producer or Consumer needs from the transport that carries it.
//
// Producers and consumers never touch sockets, SRTP or tuples: they hand
// bytes to their port. The transport implements it (plain UDP now; WebRTC,
// pipe and direct later), so media logic is written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sluice/store/PacketPool.hpp"

namespace sluice::router {

class MediaPort {
public:
  virtual ~MediaPort() = default;
  // One RTP packet to the remote: `head` (a rewritten header, copied) then
  // `tail` (payload bytes in a pool slot that `hold` keeps alive until sent).
  virtual void SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
                       const store::PacketRef& hold, bool retransmission) = 0;
  // One compound RTCP packet to the remote (copied).
  virtual void SendRtcp(const uint8_t* data, size_t len) = 0;
  // The remote is known (connected, or learned by comedia).
  virtual bool CanSend() const = 0;
  // The consumer's producer closed: the transport destroys the consumer
  // (after the consumer has told the controller).
  virtual void ReleaseConsumer(const std::string& consumerId) = 0;
  // RTP bytes the controller sent for one of this port's producers
  // (PRODUCER_SEND, `producer.send()`): they enter as if received from the
  // remote. Only a DirectTransport has such a remote; other kinds count a
  // drop and log.
  virtual void ReceiveControllerRtp(const uint8_t* data, size_t len) = 0;
};

} // namespace sluice::router
