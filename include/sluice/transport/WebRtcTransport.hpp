// WebRtcTransport: a browser-style endpoint. ICE-lite (IceServer) finds the
// paths, DTLS (DtlsTransport) authenticates the peer by certificate
// fingerprint and yields the SRTP keys, SRTP protects every RTP/RTCP packet
// both ways.
//
// Sockets: either its own (one UdpSocket per UDP listen info, one TcpServer
// per TCP listen info: ICE-TCP passive candidates with RFC 4571 framing) or
// those of a WebRtcServer, which hands over the datagrams/frames it
// demultiplexed to this transport by ICE ufrag and then by tuple.
//
// Every datagram is classified by its first byte (RFC 7983): STUN goes to
// ICE from any tuple; DTLS, RTP and RTCP only from a tuple ICE validated.
// DTLS starts once connect() gave the remote fingerprints and ICE is
// connected; media flows once DTLS is connected. Outgoing media goes to ICE's
// selected tuple, encrypted in a per-thread scratch buffer (never in a pool
// slot). Over TCP a slow peer loses frames (the connection's send queue is
// bounded); memory does not follow it.
//
// Notifications: ICE_STATE_CHANGE, ICE_SELECTED_TUPLE_CHANGE,
// DTLS_STATE_CHANGE (with the peer's certificate in PEM when connected).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/net/TcpServer.hpp"
#include "sluice/net/Tuple.hpp"
#include "sluice/net/TupleListener.hpp"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/transport/DtlsTransport.hpp"
#include "sluice/transport/IceServer.hpp"
#include "sluice/transport/ListenInfo.hpp"
#include "sluice/transport/SrtpSession.hpp"
#include "sluice/transport/Transport.hpp"
#include "webRtcTransport_generated.h"

namespace sluice::transport {

class WebRtcServer;

class WebRtcTransport final : public Transport,
                              private IceServer::Listener,
                              private DtlsTransport::Listener,
                              private net::TupleListener {
public:
  // With server == nullptr the transport opens its own sockets from the
  // options' listen infos; otherwise it registers with the server. nullptr
  // with *error (bad listen info, no port, SCTP asked for, no protocol left).
  static std::unique_ptr<WebRtcTransport>
  Create(const router::Context& context, std::string id, TransportOwner& owner,
         const FBS::WebRtcTransport::WebRtcTransportOptions& options, WebRtcServer* server,
         std::string* error);
  ~WebRtcTransport() override;

  // net::TupleListener, from our own sockets or a WebRtcServer's.
  void ReceivePacket(const net::Tuple& tuple, uint8_t* data, size_t len) override;
  void TupleClosed(const net::Tuple& tuple) override;
  // Our WebRtcServer is closing: forget it (its sockets die with it).
  void ServerClosed() { server_ = nullptr; }

  const std::string& IceUfrag() const { return ice_.Ufrag(); }

  // MediaPort
  void SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail, size_t tailLen,
               const store::PacketRef& hold, bool retransmission) override;
  void SendRtcp(const uint8_t* data, size_t len) override;
  bool CanSend() const override;
  void AddKindDrops(Drops& drops) const override;
  void AddToCensus(TransportCensus& census) const override;

  // WebRtcTransport_DumpResponse (also the CREATE_WEBRTCTRANSPORT response).
  flatbuffers::Offset<FBS::WebRtcTransport::DumpResponse>
  FillDump(flatbuffers::FlatBufferBuilder& b);

private:
  struct Candidate {
    FBS::Transport::Protocol protocol;
    std::string address; // announced address or listen ip
    uint16_t port;
    uint32_t priority;
  };
  // Our own sockets (individual listening); empty when on a WebRtcServer.
  struct Listening {
    std::unique_ptr<net::UdpSocket> udp;
    std::unique_ptr<net::TcpServer> tcp;
    std::string announced;
  };

  WebRtcTransport(const router::Context& context, std::string id, TransportOwner& owner,
                  std::string ufrag, std::string password, uint32_t consentTimeoutMs);

  bool HandleKindRequest(channel::Request& request) override;
  void KindTick(uint64_t nowMs) override;
  void HandleConnect(channel::Request& request);
  void HandleRestartIce(channel::Request& request);
  void HandleDump(channel::Request& request);
  void HandleGetStats(channel::Request& request);

  // connect() called: it is accepted only with at least one fingerprint.
  bool RemoteKnown() const { return !remoteFingerprints_.empty(); }
  void MaybeStartDtls();
  bool SendTo(const net::Tuple& tuple, const uint8_t* data, size_t len);
  bool SendToSelected(const uint8_t* data, size_t len);
  std::string LocalAddress(const net::Tuple& tuple) const; // announced or listen ip

  // IceServer::Listener
  void OnIceSend(const net::Tuple& tuple, const uint8_t* data, size_t len) override;
  void OnIceTupleAdded(const net::Tuple& tuple) override;
  void OnIceTupleRemoved(const net::Tuple& tuple) override;
  void OnIceSelectedTuple(const net::Tuple& tuple) override;
  void OnIceStateChange(IceState state) override;
  // DtlsTransport::Listener
  void OnDtlsSend(const uint8_t* data, size_t len) override;
  void OnDtlsStateChange(DtlsState state) override;
  void OnDtlsSrtpKeys(SrtpSuite suite, const uint8_t* local, const uint8_t* remote,
                      size_t len) override;

  flatbuffers::Offset<FBS::Transport::Tuple> FillTuple(flatbuffers::FlatBufferBuilder& b,
                                                       const net::Tuple& tuple) const;
  flatbuffers::Offset<FBS::WebRtcTransport::DtlsParameters>
  FillDtlsParameters(flatbuffers::FlatBufferBuilder& b) const;

  IceServer ice_;
  std::unique_ptr<DtlsTransport> dtls_;
  DtlsRole dtlsRole_ = DtlsRole::Auto; // ours, once connect() resolved it
  std::vector<DtlsFingerprint> remoteFingerprints_;
  std::unique_ptr<SrtpSession> srtpIn_;
  std::unique_ptr<SrtpSession> srtpOut_;
  std::vector<Candidate> candidates_;
  std::vector<Listening> listening_;
  WebRtcServer* server_ = nullptr;
  bool closing_ = false; // in the destructor: no notifications

  friend class WebRtcServer;
};

} // namespace sluice::transport
