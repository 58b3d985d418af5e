// Routes a received RTP packet to its Producer: by SSRC, else by the MID
// header extension, else by RID (RFC 8852 / RFC 8843), learning the SSRC on
// the first match so later packets take the one hash lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "sluice/router/Producer.hpp"
#include "sluice/rtp/RtpPacket.hpp"
#include "transport_generated.h"

namespace sluice::transport {

class RtpListener {
public:
  // Registers every SSRC, MID and RID of the producer; on a clash nothing is
  // registered and *error says which ("ssrc already exists in RTP listener [ssrc:1234]").
  bool Add(router::Producer* producer, std::string* error);
  void Remove(router::Producer* producer);

  // midId / ridId: the transport's negotiated extension ids (0: none).
  router::Producer* Find(const rtp::RtpPacket& packet, uint8_t midId, uint8_t ridId) const;
  void Learn(uint32_t ssrc, router::Producer* producer) { bySsrc_[ssrc] = producer; }

  flatbuffers::Offset<FBS::Transport::RtpListener> Fill(flatbuffers::FlatBufferBuilder& b) const;
  bool HasRid() const { return !byRid_.empty(); }

private:
  absl::flat_hash_map<uint32_t, router::Producer*> bySsrc_;
  absl::flat_hash_map<std::string, router::Producer*> byMid_;
  absl::flat_hash_map<std::string, router::Producer*> byRid_;
};

} // namespace sluice::transport
