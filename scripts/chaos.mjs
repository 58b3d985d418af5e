// Chaos check: garbage on every open UDP port of the worker while a real stream flows.
//
//   synthetic VP8 sender (demo-synth.mjs) ─► PlainTransport (comedia) ─► Producer
//     ─► N SimpleConsumers on PlainTransports ─► NACKing receivers (demo-receiver.mjs)
//   plus one WebRtcTransport (ICE never completes) whose UDP port only ever sees junk.
//
// Phases: warm-up, a no-flood baseline, then the flood: a worker thread sends --rate
// datagrams/s for --seconds from other source ports to every port (random bytes,
// truncated RTP, RTP with a bad version / CSRC count / extension length / padding,
// RTCP compounds with wrong lengths, STUN-looking junk, oversized datagrams), while this
// thread sends malformed RTP/RTCP FROM the real tuples (the producer's comedia-learned
// source, each consumer's receiver) so they pass the tuple filter and reach the parsers.
//
// Checks (exit 1 if any fails): the worker is alive afterwards (same pid, answers a dump);
// its RSS at the end of the flood is within --rss-slack-mb of the start; every consumer
// got >= 99% of the sent packets (after NACK repair); each consumer's packet rate during
// the flood is within --rate-tolerance of its baseline rate; the drop counters sluice
// appends to FBS.Transport.Stats (sluice_drops) went up where the junk was aimed.
//
//   node scripts/chaos.mjs [--seconds 20] [--rate 30000] [--baseline 10] [--consumers 3]
//                          [--tuple-rate 2000] [--loss 0.02] [--rss-slack-mb 2]

import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker as Thread, isMainThread, parentPort, workerData } from 'node:worker_threads';

// --- junk -------------------------------------------------------------------------------
// Each generator returns one datagram. `ssrc` (optional) is put where an SSRC goes, so
// malformed packets from the real tuple can carry the real stream's SSRC.
const rnd = (n) => crypto.randomInt(n);
const u32 = () => crypto.randomBytes(4).readUInt32BE(0);
function rtpHeader(len, { version = 2, p = 0, x = 0, cc = 0, pt = rnd(128), ssrc = u32() } = {}) {
  const buf = crypto.randomBytes(len);
  buf[0] = (version << 6) | (p << 5) | (x << 4) | cc;
  if (len > 1) buf[1] = (rnd(2) << 7) | pt;
  if (len > 1 && buf[1] >= 192 && buf[1] <= 223) buf[1] &= 0x7f; // RFC 5761 §4: not RTCP-looking
  if (len >= 12) buf.writeUInt32BE(ssrc >>> 0, 8);
  return buf;
}
export const JUNK = {
  random: () => crypto.randomBytes(1 + rnd(1400)),
  truncatedRtp: () => rtpHeader(1 + rnd(11)),
  badVersion: (ssrc) => rtpHeader(12 + rnd(200), { version: [0, 1, 3][rnd(3)], ssrc }),
  csrcOverrun: (ssrc) => rtpHeader(12 + rnd(4 * 15 - 3), { cc: 15, ssrc }), // needs 72 bytes
  extensionOverrun: (ssrc) => {
    const buf = rtpHeader(16 + rnd(100), { x: 1, ssrc });
    buf.writeUInt16BE(0xbede, 12);
    buf.writeUInt16BE(Math.ceil(buf.length / 4) + rnd(0xffff - Math.ceil(buf.length / 4)), 14);
    return buf;
  },
  paddingOverrun: (ssrc) => {
    const buf = rtpHeader(13 + rnd(200), { p: 1, ssrc });
    buf[buf.length - 1] = Math.min(255, buf.length - 12 + 1 + rnd(100)); // past the header
    return buf;
  },
  // A compound whose length fields do not add up: too long, zero-length packets in the
  // middle, a report count larger than the packet, a bad version in the second packet.
  badRtcp: (ssrc) => {
    const n = 12 + 4 * rnd(39); // (8 bytes could be one whole, valid packet)
    const buf = crypto.randomBytes(n);
    buf[0] = 0x80 | rnd(32);
    buf[1] = 200 + rnd(7);
    buf.writeUInt32BE((ssrc ?? u32()) >>> 0, 4);
    switch (rnd(4)) {
      case 0: buf.writeUInt16BE(n / 4 + 1 + rnd(1000), 2); break; // runs past the end
      case 1: { // first packet fine, the second's length runs past the end
        const first = 4 * (1 + rnd(Math.max(1, n / 4 - 2)));
        buf.writeUInt16BE(first / 4 - 1, 2);
        if (first + 4 <= n) { buf[first] = 0x80; buf[first + 1] = 200 + rnd(7); buf.writeUInt16BE(0xffff, first + 2); }
        break;
      }
      case 2: buf.writeUInt16BE(n / 4 - 1, 2); buf[0] = 0x80 | 31; buf[1] = 200 + rnd(2); break; // RC=31
      default: { // second packet with version 1 / 3
        buf.writeUInt16BE(1, 2);
        if (n >= 12) buf[8] = (rnd(2) ? 0x40 : 0xc0) | rnd(32);
      }
    }
    return buf;
  },
  stunJunk: () => {
    const n = 1 + rnd(300);
    const buf = crypto.randomBytes(Math.max(n, 4));
    buf[0] = rnd(2); buf[1] = [0x01, 0x11, 0x01][rnd(3)];
    if (buf.length >= 8) buf.writeUInt32BE(0x2112a442, 4);
    if (buf.length >= 4) buf.writeUInt16BE(rnd(2) ? rnd(0x10000) : Math.max(0, buf.length - 20) & ~3, 2);
    for (let off = 20; off + 4 <= buf.length; off += 4 + 4 * rnd(8)) buf.writeUInt16BE(rnd(0x10000), off + 2);
    return buf;
  },
  // Well-formed RTP of an SSRC nobody announced (never the real one: that would be media).
  strangerRtp: () => rtpHeader(12 + rnd(300), { pt: [96, 97, rnd(128)][rnd(3)] }),
  oversized: () => crypto.randomBytes(2049 + rnd(7000)),
};
// What goes to every port from other source ports, with weights.
const FLOOD_MIX = [
  ['random', 5], ['truncatedRtp', 3], ['badVersion', 2], ['csrcOverrun', 2], ['extensionOverrun', 2],
  ['paddingOverrun', 2], ['badRtcp', 3], ['stunJunk', 2], ['oversized', 1],
];
// What goes from the real tuples: packets that pass the tuple filter, then must fail a parser.
const TUPLE_MIX = [
  ['truncatedRtp', 2], ['badVersion', 1], ['csrcOverrun', 2], ['extensionOverrun', 2], ['paddingOverrun', 2],
  ['badRtcp', 3], ['random', 1], ['strangerRtp', 1],
];
function picker(mix) {
  const bag = mix.flatMap(([kind, weight]) => Array(weight).fill(kind));
  return () => bag[rnd(bag.length)];
}

