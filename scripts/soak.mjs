// Soak: does the worker's memory stay flat under a steady load, across many sequence-number
// and timestamp wraps, with NACK/RTX repair? Driven by the unmodified mediasoup Node library
// (MEDIASOUP_WORKER_BIN names the worker; scripts/soak sets it).
//
//   node scripts/soak.mjs [--massif [--pages-as-heap] | --rss] [--seconds 60] [--pps 600] [--consumers 50]
//     [--nack 0.02] [--seq 65000] [--ts 0xfff00000] [--ts-step 750] [--webrtc [--suite gcm|cm]] [--sample-ms 5000]
//     [--settle S] [--max-growth-kib 256] [--slope-seconds S] [--max-slope-kib-per-min 64]
//     [--min-delivered 0.99] [--burst-every S --burst-seconds 5 --burst-pps 2400 --quiet-after 10]
//     [--json FILE] [--png FILE] [--out build/soak]
//
// The load (scripts/rtpgen-load.mjs, the same as scripts/bench's): test/bench/rtpgen sends one
// VP8 stream (5 packets of 1,100 bytes per frame, a keyframe every 30 frames) at --pps to a
// PlainTransport producer, from seq --seq and timestamp --ts, stepping the timestamp by
// --ts-step per frame (750 at 600 pps is real time at 90 kHz: the seq wraps every ~109 s, the
// timestamp ~11.6 s in and then every ~13 h); --consumers PlainTransport consumers send to
// rtpgen's receive sockets, which count media and RTX, detect gaps and NACK a --nack fraction
// of what they get (every NACK should be answered with an RTX).
//
// --webrtc: the consumers are WebRtcTransports, each connected by a real ICE + DTLS 1.2 client
//   (test/bench/webrtcpeer, one process for all, SRTP decrypted, NACKs and RRs over SRTCP), with
//   the DTLS-SRTP profile --suite gcm (AEAD_AES_128_GCM) or cm (AES_CM_128_HMAC_SHA1_80).
// --rss (the default): the worker runs plain; VmRSS and the worker's own memory figures
//   (worker.dump()'s memory section: pool slabs held / cold / touched, ring packets and buckets,
//   malloc's arena figures, channel queue) are sampled every --sample-ms.
// --massif: the worker runs under `valgrind --tool=massif` (a small wrapper that
//   MEDIASOUP_WORKER_BIN points at); the curve is massif's heap (mem_heap_B + extra). The pool's
//   slabs are anonymous mmaps and show only with --pages-as-heap (every mapped page counts).
//
// --burst-every S: every S seconds of streaming the rate goes to --burst-pps for --burst-seconds
//   (a peak of packets in the rings, as a keyframe storm or an RTT spike makes), then back. The
//   memory figures below then use only quiet samples, those not within a burst or the
//   --quiet-after seconds after it (the pool's hold time plus a tick): what a burst took must be
//   given back, so RSS between bursts stays where it was before the first.
// Verdict (exit 1 on any failure): after --settle seconds of streaming (default a quarter of
// the run, at most 300 s) the memory never exceeds its value at that moment by more than
// --max-growth-kib; the least-squares slope over the last --slope-seconds (default half the
// run) is at most --max-slope-kib-per-min; every consumer got at least --min-delivered of the
// stream (gap loss) and RTX for at least 95% of its NACKs; the worker did not die.
// Output: a sample table, JSON (--json) and a gnuplot PNG (--png).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { watchMemoryDump } from '../test/node/lib/memory-dump.mjs';
import {
  RTPGEN, RtpGen, VP8_ROUTER_CODECS, WEBRTCPEER, WebRtcPeers, connectWebRtcPeer, consumeChecked, consumeToPort, produceRtpgenVp8,
} from './rtpgen-load.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseOptions({
  options: {
    massif: { type: 'boolean', default: false },
    rss: { type: 'boolean', default: false },
    'pages-as-heap': { type: 'boolean', default: false },
    seconds: { type: 'string', default: '60' },
    pps: { type: 'string', default: '600' },
    consumers: { type: 'string' },
    nack: { type: 'string', default: '0.02' },
    seq: { type: 'string', default: '65000' },
    ts: { type: 'string', default: String(0xfff00000) },
    'ts-step': { type: 'string', default: '750' },
    webrtc: { type: 'boolean', default: false },
    suite: { type: 'string', default: 'gcm' },
    'sample-ms': { type: 'string', default: '5000' },
    settle: { type: 'string' },
    'max-growth-kib': { type: 'string', default: '256' },
    'slope-seconds': { type: 'string' },
    'max-slope-kib-per-min': { type: 'string', default: '64' },
    'min-delivered': { type: 'string', default: '0.99' },
    'burst-every': { type: 'string', default: '0' },
    'burst-seconds': { type: 'string', default: '5' },
    'burst-pps': { type: 'string', default: '2400' },
    'quiet-after': { type: 'string', default: '10' },
    json: { type: 'string' },
    png: { type: 'string' },
    out: { type: 'string' },
  },
});
function parseOptions(config) {
  try {
    return parseArgs(config);
  } catch (error) {
    return usage(error.message.split('\n')[0]);
  }
}
if (opts.massif && opts.rss) usage('--massif and --rss exclude each other');
const MODE = opts.massif ? 'massif' : 'rss';
const WEBRTC = opts.webrtc;
if (!['gcm', 'cm'].includes(opts.suite)) usage('--suite is gcm or cm');
const SECONDS = Number(opts.seconds);
const PPS = Number(opts.pps);
const CONSUMERS = Number(opts.consumers ?? (MODE === 'massif' ? 4 : 50));
const NACK = Number(opts.nack);
const START_SEQ = Number(opts.seq);
const START_TS = Number(opts.ts);
const TS_STEP = Number(opts['ts-step']);
const SAMPLE_MS = Number(opts['sample-ms']);
const SETTLE_S = Number(opts.settle ?? Math.min(300, SECONDS / 4));
const MAX_GROWTH = Number(opts['max-growth-kib']);
const SLOPE_S = Number(opts['slope-seconds'] ?? SECONDS / 2);
const MAX_SLOPE = Number(opts['max-slope-kib-per-min']);
const MIN_DELIVERED = Number(opts['min-delivered']);
const BURST_EVERY = Number(opts['burst-every']);
const BURST_S = Number(opts['burst-seconds']);
const BURST_PPS = Number(opts['burst-pps']);
const QUIET_AFTER = Number(opts['quiet-after']);
const OUT = path.resolve(opts.out ?? path.join(root, 'build/soak'));
const PNG = path.resolve(opts.png ?? path.join(OUT, 'soak.png'));
const PER_FRAME = 5; // rtpgen's default packets per frame
if (!(SECONDS >= 4) || !(PPS >= 10) || !(CONSUMERS >= 1 && CONSUMERS <= 1000) || !(NACK >= 0 && NACK < 0.5)
  || !(START_SEQ >= 0 && START_SEQ <= 0xffff) || !(START_TS >= 0 && START_TS <= 0xffffffff)
  || !(TS_STEP >= 1 && TS_STEP < 0x80000000) || !(SAMPLE_MS >= 50) || !(SETTLE_S >= 0 && SETTLE_S < SECONDS)
  || !(SLOPE_S > 0 && SLOPE_S <= SECONDS) || !Number.isFinite(MAX_SLOPE) || !Number.isFinite(MAX_GROWTH)
  || !(BURST_EVERY === 0 || BURST_EVERY > BURST_S) || !(BURST_S > 0) || !(BURST_PPS >= 10) || !(QUIET_AFTER >= 0)) {
  usage('bad option value');
}

