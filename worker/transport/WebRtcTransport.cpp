#include "sluice/transport/WebRtcTransport.hpp"

#include <algorithm>

#include <openssl/rand.h>

#include "notification_generated.h"
#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/transport/WebRtcServer.hpp"
#include "sluice/transport/WireKind.hpp"

namespace sluice::transport {

namespace {

using FBS::Transport::Protocol;

// RFC 8445 §5.1.2.1: (2^24)*type preference + (2^8)*local preference + (256 - component),
// for the host candidates of an ICE-lite agent, strictly decreasing in the
// order the candidates are listed.
uint32_t CandidatePriority(size_t index) {
  constexpr uint32_t kHostTypePreference = 64;
  const uint32_t localPreference = 65535u - static_cast<uint32_t>(std::min<size_t>(index, 65535));
  return (kHostTypePreference << 24) | (localPreference << 8) | (256u - 1u);
}

// ICE ufrag/pwd characters (RFC 8445 §5.3: ice-chars).
std::string RandomIceString(size_t length) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint8_t bytes[64];
  RAND_bytes(bytes, static_cast<int>(length));
  std::string s(length, 'a');
  for (size_t i = 0; i < length; ++i)
    s[i] = kChars[bytes[i] % (sizeof(kChars) - 1)];
  return s;
}

const char* FingerprintName(FBS::WebRtcTransport::FingerprintAlgorithm a) {
  using A = FBS::WebRtcTransport::FingerprintAlgorithm;
  switch (a) {
  case A::SHA1:
    return "sha-1";
  case A::SHA224:
    return "sha-224";
  case A::SHA256:
    return "sha-256";
  case A::SHA384:
    return "sha-384";
  case A::SHA512:
    return "sha-512";
  }
  return nullptr;
}

std::optional<FBS::WebRtcTransport::FingerprintAlgorithm>
FingerprintAlgorithm(const std::string& name) {
  using A = FBS::WebRtcTransport::FingerprintAlgorithm;
  for (const A a : {A::SHA1, A::SHA224, A::SHA256, A::SHA384, A::SHA512})
    if (name == FingerprintName(a))
      return a;
  return std::nullopt;
}

} // namespace

WebRtcTransport::WebRtcTransport(const router::Context& context, std::string id,
                                 TransportOwner& owner, std::string ufrag, std::string password,
                                 uint32_t consentTimeoutMs)
    : Transport(context, std::move(id), owner),
      ice_(*this, std::move(ufrag), std::move(password), consentTimeoutMs) {}

WebRtcTransport::~WebRtcTransport() {
  closing_ = true;
  if (dtls_)
    dtls_->Close(); // close_notify to the peer while the sockets still exist
  if (server_ != nullptr)
    server_->RemoveTransport(*this);
}

