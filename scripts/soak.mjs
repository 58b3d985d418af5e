// Soak: does the worker's memory stay flat while one VP8 producer streams, with loss and
// NACK/RTX repair, to N consumers across many sequence-number and timestamp wraps?
// Driven by the unmodified mediasoup Node library (MEDIASOUP_WORKER_BIN names the worker;
// scripts/soak sets it).
//
//   node scripts/soak.mjs [--massif [--pages-as-heap] | --rss] [--seconds 60] [--pps 500|1000] [--consumers 4]
//     [--loss 0.03] [--ts-step 3000000] [--max-slope-kib-per-min 64] [--min-delivered 0.95]
//     [--json FILE] [--png build/soak/soak.png] [--out build/soak] [--sample-ms 1000]
//
// --massif (default): the worker runs under `valgrind --tool=massif` (through a small wrapper
//   that MEDIASOUP_WORKER_BIN points at; the worker's fd 3/4 pass through valgrind), and the
//   heap curve is mem_heap_B + mem_heap_extra_B of massif.out's snapshots. Defaults: 60 s at
//   500 pps (valgrind slows the worker). Massif counts malloc/new only; the packet pool's slabs
//   are anonymous mmaps (worker/store/PacketPool.cpp) and show only with --pages-as-heap, which
//   makes massif count every mapped page (code and stacks too).
// --rss: the worker runs plain and VmRSS is read from /proc/<pid>/status every --sample-ms.
//   Defaults: 60 s at 1000 pps; meant for long runs (--seconds 3600).
//
// The stream: scripts/demo-synth.mjs's synthetic VP8 sender (a keyframe every second of
// frames, 8 packets; 3 packets per delta frame; RTX on NACK), paced to --pps. It starts at
// seq 65500 and timestamp 0xFFFFF000 and steps the timestamp by --ts-step per frame
// (default 3,000,000: a 32-bit wrap every ~1432 frames; 1000 pps is 332 fps, a wrap every ~4.3 s,
// ~13.9 per minute; 500 pps is 165 fps, a wrap every ~8.7 s, ~6.9 per minute); the seq wraps every 65,536 packets (first wrap 36
// packets in; 1 wrap per 60 s run at 500 or 1000 pps, ~3 in 3 minutes at 1000 pps). The run
// prints the wraps it crossed.
// The consumers: scripts/demo-receiver.mjs receivers that drop --loss of the new media
// packets (fixed-seed PRNG), NACK the gaps and count RTX repairs.
//
// Output: peak, final and the least-squares slope (KiB per minute) of heap (or RSS) over the
// second half of the streaming window, as a table, as JSON (--json) and as a gnuplot PNG.
// Exit 1 when the slope exceeds --max-slope-kib-per-min, when a consumer ended with fewer
// than --min-delivered of the packets sent to it (after repair), or on a worker failure.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { u32 } from '../test/node/lib/rtp.mjs';
import { openReceivingConsumer } from './demo-receiver.mjs';
import { SyntheticSender, produceVp8 } from './demo-synth.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseOptions({
  options: {
    massif: { type: 'boolean', default: false },
    rss: { type: 'boolean', default: false },
    'pages-as-heap': { type: 'boolean', default: false },
    seconds: { type: 'string', default: '60' },
    pps: { type: 'string' },
    consumers: { type: 'string', default: '4' },
    loss: { type: 'string', default: '0.03' },
    'ts-step': { type: 'string', default: '3000000' },
    'max-slope-kib-per-min': { type: 'string', default: '64' },
    'min-delivered': { type: 'string', default: '0.95' },
    'sample-ms': { type: 'string', default: '1000' },
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
const MODE = opts.rss ? 'rss' : 'massif';
const SECONDS = Number(opts.seconds);
const PPS = Number(opts.pps ?? (MODE === 'massif' ? 500 : 1000));
const CONSUMERS = Number(opts.consumers);
const LOSS = Number(opts.loss);
const TS_STEP = Number(opts['ts-step']);
const MAX_SLOPE = Number(opts['max-slope-kib-per-min']);
const MIN_DELIVERED = Number(opts['min-delivered']);
const SAMPLE_MS = Number(opts['sample-ms']);
const OUT = path.resolve(opts.out ?? path.join(root, 'build/soak'));
const PNG = path.resolve(opts.png ?? path.join(OUT, 'soak.png'));
if (!(SECONDS >= 4) || !(PPS >= 10) || !(CONSUMERS >= 1 && CONSUMERS <= 64) || !(LOSS >= 0 && LOSS < 0.5)
  || !(TS_STEP >= 1 && TS_STEP < 0x80000000) || !Number.isFinite(MAX_SLOPE) || !(SAMPLE_MS >= 50)) {
  usage('bad option value');
}

function usage(why) {
  console.error(`soak: ${why}\nusage: soak [--massif [--pages-as-heap] | --rss] [--seconds N>=4] [--pps N] [--consumers 1..64] `
    + '[--loss 0..0.5] [--ts-step N] [--max-slope-kib-per-min K] [--min-delivered F] [--json FILE] [--png FILE] [--out DIR]');
  process.exit(2);
}

const START_SEQ = 65500;
const START_TS = 0xfffff000;
// Producer-side wire values (the producer's rtpParameters say the same).
const SENDER = { pt: 96, rtxPt: 97, ssrc: 0x50a50a01, rtxSsrc: 0x50a50a02 };
const KEY_PACKETS = 8; // demo-synth.mjs: 8 packets per keyframe, 3 per delta frame
const DELTA_PACKETS = 3;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const num = (n) => Number(n).toLocaleString('en-US');

// demo-synth.mjs's sender with the soak's start values and timestamp step.
class SoakSender extends SyntheticSender {
  constructor(options) {
    super(options);
    this.seq = START_SEQ;
    this.ts = START_TS;
    this.tsStep = TS_STEP;
  }

  sendFrame() {
    const ts = this.ts;
    super.sendFrame();
    this.ts = u32(ts + this.tsStep);
  }
}

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
    + `title='sluice soak (${MODE}, ${PPS} pps, ${CONSUMERS} consumers, ${(LOSS * 100).toFixed(1)}% loss)'`, gp],
  { encoding: 'utf8' });
  if (run.status !== 0) {
    console.log(`  gnuplot failed: ${(run.stderr || run.error?.message || '').trim().split('\n').at(-1)}`);
    return false;
  }
  return true;
}

