#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "message_generated.h"
#include "sluice/channel/Dispatcher.hpp"
#include "sluice/channel/FrameReader.hpp"
#include "sluice/router/MemoryReport.hpp"
#include "sluice/router/Worker.hpp"

using namespace sluice;
using FBS::Request::Method;

namespace {

struct Loop {
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_NOWAIT); // close callbacks of what the worker opened
    uv_loop_close(&loop);
  }
  uv_loop_t loop;
};

struct Harness {
  Loop loop;
  channel::ChannelWriter writer{1 << 20};
  channel::HandlerRegistry registry;
  router::Context context = [this] {
    router::Context c;
    c.loop = &loop.loop;
    c.registry = &registry;
    c.writer = &writer;
    return c;
  }();
  router::MemoryReport memory{writer};
  int closeRequests = 0;
  router::Worker worker{context, memory, [this] { ++closeRequests; }};
  channel::Dispatcher dispatcher{writer, registry, worker};

  void Send(const std::vector<uint8_t>& frame) {
    dispatcher.HandleFrame(frame.data(), frame.size());
  }

  // Everything the worker queued, split into frames.
  std::vector<std::vector<uint8_t>> Drain() {
    std::vector<uint8_t> bytes;
    writer.Queue().Flush(
        [&](const uint8_t* p, size_t n) -> long {
          bytes.insert(bytes.end(), p, p + n);
          return static_cast<long>(n);
        },
        SIZE_MAX);
    std::vector<std::vector<uint8_t>> frames;
    channel::FrameReader reader;
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t n = std::min(bytes.size() - pos, reader.WritableBytes());
      std::memcpy(reader.WritePtr(), bytes.data() + pos, n);
      reader.Commit(n);
      pos += n;
      reader.Drain([&](const uint8_t* p, size_t len) {
        frames.emplace_back(p, p + len);
        return true;
      });
    }
    return frames;
  }

  // The single response the last request produced.
  const FBS::Response::Response* OneResponse() {
    last_ = Drain();
    REQUIRE(last_.size() == 1);
    flatbuffers::Verifier v(last_[0].data(), last_[0].size());
    REQUIRE(FBS::Message::VerifySizePrefixedMessageBuffer(v));
    const auto* msg = FBS::Message::GetSizePrefixedMessage(last_[0].data());
    REQUIRE(msg->data_type() == FBS::Message::Body::Response);
    return msg->data_as_Response();
  }

  std::vector<std::vector<uint8_t>> last_;
};

template <typename BuildBody>
std::vector<uint8_t> RequestFrame(uint32_t id, Method method, const std::string& handlerId,
                                  FBS::Request::Body bodyType, BuildBody&& buildBody) {
  flatbuffers::FlatBufferBuilder b;
  const auto body = buildBody(b);
  const auto hid = b.CreateString(handlerId);
  const auto req = FBS::Request::CreateRequest(b, id, method, hid, bodyType, body);
  b.FinishSizePrefixed(FBS::Message::CreateMessage(b, FBS::Message::Body::Request, req.Union()));
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

std::vector<uint8_t> RequestFrame(uint32_t id, Method method, const std::string& handlerId = "") {
  return RequestFrame(id, method, handlerId, FBS::Request::Body::NONE,
                      [](flatbuffers::FlatBufferBuilder&) { return flatbuffers::Offset<void>(); });
}

std::vector<uint8_t> CreateRouterFrame(uint32_t id, const std::string& routerId) {
  return RequestFrame(
      id, Method::WORKER_CREATE_ROUTER, "", FBS::Request::Body::Worker_CreateRouterRequest,
      [&](flatbuffers::FlatBufferBuilder& b) {
        return FBS::Worker::CreateCreateRouterRequestDirect(b, routerId.c_str()).Union();
      });
}

} // namespace

TEST_CASE("Dispatcher: create a router, dump it, close it") {
  Harness h;
  h.Send(CreateRouterFrame(1, "r1"));
  auto* r = h.OneResponse();
  CHECK(r->id() == 1);
  CHECK(r->accepted());

  h.Send(RequestFrame(2, Method::ROUTER_DUMP, "r1"));
  r = h.OneResponse();
  REQUIRE(r->accepted());
  REQUIRE(r->body_type() == FBS::Response::Body::Router_DumpResponse);
  CHECK(r->body_as_Router_DumpResponse()->id()->str() == "r1");
  CHECK(r->body_as_Router_DumpResponse()->transport_ids()->size() == 0);

  h.Send(RequestFrame(3, Method::WORKER_DUMP));
  r = h.OneResponse();
  REQUIRE(r->accepted());
  const auto* dump = r->body_as_Worker_DumpResponse();
  REQUIRE(dump->router_ids()->size() == 1);
  CHECK(dump->router_ids()->Get(0)->str() == "r1");
  REQUIRE(dump->channel_message_handlers()->channel_request_handlers()->size() == 1);
  REQUIRE(dump->memory() != nullptr);
  CHECK(dump->memory()->channel()->out_queue_limit_bytes() == (1u << 20));

  h.Send(RequestFrame(4, Method::WORKER_CLOSE_ROUTER, "",
                      FBS::Request::Body::Worker_CloseRouterRequest,
                      [](flatbuffers::FlatBufferBuilder& b) {
                        return FBS::Worker::CreateCloseRouterRequestDirect(b, "r1").Union();
                      }));
  CHECK(h.OneResponse()->accepted());
  CHECK(h.registry.RequestHandlerIds().empty());

  h.Send(RequestFrame(5, Method::ROUTER_DUMP, "r1"));
  r = h.OneResponse();
  CHECK_FALSE(r->accepted());
  CHECK(r->error()->str() == "Error");
  CHECK(r->reason()->str() == "Channel request handler with ID r1 not found");
}

