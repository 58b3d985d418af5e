#include "sluice/transport/WebRtcServer.hpp"

#include "request_generated.h"
#include "response_generated.h"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/transport/ListenInfo.hpp"
#include "sluice/transport/StunMessage.hpp"
#include "sluice/transport/WebRtcTransport.hpp"
#include "sluice/transport/WireKind.hpp"
#include "webRtcServer_generated.h"

namespace sluice::transport {

using FBS::Transport::Protocol;

std::unique_ptr<WebRtcServer> WebRtcServer::Create(
    const router::Context& context, std::string id,
    const flatbuffers::Vector<flatbuffers::Offset<FBS::Transport::ListenInfo>>* listenInfos,
    std::string* error) {
  if (listenInfos == nullptr || listenInfos->size() == 0) {
    *error = "empty listenInfos";
    return nullptr;
  }
  std::unique_ptr<WebRtcServer> s(new WebRtcServer(context, std::move(id)));
  for (const auto* info : *listenInfos) {
    ListenSpec spec;
    if (!ParseListenInfo(*info, context, &spec, error))
      return nullptr;
    Listening l;
    l.announced = spec.Announced();
    uint16_t port = 0;
    if (spec.protocol == Protocol::UDP) {
      l.udp = net::UdpSocket::Open(context.loop, spec.UdpOptions(), s.get(), error);
      if (!l.udp)
        return nullptr;
      port = l.udp->LocalPort();
    } else {
      l.tcp = net::TcpServer::Open(context.loop, spec.TcpOptions(context), s.get(), error);
      if (!l.tcp)
        return nullptr;
      port = l.tcp->LocalPort();
    }
    s->candidates_.push_back({spec.protocol, l.announced, port});
    s->listening_.push_back(std::move(l));
  }
  return s;
}

WebRtcServer::~WebRtcServer() {
  // The controller closed its side of every transport on this server; close
  // ours (each destroys itself through its router) before the sockets go.
  const std::vector<WebRtcTransport*> transports(transports_.begin(), transports_.end());
  for (WebRtcTransport* t : transports) {
    t->ServerClosed();
    transports_.erase(t);
    t->Owner().CloseTransport(t->Id());
  }
  tuples_.clear();
  ufrags_.clear();
  listening_.clear();
  context_.registry->Remove(id_);
}

void WebRtcServer::HandleRequest(channel::Request& request) {
  if (request.Method() != FBS::Request::Method::WEBRTCSERVER_DUMP) {
    request.Error("unknown method for a WebRtcServer");
    return;
  }
  if (channel::CheckBodyType(request, FBS::Request::Body::NONE))
    HandleDump(request);
}

// --- registration ------------------------------------------------------------------

void WebRtcServer::AddTransport(WebRtcTransport& transport) {
  transports_.insert(&transport);
  ufrags_[transport.IceUfrag()] = &transport;
}

void WebRtcServer::RemoveTransport(WebRtcTransport& transport) {
  transports_.erase(&transport);
  if (const auto it = ufrags_.find(transport.IceUfrag());
      it != ufrags_.end() && it->second == &transport)
    ufrags_.erase(it);
  std::vector<net::TcpConnection*> connections;
  for (auto it = tuples_.begin(); it != tuples_.end();) {
    if (it->second != &transport) {
      ++it;
      continue;
    }
    if (it->first.tcp != nullptr)
      connections.push_back(it->first.tcp);
    tuples_.erase(it++);
  }
  // A TCP connection served one transport only: it goes with it.
  for (net::TcpConnection* c : connections)
    for (auto& l : listening_)
      if (l.tcp && l.tcp->LocalPort() == c->Local().Port()) {
        l.tcp->CloseConnection(*c);
        break;
      }
}

void WebRtcServer::ChangeUfrag(const std::string& oldUfrag, WebRtcTransport& transport) {
  if (const auto it = ufrags_.find(oldUfrag); it != ufrags_.end() && it->second == &transport)
    ufrags_.erase(it);
  ufrags_[transport.IceUfrag()] = &transport;
}

void WebRtcServer::TupleAdded(const net::Tuple& tuple, WebRtcTransport& transport) {
  tuples_[tuple] = &transport;
}

void WebRtcServer::TupleRemoved(const net::Tuple& tuple) {
  tuples_.erase(tuple);
}

std::string WebRtcServer::LocalAddress(const net::Tuple& tuple) const {
  for (const auto& l : listening_) {
    if (tuple.udp != nullptr && l.udp.get() == tuple.udp)
      return l.announced;
    if (tuple.tcp != nullptr && l.tcp && l.tcp->LocalPort() == tuple.tcp->Local().Port())
      return l.announced;
  }
  return std::string();
}

// --- packets -----------------------------------------------------------------------

void WebRtcServer::ReceivePacket(const net::Tuple& tuple, uint8_t* data, size_t len) {
  if (const auto it = tuples_.find(tuple); it != tuples_.end()) {
    it->second->ReceivePacket(tuple, data, len);
    return;
  }
  if (ClassifyWire(data, len) != WireKind::Stun) {
    ++drops_.unknownTuple;
    return;
  }
  const auto message = StunMessage::Parse(data, len);
  const std::string_view ufrag = message ? message->LocalUfrag() : std::string_view();
  const auto it = ufrags_.find(absl::string_view(ufrag.data(), ufrag.size()));
  if (it == ufrags_.end()) {
    ++drops_.unknownUfrag;
    return;
  }
  it->second->ReceivePacket(tuple, data, len);
}

void WebRtcServer::TupleClosed(const net::Tuple& tuple) {
  if (const auto it = tuples_.find(tuple); it != tuples_.end())
    it->second->TupleClosed(tuple); // ICE drops it, TupleRemoved erases it
  tuples_.erase(tuple);
}

// --- dump --------------------------------------------------------------------------

void WebRtcServer::HandleDump(channel::Request& request) {
  auto& b = request.Builder();
  std::vector<flatbuffers::Offset<FBS::WebRtcServer::IpPort>> udp, tcp;
  for (const auto& l : listening_) {
    if (l.udp)
      udp.push_back(
          FBS::WebRtcServer::CreateIpPortDirect(b, l.udp->LocalIp().c_str(), l.udp->LocalPort()));
    else
      tcp.push_back(
          FBS::WebRtcServer::CreateIpPortDirect(b, l.tcp->LocalIp().c_str(), l.tcp->LocalPort()));
  }
  std::vector<flatbuffers::Offset<flatbuffers::String>> ids;
  for (const WebRtcTransport* t : transports_)
    ids.push_back(b.CreateString(t->Id()));
  std::vector<flatbuffers::Offset<FBS::WebRtcServer::IceUserNameFragment>> ufrags;
  for (const auto& [ufrag, t] : ufrags_)
    ufrags.push_back(
        FBS::WebRtcServer::CreateIceUserNameFragmentDirect(b, ufrag.c_str(), t->Id().c_str()));
  std::vector<flatbuffers::Offset<FBS::WebRtcServer::TupleHash>> hashes;
  for (const auto& [tuple, t] : tuples_)
    hashes.push_back(FBS::WebRtcServer::CreateTupleHashDirect(b, tuple.Hash(), t->Id().c_str()));
  const auto dump = FBS::WebRtcServer::CreateDumpResponseDirect(b, id_.c_str(), &udp, &tcp, &ids,
                                                                &ufrags, &hashes);
  request.Accept(FBS::Response::Body::WebRtcServer_DumpResponse, dump.Union());
}

} // namespace sluice::transport
