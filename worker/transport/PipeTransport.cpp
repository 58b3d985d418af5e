#include "sluice/transport/PipeTransport.hpp"

#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/transport/ListenInfo.hpp"
#include "sluice/transport/WireKind.hpp"

namespace sluice::transport {

namespace {

// mediasoup keys every SRTP pipe in this suite; the far side's CONNECT must
// bring a key in it too.
constexpr SrtpSuite kPipeSrtpSuite = SrtpSuite::AeadAes256Gcm;

} // namespace

PipeTransport::PipeTransport(const router::Context& context, std::string id, TransportOwner& owner)
    : Transport(context, std::move(id), owner) {}

PipeTransport::~PipeTransport() = default;

std::unique_ptr<PipeTransport>
PipeTransport::Create(const router::Context& context, std::string id, TransportOwner& owner,
                      const FBS::PipeTransport::PipeTransportOptions& options, std::string* error) {
  ListenSpec spec;
  if (!ParseListenInfo(*options.listen_info(), context, &spec, error))
    return nullptr;
  if (spec.protocol != FBS::Transport::Protocol::UDP) {
    *error = "PipeTransport listens on UDP only";
    return nullptr;
  }
  // pipeToRouter() asks for SCTP by default. Refusing would make every
  // pipeToRouter() fail, so the transport is made without an association:
  // no sctpParameters in dump, and data channel requests answer "not
  // implemented".
  if (options.base()->enable_sctp())
    SLUICE_WARN("PipeTransport %s: enableSctp ignored, data channels are not implemented yet",
                id.c_str());
  std::unique_ptr<PipeTransport> t(new PipeTransport(context, std::move(id), owner));
  t->rtx_ = options.enable_rtx();
  t->announcedAddress_ = spec.announcedAddress;
  t->socket_ = net::UdpSocket::Open(context.loop, spec.UdpOptions(), t.get(), error);
  if (!t->socket_)
    return nullptr;
  if (options.enable_srtp() && !t->srtp_.Offer(kPipeSrtpSuite, error))
    return nullptr;
  return t;
}

bool PipeTransport::HandleKindRequest(channel::Request& request) {
  switch (request.Method()) {
  case FBS::Request::Method::PIPETRANSPORT_CONNECT:
    if (channel::CheckBodyType(request, FBS::Request::Body::PipeTransport_ConnectRequest))
      HandleConnect(request);
    return true;
  case FBS::Request::Method::TRANSPORT_DUMP:
    if (channel::CheckBodyType(request, FBS::Request::Body::NONE))
      HandleDump(request);
    return true;
  case FBS::Request::Method::TRANSPORT_GET_STATS:
    if (channel::CheckBodyType(request, FBS::Request::Body::NONE))
      HandleGetStats(request);
    return true;
  default:
    return false;
  }
}

void PipeTransport::HandleConnect(channel::Request& request) {
  const auto* body = request.Body<FBS::PipeTransport::ConnectRequest>();
  if (remote_) {
    request.Error("connect() already called");
    return;
  }
  if (body->ip() == nullptr || !body->port()) {
    request.TypeError(body->ip() == nullptr ? "missing ip" : "missing port");
    return;
  }
  const auto remote = net::Endpoint::FromIpPort(body->ip()->string_view(), *body->port());
  if (!remote) {
    request.TypeError("invalid ip '" + body->ip()->str() + "'");
    return;
  }
  if (remote->Sa()->sa_family != socket_->Family()) {
    request.TypeError("ip family does not match the listening ip");
    return;
  }
  if (!srtp_.AcceptFor(request, body->srtp_parameters(), false))
    return;
  remote_ = remote;
  Connected(context_.NowMs());
  auto& b = request.Builder();
  const auto response = FBS::PipeTransport::CreateConnectResponse(b, FillTuple(b));
  request.Accept(FBS::Response::Body::PipeTransport_ConnectResponse, response.Union());
}

void PipeTransport::OnUdpDatagram(net::UdpSocket& socket, uint8_t* data, size_t len,
                                  const net::Endpoint& from) {
  (void)socket;
  const WireKind kind = ClassifyWire(data, len);
  if (kind != WireKind::Rtp && kind != WireKind::Rtcp) {
    ++drops_.notRtpOrRtcp;
    return;
  }
  if (!remote_) {
    ++drops_.notConnected;
    return;
  }
  if (*remote_ != from) {
    ++drops_.unknownTuple;
    return;
  }
  const uint64_t now = context_.NowMs();
  CountReceived(len, now);
  const bool rtcp = kind == WireKind::Rtcp;
  len = srtp_.Unprotect(rtcp, data, len);
  if (len == 0) {
    ++drops_.srtpFailures;
    return;
  }
  if (rtcp)
    ReceiveRtcp(data, len, now);
  else
    ReceiveRtp(data, len, now);
}

void PipeTransport::SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail,
                            size_t tailLen, const store::PacketRef& hold, bool retransmission) {
  if (!remote_)
    return;
  // The library leaves transport-wide cc out of pipe consumers' parameters,
  // so this stamps nothing today; it keeps one send path for every kind.
  head = StampTransportSeq(head, headLen, headLen + tailLen);
  if (const size_t sent = srtp_.SendRtp(*socket_, *remote_, head, headLen, tail, tailLen, hold))
    CountSent(sent, true, retransmission, context_.NowMs());
}

void PipeTransport::SendRtcp(const uint8_t* data, size_t len) {
  if (!remote_)
    return;
  if (const size_t sent = srtp_.SendRtcp(*socket_, *remote_, data, len))
    CountSent(sent, false, false, context_.NowMs());
}

flatbuffers::Offset<FBS::Transport::Tuple>
PipeTransport::FillTuple(flatbuffers::FlatBufferBuilder& b) const {
  return FillUdpTuple(b, *socket_, announcedAddress_, remote_);
}

flatbuffers::Offset<FBS::PipeTransport::DumpResponse>
PipeTransport::FillDump(flatbuffers::FlatBufferBuilder& b) {
  const auto base = FillBaseDump(b);
  const auto tuple = FillTuple(b);
  const auto srtp = srtp_.FillParameters(b);
  return FBS::PipeTransport::CreateDumpResponse(b, base, tuple, rtx_, srtp);
}

void PipeTransport::HandleDump(channel::Request& request) {
  const auto dump = FillDump(request.Builder());
  request.Accept(FBS::Response::Body::PipeTransport_DumpResponse, dump.Union());
}

void PipeTransport::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const auto base = FillBaseStats(b, context_.NowMs());
  const auto tuple = FillTuple(b);
  const auto stats = FBS::PipeTransport::CreateGetStatsResponse(b, base, tuple);
  request.Accept(FBS::Response::Body::PipeTransport_GetStatsResponse, stats.Union());
}

void PipeTransport::AddToCensus(TransportCensus& census) const {
  census.srtpSessions += srtp_.Sessions();
}

void PipeTransport::AddKindDrops(Drops& drops) const {
  drops.socketTruncated += socket_->GetCounters().truncated;
}

} // namespace sluice::transport