std::unique_ptr<WebRtcTransport>
WebRtcTransport::Create(const router::Context& context, std::string id, TransportOwner& owner,
                        const FBS::WebRtcTransport::WebRtcTransportOptions& options,
                        WebRtcServer* server, std::string* error) {
  if (options.base()->enable_sctp()) {
    *error = "enableSctp is not supported: data channels are not implemented yet";
    return nullptr;
  }
  // enableUdp/enableTcp select among a WebRtcServer's shared listen infos.
  // Own listen infos are what the application asked for, each one a
  // candidate: the Node library fills the flags with defaults (enableTcp
  // false without a server) even for a TCP-only listenInfos, and for
  // listenIps it has already applied them itself.
  const bool udp = options.enable_udp();
  const bool tcp = options.enable_tcp();
  if (context.dtls == nullptr) {
    *error = "no DTLS context";
    return nullptr;
  }
  const uint32_t consentMs = static_cast<uint32_t>(options.ice_consent_timeout()) * 1000u;
  std::unique_ptr<WebRtcTransport> t(new WebRtcTransport(
      context, std::move(id), owner, RandomIceString(16), RandomIceString(32), consentMs));
  t->dtls_ = DtlsTransport::Create(context.loop, *context.dtls, *t, error);
  if (!t->dtls_)
    return nullptr;

  // Candidates in listen order; priorities below.
  struct Pending {
    Protocol protocol;
    std::string address;
    uint16_t port;
  };
  std::vector<Pending> pending;
  if (server != nullptr) {
    for (const auto& c : server->Candidates())
      if ((c.protocol == Protocol::UDP && udp) || (c.protocol == Protocol::TCP && tcp))
        pending.push_back({c.protocol, c.address, c.port});
  } else {
    const auto* listen = options.listen_as_ListenIndividual();
    if (listen == nullptr) {
      *error = "missing listenInfos";
      return nullptr;
    }
    for (const auto* info : *listen->listen_infos()) {
      ListenSpec spec;
      if (!ParseListenInfo(*info, context, &spec, error))
        return nullptr;
      Listening l;
      l.announced = spec.Announced();
      if (spec.protocol == Protocol::UDP) {
        l.udp = net::UdpSocket::Open(context.loop, spec.UdpOptions(), t.get(), error);
        if (!l.udp)
          return nullptr;
        pending.push_back({Protocol::UDP, l.announced, l.udp->LocalPort()});
      } else {
        l.tcp = net::TcpServer::Open(context.loop, spec.TcpOptions(context), t.get(), error);
        if (!l.tcp)
          return nullptr;
        pending.push_back({Protocol::TCP, l.announced, l.tcp->LocalPort()});
      }
      t->listening_.push_back(std::move(l));
    }
  }
  if (pending.empty()) {
    *error =
        server != nullptr
            ? "no ICE candidates: no listenInfo of the WebRtcServer matches enableUdp/enableTcp"
            : "no ICE candidates: empty listenInfos";
    return nullptr;
  }
  // Own listen infos come in the controller's order of preference (it ordered
  // listenIps by preferUdp/preferTcp itself). A server's are shared, so the
  // transport's preference reorders them: the preferred protocol first.
  if (server != nullptr && (options.prefer_udp() || options.prefer_tcp())) {
    const Protocol preferred = options.prefer_udp() ? Protocol::UDP : Protocol::TCP;
    std::stable_partition(pending.begin(), pending.end(),
                          [preferred](const Pending& p) { return p.protocol == preferred; });
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    auto& p = pending[i];
    t->candidates_.push_back({p.protocol, std::move(p.address), p.port, CandidatePriority(i)});
  }
  if (server != nullptr) {
    server->AddTransport(*t);
    t->server_ = server;
  }
  return t;
}

// --- requests ----------------------------------------------------------------------

bool WebRtcTransport::HandleKindRequest(channel::Request& request) {
  using FBS::Request::Body;
  using FBS::Request::Method;
  switch (request.Method()) {
  case Method::WEBRTCTRANSPORT_CONNECT:
    if (channel::CheckBodyType(request, Body::WebRtcTransport_ConnectRequest))
      HandleConnect(request);
    return true;
  case Method::TRANSPORT_RESTART_ICE:
    if (channel::CheckBodyType(request, Body::NONE))
      HandleRestartIce(request);
    return true;
  case Method::TRANSPORT_DUMP:
    if (channel::CheckBodyType(request, Body::NONE))
      HandleDump(request);
    return true;
  case Method::TRANSPORT_GET_STATS:
    if (channel::CheckBodyType(request, Body::NONE))
      HandleGetStats(request);
    return true;
  default:
    return false;
  }
}

void WebRtcTransport::HandleConnect(channel::Request& request) {
  const auto* params = request.Body<FBS::WebRtcTransport::ConnectRequest>()->dtls_parameters();
  if (RemoteKnown()) {
    request.Error("connect() already called");
    return;
  }
  std::vector<DtlsFingerprint> fingerprints;
  for (const auto* f : *params->fingerprints()) {
    const char* name = FingerprintName(f->algorithm());
    if (name == nullptr) {
      request.TypeError("invalid fingerprint algorithm");
      return;
    }
    fingerprints.push_back({name, f->value()->str()});
  }
  if (fingerprints.empty()) {
    request.TypeError("missing dtlsParameters.fingerprints");
    return;
  }
  const auto remoteRole = static_cast<DtlsRole>(params->role());
  if (remoteRole != DtlsRole::Auto && remoteRole != DtlsRole::Client &&
      remoteRole != DtlsRole::Server) {
    request.TypeError("invalid dtlsParameters.role");
    return;
  }
  remoteFingerprints_ = std::move(fingerprints);
  dtlsRole_ = ResolveLocalDtlsRole(remoteRole);
  const auto response = FBS::WebRtcTransport::CreateConnectResponse(
      request.Builder(), static_cast<FBS::WebRtcTransport::DtlsRole>(dtlsRole_));
  request.Accept(FBS::Response::Body::WebRtcTransport_ConnectResponse, response.Union());
  MaybeStartDtls();
}