TEST_CASE("Dispatcher: a duplicate router id is refused and the first router survives") {
  Harness h;
  h.Send(CreateRouterFrame(1, "same"));
  CHECK(h.OneResponse()->accepted());
  h.Send(CreateRouterFrame(2, "same"));
  const auto* r = h.OneResponse();
  CHECK_FALSE(r->accepted());
  CHECK(r->reason()->str().find("already exists") != std::string::npos);
  h.Send(RequestFrame(3, Method::ROUTER_DUMP, "same"));
  CHECK(h.OneResponse()->accepted());
}

TEST_CASE("Dispatcher: body type that does not match the method is a TypeError") {
  Harness h;
  h.Send(RequestFrame(7, Method::WORKER_CREATE_ROUTER)); // no body
  const auto* r = h.OneResponse();
  CHECK(r->id() == 7);
  CHECK_FALSE(r->accepted());
  CHECK(r->error()->str() == "TypeError");
  CHECK(r->reason()->str().find("Worker_CreateRouterRequest") != std::string::npos);
}

TEST_CASE("Dispatcher: a body type with no body value is a TypeError (found by FuzzChannel)") {
  Harness h;
  h.Send(RequestFrame(12, Method::WORKER_UPDATE_SETTINGS, "",
                      FBS::Request::Body::Worker_UpdateSettingsRequest,
                      [](flatbuffers::FlatBufferBuilder&) { return flatbuffers::Offset<void>(); }));
  const auto* r = h.OneResponse();
  CHECK(r->id() == 12);
  CHECK_FALSE(r->accepted());
  CHECK(r->error()->str() == "TypeError");
  CHECK(r->reason()->str().find("missing body") != std::string::npos);
}

TEST_CASE("Dispatcher: unimplemented and unknown methods answer errors, never success") {
  Harness h;
  // A WebRtcServer with no listen infos: a clear error, nothing registered.
  h.Send(RequestFrame(8, Method::WORKER_CREATE_WEBRTCSERVER, "",
                      FBS::Request::Body::Worker_CreateWebRtcServerRequest,
                      [](flatbuffers::FlatBufferBuilder& b) {
                        return FBS::Worker::CreateCreateWebRtcServerRequestDirect(b, "s").Union();
                      }));
  auto* r = h.OneResponse();
  CHECK_FALSE(r->accepted());
  CHECK(r->error()->str() == "TypeError");
  CHECK(r->reason()->str() == "empty listenInfos");
  CHECK_FALSE(h.registry.Contains("s"));

  h.Send(CreateRouterFrame(9, "r"));
  CHECK(h.OneResponse()->accepted());
  h.Send(RequestFrame(10, Method::TRANSPORT_DUMP, "r")); // a transport method sent to a router
  r = h.OneResponse();
  CHECK_FALSE(r->accepted());
  CHECK(r->reason()->str().find("not handled by a Router") != std::string::npos);

  h.Send(RequestFrame(11, static_cast<Method>(200)));
  r = h.OneResponse();
  CHECK_FALSE(r->accepted());
  CHECK(r->reason()->str() == "unknown method 200");
}

TEST_CASE("Dispatcher: frames that fail verification") {
  Harness h;
  SECTION("garbage: no id can be read, no response, counted") {
    const std::vector<uint8_t> junk = {4, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    h.Send(junk);
    CHECK(h.Drain().empty());
    CHECK(h.writer.Counters().rejectedFrames == 1);
  }
  SECTION("a corrupt string past the id: the id is still answered") {
    auto frame = CreateRouterFrame(42, "abcdef");
    // Corrupt the router_id string's length prefix (find "abcdef" and bump
    // the uint32 before it) so deep verification fails.
    const std::string needle = "abcdef";
    auto it = std::search(frame.begin(), frame.end(), needle.begin(), needle.end());
    REQUIRE(it != frame.end());
    const size_t at = static_cast<size_t>(it - frame.begin()) - 4;
    frame[at + 3] = 0x7f;
    h.Send(frame);
    const auto* r = h.OneResponse();
    CHECK(r->id() == 42);
    CHECK_FALSE(r->accepted());
    CHECK(r->reason()->str().find("verification") != std::string::npos);
    CHECK(h.writer.Counters().rejectedFrames == 1);
  }
  SECTION("a Response sent to the worker is dropped with a warning, not answered") {
    flatbuffers::FlatBufferBuilder b;
    const auto resp = FBS::Response::CreateResponse(b, 5, true);
    b.FinishSizePrefixed(
        FBS::Message::CreateMessage(b, FBS::Message::Body::Response, resp.Union()));
    h.Send(std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()));
    CHECK(h.Drain().empty());
    CHECK(h.writer.Counters().rejectedFrames == 1);
  }
  // Whatever came before, the channel still works.
  h.Send(RequestFrame(99, Method::WORKER_GET_RESOURCE_USAGE));
  const auto* r = h.OneResponse();
  CHECK(r->accepted());
  CHECK(r->body_type() == FBS::Response::Body::Worker_ResourceUsageResponse);
}

TEST_CASE("Dispatcher: misaligned frames are handled") {
  Harness h;
  const auto frame = CreateRouterFrame(3, "aligned?");
  std::vector<uint8_t> shifted(frame.size() + 1);
  std::memcpy(shifted.data() + 1, frame.data(), frame.size());
  h.dispatcher.HandleFrame(shifted.data() + 1, frame.size());
  CHECK(h.OneResponse()->accepted());
}

TEST_CASE("Dispatcher: WORKER_CLOSE is accepted and asks the process to close") {
  Harness h;
  h.Send(RequestFrame(1, Method::WORKER_CLOSE));
  CHECK(h.OneResponse()->accepted());
  CHECK(h.closeRequests == 1);
}
