// Demo: a VP8 test pattern through sluice to several consumers, driven by the unmodified
// mediasoup Node library (MEDIASOUP_WORKER_BIN names the worker; scripts/demo sets it).
//
//   GStreamer sender.py (videotestsrc → vp8enc → rtpvp8pay, RTX) ─► PlainTransport (comedia,
//     rtcp-mux) ─► Producer ─► N SimpleConsumers, each on its own PlainTransport ─► a UDP
//     receiver in this process (demo-receiver.mjs) that ignores ~3% of the media packets
//     (fixed-seed PRNG), NACKs the gaps, counts the RTX that repair them, sends RRs.
//
// Without usable GStreamer (python3-gi, the VP8/RTP plugins), a synthetic VP8-like RTP
// generator in Node (demo-synth.mjs) takes the sender's place, and the demo says so.
// Every second: per consumer packets, bytes, dropped, NACKed, repaired by RTX, still missing;
// the worker's memory section of worker.dump() and consumer.getStats() retransmissions.
//
//   node scripts/demo.mjs [--seconds 15] [--consumers 4] [--loss 0.03] [--seed N] [--synthetic]
//
// Exit code 0 when media reached every consumer, 1 otherwise.

import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { watchMemoryDump } from '../test/node/lib/memory-dump.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openReceivingConsumer } from './demo-receiver.mjs';
import { SyntheticSender, produceVp8 } from './demo-synth.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const interop = path.join(root, 'test/interop');
const require = createRequire(path.join(root, 'test/node/package.json'));
const mediasoup = require('mediasoup');

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string' },
    consumers: { type: 'string', default: '4' },
    loss: { type: 'string', default: '0.03' },
    seed: { type: 'string', default: String(0x5eed) },
    synthetic: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(opts.seconds ?? positionals[0] ?? 15);
const CONSUMERS = Number(opts.consumers);
const LOSS = Number(opts.loss);
const SEED = Number(opts.seed);
const FPS = 30;
if (!(SECONDS >= 1) || !(CONSUMERS >= 1 && CONSUMERS <= 64) || !(LOSS >= 0 && LOSS < 1) || !Number.isFinite(SEED)) {
  console.error('usage: demo [--seconds N>=1] [--consumers 1..64] [--loss 0..1] [--seed N] [--synthetic]');
  process.exit(2);
}
// What the sender puts on the wire; the producer's rtpParameters say the same.
const SENDER = { pt: 96, rtxPt: 97, ssrc: 0x11112222, rtxSsrc: 0x33334444 };
const PY_ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }; // keep test/interop clean
// The Node library hands this process's environment to the worker, which flags SLUICE_*
// names it does not know: keep the demo's own variable to the demo.
const GST_PYTHON = process.env.SLUICE_GST_PYTHON;
delete process.env.SLUICE_GST_PYTHON;

// Output piped into `head` and closed early: stop quietly (children are killed on exit).
process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? 0 : 1));

const num = (n) => Number(n).toLocaleString('en-US');
const mb = (bytes) => `${(Number(bytes) / 1e6).toFixed(1)} MB`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// --- sluice's memory section of worker.dump() (test/node/lib/memory-dump.mjs) --------------------
const memoryDump = watchMemoryDump();

// --- the producer side -------------------------------------------------------------------
// GStreamer peers need Debian's python3 (python3-gi lives there); SLUICE_GST_PYTHON overrides.
function findGstPython() {
  const candidates = GST_PYTHON ? [GST_PYTHON] : ['/usr/bin/python3', 'python3'];
  const reasons = [];
  for (const python of candidates) {
    const probe = spawnSync(python, [path.join(interop, 'gstpeer.py')], { encoding: 'utf8', env: PY_ENV, timeout: 20_000 });
    if (probe.status === 0) return { python, version: probe.stdout.trim().replace(/^ok: /, '') };
    reasons.push(`${python}: ${probe.error ? probe.error.message : (probe.stderr || '').trim().split('\n').at(-1)}`);
  }
  return { reasons };
}

