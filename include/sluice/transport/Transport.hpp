// What every transport kind shares: its producers and consumers, the RTP
// listener that routes received packets to producers, the RTCP demux toward
// producers and consumers, RTCP report scheduling, bitrate limits and stats.
//
// A kind (PlainTransport, later WebRtc/Pipe/Direct) owns the sockets and the
// security layer: it hands decrypted RTP/RTCP to ReceiveRtp/ReceiveRtcp and
// implements MediaPort's sends. Requests: the kind's table first, then this
// one (TRANSPORT_*).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/router/Consumer.hpp"
#include "sluice/router/Context.hpp"
#include "sluice/router/MediaPort.hpp"
#include "sluice/router/Producer.hpp"
#include "sluice/rtcp/RtcpPacket.hpp"
#include "sluice/transport/RtpListener.hpp"
#include "sluice/transport/CongestionControl.hpp"
#include "sluice/transport/TransportCensus.hpp"
#include "sluice/util/RateCalculator.hpp"
#include "transport_generated.h"

namespace sluice::transport {

// What a transport needs from its router.
class TransportOwner {
public:
  virtual ~TransportOwner() = default;
  virtual router::Producer* FindProducer(std::string_view producerId) = 0;
  // Destroys the transport (e.g. its WebRtcServer closed); false: unknown id.
  virtual bool CloseTransport(std::string_view transportId) = 0;
};

class Transport : public channel::ChannelEntity, public router::MediaPort {
public:
  Transport(const router::Context& context, std::string id, TransportOwner& owner);
  ~Transport() override;

  const std::string& Id() const { return id_; }
  TransportOwner& Owner() const { return owner_; }
  void HandleRequest(channel::Request& request) override;
  // Router timer (every few tens of ms): RTCP reports when due, producer upkeep.
  void Tick(uint64_t nowMs);

  router::Producer* FindProducer(std::string_view id);
  const std::map<std::string, std::unique_ptr<router::Producer>, std::less<>>& Producers() const {
    return producers_;
  }
  const std::map<std::string, std::unique_ptr<router::Consumer>, std::less<>>& Consumers() const {
    return consumers_;
  }

  void ReleaseConsumer(const std::string& consumerId) override;
  // Not a DirectTransport: counted in notDirect, one (rate-limited) log line.
  void ReceiveControllerRtp(const uint8_t* data, size_t len) override;

  struct Drops {
    uint64_t notRtpOrRtcp = 0;
    uint64_t badRtp = 0;
    uint64_t noProducer = 0;
    uint64_t badRtcp = 0;
    uint64_t unknownTuple = 0;
    uint64_t srtpFailures = 0;
    uint64_t notConnected = 0;
    uint64_t unknownRid = 0; // RTP with a RID no producer announced
    // Media over the channel (DirectTransport, producer.send()):
    uint64_t notDirect = 0;   // producer.send() to a producer not on a DirectTransport
    uint64_t tooLarge = 0;    // a packet above the DirectTransport's maxMessageSize
    uint64_t channelFull = 0; // CONSUMER_RTP / DIRECTTRANSPORT_RTCP refused: controller slow
    // Filled by the kind (AddKindDrops), not counted in drops_:
    uint64_t socketTruncated = 0; // larger than the socket's receive buffer
    uint64_t badStun = 0;         // STUN not accepted as a valid Binding request
    uint64_t badDtls = 0;         // DTLS datagrams dropped or malformed
  };
  const Drops& GetDrops() const { return drops_; }
  // Adds this transport (kind, DTLS and SRTP sessions) to a dump's census.
  virtual void AddToCensus(TransportCensus& census) const = 0;

protected:
  // Handles the kind's own methods; false: not one of them.
  virtual bool HandleKindRequest(channel::Request& request) = 0;
  // The kind's own upkeep on the router's timer (ICE consent, ...).
  virtual void KindTick(uint64_t nowMs) { (void)nowMs; }
  // Adds the drops the kind's own parts counted (sockets, ICE, DTLS) to `drops`
  // (stats only).
  virtual void AddKindDrops(Drops& drops) const { (void)drops; }
  // The kind can send from now on (e.g. DTLS connected): consumers waiting
  // for a keyframe ask for one at once instead of at their next retry.
  void Connected(uint64_t nowMs);

