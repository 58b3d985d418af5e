// TransportCensus: what the live transports hold in crypto state, counted at
// dump time by walking the routers (Router::AddToCensus), so no counter has
// to be kept in step with every create, connect and close. The worker dump
// reports it as MemoryDump.transports (fbs/worker.fbs).
#pragma once

#include <cstdint>

namespace sluice::transport {

struct TransportCensus {
  uint64_t plainTransports = 0;
  uint64_t webRtcTransports = 0;
  uint64_t dtlsSessions = 0;  // DtlsTransports alive, any state
  uint64_t dtlsConnected = 0; // Connected, OpenSSL's session freed
  // Sum of DtlsTransport::HeldBytes(): per-state figures measured in
  // TestDtlsTransport, not a live allocator reading.
  uint64_t dtlsBytesHeld = 0;
  uint64_t srtpSessions = 0; // SrtpSession objects, one per direction
  uint64_t directTransports = 0;
};

} // namespace sluice::transport
