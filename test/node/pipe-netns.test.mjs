// Two hosts: two workers in two network namespaces joined by a veth pair
// (192.0.2.1/24 and 192.0.2.2/24, RFC 5737 documentation addresses), an
// application-level pipe between them (each side creates a PipeTransport,
// they connect to each other's tuple, the far side produces with the pipe
// consumer's parameters), 5% loss on the veth from A to B (tc netem, or an
// htb + classic-BPF random drop where the kernel lacks netem), and
// the far consumer's stream repaired by NACK/RTX across the pipe.
//
// One Node controller drives both workers: MEDIASOUP_WORKER_BIN is pointed at
// a wrapper that execs the real worker under `ip netns exec` (the channel's
// fds 3/4 survive the exec). The media sender (in A) and receiver (in B) are
// child processes started the same way (lib/netns-peer.mjs).
//
// Needs root and iproute2; skipped with a message otherwise. Namespaces are
// named with the pid and removed at the end, also on failure.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker node --test pipe-netns.test.mjs

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startWorker, closeAll, MEDIA_CODECS, PRODUCER_VP8_PT } from './lib/media-peer.mjs';
import { pipeProducer } from './lib/pipe.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
const REAL_WORKER = process.env.MEDIASOUP_WORKER_BIN;
assert.ok(REAL_WORKER, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const NS_A = `sluice-pipe-a-${process.pid}`;
const NS_B = `sluice-pipe-b-${process.pid}`;
const IP_A = '192.0.2.1';
const IP_B = '192.0.2.2';
const VETH_A = `spa${process.pid}`.slice(0, 15);
const VETH_B = `spb${process.pid}`.slice(0, 15);
const LOSS = '5%';
const PACKETS = 900; // 6 s at 150 pps
const PPS = 150;
const SSRC = 0x5eed0001;

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function removeNamespaces() {
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not created, or already gone
    }
  }
}

const tc = (ns, ...args) => execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });

