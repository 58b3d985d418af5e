// Forwarding benchmark of a worker binary against a bare reference forwarder,
// driven through the unmodified mediasoup Node library (ARCHITECTURE.md, how it is proven).
//
//   node scripts/bench.mjs [WORKER_BIN [OTHER_WORKER_BIN]] [--consumers 10,100,300] [--base 1]
//     [--pps 150] [--nack 0.01] [--warmup 2] [--window 10] [--max-consumers 100]
//     [--max-start 300] [--max-step 1.25] [--max-window 3] [--no-max] [--no-bare]
//     [--shrink-wait 30] [--rounds R] [--json FILE] [--webrtc [--suite gcm|cm]] [--simulcast] [--pipe]
//
// WORKER_BIN defaults to MEDIASOUP_WORKER_BIN. With two binaries each round runs
// them one after the other (R rounds, default 3) and ratios first/second are
// printed. The bare forwarder (test/bench/bareforward) runs under the same load.
//
// Load: test/bench/rtpgen sends one VP8 stream (1100-byte packets, 5 per frame,
// keyframe every 30 frames and on PLI) at --pps to a comedia PlainTransport
// producer; N PlainTransport consumers send to rtpgen's N receive sockets, which
// count packets, detect gaps by sequence number and NACK a --nack fraction of
// what they get. Consumers are added to --base, then to each N in --consumers,
// in one worker process; at each N, after --warmup seconds, a --window second
// window is measured:
//   RSS per consumer   (VmRSS at N - VmRSS at base) / (N - base)
//   allocs / fwd pkt   LD_PRELOAD allocation counter (worker process only) delta
//                      over the window / media packets the consumers received
//   CPU us / fwd pkt   utime+stime (/proc/PID/stat, 10 ms ticks) over the window /
//                      media packets the consumers received (RTX not counted)
// Then consumers are closed down to the first N and, --shrink-wait seconds
// later (the stream still flowing), RSS is compared with RSS when the worker
// first had that many: memory given back after a peak.
// The max-rate search (fresh worker, --max-consumers consumers) multiplies the
// input rate by --max-step per step until a window sees gap loss > 0.1% (or
// under 98% of the expected packets arrive); the last clean step is reported
// as forwarded packets/s (input pps x consumers that received them).
//
// --webrtc: the consumers sit on N WebRtcTransports instead, each connected by
// a real ICE + DTLS 1.2 client (test/bench/webrtcpeer, one process for all N:
// STUN Binding with USE-CANDIDATE, DTLS-SRTP with SRTP_AEAD_AES_128_GCM, or
// SRTP_AES128_CM_SHA1_80 with --suite cm, libsrtp2 to decrypt, NACKs and
// receiver reports over SRTCP, consent every 5 s). The transports are created
// and connected (role 'client', the peer's fingerprint) through the Node
// library; the peer learns each one's ICE ufrag/pwd and candidate port over
// its stdin. Base is 0 (RSS per connected WebRtcTransport + consumer is
// (RSS at N - RSS with none) / N). Each round also runs the plain mode at the
// same N, so CPU per forwarded packet is compared with it; no bare forwarder,
// no max-rate search. Delivery: distinct media packets received / (sent x N).
//
// --simulcast: rtpgen sends 3 encodings (--streams 3 --temporal 1: SSRCs SSRC+i, VP8
// with TL0PICIDX and TIDs 0,2,1,2, key frames on PLI/FIR per SSRC) to a simulcast producer
// (3 encodings, L1T3); the N consumers are simulcast consumers whose preferred spatial
// layer cycles 2, 1, 0 (temporal layer 2: every packet of their encoding). Each round runs
// this and the plain mode (one stream, simple consumers) at the same N, steady phase only,
// and prints RSS per consumer of both kinds side by side. Delivery counts against the
// packets of one encoding: sent / 3 per consumer.
//
// --pipe: each of the N consumers sits on its own router of the same worker,
// reached by a pipe built as router.pipeToRouter() builds it (RTX on; the far
// producer gets a new id, as two routers of one worker need): per stream
// a PipeTransport pair, a pipe consumer, a pipe producer, a router and the
// simple consumer. Each round runs this and the plain mode (N simple consumers
// on the producer's router) at the same N, steady phase only, and prints RSS
// and CPU per stream of both side by side (no shrink phase).
import { spawn } from 'node:child_process';
import { connectedPipe, pipeProducer as pipeOneProducer } from '../test/node/lib/pipe.mjs';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BUILD_DIR, CONSUMER_PT, CONSUMER_RTX_PT, RtpGen, VP8_ROUTER_CODECS, WebRtcPeers, connectWebRtcPeer, consumeChecked, consumeToPort, produceRtpgenVp8 } from './rtpgen-load.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = BUILD_DIR;
const BARE = path.join(buildDir, 'test/bench/bareforward');
const ALLOC_LIB = path.join(buildDir, 'test/alloc/libsluice-alloccount.so');
const LOSS_LIMIT = 0.001;

