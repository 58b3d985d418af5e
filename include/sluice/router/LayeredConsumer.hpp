// What the simulcast and svc kinds share: one outgoing stream fed from
// spatial and temporal layers chosen per consumer, with preferred, target
// and current layers, CONSUMER_LAYERS_CHANGE, and the per-consumer PictureID
// / TL0PICIDX continuity (PictureIdRewriter) recorded with the seq segments
// (LayerRewrite), so retransmissions carry this consumer's rewrites.
//
// Per packet (SendLayer): the temporal layer is raised one step at a frame
// that allows it (VP8 Y / TID 0, VP9 U, frame-marking B) and lowered at any
// frame start; packets above it are skipped (the output seqs close over
// them and, for VP8, so do PictureIDs). Which spatial layer a packet belongs
// to, and when the consumer may move between spatial layers, is the kind's.
// Target layers: the preferred ones, or the best active below them (the
// lowest active above when nothing below is active); the bandwidth
// estimation issue will cap them by bitrate.
#pragma once

#include <cstdint>
#include <optional>

#include "sluice/router/Consumer.hpp"
#include "sluice/router/ScalabilityMode.hpp"
#include "sluice/rtp/codecs/PictureIdRewriter.hpp"

namespace sluice::router {

class LayeredConsumer : public Consumer {
public:
  std::optional<LayerPair> PreferredLayers() const override { return preferred_; }

protected:
  LayeredConsumer(const Context& context, std::string id, Producer& producer, MediaPort& port,
                  ConsumerParams params, const FBS::Transport::ConsumeRequest& request,
                  uint8_t spatialLayers);

  // Forwards (or skips) a packet sent as spatial layer `spatial`. `switching`:
  // the first packet of a new source or spatial layer (a key frame).
  // `maxSpatial`: the SID whose end of frame ends a picture (VP9), 0xFF: none.
  void SendLayer(RecvStream& stream, const rtp::RtpPacket& packet, const store::PacketRef& slot,
                 int64_t extSeq, const rtp::codecs::CodecPacket& cp, uint64_t nowMs,
                 int16_t spatial, bool switching, uint8_t maxSpatial);
  // A packet this consumer does not send.
  void SkipPacket(int64_t extSeq, const rtp::codecs::CodecPacket& cp);
  // Re-chooses the target layers; `active(i)` tells whether spatial layer i
  // can be sent now. Returns true when the target spatial layer changed.
  template <typename IsActive> bool ChooseTarget(IsActive&& active);
  // The layers now sent changed (or nothing is sent): notify once per change.
  void SetCurrent(int16_t spatial, int16_t temporal);

  // The consumer's own encoding's scalability mode (the controller writes
  // the layers it may choose from there).
  static ScalabilityMode ModeOf(const FBS::Transport::ConsumeRequest& request);
  uint8_t SpatialLayers() const { return spatialLayers_; }
  uint8_t TemporalLayers() const { return temporalLayers_; }

  ConsumerStream stream_;
  LayerPair preferred_;
  LayerPair target_;
  LayerPair current_;

private:
  Layers DumpLayers() const override;
  void SetPreferredLayers(uint8_t spatial, std::optional<uint8_t> temporal) override;
  bool StatsIncludeSources() const override { return true; }

  uint8_t spatialLayers_;
  uint8_t temporalLayers_;
  bool closePidGaps_; // VP8: frames dropped for temporal layers leave no PictureID gap
  rtp::codecs::PictureIdRewriter ids_;
};

template <typename IsActive> bool LayeredConsumer::ChooseTarget(IsActive&& active) {
  int16_t spatial = -1;
  for (int16_t s = preferred_.spatial; s >= 0; --s)
    if (active(s)) {
      spatial = s;
      break;
    }
  for (int16_t s = preferred_.spatial + 1; spatial < 0 && s < spatialLayers_; ++s)
    if (active(s))
      spatial = s;
  // Below the preferred spatial layer, all of its temporal layers.
  const int16_t temporal = spatial < 0                     ? -1
                           : spatial == preferred_.spatial ? preferred_.temporal
                                                           : int16_t(temporalLayers_ - 1);
  const bool changed = spatial != target_.spatial;
  target_ = LayerPair{spatial, temporal};
  return changed;
}

} // namespace sluice::router