// --- the flood thread --------------------------------------------------------------------
// Precomputes a pool of junk (regenerated a slice at a time), sends `rate` datagrams/s
// round-robin over the targets from 8 sockets (8 source ports) until `stop`.
async function floodThread({ targets, rate, seconds }) {
  const counts = { sent: 0, bytes: 0, errors: 0, byKind: {}, byPort: {} };
  const pick = picker(FLOOD_MIX);
  const pool = Array.from({ length: 8192 }, () => { const kind = pick(); return { kind, buf: JUNK[kind]() }; });
  const sockets = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => { counts.errors++; });
    s.bind(0, '127.0.0.1', () => resolve(s));
  })));
  const start = performance.now();
  const end = start + seconds * 1000;
  let i = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.floor((Math.min(now, end) - start) * rate / 1000);
      for (let n = 0; counts.sent < due && n < 2000; n++) {
        const item = pool[i++ % pool.length];
        if (i % 16 === 0) { const kind = pick(); pool[rnd(pool.length)] = { kind, buf: JUNK[kind]() }; }
        const target = targets[counts.sent % targets.length];
        sockets[counts.sent & 7].send(item.buf, target.port, '127.0.0.1');
        counts.sent++;
        counts.bytes += item.buf.length;
        counts.byKind[item.kind] = (counts.byKind[item.kind] ?? 0) + 1;
        counts.byPort[target.port] = (counts.byPort[target.port] ?? 0) + 1;
      }
      if (now >= end) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((resolve) => setTimeout(resolve, 50)); // let queued sends leave
  for (const s of sockets) s.close();
  counts.seconds = (performance.now() - start) / 1000;
  parentPort.postMessage(counts);
}

if (!isMainThread) {
  await floodThread(workerData);
} else {
  process.exit(await mainThread());
}

