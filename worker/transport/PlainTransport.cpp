#include "sluice/transport/PlainTransport.hpp"

#include <cstring>
#include <random>

#include "notification_generated.h"
#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/Logger.hpp"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/net/Address.hpp"
#include "sluice/transport/ListenInfo.hpp"
#include "sluice/util/Base64.hpp"

namespace sluice::transport {

namespace {

bool IsRtcp(const uint8_t* data, size_t len) {
  // RFC 5761 §4: RTCP packet types 192-223 sit where RTP has M+PT 64-95.
  return len >= 4 && (data[0] >> 6) == 2 && data[1] >= 192 && data[1] <= 223;
}

bool IsRtp(const uint8_t* data, size_t len) {
  return len >= rtp::RtpPacket::kFixedHeaderSize && (data[0] >> 6) == 2;
}

bool IsUdp(const ListenSpec& spec, std::string* error) {
  if (spec.protocol == FBS::Transport::Protocol::UDP)
    return true;
  *error = "PlainTransport listens on UDP only";
  return false;
}

} // namespace

PlainTransport::PlainTransport(const router::Context& context, std::string id,
                               TransportOwner& owner)
    : Transport(context, std::move(id), owner) {}

PlainTransport::~PlainTransport() = default;

std::unique_ptr<PlainTransport>
PlainTransport::Create(const router::Context& context, std::string id, TransportOwner& owner,
                       const FBS::PlainTransport::PlainTransportOptions& options,
                       std::string* error) {
  if (options.base()->enable_sctp()) {
    *error = "enableSctp is not supported: data channels are not implemented yet";
    return nullptr;
  }
  std::unique_ptr<PlainTransport> t(new PlainTransport(context, std::move(id), owner));
  t->rtcpMux_ = options.rtcp_mux();
  t->comedia_ = options.comedia();

  ListenSpec rtpSpec;
  if (!ParseListenInfo(*options.listen_info(), context, &rtpSpec, error) || !IsUdp(rtpSpec, error))
    return nullptr;
  t->announcedAddress_ = rtpSpec.announcedAddress;
  t->rtpSocket_ = net::UdpSocket::Open(context.loop, rtpSpec.UdpOptions(), t.get(), error);
  if (!t->rtpSocket_)
    return nullptr;
  if (!t->rtcpMux_) {
    ListenSpec rtcpSpec = rtpSpec;
    rtcpSpec.port = 0;
    if (const auto* info = options.rtcp_listen_info()) {
      if (!ParseListenInfo(*info, context, &rtcpSpec, error) || !IsUdp(rtcpSpec, error))
        return nullptr;
    }
    t->rtcpAnnouncedAddress_ = rtcpSpec.announcedAddress;
    t->rtcpSocket_ = net::UdpSocket::Open(context.loop, rtcpSpec.UdpOptions(), t.get(), error);
    if (!t->rtcpSocket_)
      return nullptr;
  }

  if (options.enable_srtp()) {
    const auto suite = static_cast<SrtpSuite>(options.srtp_crypto_suite().value_or(
        FBS::SrtpParameters::SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80));
    if (static_cast<uint8_t>(suite) > static_cast<uint8_t>(SrtpSuite::AesCm128HmacSha1_32)) {
      *error = "invalid srtpCryptoSuite";
      return nullptr;
    }
    if (!t->srtp_.Offer(suite, error))
      return nullptr;
  }
  return t;
}

bool PlainTransport::HandleKindRequest(channel::Request& request) {
  switch (request.Method()) {
  case FBS::Request::Method::PLAINTRANSPORT_CONNECT:
    if (channel::CheckBodyType(request, FBS::Request::Body::PlainTransport_ConnectRequest))
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

void PlainTransport::HandleConnect(channel::Request& request) {
  const auto* body = request.Body<FBS::PlainTransport::ConnectRequest>();
  if (connected_) {
    request.Error("connect() already called");
    return;
  }
  std::optional<net::Endpoint> remote, rtcpRemote;
  if (!comedia_) {
    if (body->ip() == nullptr || !body->port()) {
      request.TypeError(body->ip() == nullptr ? "missing ip" : "missing port");
      return;
    }
    remote = net::Endpoint::FromIpPort(body->ip()->string_view(), *body->port());
    if (!remote) {
      request.TypeError("invalid ip '" + body->ip()->str() + "'");
      return;
    }
    if (remote->Sa()->sa_family != rtpSocket_->Family()) {
      request.TypeError("ip family does not match the listening ip");
      return;
    }
    if (!rtcpMux_) {
      if (!body->rtcp_port()) {
        request.TypeError("missing rtcpPort (required when rtcpMux is false)");
        return;
      }
      rtcpRemote = net::Endpoint::FromIpPort(body->ip()->string_view(), *body->rtcp_port());
    }
  }
  // The remote's suite is the suite of the session both ways: connecting with
  // another suite than the one offered re-keys our side in it (a new local
  // key of that suite's length, reported in the response and in dump).
  if (!srtp_.AcceptFor(request, body->srtp_parameters(), true))
    return;
  if (!comedia_) {
    tuple_ = remote;
    rtcpTuple_ = rtcpRemote;
  }
  connected_ = true;
  auto& b = request.Builder();
  const auto tuple = FillTuple(b, false);
  const auto rtcpTuple = rtcpMux_ ? 0 : FillTuple(b, true);
  const auto srtp = srtp_.FillParameters(b);
  const auto response = FBS::PlainTransport::CreateConnectResponse(b, tuple, rtcpTuple, srtp);
  request.Accept(FBS::Response::Body::PlainTransport_ConnectResponse, response.Union());
}

// --- datagrams --------------------------------------------------------------------

bool PlainTransport::AcceptFrom(bool rtcpSocket, const net::Endpoint& from) {
  std::optional<net::Endpoint>& known = rtcpSocket ? rtcpTuple_ : tuple_;
  if (known)
    return *known == from;
  if (!comedia_)
    return false;
  known = from;
  NotifyTuple(rtcpSocket);
  return true;
}

void PlainTransport::OnUdpDatagram(net::UdpSocket& socket, uint8_t* data, size_t len,
                                   const net::Endpoint& from) {
  const uint64_t now = context_.NowMs();
  const bool rtcpSocket = &socket == rtcpSocket_.get();
  const bool rtcp = IsRtcp(data, len);
  if (!rtcp && (rtcpSocket || !IsRtp(data, len))) {
    ++drops_.notRtpOrRtcp;
    return;
  }
  if (!AcceptFrom(rtcpSocket, from)) {
    ++drops_.unknownTuple;
    return;
  }
  CountReceived(len, now);
  if (srtp_.AwaitingRemote()) {
    ++drops_.notConnected;
    return;
  }
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

void PlainTransport::SendRtp(const uint8_t* head, size_t headLen, const uint8_t* tail,
                             size_t tailLen, const store::PacketRef& hold, bool retransmission) {
  if (!tuple_)
    return;
  head = StampTransportSeq(head, headLen, headLen + tailLen);
  if (const size_t sent = srtp_.SendRtp(*rtpSocket_, *tuple_, head, headLen, tail, tailLen, hold))
    CountSent(sent, true, retransmission, context_.NowMs());
}

void PlainTransport::SendRtcp(const uint8_t* data, size_t len) {
  net::UdpSocket* socket = rtcpMux_ ? rtpSocket_.get() : rtcpSocket_.get();
  const std::optional<net::Endpoint>& to = rtcpMux_ ? tuple_ : rtcpTuple_;
  if (!to || socket == nullptr)
    return;
  if (const size_t sent = srtp_.SendRtcp(*socket, *to, data, len))
    CountSent(sent, false, false, context_.NowMs());
}

// --- notifications, dump, stats ----------------------------------------------------

void PlainTransport::NotifyTuple(bool rtcp) {
  auto& b = context_.writer->NotificationBuilder();
  const auto tuple = FillTuple(b, rtcp);
  if (rtcp) {
    const auto body = FBS::PlainTransport::CreateRtcpTupleNotification(b, tuple);
    Notify(FBS::Notification::Event::PLAINTRANSPORT_RTCP_TUPLE,
           FBS::Notification::Body::PlainTransport_RtcpTupleNotification, body.Union());
  } else {
    const auto body = FBS::PlainTransport::CreateTupleNotification(b, tuple);
    Notify(FBS::Notification::Event::PLAINTRANSPORT_TUPLE,
           FBS::Notification::Body::PlainTransport_TupleNotification, body.Union());
  }
}

flatbuffers::Offset<FBS::Transport::Tuple>
PlainTransport::FillTuple(flatbuffers::FlatBufferBuilder& b, bool rtcp) const {
  const net::UdpSocket& socket = rtcp && rtcpSocket_ ? *rtcpSocket_ : *rtpSocket_;
  return FillUdpTuple(b, socket, rtcp ? rtcpAnnouncedAddress_ : announcedAddress_,
                      rtcp ? rtcpTuple_ : tuple_);
}

flatbuffers::Offset<FBS::PlainTransport::DumpResponse>
PlainTransport::FillDump(flatbuffers::FlatBufferBuilder& b) {
  const auto base = FillBaseDump(b);
  const auto tuple = FillTuple(b, false);
  const auto rtcpTuple = rtcpMux_ ? 0 : FillTuple(b, true);
  const auto srtp = srtp_.FillParameters(b);
  return FBS::PlainTransport::CreateDumpResponse(b, base, rtcpMux_, comedia_, tuple, rtcpTuple,
                                                 srtp);
}

void PlainTransport::HandleDump(channel::Request& request) {
  const auto dump = FillDump(request.Builder());
  request.Accept(FBS::Response::Body::PlainTransport_DumpResponse, dump.Union());
}

void PlainTransport::AddToCensus(TransportCensus& census) const {
  ++census.plainTransports;
  census.srtpSessions += srtp_.Sessions();
}

void PlainTransport::AddKindDrops(Drops& drops) const {
  drops.socketTruncated += rtpSocket_->GetCounters().truncated;
  if (rtcpSocket_)
    drops.socketTruncated += rtcpSocket_->GetCounters().truncated;
}

void PlainTransport::HandleGetStats(channel::Request& request) {
  auto& b = request.Builder();
  const auto base = FillBaseStats(b, context_.NowMs());
  const auto tuple = FillTuple(b, false);
  const auto rtcpTuple = rtcpMux_ ? 0 : FillTuple(b, true);
  const auto stats =
      FBS::PlainTransport::CreateGetStatsResponse(b, base, rtcpMux_, comedia_, tuple, rtcpTuple);
  request.Accept(FBS::Response::Body::PlainTransport_GetStatsResponse, stats.Union());
}

} // namespace sluice::transport