function usage(why) {
  console.error(`soak: ${why}\nusage: soak [--massif [--pages-as-heap] | --rss] [--seconds N>=4] [--pps N] [--consumers N] `
    + '[--nack 0..0.5] [--seq N] [--ts N] [--ts-step N] [--webrtc [--suite gcm|cm]] [--sample-ms MS] [--settle S] [--max-growth-kib K] '
    + '[--slope-seconds S] [--max-slope-kib-per-min K] [--min-delivered F] [--burst-every S --burst-seconds S --burst-pps N '
    + '--quiet-after S] [--json FILE] [--png FILE] [--out DIR]');
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const num = (n) => Number(n).toLocaleString('en-US');
const kib = (bytes) => Math.round(Number(bytes) / 1024);

// --- massif ---------------------------------------------------------------------------------
function writeMassifWrapper(realWorker, massifOut) {
  const wrapper = path.join(OUT, 'massif-worker.sh');
  fs.writeFileSync(wrapper, `#!/bin/sh\n# Written by scripts/soak.mjs: the worker under massif (fd 3/4 pass through).\n`
    + `exec valgrind --tool=massif --massif-out-file='${massifOut}' --log-file='${path.join(OUT, 'valgrind.log')}' `
    + `--time-unit=ms --detailed-freq=1000000 --max-snapshots=200${opts['pages-as-heap'] ? ' --pages-as-heap=yes' : ''} `
    + `'${realWorker}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

// massif.out: "snapshot=N", "time=T" (ms, --time-unit=ms), "mem_heap_B=", "mem_heap_extra_B=".
function parseMassif(file) {
  const points = [];
  let cur = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(snapshot|time|mem_heap_B|mem_heap_extra_B)=(\d+)/.exec(line);
    if (!m) continue;
    if (m[1] === 'snapshot') points.push(cur = { t: 0, heap: 0, extra: 0 });
    else if (cur && m[1] === 'time') cur.t = Number(m[2]);
    else if (cur && m[1] === 'mem_heap_B') cur.heap = Number(m[2]);
    else if (cur && m[1] === 'mem_heap_extra_B') cur.extra = Number(m[2]);
  }
  return points.map((p) => ({ tMs: p.t, kib: (p.heap + p.extra) / 1024 })).sort((a, b) => a.tMs - b.tMs);
}

// --- figures ------------------------------------------------------------------------------------
// Least-squares line of kib over minutes: { slope (KiB/min), intercept (KiB at t = 0) }.
function fitLine(points) {
  if (points.length < 2) return null;
  const xs = points.map((p) => p.tMs / 60000);
  const ys = points.map((p) => p.kib);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx > 0 ? { slope: sxy / sxx, intercept: my - (sxy / sxx) * mx } : null;
}

// n even samples over [fromMs, toMs] of the step function the points describe.
function resample(points, fromMs, toMs, n) {
  const out = [];
  let i = 0;
  for (let k = 0; k < n; k++) {
    const tMs = fromMs + ((toMs - fromMs) * k) / (n - 1);
    while (i + 1 < points.length && points[i + 1].tMs <= tMs) i++;
    if (points[i] && points[i].tMs <= tMs) out.push({ tMs, kib: points[i].kib });
  }
  return out;
}

function plot(points, window, line, label, dataFile) {
  if (!spawnSync('sh', ['-c', 'command -v gnuplot']).stdout?.length) {
    console.log('  gnuplot not found: no PNG (install it with `apt-get install gnuplot-nox`)');
    return false;
  }
  fs.writeFileSync(dataFile, points.map((p) => `${(p.tMs / 1000).toFixed(3)} ${p.kib.toFixed(1)}`).join('\n') + '\n');
  const gp = path.join(root, 'scripts/soak-plot.gp');
  const run = spawnSync('gnuplot', ['-e', `datafile='${dataFile}'; outfile='${PNG}'; ylabel='${label}'; `
    + `t0=${window.startMs / 1000}; tmid=${window.midMs / 1000}; t1=${window.endMs / 1000}; `
    + `a=${line ? line.slope / 60 : 0}; b=${line ? line.intercept : 0}; fitted=${line ? 1 : 0}; `
    + `title='sluice soak (${MODE}, ${PPS} pps, ${CONSUMERS} consumers, ${(NACK * 100).toFixed(1)}% NACKed)'`, gp],
  { encoding: 'utf8' });
  if (run.status !== 0) {
    console.log(`  gnuplot failed: ${(run.stderr || run.error?.message || '').trim().split('\n').at(-1)}`);
    return false;
  }
  return true;
}

// --- main -------------------------------------------------------------------------------------------
// rtpgen's per-sink counters: [media, rtx, rtcp, lost by gap, nacks sent, duplicates, reordered, other].
const sumSinks = (g, k) => g.sinks.reduce((x, v) => x + v[k], 0);

async function main() {
  const realWorker = process.env.MEDIASOUP_WORKER_BIN;
  if (!realWorker) throw new Error('MEDIASOUP_WORKER_BIN must name the worker binary (scripts/soak sets it)');
  for (const tool of WEBRTC ? [RTPGEN, WEBRTCPEER] : [RTPGEN])
    if (!fs.existsSync(tool)) throw new Error(`no ${tool} (built by scripts/setup)`);
  fs.mkdirSync(OUT, { recursive: true });
  fs.mkdirSync(path.dirname(PNG), { recursive: true });
  const massifOut = path.join(OUT, 'massif.out');
  let workerBin = realWorker;
  if (MODE === 'massif') {
    if (!spawnSync('sh', ['-c', 'command -v valgrind']).stdout?.length) {
      throw new Error('valgrind not found (apt-get install valgrind), or use --rss');
    }
    fs.rmSync(massifOut, { force: true });
    workerBin = writeMassifWrapper(realWorker, massifOut);
  }
  // The library reads MEDIASOUP_WORKER_BIN once, when it is first loaded: set it first.
  process.env.MEDIASOUP_WORKER_BIN = workerBin;
  const require = createRequire(path.join(root, 'test/node/package.json'));
  const mediasoup = require('mediasoup');
  const memory = watchMemoryDump();

  const failures = [];
  const spawnedAt = performance.now();
  const worker = await mediasoup.createWorker({ logLevel: 'error', rtcMinPort: 20000, rtcMaxPort: 40000 });
  let died = null;
  worker.on('died', (error) => { died = error; });
  // The receivers: rtpgen's own sockets behind PlainTransports, or webrtcpeer's ICE + DTLS
  // clients behind WebRtcTransports (--webrtc); both count and NACK the same way.
  const gen = new RtpGen({ recv: WEBRTC ? 0 : CONSUMERS, nack: NACK,
    args: ['--seq', String(START_SEQ), '--ts', String(START_TS), '--ts-step', String(TS_STEP)] });
  const peers = WEBRTC ? new WebRtcPeers({ suite: opts.suite, nack: NACK }) : null;
  process.on('exit', () => { gen.proc.kill(); peers?.proc.kill(); }); // also when main throws
  const ports = await gen.ports;
  const router = await worker.createRouter({ mediaCodecs: VP8_ROUTER_CODECS });
  const { transport: input, producer } = await produceRtpgenVp8(router);
  const consumers = [];
  if (peers) {
    const fingerprint = (await peers.fingerprint).split(' ');
    for (let i = 0; i < CONSUMERS; i++) {
      const transport = await connectWebRtcPeer(router, peers, fingerprint, i);
      consumers.push({ transport, consumer: await consumeChecked(transport, router, producer) });
    }
  } else {
    for (const port of ports) consumers.push(await consumeToPort(router, producer, port));
  }
  // rtpgen's counters, with the WebRTC receivers' in place of its own sinks.
  const loadStats = async () => {
    const g = await gen.stats();
    if (peers) g.sinks = (await peers.stats()).sinks;
    return g;
  };

  console.log(`sluice soak — ${MODE}${opts['pages-as-heap'] ? ' (pages as heap)' : ''}`
    + `${WEBRTC ? `, WebRtcTransport consumers (DTLS-SRTP ${opts.suite})` : ''}, worker ${realWorker} (pid ${worker.pid})`);
  console.log(`  ${SECONDS} s at ${PPS} pps (${PPS / PER_FRAME} fps), ${CONSUMERS} consumers NACKing ${(NACK * 100).toFixed(1)}% `
    + `of packets; seq from ${START_SEQ}, ts from 0x${START_TS.toString(16)} step ${num(TS_STEP)}/frame; `
    + `settle ${SETTLE_S} s, growth limit ${MAX_GROWTH} KiB, slope over the last ${SLOPE_S} s limit ${MAX_SLOPE} KiB/min`);

  // One sample: VmRSS and the worker's own figures (null fields for a worker without them).
  const samples = [];
  let sampling = Promise.resolve();
  const takeSample = async () => {
    const tMs = performance.now() - spawnedAt;
    let rssKiB = null;
    let rssAnonKiB = null;
    let rssFileKiB = null;
    try {
      const status = fs.readFileSync(`/proc/${worker.pid}/status`, 'utf8');
      const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
      [rssKiB, rssAnonKiB, rssFileKiB] = [field('VmRSS'), field('RssAnon'), field('RssFile')];
    } catch { /* worker gone */ }
    if (died) return;
    await worker.dump().catch(() => {});
    const m = memory.last;
    samples.push({ tMs, rssKiB, rssAnonKiB, rssFileKiB, pool: m?.pool ?? null, rings: m?.rings ?? null, malloc: m?.malloc ?? null,
      channel: m?.channel ?? null });
  };
  const row = (s, g) => {
    const p = s.pool;
    const figure = (v, width, f = num) => (v === undefined || v === null ? '-' : f(v)).padStart(width);
    const cols = [`${((s.tMs - startMs) / 1000).toFixed(0).padStart(6)} s`, figure(s.rssKiB, 8),
      `${figure(s.rssAnonKiB, 6)}/${figure(s.rssFileKiB, 5)}`,
      `${figure(p?.slabsHeld, 4)}/${figure(p?.coldSlabs, 2)}/${figure(p?.spareSlabs, 2)}`,
      figure(p?.bytesTouched, 7, (v) => num(kib(v))),
      `${figure(p?.slotsInUse, 6)}/${figure(p?.highWaterSlots, 6)}`,
      `${figure(s.rings?.packetsHeld, 6)}/${figure(s.rings?.bucketsHeld, 3)}`,
      `${figure(s.malloc?.inUseBytes, 7, (v) => num(kib(v)))}/${figure(s.malloc?.freeBytes, 5, (v) => num(kib(v)))}/`
        + `${figure(s.malloc?.mmapBytes, 5, (v) => num(kib(v)))}`,
      figure(s.channel?.outQueuedBytes, 6)];
    if (g) cols.push(`${num(g.sent).padStart(10)} ${num(sumSinks(g, 0)).padStart(12)} ${num(sumSinks(g, 1)).padStart(9)} ${num(sumSinks(g, 3)).padStart(6)}`);
    return `  ${cols.join('  ')}`;
  };

  const startMs = performance.now() - spawnedAt;
  gen.cmd(`dest 127.0.0.1 ${input.tuple.localPort}`);
  gen.cmd(`rate ${PPS}`);
  console.log('        t   RSS KiB  anon/file  slabs/cold/spare  touched KiB  slots/hw   ring pkts/bkts  malloc KiB use/free/mmap  chanQ'
    + '        sent  delivered(all)     RTX   lost');
  // Bursts: at k * BURST_EVERY s (k >= 1) of streaming, BURST_S s at BURST_PPS.
  const bursts = [];
  const burstTimers = [];
  for (let t = BURST_EVERY; BURST_EVERY > 0 && t + BURST_S < SECONDS; t += BURST_EVERY) {
    bursts.push({ fromMs: startMs + t * 1000, toMs: startMs + (t + BURST_S) * 1000 });
    burstTimers.push(setTimeout(() => gen.cmd(`rate ${BURST_PPS}`), t * 1000),
      setTimeout(() => gen.cmd(`rate ${PPS}`), (t + BURST_S) * 1000));
  }
  const quiet = (p) => !bursts.some((b) => p.tMs >= b.fromMs - 500 && p.tMs < b.toMs + QUIET_AFTER * 1000);
  if (bursts.length) console.log(`  ${bursts.length} bursts of ${BURST_S} s at ${BURST_PPS} pps every ${BURST_EVERY} s; `
    + `figures from quiet samples (not within a burst or ${QUIET_AFTER} s after it)`);
  const printEvery = Math.max(1, Math.round(Math.max(10_000, (SECONDS * 1000) / 40) / SAMPLE_MS));
  const begin = performance.now();
  for (let k = 0; (k * SAMPLE_MS) / 1000 <= SECONDS && !died; k++) {
    await sleep(begin + k * SAMPLE_MS - performance.now());
    sampling = takeSample();
    await sampling;
    if (k % printEvery === 0 && samples.length) console.log(row(samples.at(-1), await loadStats()));
  }
  burstTimers.forEach(clearTimeout);
  gen.cmd('rate 0');
  const endMs = performance.now() - spawnedAt;
  await sleep(MODE === 'massif' ? 2000 : 600); // the last NACKs answered
  const g = await loadStats();
  const retransmitted = died ? 0 : (await Promise.all(consumers.map((c) => c.consumer.getStats())))
    .reduce((sum, list) => sum + (list.find((s) => s.type === 'outbound-rtp')?.packetsRetransmitted ?? 0), 0);
  const producerIn = died ? 0 : (await producer.getStats()).find((s) => s.type === 'inbound-rtp')?.packetCount ?? 0;

  gen.close();
  peers?.close();
  if (!died) {
    const closed = new Promise((resolve) => worker.on('subprocessclose', resolve));
    worker.close();
    await Promise.race([closed, sleep(MODE === 'massif' ? 30000 : 3000)]);
  }

  // The memory curve: RSS samples, or massif's heap.
  let points;
  let label;
  if (MODE === 'massif') {
    if (!fs.existsSync(massifOut)) throw new Error(`no ${massifOut} (see ${path.join(OUT, 'valgrind.log')})`);
    points = parseMassif(massifOut);
    label = `${opts['pages-as-heap'] ? 'mapped pages' : 'heap'} KiB (massif: mem\\_heap\\_B + mem\\_heap\\_extra\\_B)`;
  } else {
    points = samples.filter((s) => s.rssKiB !== null).map((s) => ({ tMs: s.tMs, kib: s.rssKiB }));
    label = 'VmRSS KiB';
  }
  const settleMs = startMs + SETTLE_S * 1000;
  const slopeFromMs = Math.max(startMs, endMs - SLOPE_S * 1000);
  // Massif snapshots only where memory changes, so its curve is a step function: sample it evenly.
  const even = (from, to) => (MODE === 'massif' ? resample(points, from, to, 120) : points.filter((p) => p.tMs >= from && p.tMs <= to + 1000))
    .filter(quiet);
  const slopePoints = even(slopeFromMs, endMs);
  const afterSettle = even(settleMs, endMs);
  const settled = afterSettle[0]?.kib ?? null;
  const maxAfter = afterSettle.reduce((m, p) => Math.max(m, p.kib), 0);
  const growth = settled === null ? null : maxAfter - settled;
  const peak = points.reduce((m, p) => Math.max(m, p.kib), 0);
  const final = (even(startMs, endMs).at(-1) ?? points.at(-1))?.kib ?? 0;
  const line = fitLine(slopePoints);
  const slope = line?.slope ?? null;

  const perSink = g.sinks.map((v, i) => ({ consumer: i + 1, media: v[0], rtx: v[1], lost: v[3], nacks: v[4],
    delivered: (v[0] - v[5]) / Math.max(1, v[0] - v[5] + v[3]) }));
  const worstDelivered = perSink.reduce((m, s) => Math.min(m, s.delivered), 1);
  const nacks = sumSinks(g, 4);
  const rtx = sumSinks(g, 1);
  if (worstDelivered < MIN_DELIVERED) failures.push(`a consumer got ${(worstDelivered * 100).toFixed(2)}% of the stream (< ${MIN_DELIVERED * 100}%)`);
  if (nacks > 0 && rtx < 0.95 * nacks) failures.push(`${num(rtx)} RTX for ${num(nacks)} NACKs (< 95%)`);
  if (died) failures.push(`worker died: ${died}`);
  if (growth === null) failures.push('no sample after the settle time');
  else if (growth > MAX_GROWTH) failures.push(`memory grew ${growth.toFixed(0)} KiB after the settle time (> ${MAX_GROWTH} KiB)`);
  if (slope === null) failures.push(`too few samples (${slopePoints.length}) for a slope`);
  else if (slope > MAX_SLOPE) failures.push(`memory slope ${slope.toFixed(1)} KiB/min > ${MAX_SLOPE} KiB/min`);

  const seqWraps = Math.floor((START_SEQ + g.sent - 1) / 0x10000);
  const tsWraps = Math.floor((START_TS + (Math.ceil(g.sent / PER_FRAME) - 1) * TS_STEP) / 0x100000000);
  const result = {
    mode: MODE, pagesAsHeap: opts['pages-as-heap'], worker: realWorker, seconds: SECONDS, pps: PPS, consumers: CONSUMERS,
    nack: NACK, bursts: bursts.map((b) => ({ fromS: (b.fromMs - startMs) / 1000, toS: (b.toMs - startMs) / 1000, pps: BURST_PPS })),
    startSeq: START_SEQ, startTs: START_TS, tsStepPerFrame: TS_STEP, seqWraps, tsWraps,
    sent: g.sent, producerPacketsIn: producerIn, delivered: sumSinks(g, 0), rtx, nacks, lost: sumSinks(g, 3),
    worstDelivered, workerPacketsRetransmitted: retransmitted,
    memory: { metric: MODE === 'massif' ? 'heapKiB' : 'rssKiB', peakKiB: peak, finalKiB: final, settleS: SETTLE_S,
      settledKiB: settled, maxAfterSettleKiB: maxAfter, growthKiB: growth, maxGrowthKiB: MAX_GROWTH, slopeSeconds: SLOPE_S,
      slopeKiBPerMin: slope === null ? null : +slope.toFixed(2), maxSlopeKiBPerMin: MAX_SLOPE },
    samples, png: null, failures, ok: failures.length === 0,
  };
  if (plot(points, { startMs, midMs: slopeFromMs, endMs }, line, label, path.join(OUT, `soak-${MODE}.dat`))) result.png = PNG;

  const metric = MODE === 'rss' ? 'RSS' : opts['pages-as-heap'] ? 'pages' : 'heap';
  console.log('');
  console.log(`  stream        ${num(g.sent)} packets sent, ${num(producerIn)} received by the worker; ${seqWraps} seq and `
    + `${tsWraps} timestamp wraps crossed`);
  console.log(`  consumers     ${num(sumSinks(g, 0))} media packets delivered to ${CONSUMERS}, ${num(sumSinks(g, 3))} lost by gap `
    + `(worst consumer ${(worstDelivered * 100).toFixed(3)}%); ${num(nacks)} NACKs, ${num(rtx)} RTX received, `
    + `${num(retransmitted)} retransmitted (worker)`);
  console.log(`  ${metric.padEnd(13)} peak ${num(peak.toFixed(0))} KiB · final ${num(final.toFixed(0))} KiB · at ${SETTLE_S} s `
    + `${settled === null ? '-' : num(settled.toFixed(0))} KiB, highest after it +${growth === null ? '-' : growth.toFixed(0)} KiB `
    + `(limit ${MAX_GROWTH}) · slope ${slope === null ? '-' : slope.toFixed(2)} KiB/min over the last ${SLOPE_S} s (limit ${MAX_SLOPE})`);
  if (result.png) console.log(`  plot          ${PNG}`);
  if (opts.json) {
    fs.writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  json          ${path.resolve(opts.json)}`);
  }
  if (failures.length) {
    console.error(`FAIL: ${failures.join('; ')}`);
    return 1;
  }
  console.log('  ok');
  return 0;
}

let code;
try {
  code = await main();
} catch (error) {
  console.error(`FAIL: ${error.stack ?? error}`);
  code = 1;
}
process.exit(code);