const positional = [];
const opts = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) positional.push(a);
  else if (['--no-max', '--no-bare', '--webrtc', '--simulcast', '--pipe'].includes(a)) opts[a.slice(2)] = true;
  else opts[a.slice(2)] = process.argv[++i];
}
const cfg = {
  // --webrtc: one DTLS handshake per consumer; keep N at 150 or below.
  consumers: String(opts.consumers ?? (opts.webrtc || opts.pipe ? '10,100' : '10,100,300')).split(',').map(Number),
  base: Number(opts.base ?? 1),
  pps: Number(opts.pps ?? 150),
  nack: Number(opts.nack ?? 0.01),
  warmup: Number(opts.warmup ?? 2),
  window: Number(opts.window ?? 10),
  maxConsumers: Number(opts['max-consumers'] ?? 100),
  maxStart: Number(opts['max-start'] ?? 300),
  maxStep: Number(opts['max-step'] ?? 1.25),
  maxWindow: Number(opts['max-window'] ?? 3),
  maxCap: Number(opts['max-cap'] ?? 100000),
  shrinkWait: Number(opts['shrink-wait'] ?? 30),
  webrtc: !!opts.webrtc,
  simulcast: !!opts.simulcast,
  pipe: !!opts.pipe,
  suite: String(opts.suite ?? 'gcm'),
};
if (!['gcm', 'cm'].includes(cfg.suite)) throw new Error('--suite is gcm or cm');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TICK_US = 1e6 / 100; // CLK_TCK is 100 on Linux
const cpuTicks = (pid) => {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]), sys: Number(f[12]) };
};
const ticks = (c) => c.user + c.sys;
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
// Kernel drops (receive buffer full) per local UDP port, from /proc/net/udp.
const udpDrops = () => {
  const m = new Map();
  for (const l of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f.length > 12) m.set(parseInt(f[1].split(':')[1], 16), (m.get(parseInt(f[1].split(':')[1], 16)) ?? 0) + Number(f[f.length - 1]));
  }
  return m;
};
const allocs = (file) => (file && fs.existsSync(file) ? Number(fs.readFileSync(file).readBigUInt64LE(0)) : NaN);

// Simulcast mode: rtpgen's encodings, and the share of what it sends that one consumer gets.
const SIM_STREAMS = 3;
let sentShare = 1;

// rtpgen (scripts/rtpgen-load.mjs) with the bench's NACK fraction.
class Gen extends RtpGen {
  constructor(ports, args = []) {
    super({ recv: ports, nack: cfg.nack, args });
    this.portList = [];
  }
}

// Counters of the system under test (pid) and of the receivers, at one instant.
// inPort: the forwarder's input socket, whose kernel drops are reported apart from the receivers'.
// With WebRTC receivers (gen.peers) their counters replace rtpgen's sinks.
async function snapshot(gen, pid, allocFile, inPort) {
  const drops = udpDrops();
  const g = await gen.stats();
  if (gen.peers) {
    const p = await gen.peers.stats();
    g.sinks = p.sinks;
    g.peers = { connected: p.connected, failed: p.failed, srtpErrors: p.srtpErrors, consentOk: p.consentOk };
  }
  return { t: performance.now(), cpu: cpuTicks(pid), genCpu: cpuTicks(gen.proc.pid), allocs: allocs(allocFile),
    rss: rssKiB(pid), inDrops: drops.get(inPort) ?? 0,
    sinkDrops: gen.portList.reduce((x, p) => x + (drops.get(p) ?? 0), 0), g };
}

