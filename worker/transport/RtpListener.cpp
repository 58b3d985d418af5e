#include "sluice/transport/RtpListener.hpp"

#include <vector>

namespace sluice::transport {

namespace {

std::string_view TextOf(rtp::ByteView v) {
  return v ? std::string_view(reinterpret_cast<const char*>(v.data), v.size) : std::string_view();
}

} // namespace

bool RtpListener::Add(router::Producer* producer, std::string* error) {
  const auto& params = producer->Params();
  std::vector<uint32_t> ssrcs;
  for (const auto& e : params.encodings) {
    if (e.ssrc)
      ssrcs.push_back(*e.ssrc);
    if (e.rtxSsrc)
      ssrcs.push_back(*e.rtxSsrc);
  }
  for (uint32_t ssrc : ssrcs) {
    if (bySsrc_.contains(ssrc)) {
      *error = "ssrc already exists in RTP listener [ssrc:" + std::to_string(ssrc) + "]";
      return false;
    }
  }
  if (!params.mid.empty() && byMid_.contains(params.mid)) {
    *error = "MID already exists in RTP listener [mid:" + params.mid + "]";
    return false;
  }
  for (const auto& e : params.encodings) {
    if (!e.rid.empty() && byRid_.contains(e.rid)) {
      *error = "RID already exists in RTP listener [rid:" + e.rid + "]";
      return false;
    }
  }
  for (uint32_t ssrc : ssrcs)
    bySsrc_[ssrc] = producer;
  if (!params.mid.empty())
    byMid_[params.mid] = producer;
  // RIDs only route when there is no MID (with a MID, RIDs live inside it).
  if (params.mid.empty())
    for (const auto& e : params.encodings)
      if (!e.rid.empty())
        byRid_[e.rid] = producer;
  return true;
}

void RtpListener::Remove(router::Producer* producer) {
  absl::erase_if(bySsrc_, [producer](const auto& kv) { return kv.second == producer; });
  absl::erase_if(byMid_, [producer](const auto& kv) { return kv.second == producer; });
  absl::erase_if(byRid_, [producer](const auto& kv) { return kv.second == producer; });
}

router::Producer* RtpListener::Find(const rtp::RtpPacket& packet, uint8_t midId,
                                    uint8_t ridId) const {
  if (const auto it = bySsrc_.find(packet.Ssrc()); it != bySsrc_.end())
    return it->second;
  if (midId != 0) {
    if (const auto mid = TextOf(packet.GetExtension(midId)); !mid.empty()) {
      const auto it = byMid_.find(absl::string_view(mid.data(), mid.size()));
      return it == byMid_.end() ? nullptr : it->second;
    }
  }
  if (ridId != 0) {
    if (const auto rid = TextOf(packet.GetExtension(ridId)); !rid.empty()) {
      const auto it = byRid_.find(absl::string_view(rid.data(), rid.size()));
      return it == byRid_.end() ? nullptr : it->second;
    }
  }
  return nullptr;
}

flatbuffers::Offset<FBS::Transport::RtpListener>
RtpListener::Fill(flatbuffers::FlatBufferBuilder& b) const {
  std::vector<flatbuffers::Offset<FBS::Common::Uint32String>> ssrcs;
  for (const auto& [ssrc, p] : bySsrc_)
    ssrcs.push_back(FBS::Common::CreateUint32StringDirect(b, ssrc, p->Id().c_str()));
  std::vector<flatbuffers::Offset<FBS::Common::StringString>> mids;
  for (const auto& [mid, p] : byMid_)
    mids.push_back(FBS::Common::CreateStringStringDirect(b, mid.c_str(), p->Id().c_str()));
  std::vector<flatbuffers::Offset<FBS::Common::StringString>> rids;
  for (const auto& [rid, p] : byRid_)
    rids.push_back(FBS::Common::CreateStringStringDirect(b, rid.c_str(), p->Id().c_str()));
  return FBS::Transport::CreateRtpListenerDirect(b, &ssrcs, &mids, &rids);
}

} // namespace sluice::transport
