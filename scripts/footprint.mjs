// Resident memory per consumer (PlainTransport + consumer, NACK on), and how
// much of a peak the worker gives back. Drives any worker binary through the
// mediasoup Node library (MEDIASOUP_WORKER_BIN, or mediasoup's own worker).
//
//   MEDIASOUP_WORKER_BIN=build/worker/sluice-worker node scripts/footprint.mjs \
//     [--consumers 300] [--base 10] [--pps 150] [--settle 3] [--shrink-wait 30]
//
// One VP8 producer streams synthetic packets at --pps; --base consumers are
// created and the worker's RSS read (VmRSS), then the rest up to --consumers,
// RSS read again: the difference over the added consumers is the per-consumer
// figure. Then all but --base are closed and RSS is read after --shrink-wait
// seconds, as a ratio to the --base figure.
import { createRequire } from 'node:module';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'test/node/package.json'));
const mediasoup = require('mediasoup');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const TOTAL = Number(args.consumers ?? 300);
const BASE = Number(args.base ?? 10);
const PPS = Number(args.pps ?? 150);
const SETTLE_S = Number(args.settle ?? 3);
const SHRINK_S = Number(args['shrink-wait'] ?? 30);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const worker = await mediasoup.createWorker({ rtcMinPort: 20000, rtcMaxPort: 40000 });
const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
const input = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
const producer = await input.produce({
  kind: 'video',
  rtpParameters: {
    codecs: [
      { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] },
      { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
    ],
    encodings: [{ ssrc: 7777, rtx: { ssrc: 7778 } }],
  },
});

const sink = dgram.createSocket('udp4');
await new Promise((r) => sink.bind(0, '127.0.0.1', r));
let received = 0;
sink.on('message', () => { received++; });
const send = dgram.createSocket('udp4');
await new Promise((r) => send.bind(0, '127.0.0.1', r));
let seq = 0;
let ts = 0;
const pump = setInterval(() => {
  for (let k = 0; k < PPS / 50; k++) {
    const packet = Buffer.alloc(12 + 1 + 1000); // dgram sends later: one buffer per packet
    packet[0] = 0x80; packet[1] = 96;
    packet.writeUInt16BE(seq & 0xffff, 2); packet.writeUInt32BE(ts >>> 0, 4); packet.writeUInt32BE(7777, 8);
    packet[12] = 0x10; packet[13] = seq % 150 === 0 ? 0x00 : 0x01;
    send.send(packet, input.tuple.localPort, '127.0.0.1');
    seq++; if (seq % 3 === 0) ts += 3000;
  }
}, 20);

const consumers = [];
async function addConsumers(n) {
  for (let i = 0; i < n; i++) {
    const t = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
    await t.connect({ ip: '127.0.0.1', port: sink.address().port });
    const c = await t.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    consumers.push({ t, c });
  }
}

await addConsumers(BASE);
await sleep(SETTLE_S * 1000);
const baseRss = rssKiB(worker.pid);
await addConsumers(TOTAL - BASE);
await sleep(SETTLE_S * 1000);
const peakRss = rssKiB(worker.pid);
const perConsumer = ((peakRss - baseRss) * 1024) / (TOTAL - BASE);
for (const { t } of consumers.splice(BASE)) t.close();
await sleep(SHRINK_S * 1000);
const afterRss = rssKiB(worker.pid);
clearInterval(pump);

const result = {
  worker: process.env.MEDIASOUP_WORKER_BIN ?? 'mediasoup-worker',
  consumers: TOTAL, base: BASE, pps: PPS,
  rssBaseKiB: baseRss, rssPeakKiB: peakRss, rssAfterShrinkKiB: afterRss,
  bytesPerConsumer: Math.round(perConsumer),
  afterShrinkOverBase: +(afterRss / baseRss).toFixed(3),
  packetsReceived: received,
};
console.log(`RSS with ${BASE} consumers ${baseRss} KiB, with ${TOTAL} ${peakRss} KiB: `
  + `${(perConsumer / 1024).toFixed(2)} KiB per consumer; ${SHRINK_S} s after closing back to ${BASE}: `
  + `${afterRss} KiB (${result.afterShrinkOverBase}x the ${BASE}-consumer figure)`);
console.log(JSON.stringify(result));
worker.close();
sink.close();
send.close();