function windowResult(a, b, n) {
  const sum = (s, k) => s.g.sinks.slice(0, n).reduce((x, v) => x + v[k], 0);
  const dt = (b.t - a.t) / 1000;
  const duplicates = sum(b, 5) - sum(a, 5);
  const forwarded = sum(b, 0) - sum(a, 0) - duplicates; // distinct media packets
  const lost = sum(b, 3) - sum(a, 3);
  const sent = b.g.sent - a.g.sent;
  return {
    consumers: n, seconds: +dt.toFixed(3), inputPps: +(sent / dt).toFixed(1), forwarded,
    forwardedPps: +(forwarded / dt).toFixed(1), rtx: sum(b, 1) - sum(a, 1), nacks: sum(b, 4) - sum(a, 4),
    duplicates, reordered: sum(b, 6) - sum(a, 6), otherRtp: sum(b, 7) - sum(a, 7),
    gapLoss: lost / Math.max(1, lost + forwarded), shortfall: 1 - forwarded / Math.max(1, sent * sentShare * n),
    cpuTicks: ticks(b.cpu) - ticks(a.cpu), cpuUsPerPacket: ((ticks(b.cpu) - ticks(a.cpu)) * TICK_US) / Math.max(1, forwarded),
    userShare: (b.cpu.user - a.cpu.user) / Math.max(1, ticks(b.cpu) - ticks(a.cpu)),
    genCpuUsPerPacket: ((ticks(b.genCpu) - ticks(a.genCpu)) * TICK_US) / Math.max(1, forwarded),
    allocsPerPacket: (b.allocs - a.allocs) / Math.max(1, forwarded), rssKiB: b.rss,
    inputKernelDrops: b.inDrops - a.inDrops, receiverKernelDrops: b.sinkDrops - a.sinkDrops,
    delivery: forwarded / Math.max(1, sent * sentShare * n),
    ...(b.g.peers ? { peers: b.g.peers, srtpErrors: b.g.peers.srtpErrors - a.g.peers.srtpErrors } : {}),
  };
}

async function measure(gen, pid, allocFile, inPort, n, warmupS, windowS) {
  await sleep(warmupS * 1000);
  const a = await snapshot(gen, pid, allocFile, inPort);
  await sleep(windowS * 1000);
  return windowResult(a, await snapshot(gen, pid, allocFile, inPort), n);
}

// Steps the input rate up until a window is lossy; `prepare(rate)` may restart the forwarder.
async function maxRate(gen, pidOf, allocFile, inPort, n) {
  const steps = [];
  let clean = null;
  let lossy = null;
  for (let rate = cfg.maxStart; rate <= cfg.maxCap; rate *= cfg.maxStep) {
    gen.cmd(`rate ${rate.toFixed(1)}`);
    const w = await measure(gen, pidOf(), allocFile, inPort, n, 1, cfg.maxWindow);
    w.targetPps = +rate.toFixed(1);
    steps.push(w);
    const lossy = w.gapLoss > LOSS_LIMIT || w.shortfall > 0.02;
    process.stderr.write(`  rate ${rate.toFixed(0)} pps in: ${w.forwardedPps} fwd/s, gap loss ${(w.gapLoss * 100).toFixed(3)}%, `
      + `shortfall ${(w.shortfall * 100).toFixed(2)}%, kernel drops at input ${w.inputKernelDrops} / receivers `
      + `${w.receiverKernelDrops}, ${w.cpuTicks} cpu ticks in ${w.seconds} s${lossy ? ' -> lossy' : ''}\n`);
    if (lossy) { w.lossy = true; break; }
    if (w.inputPps < rate * 0.9) { w.generatorLimited = true; clean = w; break; }
    clean = w;
  }
  return { clean, lossy: steps.find((w) => w.lossy) ?? null, steps };
}