void WebRtcTransport::HandleRestartIce(channel::Request& request) {
  const std::string oldUfrag = ice_.Ufrag();
  ice_.Restart(RandomIceString(16), RandomIceString(32));
  if (server_ != nullptr)
    server_->ChangeUfrag(oldUfrag, *this);
  const auto response = FBS::Transport::CreateRestartIceResponseDirect(
      request.Builder(), ice_.Ufrag().c_str(), ice_.Password().c_str(), true);
  request.Accept(FBS::Response::Body::Transport_RestartIceResponse, response.Union());
}

void WebRtcTransport::HandleDump(channel::Request& request) {
  const auto dump = FillDump(request.Builder());
  request.Accept(FBS::Response::Body::WebRtcTransport_DumpResponse, dump.Union());
}

void WebRtcTransport::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const auto base = FillBaseStats(b, context_.NowMs());
  const net::Tuple* selected = ice_.SelectedTuple();
  const auto tuple = selected != nullptr ? FillTuple(b, *selected) : 0;
  const auto stats = FBS::WebRtcTransport::CreateGetStatsResponse(
      b, base, FBS::WebRtcTransport::IceRole::CONTROLLED,
      static_cast<FBS::WebRtcTransport::IceState>(ice_.State()), tuple,
      static_cast<FBS::WebRtcTransport::DtlsState>(dtls_->State()));
  request.Accept(FBS::Response::Body::WebRtcTransport_GetStatsResponse, stats.Union());
}

void WebRtcTransport::KindTick(uint64_t nowMs) {
  ice_.Tick(nowMs);
}

// --- packets in --------------------------------------------------------------------

void WebRtcTransport::ReceivePacket(const net::Tuple& tuple, uint8_t* data, size_t len) {
  const uint64_t now = context_.NowMs();
  const WireKind kind = ClassifyWire(data, len);
  if (kind == WireKind::Stun) {
    CountReceived(len, now);
    ice_.ProcessStun(data, len, tuple, now);
    return;
  }
  if (kind == WireKind::Unknown) {
    ++drops_.notRtpOrRtcp;
    return;
  }
  if (!ice_.IsValidTuple(tuple)) {
    ++drops_.unknownTuple;
    return;
  }
  CountReceived(len, now);
  if (kind == WireKind::Dtls) {
    dtls_->ProcessDatagram(data, len);
    return;
  }
  if (!srtpIn_) {
    ++drops_.notConnected;
    return;
  }
  const bool rtcp = kind == WireKind::Rtcp;
  len = rtcp ? srtpIn_->UnprotectRtcp(data, len) : srtpIn_->UnprotectRtp(data, len);
  if (len == 0) {
    ++drops_.srtpFailures;
    return;
  }
  if (rtcp)
    ReceiveRtcp(data, len, now);
  else
    ReceiveRtp(data, len, now);
}

void WebRtcTransport::TupleClosed(const net::Tuple& tuple) {
  ice_.RemoveTuple(tuple);
}

// --- packets out -------------------------------------------------------------------

void WebRtcTransport::AddToCensus(TransportCensus& census) const {
  ++census.webRtcTransports;
  census.srtpSessions += (srtpIn_ ? 1 : 0) + (srtpOut_ ? 1 : 0);
  if (dtls_) {
    ++census.dtlsSessions;
    census.dtlsConnected += dtls_->SessionReleased() ? 1 : 0;
    census.dtlsBytesHeld += dtls_->HeldBytes();
  }
}

void WebRtcTransport::AddKindDrops(Drops& drops) const {
  // Own sockets only: a WebRtcServer's are shared by many transports.
  for (const auto& l : listening_)
    if (l.udp)
      drops.socketTruncated += l.udp->GetCounters().truncated;
  const IceServer::Counters& ice = ice_.GetCounters();
  drops.badStun += ice.ignored + ice.badRequests + ice.unauthorized + ice.unknownAttributes;
  const DtlsTransport::Counters& dtls = dtls_->GetCounters();
  drops.badDtls += dtls.dropped + dtls.malformed;
}

bool WebRtcTransport::CanSend() const {
  return srtpOut_ != nullptr && ice_.SelectedTuple() != nullptr;
}

bool WebRtcTransport::SendTo(const net::Tuple& tuple, const uint8_t* data, size_t len) {
  if (tuple.udp != nullptr)
    return tuple.udp->Send(data, len, nullptr, 0, store::PacketRef(), tuple.remote);
  return tuple.tcp->SendFrame(data, len, nullptr, 0);
}