// test/interop/sender.py as a child process: JSON event lines on stdout.
const children = new Set(); // killed if the demo exits early
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });
class GstSender {
  constructor(python, dest, frames) {
    this.events = [];
    this.stderr = '';
    this.waiters = [];
    this.child = spawn(python, [path.join(interop, 'sender.py'), `--dest=${dest.address}:${dest.port}`,
      `--pt=${SENDER.pt}`, `--rtx-pt=${SENDER.rtxPt}`, `--ssrc=${SENDER.ssrc}`, `--rtx-ssrc=${SENDER.rtxSsrc}`,
      `--frames=${frames}`, `--fps=${FPS}`, '--linger=0.5'], { stdio: ['ignore', 'pipe', 'pipe'], env: PY_ENV });
    children.add(this.child);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      children.delete(this.child);
      this.exit = { code, signal };
      resolve(this.exit);
      this.wake();
    }));
    let pending = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => {
      pending += chunk;
      for (let nl; (nl = pending.indexOf('\n')) >= 0; pending = pending.slice(nl + 1)) {
        try { this.events.push(JSON.parse(pending.slice(0, nl))); } catch { this.stderr += `${pending.slice(0, nl)}\n`; }
      }
      this.wake();
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk) => { this.stderr = (this.stderr + chunk).slice(-4000); });
  }

  wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  async waitFor(event, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === event || e.event === 'error');
      if (found?.event === 'error') throw new Error(`GStreamer sender: ${found.message} (${found.debug ?? ''})`);
      if (found) return found;
      if (this.exit) throw new Error(`GStreamer sender exited (${JSON.stringify(this.exit)}) before '${event}'`);
      if (Date.now() >= deadline) throw new Error(`GStreamer sender: no '${event}' within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  async stop() {
    if (!this.exit) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(2000)]);
      if (!this.exit) this.child.kill('SIGKILL');
    }
  }
}

// --- main --------------------------------------------------------------------------------
async function main() {
  const failures = [];
  const warnings = new Map(); // worker / library warnings, counted instead of repeated
  const noteWarning = (kind, ns, log) => {
    const key = `${kind} ${ns} ${log}`;
    if (!warnings.has(key)) console.log(`  (${kind} from ${ns}: ${log})`);
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
  };
  mediasoup.setLogEventListeners({
    onwarn: (ns, log) => noteWarning('warning', ns, log),
    onerror: (ns, log) => noteWarning('error', ns, log),
  });

  const workerBin = process.env.MEDIASOUP_WORKER_BIN;
  if (!workerBin) throw new Error('MEDIASOUP_WORKER_BIN must name the worker binary (scripts/demo sets it)');
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  let died = null;
  worker.on('died', (error) => { died = error; });
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }],
  });
  const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
  const { transport: producerTransport, producer } = await produceVp8(router, SENDER, 'sluice-demo', listenInfo);

  const consumers = [];
  for (let i = 0; i < CONSUMERS; i++)
    consumers.push(await openReceivingConsumer(router, producer, { name: `c${i + 1}`, lossRate: LOSS, seed: SEED + i, listenInfo }));

  // The producer: GStreamer if it is usable, else the synthetic generator.
  const dest = { address: producerTransport.tuple.localAddress ?? producerTransport.tuple.localIp, port: producerTransport.tuple.localPort };
  const gst = opts.synthetic ? { reasons: ['--synthetic given'] } : findGstPython();
  let sender;
  let synth;
  let source;
  if (gst.python) {
    sender = new GstSender(gst.python, dest, SECONDS * FPS);
    await sender.waitFor('ready', 15_000);
    source = `test/interop/sender.py, ${gst.version}\n    videotestsrc → vp8enc → rtpvp8pay + rtprtxsend`;
  } else {
    console.log(`GStreamer not usable (${gst.reasons.join('; ')}):`);
    console.log('  falling back to a synthetic VP8-like RTP generator in Node (keyframe every second, RTX on NACK).');
    synth = new SyntheticSender({ dest, ...SENDER, fps: FPS });
    await synth.start();
    source = 'synthetic VP8-like RTP from Node (scripts/demo-synth.mjs)';
  }

  console.log(`sluice demo — worker ${workerBin} (pid ${worker.pid})`);
  console.log(`  producer: ${source}, 640x360 @ ${FPS} fps for ${SECONDS} s`);
  console.log(`  ${CONSUMERS} consumers, each a PlainTransport to a receiver here that ignores ${(LOSS * 100).toFixed(1)}% of`);
  console.log(`  the media packets (PRNG seed ${SEED}+i), NACKs the gaps and counts the RTX that repair them.`);
  console.log('');
  const head = '    t  consumer   packets      bytes  dropped  NACKed  repaired  missing';
  console.log(head);
  console.log(`  ${'-'.repeat(head.length - 2)}`);
  const row = (t, name, s, missing) => `${t.padStart(5)}  ${name.padEnd(8)} ${num(s.packets).padStart(8)} ${num(s.bytes).padStart(11)}`
    + ` ${num(s.dropped).padStart(8)} ${num(s.nacked).padStart(7)} ${num(s.repaired).padStart(9)} ${num(missing).padStart(8)}`;

  const sample = async () => {
    await worker.dump(); // fills memoryDump.last
    const stats = await Promise.all(consumers.map((c) => c.consumer.getStats()));
    const outbound = stats.map((list) => list.find((s) => s.type === 'outbound-rtp') ?? {});
    const inbound = (await producer.getStats()).find((s) => s.type === 'inbound-rtp') ?? {};
    return {
      retransmitted: outbound.reduce((sum, s) => sum + (s.packetsRetransmitted ?? 0), 0),
      producerPackets: inbound.packetCount ?? 0,
      producerBitrate: inbound.bitrate ?? 0,
    };
  };
  const memoryLine = (m, retransmitted) => (m
    ? `pool ${num(m.pool.slotsInUse)}/${num(m.pool.slotsCapacity)} slots, ${m.pool.slabsHeld} slab(s) · `
      + `ring ${num(m.rings.packetsHeld)} pkts/${m.rings.bucketsHeld} buckets · RSS ${mb(m.rssBytes)} · `
      + `RTX sent ${num(retransmitted)}`
    : `(no memory section in worker.dump()) · RTX sent ${num(retransmitted)}`);

  const start = performance.now();
  let peakRss = 0;
  for (let t = 1; t <= SECONDS; t++) {
    await sleep(start + t * 1000 - performance.now());
    if (died) break;
    const s = await sample();
    peakRss = Math.max(peakRss, memoryDump.last?.rssBytes ?? 0);
    consumers.forEach((c, i) => console.log(row(i === 0 ? `${t}s` : '', c.name, c.receiver.stats, c.receiver.missing.size)));
    console.log(`${''.padStart(5)}  ${'worker'.padEnd(8)} in ${num(s.producerPackets)} pkts `
      + `${(s.producerBitrate / 1e6).toFixed(2)} Mbit/s · ${memoryLine(memoryDump.last, s.retransmitted)}`);
  }

  // Let the last NACKs be answered (the GStreamer sender lingers 0.5 s after its last frame,
  // then reports), stop the source and read the final figures.
  if (sender) {
    await sender.waitFor('done', 3000).catch(() => {});
    await sender.stop();
  } else {
    await sleep(400);
  }
  synth?.stop();
  await sleep(200);
  const final = died ? null : await sample();

  const totals = { packets: 0, bytes: 0, dropped: 0, nacked: 0, repaired: 0, missing: 0, rtx: 0 };
  for (const c of consumers) {
    const r = c.receiver.stats;
    for (const k of ['packets', 'bytes', 'dropped', 'nacked', 'repaired', 'rtx']) totals[k] += r[k];
    totals.missing += c.receiver.missing.size;
    if (r.packets === 0) failures.push(`${c.name} received no media`);
    if (r.other > 0) failures.push(`${c.name} received ${r.other} RTP packets with an unexpected PT/SSRC`);
  }
  if (died) failures.push(`worker died: ${died}`);
  else if (!final.producerPackets) failures.push('the producer received no RTP');

  console.log('');
  console.log('summary');
  console.log(`  producer      ${num(final?.producerPackets ?? 0)} RTP packets received by the worker`);
  console.log(`  consumers     ${num(totals.packets)} media packets, ${num(totals.bytes)} bytes to ${CONSUMERS} receivers`);
  console.log(`  loss          ${num(totals.dropped)} dropped by the lossy step, ${num(totals.nacked)} NACKed, `
    + `${num(totals.rtx)} RTX received`);
  const pct = totals.nacked ? ((100 * totals.repaired) / totals.nacked).toFixed(1) : '-';
  console.log(`  repair        ${num(totals.repaired)} of ${num(totals.nacked)} NACKed packets repaired by RTX (${pct}%), `
    + `${num(totals.missing)} still missing`);
  console.log(`  worker stats  packetsRetransmitted ${num(final?.retransmitted ?? 0)} (consumer.getStats(), all consumers)`);
  const lastMemory = memoryDump.last;
  if (lastMemory) {
    console.log(`  memory        final RSS ${mb(lastMemory.rssBytes)} (highest sampled ${mb(peakRss)}); pool high-water `
      + `${num(lastMemory.pool.highWaterSlots)} slots, now ${num(lastMemory.pool.slotsInUse)} in ${lastMemory.pool.slabsHeld} slab(s); `
      + `ring now ${num(lastMemory.rings.packetsHeld)} pkts/${lastMemory.rings.bucketsHeld} buckets`);
  }
  if (sender) {
    const done = sender.events.find((e) => e.event === 'done');
    if (done) console.log(`  sender        ${done.frames} frames (${done.keyframes} keyframes, ${done.forcedKeyframes} on request)`);
  } else if (synth) {
    console.log(`  sender        synthetic: ${synth.stats.frames} frames (${synth.stats.keyframes} keyframes, ${synth.stats.pli} PLI/FIR)`);
  }
  const repeated = [...warnings.values()].reduce((a, b) => a + b, 0) - warnings.size;
  if (repeated > 0) console.log(`  (${repeated} repeated warning(s) not shown)`);
  if (totals.nacked > 0 && totals.repaired === 0) console.log('  note: no NACKed packet was repaired');

  // Close everything.
  for (const c of consumers) c.receiver.close();
  producerTransport.close();
  for (const c of consumers) c.transport.close();
  router.close();
  if (!died) {
    const closed = new Promise((resolve) => worker.on('subprocessclose', resolve));
    worker.close();
    await Promise.race([closed, sleep(3000)]);
  }
  if (failures.length) {
    if (sender?.stderr) console.error(`--- GStreamer sender stderr (tail)\n${sender.stderr.slice(-2000)}`);
    console.error(`FAIL: ${failures.join('; ')}`);
    return 1;
  }
  console.log('  ok: media flowed to every consumer; worker closed');
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