// ---------------------------------------------------------------- worker child
async function childWorker(bin, phase, webrtc = false, simulcast = false, pipe = false) {
  process.env.MEDIASOUP_WORKER_BIN = bin; // read once, when the library is first imported
  const mediasoup = createRequire(path.join(root, 'test/node/package.json'))('mediasoup');
  const allocFile = fs.existsSync(ALLOC_LIB) ? path.join(os.tmpdir(), `sluice-bench-alloc-${process.pid}`) : null;
  if (allocFile) { process.env.LD_PRELOAD = ALLOC_LIB; process.env.ALLOCCOUNT_FILE = allocFile; }
  const worker = await mediasoup.createWorker({ logLevel: 'error', rtcMinPort: 20000, rtcMaxPort: 40000 });
  delete process.env.LD_PRELOAD;
  delete process.env.ALLOCCOUNT_FILE;
  const maxN = phase === 'max' ? cfg.maxConsumers : Math.max(...cfg.consumers);
  const base = webrtc ? 0 : cfg.base;
  if (simulcast) sentShare = 1 / SIM_STREAMS;
  const gen = new Gen(webrtc ? 0 : maxN, simulcast ? ['--streams', String(SIM_STREAMS), '--temporal', '1'] : []);
  const ports = await gen.ports;
  if (webrtc) gen.peers = new WebRtcPeers({ suite: cfg.suite, nack: cfg.nack });
  const fingerprint = webrtc ? (await gen.peers.fingerprint).split(' ') : null;
  const out = { worker: bin, pid: worker.pid, allocCounter: !!allocFile,
    mode: webrtc ? `webrtc-${cfg.suite}` : simulcast ? 'simulcast' : pipe ? 'pipe' : 'plain' };
  try {
    const router = await worker.createRouter({ mediaCodecs: VP8_ROUTER_CODECS });
    const { transport: input, producer } = await produceRtpgenVp8(router, { streams: simulcast ? SIM_STREAMS : 1 });
    gen.cmd(`dest 127.0.0.1 ${input.tuple.localPort}`);
    gen.cmd(`rate ${cfg.pps}`);
    const transports = [];
    const grow = async (n) => {
      while (transports.length < n) {
        if (webrtc) {
          const t = await connectWebRtcPeer(router, gen.peers, fingerprint, transports.length);
          await consumeChecked(t, router, producer);
          transports.push(t);
        } else if (pipe) {
          const far = await worker.createRouter({ mediaCodecs: VP8_ROUTER_CODECS });
          // pipeToRouter()'s pair, built here: within one worker the far
          // producer needs its own id.
          const { a, b } = await connectedPipe(router, far, { enableRtx: true });
          const { pipeProducer } = await pipeOneProducer(a, b, producer, { newId: true });
          transports.push((await consumeToPort(far, pipeProducer, ports[transports.length])).transport);
        } else {
          const i = transports.length;
          const options = simulcast ? { preferredLayers: { spatialLayer: 2 - (i % SIM_STREAMS), temporalLayer: 2 } } : {};
          transports.push((await consumeToPort(router, producer, ports[i], options)).transport);
        }
      }
    };
    if (phase === 'max') {
      await grow(maxN);
      await sleep(cfg.warmup * 1000);
      out.max = await maxRate(gen, () => worker.pid, allocFile, input.tuple.localPort, maxN);
    } else {
      await grow(base);
      await sleep(cfg.warmup * 1000);
      out.rssBaseKiB = rssKiB(worker.pid);
      out.steady = [];
      for (const n of cfg.consumers) {
        await grow(n);
        const w = await measure(gen, worker.pid, allocFile, input.tuple.localPort, n, cfg.warmup, cfg.window);
        w.rssPerConsumerBytes = Math.round(((w.rssKiB - out.rssBaseKiB) * 1024) / Math.max(1, n - base));
        out.steady.push(w);
        process.stderr.write(`  N=${n}: ${JSON.stringify(w)}\n`);
      }
      // Given back: down to the first N again, the stream still flowing; RSS
      // after --shrink-wait seconds against RSS when the worker first had that N.
      const low = cfg.consumers[0];
      if (cfg.shrinkWait > 0 && maxN > low && !pipe) {
        while (transports.length > low) transports.pop().close();
        await sleep(cfg.shrinkWait * 1000);
        const rss = rssKiB(worker.pid);
        out.shrink = { from: maxN, to: low, waitS: cfg.shrinkWait, rssKiB: rss, freshRssKiB: out.steady[0].rssKiB,
          ratio: rss / out.steady[0].rssKiB };
        process.stderr.write(`  ${maxN} -> ${low}: ${JSON.stringify(out.shrink)}\n`);
      }
    }
  } finally {
    gen.close();
    gen.peers?.close();
    worker.close();
    if (allocFile) fs.rmSync(allocFile, { force: true });
  }
  return out;
}

