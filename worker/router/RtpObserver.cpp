#include "sluice/router/RtpObserver.hpp"

#include <array>

#include "request_generated.h"
#include "sluice/channel/MethodTable.hpp"
#include "sluice/router/Producer.hpp"
#include "sluice/transport/Transport.hpp"

namespace sluice::router {

using channel::MethodEntry;
using FBS::Request::Body;
using FBS::Request::Method;

struct RtpObserverMethods {
  static const std::array<MethodEntry<RtpObserver>, 4> kTable;
};

const std::array<MethodEntry<RtpObserver>, 4> RtpObserverMethods::kTable = {{
    {Method::RTPOBSERVER_PAUSE, Body::NONE, &RtpObserver::HandlePause},
    {Method::RTPOBSERVER_RESUME, Body::NONE, &RtpObserver::HandleResume},
    {Method::RTPOBSERVER_ADD_PRODUCER, Body::RtpObserver_AddProducerRequest,
     &RtpObserver::HandleAddProducer},
    {Method::RTPOBSERVER_REMOVE_PRODUCER, Body::RtpObserver_RemoveProducerRequest,
     &RtpObserver::HandleRemoveProducer},
}};

RtpObserver::RtpObserver(const Context& context, std::string id, transport::TransportOwner& router,
                         uint64_t intervalMs)
    : context_(context), id_(std::move(id)), router_(router), intervalMs_(intervalMs),
      timer_(new uv_timer_t) {
  uv_timer_init(context_.loop, timer_);
  timer_->data = this;
  StartTimer();
}

RtpObserver::~RtpObserver() {
  for (Producer* p : producers_)
    p->RemoveObserver(this);
  uv_timer_stop(timer_);
  timer_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  context_.registry->Remove(id_);
}

void RtpObserver::StartTimer() {
  uv_timer_start(
      timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<RtpObserver*>(t->data);
        self->OnInterval(self->context_.NowMs());
      },
      intervalMs_, intervalMs_);
}

void RtpObserver::HandleRequest(channel::Request& request) {
  channel::DispatchMethod(*this, RtpObserverMethods::kTable, {"RTPOBSERVER_"}, "RtpObserver",
                          request);
}

size_t RtpObserver::IndexOf(const Producer* producer) const {
  for (size_t i = 0; i < producers_.size(); ++i)
    if (producers_[i] == producer)
      return i;
  return kNotFound;
}

// --- media ---------------------------------------------------------------------

void RtpObserver::OnProducerRtp(Producer& producer, const rtp::RtpPacket& packet, uint64_t nowMs) {
  if (paused_)
    return;
  const auto level = rtp::ParseAudioLevel(packet.GetExtension(producer.AudioLevelId()));
  if (!level)
    return;
  const size_t index = IndexOf(&producer);
  if (index != kNotFound)
    OnLevel(index, *level, nowMs);
}

void RtpObserver::OnProducerPaused(Producer& producer) {
  if (const size_t index = IndexOf(&producer); index != kNotFound)
    OnProducerMuted(index, true, context_.NowMs());
}

void RtpObserver::OnProducerResumed(Producer& producer) {
  if (const size_t index = IndexOf(&producer); index != kNotFound)
    OnProducerMuted(index, false, context_.NowMs());
}

void RtpObserver::OnProducerClosed(Producer& producer) {
  // The producer has already forgotten us.
  if (const size_t index = IndexOf(&producer); index != kNotFound)
    Remove(index);
}

void RtpObserver::Remove(size_t index) {
  EraseState(index);
  producers_[index] = producers_.back();
  producers_.pop_back();
}

// --- requests --------------------------------------------------------------------

void RtpObserver::HandlePause(channel::Request& request) {
  request.Accept();
  if (paused_)
    return;
  paused_ = true;
  uv_timer_stop(timer_);
  OnPause(context_.NowMs());
}

void RtpObserver::HandleResume(channel::Request& request) {
  request.Accept();
  if (!paused_)
    return;
  paused_ = false;
  StartTimer(); // a whole interval of fresh levels before the next report
}

void RtpObserver::HandleAddProducer(channel::Request& request) {
  const auto* body = request.Body<FBS::RtpObserver::AddProducerRequest>();
  Producer* producer = router_.FindProducer(body->producer_id()->string_view());
  if (producer == nullptr) {
    request.Error("Producer not found");
    return;
  }
  if (producer->Kind() != MediaKind::Audio) {
    request.TypeError("not an audio Producer");
    return;
  }
  if (IndexOf(producer) != kNotFound) {
    request.Error("Producer already in map");
    return;
  }
  producers_.push_back(producer);
  AddState(context_.NowMs());
  producer->AddObserver(this);
  if (producer->Paused())
    OnProducerMuted(producers_.size() - 1, true, context_.NowMs());
  request.Accept();
}

void RtpObserver::HandleRemoveProducer(channel::Request& request) {
  const auto* body = request.Body<FBS::RtpObserver::RemoveProducerRequest>();
  Producer* producer = router_.FindProducer(body->producer_id()->string_view());
  const size_t index = producer != nullptr ? IndexOf(producer) : kNotFound;
  if (index == kNotFound) {
    request.Error("Producer not found");
    return;
  }
  producer->RemoveObserver(this);
  Remove(index);
  request.Accept();
}

} // namespace sluice::router
