// WebRtcServer: UDP sockets and TCP listeners shared by many
// WebRtcTransports (one port per listen info for the whole worker, instead of
// ports per transport).
//
// Demultiplexing: a packet from a tuple ICE already validated goes to that
// tuple's transport (hash map by tuple). Anything else must be a STUN
// request: the local part of its USERNAME (our ufrag) names the transport
// (hash map by ufrag), whose ICE server then validates it and, on success,
// adds the tuple to the map through TupleAdded. Other packets from unknown
// tuples are dropped and counted.
//
// Lifetime: transports register in Create and unregister in their
// destructor. Closing the server closes every transport on it (the
// controller does not send CLOSE_TRANSPORT for them) through the transport's
// owner, then closes its sockets; TCP connections a transport used are
// closed with it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "sluice/channel/HandlerRegistry.hpp"
#include "sluice/net/TcpServer.hpp"
#include "sluice/net/Tuple.hpp"
#include "sluice/net/TupleListener.hpp"
#include "sluice/net/UdpSocket.hpp"
#include "sluice/router/Context.hpp"
#include "transport_generated.h"

namespace sluice::transport {

class WebRtcTransport;

struct TupleHasher {
  size_t operator()(const net::Tuple& t) const { return static_cast<size_t>(t.Hash()); }
};

class WebRtcServer final : public channel::ChannelEntity, private net::TupleListener {
public:
  struct Candidate {
    FBS::Transport::Protocol protocol;
    std::string address; // announced address or listen ip
    uint16_t port;
  };
  struct Drops {
    uint64_t unknownTuple = 0; // not STUN, from no known tuple
    uint64_t unknownUfrag = 0; // STUN naming no transport of ours
  };

  // nullptr with *error (no listen infos, bad listen info, port in use).
  static std::unique_ptr<WebRtcServer>
  Create(const router::Context& context, std::string id,
         const flatbuffers::Vector<flatbuffers::Offset<FBS::Transport::ListenInfo>>* listenInfos,
         std::string* error);
  ~WebRtcServer() override;

  const std::string& Id() const { return id_; }
  void HandleRequest(channel::Request& request) override;

  // For WebRtcTransport.
  const std::vector<Candidate>& Candidates() const { return candidates_; }
  void AddTransport(WebRtcTransport& transport);
  void RemoveTransport(WebRtcTransport& transport);
  void ChangeUfrag(const std::string& oldUfrag, WebRtcTransport& transport);
  void TupleAdded(const net::Tuple& tuple, WebRtcTransport& transport);
  void TupleRemoved(const net::Tuple& tuple);
  std::string LocalAddress(const net::Tuple& tuple) const;

  const Drops& GetDrops() const { return drops_; }

private:
  struct Listening {
    std::unique_ptr<net::UdpSocket> udp;
    std::unique_ptr<net::TcpServer> tcp;
    std::string announced;
  };

  WebRtcServer(const router::Context& context, std::string id)
      : context_(context), id_(std::move(id)) {}
  void HandleDump(channel::Request& request);

  // net::TupleListener: to the transport owning the tuple, else by the STUN
  // USERNAME's local ufrag.
  void ReceivePacket(const net::Tuple& tuple, uint8_t* data, size_t len) override;
  void TupleClosed(const net::Tuple& tuple) override;

  const router::Context& context_;
  std::string id_;
  std::vector<Listening> listening_;
  std::vector<Candidate> candidates_;
  absl::flat_hash_set<WebRtcTransport*> transports_;
  absl::flat_hash_map<std::string, WebRtcTransport*> ufrags_;
  absl::flat_hash_map<net::Tuple, WebRtcTransport*, TupleHasher> tuples_;
  Drops drops_;
};

} // namespace sluice::transport