// 5% random loss on `dev`'s egress: netem where the kernel has it; else
// (kernels built without sch_netem) an htb root whose classic-BPF filter
// sends a random 5% of IP packets (SKF_AD_RANDOM < 5% of 2^32) to a class
// whose pfifo holds nothing, so they are dropped. Returns what was used.
function addLoss(ns, dev) {
  try {
    tc(ns, 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'loss', LOSS);
    return `netem loss ${LOSS}`;
  } catch {
    // no netem: fall through
  }
  const threshold = Math.round(0.05 * 2 ** 32);
  tc(ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '100000');
  tc(ns, 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
  tc(ns, 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '10gbit');
  tc(ns, 'qdisc', 'add', 'dev', dev, 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '0');
  // A = random; if A > threshold: no match (ret 0), else: flowid 1:20 (ret -1).
  const program = `4,32 0 0 ${2 ** 32 - 4096 + 56},37 0 1 ${threshold},6 0 0 0,6 0 0 ${2 ** 32 - 1}`;
  tc(ns, 'filter', 'add', 'dev', dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'bpf', 'bytecode', program, 'flowid', '1:20');
  return `htb + cBPF random drop ${LOSS} (no netem in this kernel)`;
}

let lossMethod = null;

// Why the test cannot run here, or null once both namespaces are up.
function setUpNamespaces() {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  try {
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
    ip('link', 'add', VETH_A, 'type', 'veth', 'peer', 'name', VETH_B);
    ip('link', 'set', VETH_A, 'netns', NS_A);
    ip('link', 'set', VETH_B, 'netns', NS_B);
    ip('-n', NS_A, 'addr', 'add', `${IP_A}/24`, 'dev', VETH_A);
    ip('-n', NS_B, 'addr', 'add', `${IP_B}/24`, 'dev', VETH_B);
    for (const [ns, dev] of [[NS_A, VETH_A], [NS_B, VETH_B]]) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    lossMethod = addLoss(NS_A, VETH_A);
  } catch (error) {
    removeNamespaces();
    return `cannot create network namespaces here: ${String(error.stderr ?? error.message).trim()}`;
  }
  return null;
}

process.on('exit', removeNamespaces);
const skip = setUpNamespaces();
if (skip) console.log(`# pipe-netns skipped: ${skip}`);

const wrapper = path.join(os.tmpdir(), `sluice-netns-worker-${process.pid}.sh`);
after(async () => {
  await closeAll();
  removeNamespaces();
  fs.rmSync(wrapper, { force: true });
});

// A worker in namespace `ns`: the library spawns the wrapper, which execs the
// real worker there.
async function workerIn(ns) {
  fs.writeFileSync(wrapper, '#!/bin/sh\nexec ip netns exec "$SLUICE_TEST_NETNS" "$SLUICE_TEST_REAL_WORKER" "$@"\n', { mode: 0o755 });
  const Worker = require('mediasoup/node/lib/Worker');
  const saved = Worker.workerBin;
  Worker.workerBin = wrapper;
  try {
    return await startWorker({ SLUICE_TEST_NETNS: ns, SLUICE_TEST_REAL_WORKER: REAL_WORKER });
  } finally {
    Worker.workerBin = saved;
  }
}

// A netns-peer.mjs child in `ns`; resolves its JSON lines one by one.
function peerIn(ns, args) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(here, 'lib', 'netns-peer.mjs'), ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const queue = [];
  const waiting = [];
  lines.on('line', (line) => {
    const value = JSON.parse(line);
    if (waiting.length) waiting.shift()(value);
    else queue.push(value);
  });
  const next = (timeoutMs) => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const timer = setTimeout(() => reject(new Error(`netns peer ${args[0]}: no output in ${timeoutMs} ms`)), timeoutMs);
    waiting.push((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
  return { child, next };
}

test('two hosts (netns + veth, 5% loss A→B): a producer on A reaches a consumer on B, repaired by NACK/RTX across the pipe',
  { skip: skip ?? false, timeout: 60000 }, async () => {
    const workerA = await workerIn(NS_A);
    const workerB = await workerIn(NS_B);
    const routerA = await workerA.createRouter({ mediaCodecs: MEDIA_CODECS });
    const routerB = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });

    // Host A: the producer, fed by a sender on A's loopback.
    const input = await routerA.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true });
    const producer = await input.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [{
          mimeType: 'video/VP8', payloadType: PRODUCER_VP8_PT, clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }],
        encodings: [{ ssrc: SSRC }],
      },
    });

    // The pipe, as an application builds it between hosts.
    const pipeA = await routerA.createPipeTransport({ listenInfo: { protocol: 'udp', ip: IP_A }, enableRtx: true });
    const pipeB = await routerB.createPipeTransport({ listenInfo: { protocol: 'udp', ip: IP_B }, enableRtx: true });
    assert.equal(pipeA.tuple.localAddress, IP_A);
    await pipeA.connect({ ip: pipeB.tuple.localAddress, port: pipeB.tuple.localPort });
    await pipeB.connect({ ip: pipeA.tuple.localAddress, port: pipeA.tuple.localPort });
    const { pipeConsumer, pipeProducer: farProducer } = await pipeProducer(pipeA, pipeB, producer);

    // Host B: a consumer, read by a receiver on B's loopback.
    const output = await routerB.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: false });
    const consumer = await output.consume({ producerId: farProducer.id, rtpCapabilities: routerB.rtpCapabilities });
    const rx = peerIn(NS_B, ['recv', String(consumer.rtpParameters.encodings[0].ssrc)]);
    const { port } = await rx.next(5000);
    await output.connect({ ip: '127.0.0.1', port });

    const sender = peerIn(NS_A, ['send', String(input.tuple.localPort), String(PACKETS), String(PPS), String(SSRC)]);
    const { sent } = await sender.next(PACKETS / PPS * 1000 + 10000);
    await new Promise((r) => setTimeout(r, 1000)); // the last repairs
    rx.child.stdin.end();
    const { received, bad } = await rx.next(5000);

    const [pipeStats] = await pipeConsumer.getStats();
    const [farStats] = await farProducer.getStats();
    const [pipeAStats] = await pipeA.getStats();
    const [pipeBStats] = await pipeB.getStats();
    const unique = new Set(received);
    const delivered = unique.size;
    const firstIndex = Math.min(...received);
    console.log(`# netns pipe (${lossMethod} on ${VETH_A}): sent ${sent}, delivered ${delivered} (${(100 * delivered / sent).toFixed(2)}%), ` +
      `first delivered #${firstIndex}, duplicates ${received.length - delivered}, bad payloads ${bad}; ` +
      `pipe A sent RTP ${pipeAStats.rtpBytesSent} B, RTX ${pipeAStats.rtxBytesSent} B, ` +
      `B received ${pipeBStats.rtpBytesReceived} bytes (rtx ${pipeBStats.rtxBytesReceived}); ` +
      `far producer: lost ${farStats.packetsLost}, NACKs ${farStats.nackCount} (${farStats.nackPacketCount} packets), ` +
      `repaired ${farStats.packetsRepaired}; pipe consumer retransmitted ${pipeStats.packetsRetransmitted}`);
    assert.equal(bad, 0, 'every payload arrived intact');
    assert.ok(pipeStats.packetsRetransmitted > 0, 'losses on the veth were repaired across the pipe');
    assert.ok(farStats.nackCount > 0, 'the far producer sent NACKs across the pipe');
    // 5% loss on each crossing (RTX included): one retry leaves 0.25%, the
    // NACK generator retries further. The first packets may fall before the
    // first key frame got through, so count from the first one delivered.
    assert.ok(delivered >= 0.99 * (sent - firstIndex), `delivered ${delivered} of ${sent - firstIndex} (< 99%)`);
    assert.ok(firstIndex < 3 * 25 * 2, 'the stream started within the first two key frames');
  });
