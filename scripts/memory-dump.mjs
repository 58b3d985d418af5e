// sluice's memory section of worker.dump(), for the scripts (demo, soak).
//
// sluice appends `memory` (field 5, FBS.Worker.MemoryDump) to FBS.Worker.DumpResponse; the
// Node library's reader does not know it, so it is read from the response buffer while
// worker.dump() decodes it. Field indexes follow fbs/worker.fbs (MemoryDump, PacketPoolDump,
// RetransmissionRingsDump, ChannelDump, MallocDump); a worker without the section (e.g.
// mediasoup-worker) leaves the last figures null.
//
//   const memory = watchMemoryDump(require);   // require resolving 'mediasoup'
//   await worker.dump(); memory.last           // -> { rssBytes, pool: {...}, rings, channel, malloc }

const field = (bb, pos, index) => (pos === null ? 0 : bb.__offset(pos, 4 + 2 * index));
const table = (bb, pos, index) => {
  const o = field(bb, pos, index);
  return o ? bb.__indirect(pos + o) : null;
};
const u64 = (bb, pos, index) => {
  const o = field(bb, pos, index);
  return o ? Number(bb.readUint64(pos + o)) : 0;
};
const fields = (bb, pos, names) => (pos === null ? null
  : Object.fromEntries(names.map((name, i) => [name, name ? u64(bb, pos, i) : 0]).filter(([n]) => n)));

// Field names in schema order ('' skips a field of another type).
const POOL = ['', 'slotsInUse', 'slotsCapacity', 'slabsHeld', 'spareSlabs', 'bytesHeld', 'highWaterSlots',
  'slabsReturned', 'dropsAtCap', 'byteCap', 'coldSlabs', 'slabsCooled', 'bytesTouched', 'slabsMapped'];
const RINGS = ['rings', 'packetsHeld', 'bucketsHeld', 'packetsReleasedByTimer'];
const CHANNEL = ['outQueuedBytes', 'outQueueHighWaterBytes', 'outQueueLimitBytes', 'droppedNotifications',
  'droppedLogs', 'rejectedFrames', 'errorResponses'];
const MALLOC = ['arenaBytes', 'inUseBytes', 'freeBytes', 'mmapBytes', 'releasableBytes'];

export function readMemoryDump(bb, dumpPos) {
  const memory = table(bb, dumpPos, 5);
  if (memory === null) return null;
  return {
    rssBytes: u64(bb, memory, 3),
    pool: fields(bb, table(bb, memory, 0), POOL),
    rings: fields(bb, table(bb, memory, 1), RINGS),
    channel: fields(bb, table(bb, memory, 2), CHANNEL),
    malloc: fields(bb, table(bb, memory, 4), MALLOC),
  };
}

export function watchMemoryDump(require) {
  const { DumpResponse } = require('mediasoup/node/lib/fbs/worker/dump-response');
  const state = { last: null };
  // flatbuffers' union accessor sets bb/bb_pos directly; the library's parser then reads pid()
  // first, while the response buffer is still current: hook there.
  const pid = DumpResponse.prototype.pid;
  DumpResponse.prototype.pid = function () {
    try {
      state.last = readMemoryDump(this.bb, this.bb_pos);
    } catch {
      state.last = null; // not a sluice worker
    }
    return pid.call(this);
  };
  return state;
}
