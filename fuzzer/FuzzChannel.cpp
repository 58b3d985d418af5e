// Fuzzes the controller -> worker channel: the input is a raw byte stream on
// fd 3, split by FrameReader, verified and dispatched to a real Worker.
// Properties checked beyond "no crash / no sanitizer report":
//  - every frame the worker writes back passes the flatbuffers verifier;
//  - there are never more responses than frames dispatched (each request
//    gets at most one answer; the unit and node tests check exactly one).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <uv.h>

#include "message_generated.h"
#include "sluice/channel/Dispatcher.hpp"
#include "sluice/channel/FrameReader.hpp"
#include "sluice/router/MemoryReport.hpp"
#include "sluice/router/Worker.hpp"

using namespace sluice;

namespace {

void CheckOutput(channel::ChannelWriter& writer, size_t framesIn) {
  std::vector<uint8_t> out;
  writer.Queue().Flush(
      [&](const uint8_t* p, size_t n) -> long {
        out.insert(out.end(), p, p + n);
        return static_cast<long>(n);
      },
      SIZE_MAX);
  size_t responses = 0;
  channel::FrameReader reader(channel::FrameReader::kMaxPayload);
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t n = std::min(out.size() - pos, reader.WritableBytes());
    std::memcpy(reader.WritePtr(), out.data() + pos, n);
    reader.Commit(n);
    pos += n;
    const auto status = reader.Drain([&](const uint8_t* frame, size_t len) {
      std::vector<uint64_t> aligned((len + 7) / 8);
      std::memcpy(aligned.data(), frame, len);
      const auto* bytes = reinterpret_cast<const uint8_t*>(aligned.data());
      flatbuffers::Verifier verifier(bytes, len);
      if (!FBS::Message::VerifySizePrefixedMessageBuffer(verifier))
        std::abort(); // the worker wrote a frame that does not verify
      const auto* msg = FBS::Message::GetSizePrefixedMessage(bytes);
      if (msg->data_type() == FBS::Message::Body::Response && ++responses > framesIn)
        std::abort(); // more answers than frames
      return true;
    });
    if (status != channel::FrameReader::Status::Ok)
      std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One loop for the process: routers own timers, transports own sockets;
  // whatever an input opened is closed before the next input.
  static uv_loop_t* loop = [] {
    static uv_loop_t l;
    uv_loop_init(&l);
    return &l;
  }();
  channel::ChannelWriter writer(1u << 20);
  channel::HandlerRegistry registry;
  router::Context context;
  context.loop = loop;
  context.registry = &registry;
  context.writer = &writer;
  router::MemoryReport memory(writer);
  auto worker = std::make_unique<router::Worker>(context, memory, [] {});
  channel::Dispatcher dispatcher(writer, registry, *worker);

  // Feed the input in reads of varying size, as a pipe would deliver it.
  channel::FrameReader reader;
  size_t pos = 0;
  size_t chunk = 1;
  size_t frames = 0;
  while (pos < size) {
    const size_t n = std::min({size - pos, reader.WritableBytes(), chunk});
    std::memcpy(reader.WritePtr(), data + pos, n);
    reader.Commit(n);
    pos += n;
    chunk = chunk * 3 + 1;
    const auto status = reader.Drain([&](const uint8_t* frame, size_t len) {
      ++frames;
      dispatcher.HandleFrame(frame, len);
      return true;
    });
    if (status == channel::FrameReader::Status::Oversize)
      break;
  }
  CheckOutput(writer, frames);
  worker.reset();
  uv_run(loop, UV_RUN_NOWAIT);
  return 0;
}
