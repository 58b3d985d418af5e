// sluice appends `memory` (field 5 of FBS.Worker.DumpResponse, table
// MemoryDump in fbs/worker.fbs) to the worker dump. The mediasoup Node library
// does not know the field, so it is read while the library decodes the dump:
// its parser calls pid() first, with the response buffer current.
//
//   const mem = await memoryOf(worker); // { rssBytes, transports: { webrtcTransports, ... } } or null
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DUMP_MEMORY_FIELD = 5;
const MEMORY_RSS_FIELD = 3;
const MEMORY_TRANSPORTS_FIELD = 4;
// TransportsMemoryDump, in fbs/worker.fbs order.
export const TRANSPORTS_FIELDS = ['plainTransports', 'webrtcTransports', 'dtlsSessions', 'dtlsConnected',
  'dtlsBytesHeld', 'srtpSessions'];

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json'));
let last = null;
let installed = false;

const u64 = (bb, pos, i) => {
  const o = bb.__offset(pos, 4 + 2 * i);
  return o ? Number(bb.readUint64(pos + o)) : 0;
};
const table = (bb, pos, i) => {
  const o = bb.__offset(pos, 4 + 2 * i);
  return o ? bb.__indirect(pos + o) : null;
};

function install() {
  if (installed) return;
  installed = true;
  const { DumpResponse } = require('mediasoup/node/lib/fbs/worker/dump-response');
  const pid = DumpResponse.prototype.pid;
  DumpResponse.prototype.pid = function (...args) {
    const { bb, bb_pos: pos } = this;
    last = null;
    try {
      const memory = table(bb, pos, DUMP_MEMORY_FIELD);
      if (memory !== null) {
        const t = table(bb, memory, MEMORY_TRANSPORTS_FIELD);
        last = { rssBytes: u64(bb, memory, MEMORY_RSS_FIELD),
          transports: t === null ? null : Object.fromEntries(TRANSPORTS_FIELDS.map((name, k) => [name, u64(bb, t, k)])) };
      }
    } catch {
      // not a sluice worker
    }
    return pid.apply(this, args);
  };
}

// The worker's memory section as of a fresh dump; null from a worker that
// does not send it (mediasoup-worker).
export async function memoryOf(worker) {
  install();
  await worker.dump();
  return last;
}