// ------------------------------------------------------------------ bare child
async function childBare(phase) {
  const maxN = phase === 'max' ? cfg.maxConsumers : Math.max(...cfg.consumers);
  const gen = new Gen(maxN);
  const ports = await gen.ports;
  let bare = null;
  let barePort = 0;
  const startBare = async (n) => {
    bare?.kill();
    bare = spawn(BARE, ['--pt', String(CONSUMER_PT), ...ports.slice(0, n).map((p) => `127.0.0.1:${p}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise((r) => readline.createInterface({ input: bare.stdout }).once('line', r));
    barePort = JSON.parse(line).port;
    gen.cmd(`dest 127.0.0.1 ${barePort}`);
  };
  const out = { worker: 'bareforward' };
  try {
    if (phase === 'max') {
      await startBare(maxN);
      out.max = await maxRate(gen, () => bare.pid, null, barePort, maxN);
    } else {
      gen.cmd(`rate ${cfg.pps}`);
      out.steady = [];
      for (const n of cfg.consumers) {
        await startBare(n);
        const w = await measure(gen, bare.pid, null, barePort, n, cfg.warmup, cfg.window);
        out.steady.push(w);
        process.stderr.write(`  bare N=${n}: ${JSON.stringify(w)}\n`);
      }
    }
  } finally {
    bare?.kill();
    gen.close();
  }
  return out;
}

// ---------------------------------------------------------------------- parent
function runChild(kind, bin, phase) {
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), '--child', kind, '--phase', phase, ...(bin ? ['--bin', bin] : []),
      ...process.argv.slice(2).filter((a) => !positional.includes(a))];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.on('exit', (code) => {
      const line = text.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`${kind} ${bin ?? ''} ${phase} exited ${code}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : NaN;
};
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

// Median over rounds of the per-round CPU ratio at the i-th N: each round runs
// both under the same machine conditions, so its ratio is steadier than a ratio
// of medians.
function cpuRatio(runsA, runsB, i) {
  return median(runsA.map((r, k) => r.steady?.[i]?.cpuUsPerPacket / runsB[k]?.steady?.[i]?.cpuUsPerPacket));
}

function summarize(runs) {
  // runs: [{steady: [...], max}] over rounds -> medians per N
  const perN = cfg.consumers.map((n, i) => {
    const ws = runs.map((r) => r.steady?.[i]).filter(Boolean);
    return { n, rssPerConsumerBytes: median(ws.map((w) => w.rssPerConsumerBytes)),
      allocsPerPacket: median(ws.map((w) => w.allocsPerPacket)), cpuUsPerPacket: median(ws.map((w) => w.cpuUsPerPacket)),
      gapLoss: median(ws.map((w) => w.gapLoss)), forwardedPps: median(ws.map((w) => w.forwardedPps)),
      cpuTicks: median(ws.map((w) => w.cpuTicks)), userShare: median(ws.map((w) => w.userShare)) };
  });
  const cleans = runs.map((r) => r.max?.clean).filter(Boolean);
  const shrinks = runs.map((r) => r.shrink).filter(Boolean);
  return { perN, shrinkRatio: median(shrinks.map((x) => x.ratio)), shrinkRssKiB: median(shrinks.map((x) => x.rssKiB)),
    shrinkFreshRssKiB: median(shrinks.map((x) => x.freshRssKiB)), maxForwardedPps: median(cleans.map((c) => c.forwardedPps)),
    maxInputPps: median(cleans.map((c) => c.inputPps)),
    firstLossy: runs.map((r) => r.max?.lossy).filter(Boolean).map((w) => ({ inputPps: w.inputPps, gapLoss: w.gapLoss,
      inputKernelDrops: w.inputKernelDrops, receiverKernelDrops: w.receiverKernelDrops })),
    generatorLimited: cleans.some((c) => c.generatorLimited) };
}

async function parent() {
  const bins = positional.length ? positional : (process.env.MEDIASOUP_WORKER_BIN ? [process.env.MEDIASOUP_WORKER_BIN] : []);
  if (!bins.length) throw new Error('give a worker binary (argument or MEDIASOUP_WORKER_BIN)');
  const rounds = Number(opts.rounds ?? (bins.length > 1 ? 3 : 1));
  const phases = opts['no-max'] ? ['steady'] : ['steady', 'max'];
  const raw = Object.fromEntries([...bins, 'bare'].map((b) => [b, []]));
  for (let r = 0; r < rounds; r++) {
    const order = [...bins, ...(opts['no-bare'] ? [] : ['bare'])];
    for (const b of r % 2 ? order.reverse() : order) {
      const run = {};
      for (const phase of phases) {
        process.stderr.write(`round ${r + 1}/${rounds}: ${b} ${phase}\n`);
        Object.assign(run, await runChild(b === 'bare' ? 'bare' : 'worker', b === 'bare' ? null : b, phase));
      }
      raw[b].push(run);
    }
  }
  const sum = Object.fromEntries(Object.entries(raw).filter(([, v]) => v.length).map(([b, v]) => [b, summarize(v)]));
  const bare = sum.bare;
  const names = bins.map((b) => path.basename(b));
  console.log(`\nsluice bench: 1 VP8 producer (${cfg.pps} pps, 1100 B), NACK ${cfg.nack * 100}% of packets, `
    + `window ${cfg.window} s, ${rounds} round(s), medians (ratios: median of the per-round ratios); CPU from 10 ms ticks`);
  if (bins.length < 2) {
    console.log('side-by-side columns absent: give a second worker binary (e.g. a mediasoup-worker) for ratios');
  }
  const head = ['N', ...names.flatMap((n) => [`${n} RSS/cons KiB`, `${n} allocs/pkt`, `${n} CPU us/pkt`, `${n} loss%`]),
    ...(bare ? ['bare CPU us/pkt'] : []), ...names.map((n) => `${n}/bare`),
    ...(bins.length > 1 ? [`${names[0]}/${names[1]} CPU`] : [])];
  const rows = cfg.consumers.map((n, i) => {
    const cells = [String(n)];
    for (const b of bins) {
      const p = sum[b].perN[i];
      cells.push(fmt(p.rssPerConsumerBytes / 1024), fmt(p.allocsPerPacket, 4), fmt(p.cpuUsPerPacket), fmt(p.gapLoss * 100, 3));
    }
    if (bare) cells.push(fmt(bare.perN[i].cpuUsPerPacket));
    for (const b of bins) cells.push(bare ? fmt(cpuRatio(raw[b], raw.bare, i)) : '-');
    if (bins.length > 1) cells.push(fmt(cpuRatio(raw[bins[0]], raw[bins[1]], i)));
    return cells;
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [head, ...rows]) console.log(r.map((x, c) => x.padStart(widths[c])).join('  '));
  if (cfg.shrinkWait > 0 && Math.max(...cfg.consumers) > cfg.consumers[0]) {
    const line = bins.map((b) => `${path.basename(b)} ${fmt(sum[b].shrinkRatio)}x (${fmt(sum[b].shrinkRssKiB / 1024, 1)} MB `
      + `vs ${fmt(sum[b].shrinkFreshRssKiB / 1024, 1)} MB)`);
    console.log(`RSS ${cfg.shrinkWait} s after ${Math.max(...cfg.consumers)} -> ${cfg.consumers[0]} consumers, `
      + `over RSS when first at ${cfg.consumers[0]}: ${line.join('; ')}`);
  }
  if (phases.includes('max')) {
    const line = [...bins, ...(bare ? ['bare'] : [])].map((b) => {
      const s = sum[b];
      return `${b === 'bare' ? 'bareforward' : path.basename(b)} ${fmt(s.maxForwardedPps, 0)} fwd pps `
        + `(input ${fmt(s.maxInputPps, 0)} pps${s.generatorLimited ? ', generator-limited' : ''}`
        + `${s.firstLossy.map((l) => `; next step lossy, kernel drops input ${l.inputKernelDrops}/receivers ${l.receiverKernelDrops}`).join('')})`;
    });
    console.log(`max forwarded without loss >${LOSS_LIMIT * 100}% at N=${cfg.maxConsumers}: ${line.join('; ')}`);
    if (bare) for (const b of bins) console.log(`  ${path.basename(b)}/bare max rate ratio ${fmt(sum[b].maxForwardedPps / bare.maxForwardedPps)}`);
    if (bins.length > 1) console.log(`  ${names[0]}/${names[1]} max rate ratio ${fmt(sum[bins[0]].maxForwardedPps / sum[bins[1]].maxForwardedPps)}`);
  }
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({ config: cfg, rounds, summary: sum, raw }, null, 1));
    console.log(`JSON written to ${opts.json}`);
  }
}

// --simulcast / --pipe: per binary and round, that mode then the plain mode at
// the same N (steady phase only).
async function parentVersusPlain(kind, title) {
  const bins = positional.length ? positional : (process.env.MEDIASOUP_WORKER_BIN ? [process.env.MEDIASOUP_WORKER_BIN] : []);
  if (!bins.length) throw new Error('give a worker binary (argument or MEDIASOUP_WORKER_BIN)');
  const rounds = Number(opts.rounds ?? 1);
  const raw = Object.fromEntries(bins.map((b) => [b, { [kind]: [], plain: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const b of r % 2 ? [...bins].reverse() : bins) {
      for (const k of [kind, 'plain']) {
        process.stderr.write(`round ${r + 1}/${rounds}: ${b} ${k}\n`);
        raw[b][k].push(await runChild(k === kind ? kind : 'worker', b, 'steady'));
      }
    }
  }
  console.log(`\n${title}; NACK ${cfg.nack * 100}% of packets, window ${cfg.window} s, ${rounds} `
    + `round(s), medians; CPU from 10 ms ticks (noisy on a shared machine)`);
  const head = ['worker', 'N', `${kind} RSS/cons KiB`, 'simple RSS/cons KiB', `${kind} allocs/pkt`,
    'simple allocs/pkt', `${kind} CPU us/pkt`, 'simple CPU us/pkt', `${kind} delivery %`, `${kind} gap loss %`];
  const rows = [];
  for (const b of bins) {
    cfg.consumers.forEach((n, i) => {
      const ws = raw[b][kind].map((x) => x.steady?.[i]).filter(Boolean);
      const ps = raw[b].plain.map((x) => x.steady?.[i]).filter(Boolean);
      rows.push([path.basename(b), String(n), fmt(median(ws.map((w) => w.rssPerConsumerBytes)) / 1024),
        fmt(median(ps.map((w) => w.rssPerConsumerBytes)) / 1024), fmt(median(ws.map((w) => w.allocsPerPacket)), 4),
        fmt(median(ps.map((w) => w.allocsPerPacket)), 4), fmt(median(ws.map((w) => w.cpuUsPerPacket))),
        fmt(median(ps.map((w) => w.cpuUsPerPacket))), fmt(median(ws.map((w) => w.delivery)) * 100, 2),
        fmt(median(ws.map((w) => w.gapLoss)) * 100, 3)]);
    });
  }
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [head, ...rows]) console.log(r.map((x, c) => x.padStart(widths[c])).join('  '));
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({ config: cfg, rounds, raw }, null, 1));
    console.log(`JSON written to ${opts.json}`);
  }
}

// --webrtc: per binary and round, the WebRTC mode then the plain mode at the
// same N (steady phase only).
async function parentWebRtc() {
  const bins = positional.length ? positional : (process.env.MEDIASOUP_WORKER_BIN ? [process.env.MEDIASOUP_WORKER_BIN] : []);
  if (!bins.length) throw new Error('give a worker binary (argument or MEDIASOUP_WORKER_BIN)');
  const rounds = Number(opts.rounds ?? 1);
  const raw = Object.fromEntries(bins.map((b) => [b, { webrtc: [], plain: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const b of r % 2 ? [...bins].reverse() : bins) {
      for (const kind of ['webrtc', 'plain']) {
        process.stderr.write(`round ${r + 1}/${rounds}: ${b} ${kind}\n`);
        raw[b][kind].push(await runChild(kind === 'webrtc' ? 'webrtc' : 'worker', b, 'steady'));
      }
    }
  }
  console.log(`\nsluice bench --webrtc: 1 VP8 producer (${cfg.pps} pps, 1100 B) on a PlainTransport, N WebRtcTransport `
    + `consumers each connected by a real ICE + DTLS 1.2 client, SRTP ${cfg.suite === 'gcm' ? 'AEAD_AES_128_GCM' : 'AES128_CM_HMAC_SHA1_80'}, `
    + `NACK ${cfg.nack * 100}% of packets, window ${cfg.window} s, ${rounds} round(s), medians; CPU from 10 ms ticks`);
  // Marginal: RSS growth from the previous N, per added transport; the first
  // transports also pay one-time costs (OpenSSL and libsrtp state, code pages).
  const head = ['worker', 'N', 'RSS/(WebRtcTransport+consumer) KiB', 'marginal KiB', 'allocs/pkt', 'CPU us/pkt', 'plain CPU us/pkt',
    'webrtc/plain CPU', 'delivery %', 'gap loss %', 'srtp errors'];
  const rows = [];
  for (const b of bins) {
    cfg.consumers.forEach((n, i) => {
      const ws = raw[b].webrtc.map((x) => x.steady?.[i]).filter(Boolean);
      const ps = raw[b].plain.map((x) => x.steady?.[i]).filter(Boolean);
      const ratio = median(raw[b].webrtc.map((x, k) => x.steady?.[i]?.cpuUsPerPacket / raw[b].plain[k]?.steady?.[i]?.cpuUsPerPacket));
      const prev = i > 0 ? raw[b].webrtc.map((x) => x.steady?.[i - 1]).filter(Boolean) : [];
      const marginal = i > 0 ? (median(ws.map((w) => w.rssKiB)) - median(prev.map((w) => w.rssKiB))) / (n - cfg.consumers[i - 1]) : NaN;
      rows.push([path.basename(b), String(n), fmt(median(ws.map((w) => w.rssPerConsumerBytes)) / 1024), fmt(marginal),
        fmt(median(ws.map((w) => w.allocsPerPacket)), 4), fmt(median(ws.map((w) => w.cpuUsPerPacket))),
        fmt(median(ps.map((w) => w.cpuUsPerPacket))), fmt(ratio), fmt(median(ws.map((w) => w.delivery)) * 100, 2),
        fmt(median(ws.map((w) => w.gapLoss)) * 100, 3), fmt(median(ws.map((w) => w.srtpErrors)), 0)]);
    });
  }
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [head, ...rows]) console.log(r.map((x, c) => x.padStart(widths[c])).join('  '));
  for (const b of bins) {
    const shrinks = raw[b].webrtc.map((x) => x.shrink).filter(Boolean);
    if (shrinks.length) {
      const x = shrinks[0];
      console.log(`${path.basename(b)}: RSS ${x.waitS} s after ${x.from} -> ${x.to} WebRtcTransports, over RSS when first at `
        + `${x.to}: ${fmt(median(shrinks.map((y) => y.ratio)))}x (${fmt(x.rssKiB / 1024, 1)} MB vs ${fmt(x.freshRssKiB / 1024, 1)} MB)`);
    }
  }
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({ config: cfg, rounds, raw }, null, 1));
    console.log(`JSON written to ${opts.json}`);
  }
}

if (opts.child) {
  const result = opts.child === 'bare' ? await childBare(opts.phase)
    : await childWorker(opts.bin, opts.phase, opts.child === 'webrtc', opts.child === 'simulcast', opts.child === 'pipe');
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0); // the library's and the generator's handles may linger; the result is out
} else if (cfg.webrtc) {
  await parentWebRtc();
} else if (cfg.simulcast) {
  await parentVersusPlain('simulcast', `sluice bench --simulcast: rtpgen ${cfg.pps} pps in all (1100 B), as 3 VP8 encodings `
    + 'L1T3 into a simulcast producer (N simulcast consumers, preferred spatial layer 2, 1, 0 in turn, temporal 2) | as 1 '
    + 'stream into a simple producer (N simple consumers)');
} else if (cfg.pipe) {
  await parentVersusPlain('pipe', `sluice bench --pipe: rtpgen ${cfg.pps} pps (1100 B) into one VP8 producer; N streams `
    + 'each piped (a PipeTransport pair, RTX on) to its own router of the same worker and consumed there | N simple consumers '
    + 'on the producer\'s router');
} else {
  await parent();
}