bool WebRtcTransport::SendToSelected(const uint8_t* data, size_t len) {
  const net::Tuple* selected = ice_.SelectedTuple();
  return selected != nullptr && SendTo(*selected, data, len);
}

void WebRtcTransport::SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail,
                              size_t tailLen, const store::PacketRef& /*hold*/,
                              bool retransmission) {
  if (!CanSend())
    return;
  head = StampTransportSeq(head, headLen, headLen + tailLen);
  const auto [data, len] = srtpOut_->ProtectRtpToScratch(head, headLen, tail, tailLen);
  if (len != 0 && SendToSelected(data, len))
    CountSent(len, true, retransmission, context_.NowMs());
}

void WebRtcTransport::SendRtcp(const uint8_t* data, size_t len) {
  if (!CanSend())
    return;
  const auto [out, outLen] = srtpOut_->ProtectRtcpToScratch(data, len);
  if (outLen != 0 && SendToSelected(out, outLen))
    CountSent(outLen, false, false, context_.NowMs());
}

// --- ICE ---------------------------------------------------------------------------

void WebRtcTransport::OnIceSend(const net::Tuple& tuple, const uint8_t* data, size_t len) {
  if (SendTo(tuple, data, len))
    CountSent(len, false, false, context_.NowMs());
}

void WebRtcTransport::OnIceTupleAdded(const net::Tuple& tuple) {
  if (server_ != nullptr)
    server_->TupleAdded(tuple, *this);
}

void WebRtcTransport::OnIceTupleRemoved(const net::Tuple& tuple) {
  if (server_ != nullptr)
    server_->TupleRemoved(tuple);
}

void WebRtcTransport::OnIceSelectedTuple(const net::Tuple& tuple) {
  if (closing_)
    return;
  auto& b = context_.writer->NotificationBuilder();
  const auto body =
      FBS::WebRtcTransport::CreateIceSelectedTupleChangeNotification(b, FillTuple(b, tuple));
  Notify(FBS::Notification::Event::WEBRTCTRANSPORT_ICE_SELECTED_TUPLE_CHANGE,
         FBS::Notification::Body::WebRtcTransport_IceSelectedTupleChangeNotification, body.Union());
}

void WebRtcTransport::OnIceStateChange(IceState state) {
  if (closing_)
    return;
  auto& b = context_.writer->NotificationBuilder();
  const auto body = FBS::WebRtcTransport::CreateIceStateChangeNotification(
      b, static_cast<FBS::WebRtcTransport::IceState>(state));
  Notify(FBS::Notification::Event::WEBRTCTRANSPORT_ICE_STATE_CHANGE,
         FBS::Notification::Body::WebRtcTransport_IceStateChangeNotification, body.Union());
  if (state == IceState::Connected || state == IceState::Completed)
    MaybeStartDtls();
}

// --- DTLS --------------------------------------------------------------------------

void WebRtcTransport::MaybeStartDtls() {
  const IceState ice = ice_.State();
  if (!RemoteKnown() || dtls_->State() != DtlsState::New ||
      (ice != IceState::Connected && ice != IceState::Completed))
    return;
  std::string error;
  if (!dtls_->Start(dtlsRole_, remoteFingerprints_, &error))
    SLUICE_WARN("transport %s: DTLS start failed: %s", Id().c_str(), error.c_str());
}

void WebRtcTransport::OnDtlsSend(const uint8_t* data, size_t len) {
  if (SendToSelected(data, len))
    CountSent(len, false, false, context_.NowMs());
}

void WebRtcTransport::OnDtlsSrtpKeys(SrtpSuite suite, const uint8_t* local, const uint8_t* remote,
                                     size_t len) {
  std::string error;
  srtpOut_ = SrtpSession::Create(SrtpSession::Direction::Outbound, suite, local, len, &error);
  srtpIn_ = SrtpSession::Create(SrtpSession::Direction::Inbound, suite, remote, len, &error);
  if (!srtpOut_ || !srtpIn_) {
    SLUICE_WARN("transport %s: SRTP setup failed: %s", Id().c_str(), error.c_str());
    srtpOut_.reset();
    srtpIn_.reset();
  }
}

