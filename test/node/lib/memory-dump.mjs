// sluice's memory section of worker.dump(), for the tests and the scripts.
//
// sluice appends `memory` (field 5 of FBS.Worker.DumpResponse, table MemoryDump in
// fbs/worker.fbs) to the worker dump. The mediasoup Node library does not know the field, so it
// is read while the library decodes the dump: its parser calls pid() first, with the response
// buffer current. A worker without the section (mediasoup-worker) gives null.
//
//   const mem = await memoryOf(worker);
//   // { rssBytes, pool: {...}, rings: {...}, channel: {...}, malloc: {...}, transports: {...} } or null
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json'));

// Field names per table in fbs/worker.fbs order ('' skips a field that is not a uint64).
const POOL = ['', 'slotsInUse', 'slotsCapacity', 'slabsHeld', 'spareSlabs', 'bytesHeld', 'highWaterSlots',
  'slabsReturned', 'dropsAtCap', 'byteCap', 'coldSlabs', 'slabsCooled', 'bytesTouched', 'slabsMapped'];
const RINGS = ['rings', 'packetsHeld', 'bucketsHeld', 'packetsReleasedByTimer'];
const CHANNEL = ['outQueuedBytes', 'outQueueHighWaterBytes', 'outQueueLimitBytes', 'droppedNotifications',
  'droppedLogs', 'rejectedFrames', 'errorResponses'];
const MALLOC = ['arenaBytes', 'inUseBytes', 'freeBytes', 'mmapBytes', 'releasableBytes'];
export const TRANSPORTS_FIELDS = ['plainTransports', 'webrtcTransports', 'dtlsSessions', 'dtlsConnected',
  'dtlsBytesHeld', 'srtpSessions', 'directTransports'];
const DUMP_MEMORY_FIELD = 5;
// MemoryDump: pool, rings, channel, rss_bytes, malloc, transports.
const [POOL_F, RINGS_F, CHANNEL_F, RSS_F, MALLOC_F, TRANSPORTS_F] = [0, 1, 2, 3, 4, 5];

const offset = (bb, pos, i) => (pos === null ? 0 : bb.__offset(pos, 4 + 2 * i));
const table = (bb, pos, i) => {
  const o = offset(bb, pos, i);
  return o ? bb.__indirect(pos + o) : null;
};
const u64 = (bb, pos, i) => {
  const o = offset(bb, pos, i);
  return o ? Number(bb.readUint64(pos + o)) : 0;
};
const fields = (bb, pos, names) => (pos === null ? null
  : Object.fromEntries(names.map((name, i) => [name, u64(bb, pos, i)]).filter(([name]) => name)));

// The memory section of a DumpResponse table at `pos` in `bb`, or null.
export function readMemoryDump(bb, pos) {
  const memory = table(bb, pos, DUMP_MEMORY_FIELD);
  if (memory === null) return null;
  return {
    rssBytes: u64(bb, memory, RSS_F),
    pool: fields(bb, table(bb, memory, POOL_F), POOL),
    rings: fields(bb, table(bb, memory, RINGS_F), RINGS),
    channel: fields(bb, table(bb, memory, CHANNEL_F), CHANNEL),
    malloc: fields(bb, table(bb, memory, MALLOC_F), MALLOC),
    transports: fields(bb, table(bb, memory, TRANSPORTS_F), TRANSPORTS_FIELDS),
  };
}

// Hooks the library's dump reader once; `state.last` is the section of the latest dump.
const state = { last: null };
let installed = false;
export function watchMemoryDump() {
  if (installed) return state;
  installed = true;
  const { DumpResponse } = require('mediasoup/node/lib/fbs/worker/dump-response');
  const pid = DumpResponse.prototype.pid;
  DumpResponse.prototype.pid = function (...args) {
    try {
      state.last = readMemoryDump(this.bb, this.bb_pos);
    } catch {
      state.last = null; // not a sluice worker
    }
    return pid.apply(this, args);
  };
  return state;
}

// The worker's memory section as of a fresh dump; null from a worker that does not send it.
export async function memoryOf(worker) {
  watchMemoryDump();
  await worker.dump();
  return state.last;
}