  void ReceiveRtp(const uint8_t* data, size_t len, uint64_t nowMs);
  void ReceiveRtcp(const uint8_t* data, size_t len, uint64_t nowMs);
  // Kinds call these with what crossed the wire (encrypted sizes), for stats.
  void CountReceived(size_t wireBytes, uint64_t nowMs);
  void CountSent(size_t bytes, bool rtp, bool retransmission, uint64_t nowMs);

  // Kinds pass every outgoing RTP head through here before protecting or
  // queueing it: the transport-wide seq goes in when the remote negotiated it.
  // initialAvailableOutgoingBitrate (WebRtcTransport options).
  void SetInitialOutgoingBitrate(uint32_t bps) { cc_.SetInitialOutgoingBitrate(bps); }
  const uint8_t* StampTransportSeq(const uint8_t* head, size_t headLen, size_t wireLen) {
    return cc_.Stamp(head, headLen, wireLen);
  }

  // `direct` and `maxMessageSize`: what a DirectTransport adds to the base dump.
  flatbuffers::Offset<FBS::Transport::Dump>
  FillBaseDump(flatbuffers::FlatBufferBuilder& b, bool direct = false, uint32_t maxMessageSize = 0);
  flatbuffers::Offset<FBS::Transport::Stats> FillBaseStats(flatbuffers::FlatBufferBuilder& b,
                                                           uint64_t nowMs);
  void Notify(FBS::Notification::Event event, FBS::Notification::Body type,
              flatbuffers::Offset<void> body);
  router::Consumer* ConsumerBySsrc(uint32_t ssrc) const;

  const router::Context& context_;
  Drops drops_;

private:
  // A valid RTP packet no producer stream took: unknownRid when it carries a
  // RID no producer announced, else noProducer.
  void CountUnrouted(const rtp::RtpPacket& packet, uint8_t ridId);
  void HandleProduce(channel::Request& request);
  void HandleConsume(channel::Request& request);
  // The consumer kind the controller asked for (its `type`).
  std::unique_ptr<router::Consumer> MakeConsumer(FBS::RtpParameters::Type type,
                                                 const std::string& id, router::Producer& producer,
                                                 router::ConsumerParams params,
                                                 const FBS::Transport::ConsumeRequest& body);
  void HandleCloseProducer(channel::Request& request);
  void HandleCloseConsumer(channel::Request& request);
  void HandleEnableTraceEvent(channel::Request& request);
  void HandleSetMaxIncomingBitrate(channel::Request& request);
  void HandleSetMaxOutgoingBitrate(channel::Request& request);
  void HandleSetMinOutgoingBitrate(channel::Request& request);

  bool DispatchRtcp(const rtcp::RtcpPacket& packet, uint64_t nowMs);
  void ReceiveReportBlocks(const rtcp::ReportBlock* blocks, size_t count, uint64_t nowMs);
  // TRANSPORT_TRACE (bwe) after the estimate was updated, when enabled.
  void TraceBwe(FBS::Transport::BweType type, uint64_t nowMs);
  void SendReports(uint64_t nowMs);
  void ScheduleReports(uint64_t nowMs);

  struct Traffic {
    uint64_t bytes = 0;
    util::RateCalculator rate;
    void Add(size_t n, uint64_t nowMs) {
      bytes += n;
      rate.Update(static_cast<uint32_t>(n), nowMs);
    }
  };

  std::string id_;
  TransportOwner& owner_;
  std::map<std::string, std::unique_ptr<router::Producer>, std::less<>> producers_;
  std::map<std::string, std::unique_ptr<router::Consumer>, std::less<>> consumers_;
  RtpListener listener_;
  absl::flat_hash_map<uint32_t, router::Consumer*> consumersBySsrc_;
  uint32_t rtcpSsrc_; // ours, as sender of receiver reports
  CongestionControl cc_;
  uint64_t nextReportMs_ = 0;
  uint64_t nextScoreMs_ = 0;
  uint32_t maxIncomingBitrate_ = 0;
  uint8_t traceTypes_ = 0;
  Traffic recv_, send_, rtpRecv_, rtpSend_, rtxRecv_, rtxSend_;

  friend struct TransportMethods;
};

} // namespace sluice::transport