void WebRtcTransport::OnDtlsStateChange(DtlsState state) {
  if (state == DtlsState::Failed || state == DtlsState::Closed) {
    srtpOut_.reset();
    srtpIn_.reset();
  }
  if (closing_)
    return;
  auto& b = context_.writer->NotificationBuilder();
  const auto cert = state == DtlsState::Connected && !dtls_->RemoteCertificatePem().empty()
                        ? b.CreateString(dtls_->RemoteCertificatePem())
                        : 0;
  const auto body = FBS::WebRtcTransport::CreateDtlsStateChangeNotification(
      b, static_cast<FBS::WebRtcTransport::DtlsState>(state), cert);
  Notify(FBS::Notification::Event::WEBRTCTRANSPORT_DTLS_STATE_CHANGE,
         FBS::Notification::Body::WebRtcTransport_DtlsStateChangeNotification, body.Union());
  if (state == DtlsState::Connected)
    Connected(context_.NowMs());
}

// --- dump --------------------------------------------------------------------------

std::string WebRtcTransport::LocalAddress(const net::Tuple& tuple) const {
  if (server_ != nullptr)
    return server_->LocalAddress(tuple);
  for (const auto& l : listening_) {
    if (tuple.udp != nullptr && l.udp.get() == tuple.udp)
      return l.announced;
    if (tuple.tcp != nullptr && l.tcp && l.tcp->LocalPort() == tuple.tcp->Local().Port())
      return l.announced;
  }
  return std::string();
}

flatbuffers::Offset<FBS::Transport::Tuple>
WebRtcTransport::FillTuple(flatbuffers::FlatBufferBuilder& b, const net::Tuple& tuple) const {
  const std::string local = LocalAddress(tuple);
  const uint16_t localPort =
      tuple.udp != nullptr ? tuple.udp->LocalPort() : tuple.tcp->Local().Port();
  const std::string remoteIp = tuple.remote.Ip();
  return FBS::Transport::CreateTupleDirect(b, local.c_str(), localPort, remoteIp.c_str(),
                                           tuple.remote.Port(),
                                           tuple.IsTcp() ? Protocol::TCP : Protocol::UDP);
}

flatbuffers::Offset<FBS::WebRtcTransport::DtlsParameters>
WebRtcTransport::FillDtlsParameters(flatbuffers::FlatBufferBuilder& b) const {
  std::vector<flatbuffers::Offset<FBS::WebRtcTransport::Fingerprint>> fingerprints;
  for (const auto& f : context_.certificate->Fingerprints())
    if (const auto algorithm = FingerprintAlgorithm(f.algorithm))
      fingerprints.push_back(
          FBS::WebRtcTransport::CreateFingerprintDirect(b, *algorithm, f.value.c_str()));
  return FBS::WebRtcTransport::CreateDtlsParametersDirect(
      b, &fingerprints, static_cast<FBS::WebRtcTransport::DtlsRole>(dtlsRole_));
}

flatbuffers::Offset<FBS::WebRtcTransport::DumpResponse>
WebRtcTransport::FillDump(flatbuffers::FlatBufferBuilder& b) {
  const auto base = FillBaseDump(b);
  const auto iceParameters = FBS::WebRtcTransport::CreateIceParametersDirect(
      b, ice_.Ufrag().c_str(), ice_.Password().c_str(), true);
  std::vector<flatbuffers::Offset<FBS::WebRtcTransport::IceCandidate>> candidates;
  for (const auto& c : candidates_) {
    const bool tcp = c.protocol == Protocol::TCP;
    candidates.push_back(FBS::WebRtcTransport::CreateIceCandidateDirect(
        b, tcp ? "tcpcandidate" : "udpcandidate", c.priority, c.address.c_str(), c.protocol, c.port,
        FBS::WebRtcTransport::IceCandidateType::HOST,
        tcp ? std::optional(FBS::WebRtcTransport::IceCandidateTcpType::PASSIVE) : std::nullopt));
  }
  const net::Tuple* selected = ice_.SelectedTuple();
  const auto tuple = selected != nullptr ? FillTuple(b, *selected) : 0;
  const auto dtls = FillDtlsParameters(b);
  return FBS::WebRtcTransport::CreateDumpResponseDirect(
      b, base, FBS::WebRtcTransport::IceRole::CONTROLLED, iceParameters, &candidates,
      static_cast<FBS::WebRtcTransport::IceState>(ice_.State()), tuple, dtls,
      static_cast<FBS::WebRtcTransport::DtlsState>(dtls_->State()));
}

} // namespace sluice::transport
