// sluice appends `sluice_drops` (field 24 of FBS.Transport.Stats, table Drops in
// fbs/transport.fbs) to every transport's stats. The mediasoup Node library does
// not know the field, so it is read while the library decodes the stats: its
// parser calls transportId() first, with the response buffer current.
//
//   const dropsOf = installDropsReader(require);   // once per process
//   const drops = await dropsOf(transport);         // { notRtpOrRtcp: n, ... } or null
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// In fbs/transport.fbs order.
export const DROP_FIELDS = ['notRtpOrRtcp', 'badRtp', 'noProducer', 'badRtcp', 'unknownTuple', 'srtpFailures',
  'notConnected', 'socketTruncated', 'badStun', 'badDtls', 'unknownRid', 'notDirect', 'tooLarge',
  'channelFull'];
const STATS_DROPS_FIELD = 24;

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json'));
const lastDrops = new Map(); // transport id -> { field: count }
let installed = false;

function install() {
  if (installed) return;
  installed = true;
  const { Stats } = require('mediasoup/node/lib/fbs/transport/stats');
  const transportId = Stats.prototype.transportId;
  Stats.prototype.transportId = function (...args) {
    const id = transportId.apply(this, args);
    const { bb, bb_pos: pos } = this;
    try {
      const o = bb.__offset(pos, 4 + 2 * STATS_DROPS_FIELD);
      if (o) {
        const drops = bb.__indirect(pos + o);
        // Fields a newer worker appends past DROP_FIELDS are read too (as
        // fieldN, all uint64 in this table), from the vtable's own length.
        const vtable = drops - bb.readInt32(drops);
        const count = Math.max(DROP_FIELDS.length, (bb.readInt16(vtable) - 4) / 2);
        lastDrops.set(id, Object.fromEntries(Array.from({ length: count }, (_, k) => {
          const f = bb.__offset(drops, 4 + 2 * k);
          return [DROP_FIELDS[k] ?? `field${k}`, f ? Number(bb.readUint64(drops + f)) : 0];
        })));
      }
    } catch {
      // not a sluice worker: no drop counters
    }
    return id;
  };
}

// The transport's drop counters as of a fresh getStats(); null from a worker
// that does not send them (mediasoup-worker).
export async function dropsOf(transport) {
  install();
  await transport.getStats();
  return lastDrops.get(transport.id) ?? null;
}