// --- the controller ----------------------------------------------------------------------
async function mainThread() {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const require = createRequire(path.join(root, 'test/node/package.json'));
  const { values: opts } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      rate: { type: 'string', default: '30000' },
      baseline: { type: 'string', default: '10' },
      consumers: { type: 'string', default: '3' },
      'tuple-rate': { type: 'string', default: '2000' },
      loss: { type: 'string', default: '0.02' },
      'rss-slack-mb': { type: 'string', default: '2' },
      'rate-tolerance': { type: 'string', default: '0.03' },
    },
  });
  const SECONDS = Number(opts.seconds);
  const RATE = Number(opts.rate);
  const BASELINE = Number(opts.baseline);
  const CONSUMERS = Number(opts.consumers);
  const TUPLE_RATE = Number(opts['tuple-rate']);
  const LOSS = Number(opts.loss);
  const RSS_SLACK = Number(opts['rss-slack-mb']) * 1024 * 1024;
  const RATE_TOL = Number(opts['rate-tolerance']);
  if (!(SECONDS >= 1) || !(RATE >= 1) || !(BASELINE >= 1) || !(CONSUMERS >= 1 && CONSUMERS <= 32)
      || !(TUPLE_RATE >= 0) || !(LOSS >= 0 && LOSS < 0.5) || !(RSS_SLACK >= 0) || !(RATE_TOL > 0)) {
    console.error('usage: chaos [--seconds N] [--rate N/s] [--baseline N] [--consumers 1..32] [--tuple-rate N/s]'
      + ' [--loss 0..0.5] [--rss-slack-mb N] [--rate-tolerance F]');
    return 2;
  }
  if (!process.env.MEDIASOUP_WORKER_BIN) {
    console.error('MEDIASOUP_WORKER_BIN must name the worker binary (scripts/chaos sets it)');
    return 2;
  }
  const mediasoup = require('mediasoup');
  const { openReceivingConsumer } = await import('./demo-receiver.mjs');
  const { SyntheticSender, produceVp8 } = await import('./demo-synth.mjs');
  process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? 0 : 1));

  const num = (n) => Number(n).toLocaleString('en-US');
  const mb = (bytes) => `${(bytes / 1048576).toFixed(2)} MiB`;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  const failures = [];
  const check = (ok, what) => { console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures.push(what); };

  const { dropsOf, DROP_FIELDS } = await import('../test/node/lib/sluice-drops.mjs');
  const rssOf = (pid) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  };
  const cpuSecondsOf = (pid) => { // utime + stime, in clock ticks (USER_HZ = 100 on Linux)
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const kernelUdpDrops = () => {
    const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const [names, values] = lines.map((l) => l.split(/\s+/));
    return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
  };

  // --- set-up ----------------------------------------------------------------------------
  const warnings = new Map();
  mediasoup.setLogEventListeners({
    onwarn: (ns, log) => warnings.set(`${ns}: ${log}`, (warnings.get(`${ns}: ${log}`) ?? 0) + 1),
    onerror: (ns, log) => warnings.set(`${ns}: ${log}`, (warnings.get(`${ns}: ${log}`) ?? 0) + 1),
  });
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const pid = worker.pid;
  let died = null;
  worker.on('died', (error) => { died = error; });
  const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
  const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
  const SENDER = { pt: 96, rtxPt: 97, ssrc: 0x11112222, rtxSsrc: 0x33334444 };
  const { transport: producerTransport, producer } = await produceVp8(router, SENDER, 'sluice-chaos', listenInfo);
  const consumers = [];
  for (let i = 0; i < CONSUMERS; i++)
    consumers.push(await openReceivingConsumer(router, producer, { name: `c${i + 1}`, lossRate: LOSS, seed: 0x5eed + i, listenInfo }));
  const webrtc = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableUdp: true, enableTcp: false });
  const webrtcPort = webrtc.iceCandidates.find((c) => c.protocol === 'udp').port;

  const dest = { address: '127.0.0.1', port: producerTransport.tuple.localPort };
  const synth = new SyntheticSender({ dest, ...SENDER, fps: 30 });
  await synth.start();

  const targets = [
    { name: 'producer', port: producerTransport.tuple.localPort, transport: producerTransport },
    ...consumers.map((c) => ({ name: c.name, port: c.transport.tuple.localPort, transport: c.transport })),
    { name: 'webrtc', port: webrtcPort, transport: webrtc },
  ];
  console.log(`sluice chaos — worker ${process.env.MEDIASOUP_WORKER_BIN} (pid ${pid})`);
  console.log(`  stream: synthetic VP8 30 fps (~95 pkt/s) → ${CONSUMERS} consumers (receivers drop ${(LOSS * 100).toFixed(0)}%, NACK)`);
  console.log(`  ports:  ${targets.map((t) => `${t.name}:${t.port}`).join('  ')}`);

  // Per-consumer media arrivals (new + late, before the lossy step; RTX not counted).
  const arrivals = () => consumers.map((c) => c.receiver.stats.packets + c.receiver.stats.dropped);
  const window = async (seconds, label, each) => {
    const a0 = arrivals(); const s0 = synth.stats.packets; const t0 = performance.now();
    for (let t = 1; t <= seconds && !died; t++) {
      await sleep(t0 + t * 1000 - performance.now());
      await each?.(t);
    }
    const secs = (performance.now() - t0) / 1000;
    const a1 = arrivals();
    const result = { secs, sent: synth.stats.packets - s0, rates: a1.map((n, k) => (n - a0[k]) / secs) };
    console.log(`  ${label}: ${secs.toFixed(1)} s, sender ${num(result.sent)} pkts (${(result.sent / secs).toFixed(1)}/s); `
      + `consumers ${result.rates.map((r) => `${r.toFixed(1)}/s`).join(' ')}`);
    return result;
  };

  // --- phases ----------------------------------------------------------------------------
  await sleep(2000); // warm-up: pool slabs, rings, first RTT
  const baseline = await window(BASELINE, 'baseline (no flood)');
  const dropsBefore = new Map();
  for (const t of targets) dropsBefore.set(t.name, await dropsOf(t.transport));
  const kernelBefore = kernelUdpDrops();

  // From the real tuples: the producer's source (the synth's socket) and each receiver.
  const tuplePick = picker(TUPLE_MIX);
  const tupleSent = { producer: 0, consumers: 0 };
  const tupleSources = [
    { socket: synth.socket, port: producerTransport.tuple.localPort, ssrc: SENDER.ssrc, key: 'producer' },
    ...consumers.map((c) => ({ socket: c.receiver.socket, port: c.transport.tuple.localPort, ssrc: c.media.ssrc, key: 'consumers' })),
  ];
  let tupleTimer = null;
  const startTupleJunk = () => {
    const t0 = performance.now();
    let sent = 0;
    tupleTimer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) * TUPLE_RATE / 1000);
      for (; sent < due; sent++) {
        const src = tupleSources[sent % 2 === 0 ? 0 : 1 + ((sent >> 1) % consumers.length)];
        src.socket.send(JUNK[tuplePick()](rnd(2) ? src.ssrc : undefined), src.port, '127.0.0.1');
        tupleSent[src.key]++;
      }
    }, 5);
  };

  const rssStart = rssOf(pid);
  const cpuStart = cpuSecondsOf(pid);
  let rssPeak = rssStart;
  const flood = new Promise((resolve, reject) => {
    const thread = new Thread(fileURLToPath(import.meta.url), {
      workerData: { targets: targets.map(({ name, port }) => ({ name, port })), rate: RATE, seconds: SECONDS },
    });
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  if (TUPLE_RATE > 0) startTupleJunk();
  console.log(`  flood: ${num(RATE)} datagrams/s for ${SECONDS} s to ${targets.length} ports from 8 other ports,`
    + ` + ${num(TUPLE_RATE)}/s malformed from the real tuples; RSS at start ${mb(rssStart)}`);
  const during = await window(SECONDS, 'flood', async (t) => {
    rssPeak = Math.max(rssPeak, rssOf(pid));
    if (t % 5 === 0) console.log(`    t=${t}s RSS ${mb(rssOf(pid))}`);
  });
  clearInterval(tupleTimer);
  const rssEnd = died ? NaN : rssOf(pid);
  const cpuFlood = died ? NaN : cpuSecondsOf(pid) - cpuStart;
  const floodCounts = await flood;
  const kernelDrops = kernelUdpDrops() - kernelBefore;
  await sleep(300);
  const dropsAfter = new Map();
  for (const t of targets) dropsAfter.set(t.name, died ? null : await dropsOf(t.transport));

  // Cool-down: stop the source, let the last NACKs be answered.
  await sleep(1000);
  synth.stop();
  await sleep(800);

  // --- report ----------------------------------------------------------------------------
  console.log('');
  console.log(`flood: ${num(floodCounts.sent)} datagrams (${num(floodCounts.bytes)} bytes) in ${floodCounts.seconds.toFixed(1)} s = `
    + `${num(Math.round(floodCounts.sent / floodCounts.seconds))}/s, send errors ${floodCounts.errors}; `
    + `from real tuples: ${num(tupleSent.producer)} to the producer, ${num(tupleSent.consumers)} to consumers`);
  console.log(`  by port: ${targets.map((t) => `${t.name} ${num(floodCounts.byPort[t.port] ?? 0)}`).join(', ')}; `
    + `worker CPU during the flood ${cpuFlood.toFixed(1)} s (${((100 * cpuFlood) / during.secs).toFixed(0)}% of a core)`);
  console.log(`  by kind: ${Object.entries(floodCounts.byKind).map(([k, n]) => `${k} ${num(n)}`).join(', ')}`);
  console.log(`  kernel UDP receive-buffer drops during the flood (host-wide): ${num(kernelDrops)}`);
  console.log('drop counters (FBS.Transport.Stats.sluice_drops), increase during the flood:');
  const increase = new Map();
  for (const t of targets) {
    const before = dropsBefore.get(t.name);
    const after = dropsAfter.get(t.name);
    if (!before || !after) { console.log(`  ${t.name.padEnd(8)} (no sluice_drops in the stats)`); continue; }
    const d = Object.fromEntries(DROP_FIELDS.map((f) => [f, after[f] - before[f]]));
    increase.set(t.name, d);
    const total = Object.values(d).reduce((a, b) => a + b, 0);
    const aimed = (floodCounts.byPort[t.port] ?? 0) + (t.name === 'producer' ? tupleSent.producer
      : t.name.startsWith('c') ? Math.round(tupleSent.consumers / consumers.length) : 0);
    console.log(`  ${t.name.padEnd(8)} ${DROP_FIELDS.map((f) => `${f} ${num(d[f])}`).join(', ')}  `
      + `(total ${num(total)} of ~${num(aimed)} aimed)`);
  }

  console.log('checks:');
  let alive = false;
  try { process.kill(pid, 0); alive = !died && (await worker.dump()).pid === pid; } catch { alive = false; }
  check(alive, `worker alive after the flood (pid ${pid}${died ? `, died: ${died}` : ''})`);
  check(rssEnd - rssStart <= RSS_SLACK, `RSS flat: ${mb(rssStart)} at the start of the flood, ${mb(rssEnd)} at the end `
    + `(${rssEnd >= rssStart ? '+' : ''}${((rssEnd - rssStart) / 1024).toFixed(0)} KiB, peak ${mb(rssPeak)}, limit +${mb(RSS_SLACK)})`);
  for (const [k, c] of consumers.entries()) {
    const r = c.receiver;
    const expected = r.highest === null ? 0 : r.highest - r.base + 1;
    const delivered = expected - r.missing.size;
    const ratio = delivered / synth.stats.packets;
    check(ratio >= 0.99 && r.stats.other === 0, `${c.name} delivery: ${num(delivered)} of ${num(synth.stats.packets)} sent `
      + `(${(100 * ratio).toFixed(2)}%; ${num(r.stats.dropped)} dropped by the lossy step, ${num(r.stats.repaired)} repaired by RTX, `
      + `${num(r.missing.size)} missing, ${r.stats.other} foreign)`);
    const base = baseline.rates[k] / (baseline.sent / baseline.secs);
    const dur = during.rates[k] / (during.sent / during.secs);
    check(Math.abs(dur - base) <= RATE_TOL, `${c.name} packet rate: ${during.rates[k].toFixed(1)}/s during the flood vs `
      + `${baseline.rates[k].toFixed(1)}/s baseline (per sent packet ${dur.toFixed(3)} vs ${base.toFixed(3)}, tolerance ${RATE_TOL})`);
  }
  const want = [
    ['producer', ['notRtpOrRtcp', 'unknownTuple', 'badRtp', 'noProducer', 'badRtcp', 'socketTruncated']],
    ...consumers.map((c) => [c.name, ['notRtpOrRtcp', 'unknownTuple', 'badRtp', 'badRtcp', 'socketTruncated']]),
    ['webrtc', ['notRtpOrRtcp', 'unknownTuple', 'badStun']],
  ];
  for (const [name, fields] of want) {
    const d = increase.get(name);
    const zero = d ? fields.filter((f) => !(d[f] > 0)) : fields;
    check(zero.length === 0, `${name} drops counted in ${fields.join(', ')}${zero.length ? ` (zero: ${zero.join(', ')})` : ''}`);
  }
  if (warnings.size) {
    console.log(`worker/library warnings (${[...warnings.values()].reduce((a, b) => a + b, 0)}):`);
    for (const [w, n] of [...warnings].slice(0, 8)) console.log(`  ${n}x ${w}`);
  }

  for (const c of consumers) c.receiver.close();
  router.close();
  if (!died) {
    const closed = new Promise((resolve) => worker.on('subprocessclose', resolve));
    worker.close();
    await Promise.race([closed, sleep(3000)]);
  }
  console.log(failures.length ? `FAIL: ${failures.length} check(s) failed` : 'ok: all chaos checks passed');
  return failures.length ? 1 : 0;
}