let startWorker;
let closeAll = async () => {};
let MEDIA_CODECS;


// --- main -------------------------------------------------------------------------------------------
async function main() {
  const realWorker = process.env.MEDIASOUP_WORKER_BIN;
  if (!realWorker) throw new Error('MEDIASOUP_WORKER_BIN must name the worker binary (scripts/soak sets it)');
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
  // The library reads MEDIASOUP_WORKER_BIN once, when it is first imported: set it first.
  process.env.MEDIASOUP_WORKER_BIN = workerBin;
  ({ startWorker, closeAll, MEDIA_CODECS } = await import('../test/node/lib/media-peer.mjs'));

  const failures = [];
  const spawnedAt = performance.now();
  const worker = await startWorker();
  let died = null;
  worker.on('died', (error) => { died = error; });
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
  const { transport: producerTransport, producer } = await produceVp8(router, SENDER, 'sluice-soak', listenInfo);
  const consumers = [];
  for (let i = 0; i < CONSUMERS; i++)
    consumers.push(await openReceivingConsumer(router, producer, { name: `c${i + 1}`, lossRate: LOSS, seed: 0x50a + i, listenInfo }));

  // Frames per second that give PPS packets per second on average (one keyframe per fps frames).
  // pps = fps * (DELTA + (KEY - DELTA) / fps) = fps * DELTA + (KEY - DELTA).
  const fps = Math.max(1, Math.round((PPS - (KEY_PACKETS - DELTA_PACKETS)) / DELTA_PACKETS));
  const dest = { address: '127.0.0.1', port: producerTransport.tuple.localPort };
  const sender = new SoakSender({ dest, ...SENDER, fps, keyframeInterval: fps });
  console.log(`sluice soak — ${MODE}, worker ${realWorker} (pid ${worker.pid})`);
  console.log(`  ${SECONDS} s at ~${PPS} pps (${fps} fps), ${CONSUMERS} consumers, ${(LOSS * 100).toFixed(1)}% loss + NACK/RTX; `
    + `seq from ${START_SEQ}, ts from 0x${START_TS.toString(16)} step ${num(TS_STEP)}/frame`);

  const rss = [];
  const readRss = () => {
    try {
      const kib = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${worker.pid}/status`, 'utf8'))[1]);
      rss.push({ tMs: performance.now() - spawnedAt, kib });
    } catch { /* worker gone */ }
  };
  const startMs = performance.now() - spawnedAt;
  await sender.start();
  const sampler = setInterval(readRss, SAMPLE_MS);
  readRss();
  const begin = performance.now();
  for (let t = 10; t < SECONDS && !died; t += 10) {
    await sleep(begin + t * 1000 - performance.now());
    const got = consumers.map((c) => num(c.receiver.stats.packets)).join(' / ');
    const mem = MODE === 'rss' && rss.length ? ` · RSS ${num(rss.at(-1).kib)} KiB` : '';
    console.log(`  ${String(t).padStart(5)} s  sent ${num(sender.stats.packets)} (+${num(sender.stats.rtxPackets)} RTX) · received ${got}${mem}`);
  }
  await sleep(begin + SECONDS * 1000 - performance.now());
  sender.stop();
  clearInterval(sampler);
  readRss();
  const endMs = performance.now() - spawnedAt;
  await sleep(MODE === 'massif' ? 2000 : 600); // the last NACKs answered
  const seqWraps = Math.floor((START_SEQ + sender.stats.packets - 1) / 0x10000);
  const tsWraps = Math.floor((START_TS + (sender.stats.frames - 1) * TS_STEP) / 0x100000000);
  const retransmitted = died ? 0 : (await Promise.all(consumers.map((c) => c.consumer.getStats())))
    .reduce((sum, list) => sum + (list.find((s) => s.type === 'outbound-rtp')?.packetsRetransmitted ?? 0), 0);
  const producerIn = died ? 0 : (await producer.getStats()).find((s) => s.type === 'inbound-rtp')?.packetCount ?? 0;

  // Close the worker cleanly: massif writes its file when the process exits.
  for (const c of consumers) c.receiver.close();
  if (!died) {
    const closed = new Promise((resolve) => worker.on('subprocessclose', resolve));
    worker.close();
    await Promise.race([closed, sleep(MODE === 'massif' ? 30000 : 3000)]);
  }
  await closeAll();

  // Memory curve.
  let points;
  let label;
  if (MODE === 'massif') {
    if (!fs.existsSync(massifOut)) throw new Error(`no ${massifOut} (see ${path.join(OUT, 'valgrind.log')})`);
    points = parseMassif(massifOut);
    label = `${opts['pages-as-heap'] ? 'mapped pages' : 'heap'} KiB (massif: mem\\_heap\\_B + mem\\_heap\\_extra\\_B)`;
  } else {
    points = rss;
    label = 'VmRSS KiB';
  }
  const midMs = (startMs + endMs) / 2;
  // Massif snapshots only where memory changes, so its curve is a step function: sample it
  // evenly over the second half. RSS samples are already even.
  const secondHalf = MODE === 'massif' ? resample(points, midMs, endMs, 120)
    : points.filter((p) => p.tMs >= midMs && p.tMs <= endMs + 1000);
  const inWindow = points.filter((p) => p.tMs >= startMs && p.tMs <= endMs + 1000);
  const peak = points.reduce((m, p) => Math.max(m, p.kib), 0);
  const final = (inWindow.at(-1) ?? points.at(-1))?.kib ?? 0;
  const line = fitLine(secondHalf);
  const slope = line?.slope ?? null;

  const perConsumer = consumers.map((c) => {
    const r = c.receiver;
    const expected = r.highest === null ? 0 : r.highest - r.base + 1; // what the worker sent it
    const delivered = expected - r.missing.size; // after repair
    return {
      name: r.name, expected, received: r.stats.packets, dropped: r.stats.dropped, nacked: r.stats.nacked,
      repaired: r.stats.repaired, missing: r.missing.size,
      deliveredRatio: sender.stats.packets ? delivered / sender.stats.packets : 0,
    };
  });
  for (const c of perConsumer) {
    if (c.deliveredRatio < MIN_DELIVERED) {
      failures.push(`${c.name} has ${(c.deliveredRatio * 100).toFixed(1)}% of the ${num(sender.stats.packets)} packets sent `
        + `(< ${MIN_DELIVERED * 100}%)`);
    }
  }
  if (died) failures.push(`worker died: ${died}`);
  if (slope === null) failures.push(`too few samples in the second half (${secondHalf.length}) for a slope`);
  else if (slope > MAX_SLOPE) failures.push(`memory slope ${slope.toFixed(1)} KiB/min > ${MAX_SLOPE} KiB/min`);

  const result = {
    mode: MODE, pagesAsHeap: opts['pages-as-heap'], worker: realWorker, seconds: SECONDS, pps: PPS, fps,
    consumers: CONSUMERS, loss: LOSS,
    startSeq: START_SEQ, startTs: START_TS, tsStepPerFrame: TS_STEP, seqWraps, tsWraps,
    sent: { packets: sender.stats.packets, frames: sender.stats.frames, keyframes: sender.stats.keyframes,
      rtx: sender.stats.rtxPackets, pliFir: sender.stats.pli },
    producerPacketsIn: producerIn, workerPacketsRetransmitted: retransmitted, perConsumer,
    memory: { metric: MODE === 'massif' ? 'heapKiB' : 'rssKiB', samples: points.length, secondHalfSamples: secondHalf.length,
      peakKiB: +peak.toFixed(1), finalKiB: +final.toFixed(1), slopeKiBPerMin: slope === null ? null : +slope.toFixed(2),
      maxSlopeKiBPerMin: MAX_SLOPE },
    png: null, failures, ok: failures.length === 0,
  };
  if (plot(points, { startMs, midMs, endMs }, line, label, path.join(OUT, `soak-${MODE}.dat`))) result.png = PNG;

  const metric = MODE === 'rss' ? 'RSS' : opts['pages-as-heap'] ? 'pages' : 'heap';
  console.log('');
  console.log(`  sent          ${num(sender.stats.packets)} packets in ${num(sender.stats.frames)} frames `
    + `(${sender.stats.keyframes} keyframes), ${num(sender.stats.rtxPackets)} RTX to the worker's NACKs; `
    + `worker got ${num(producerIn)}`);
  console.log(`  wraps         ${seqWraps} seq (16-bit) and ${tsWraps} timestamp (32-bit) wraps crossed at the producer`);
  console.log('  consumer   expected   received  dropped   NACKed  repaired  missing  delivered');
  for (const c of perConsumer) {
    console.log(`  ${c.name.padEnd(8)} ${num(c.expected).padStart(10)} ${num(c.received).padStart(10)} ${num(c.dropped).padStart(8)} `
      + `${num(c.nacked).padStart(8)} ${num(c.repaired).padStart(9)} ${num(c.missing).padStart(8)} `
      + `${(c.deliveredRatio * 100).toFixed(2).padStart(9)}%`);
  }
  console.log(`  worker        packetsRetransmitted ${num(retransmitted)} (all consumers)`);
  console.log(`  ${metric.padEnd(13)} peak ${num(peak.toFixed(0))} KiB · final ${num(final.toFixed(0))} KiB · `
    + `slope ${slope === null ? '-' : slope.toFixed(1)} KiB/min over the second half (${secondHalf.length} samples; `
    + `limit ${MAX_SLOPE})`);
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
  await closeAll().catch(() => {});
  code = 1;
}
process.exit(code);
