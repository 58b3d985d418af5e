// Zero allocator calls per forwarded packet, inside the real worker process.
//
// The worker runs with an LD_PRELOAD counter (test/alloc/alloccount.c) that
// counts every heap allocation in a shared file. One VP8 producer streams at
// ~1000 packets/s to CONSUMERS plain-transport consumers whose peers send
// receiver reports and NACKs (so retransmissions are built too); after a
// warm-up the count is read twice around a steady-state window and must not
// move. Run once in plain RTP and once per SRTP family (the producer peer
// and the consumer peers protect with lib/srtp.mjs; the worker's SrtpSession
// unprotects and protects every packet). Then the layered paths: a VP8
// simulcast producer to simulcast consumers and a VP9 SVC producer to SVC
// consumers (see below). Skipped when ALLOCCOUNT_LIB is not given (sanitizer
// builds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mediasoup from 'mediasoup';
import { SrtpContext, generateKeyBase64 } from './lib/srtp.mjs';
import { connectedPipe, pipeProducer } from './lib/pipe.mjs';

const LIB = process.env.ALLOCCOUNT_LIB;
const CONSUMERS = 24;
const PPS = 1000;
const WARMUP_MS = 1500;
const WINDOW_MS = 2500;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readCounters(file) {
  const b = fs.readFileSync(file);
  return { allocations: Number(b.readBigUInt64LE(0)), frees: Number(b.readBigUInt64LE(8)) };
}

function vp8Packet(seq, ts, ssrc, key) {
  const b = Buffer.alloc(12 + 1 + 1100);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x10; // S=1, PID=0
  b[13] = key ? 0x00 : 0x01; // P bit: 0 = keyframe
  return b;
}

// RR (one report block, no LSR) + generic NACK for `seqs` (all within 17 of the first).
function rrAndNack(senderSsrc, mediaSsrc, seqs) {
  const rr = Buffer.alloc(32);
  rr[0] = 0x81;
  rr[1] = 201;
  rr.writeUInt16BE(7, 2);
  rr.writeUInt32BE(senderSsrc, 4);
  rr.writeUInt32BE(mediaSsrc, 8);
  if (seqs.length === 0) return rr;
  const nack = Buffer.alloc(16);
  nack[0] = 0x81;
  nack[1] = 205;
  nack.writeUInt16BE(3, 2);
  nack.writeUInt32BE(senderSsrc, 4);
  nack.writeUInt32BE(mediaSsrc, 8);
  const pid = seqs[0];
  let blp = 0;
  for (const s of seqs.slice(1)) blp |= 1 << (((s - pid) & 0xffff) - 1);
  nack.writeUInt16BE(pid, 12);
  nack.writeUInt16BE(blp, 14);
  return Buffer.concat([rr, nack]);
}

// The last case pipes the stream (two PipeTransports, RTX and SRTP on, as
// pipeToRouter() builds them) to a second router of the same worker and puts
// the consumers there: the pipe consumer, both PipeTransports and the pipe
// producer are on the path too.
for (const [suite, pipe] of [[null, false], ['AES_CM_128_HMAC_SHA1_80', false], ['AEAD_AES_256_GCM', false], [null, true]]) {
  const name = 'no allocator calls per forwarded packet in steady state' + (suite ? `, SRTP ${suite}` : '') +
    (pipe ? ', through an SRTP pipe to another router' : '');
  test(name, { skip: !LIB && 'ALLOCCOUNT_LIB not set (sanitizer build)' }, async () => {
    const srtpOptions = suite ? { enableSrtp: true, srtpCryptoSuite: suite } : {};
    const connectSrtp = () => {
      if (!suite) return { params: {}, ctx: null };
      const keyBase64 = generateKeyBase64(suite);
      return { params: { srtpParameters: { cryptoSuite: suite, keyBase64 } }, ctx: new SrtpContext(suite, keyBase64) };
    };
    const countFile = path.join(os.tmpdir(), `sluice-alloc-${process.pid}`);
    process.env.LD_PRELOAD = LIB;
    process.env.ALLOCCOUNT_FILE = countFile;
    const worker = await mediasoup.createWorker();
    delete process.env.LD_PRELOAD;
    delete process.env.ALLOCCOUNT_FILE;
    const sockets = [];
    try {
      const router = await worker.createRouter({
        mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }],
      });
      const input = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true, ...srtpOptions,
      });
      const sender = connectSrtp();
      if (suite) await input.connect(sender.params);
      const producer = await input.produce({
        kind: 'video',
        rtpParameters: {
          codecs: [
            { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000,
              rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] },
            { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
          ],
          encodings: [{ ssrc: 4242, rtx: { ssrc: 4243 } }],
        },
      });
      const consumerRouter = pipe ? await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] }) : router;
      // Both routers are in this worker: the far producer gets a new id.
      let source = producer;
      if (pipe) {
        const { a, b } = await connectedPipe(router, consumerRouter, { enableRtx: true, enableSrtp: true });
        source = (await pipeProducer(a, b, producer, { newId: true })).pipeProducer;
      }
      const peers = [];
      for (let i = 0; i < CONSUMERS; i++) {
        const sock = dgram.createSocket('udp4');
        await new Promise((r) => sock.bind(0, '127.0.0.1', r));
        sockets.push(sock);
        const transport = await consumerRouter.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false, ...srtpOptions,
        });
        const receiver = connectSrtp();
        await transport.connect({ ip: '127.0.0.1', port: sock.address().port, ...receiver.params });
        const consumer = await transport.consume({ producerId: source.id, rtpCapabilities: consumerRouter.rtpCapabilities });
        const peer = { sock, transport, consumer, srtp: receiver.ctx, media: 0, rtx: 0, inWindow: 0, lastSeq: -1 };
        const ssrc = consumer.rtpParameters.encodings[0].ssrc;
        sock.on('message', (m) => {
          if (m[1] >= 200 && m[1] <= 207) return;
          if (m.readUInt32BE(8) === ssrc) {
            peer.media++;
            peer.lastSeq = m.readUInt16BE(2);
          } else {
            peer.rtx++;
          }
          peer.inWindow++;
        });
        peers.push(peer);
      }

      const send = dgram.createSocket('udp4');
      await new Promise((r) => send.bind(0, '127.0.0.1', r));
      sockets.push(send);
      const port = input.tuple.localPort;
      let seq = 65000; // crosses the 16-bit wrap during the run
      let ts = 0xfff00000;
      let sent = 0;
      const tick = setInterval(() => {
        for (let k = 0; k < PPS / 100; k++) {
          const pkt = vp8Packet(seq, ts, 4242, sent % 300 === 0);
          send.send(sender.ctx ? sender.ctx.protectRtp(pkt) : pkt, port, '127.0.0.1');
          seq++;
          sent++;
          if (sent % 3 === 0) ts += 3000;
        }
      }, 10);
      // Each consumer peer reports and NACKs its two newest packets every 100 ms.
      const feedback = setInterval(() => {
        for (const p of peers) {
          if (p.lastSeq < 0) continue;
          const ssrc = p.consumer.rtpParameters.encodings[0].ssrc;
          const rtcp = rrAndNack(0x1000 + peers.indexOf(p), ssrc, [(p.lastSeq - 2) & 0xffff, (p.lastSeq - 1) & 0xffff]);
          p.sock.send(p.srtp ? p.srtp.protectRtcp(rtcp) : rtcp, p.transport.tuple.localPort, '127.0.0.1');
        }
      }, 100);

      await sleep(WARMUP_MS);
      if (process.env.ALLOCCOUNT_TRACE) {
        // Backtraces of every later allocation on the worker's stderr
        // (shown with DEBUG='mediasoup*').
        const fd = fs.openSync(countFile, 'r+');
        fs.writeSync(fd, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), 0, 8, 24);
        fs.closeSync(fd);
      }
      const before = readCounters(countFile);
      for (const p of peers) p.inWindow = 0;
      await sleep(WINDOW_MS);
      const after = readCounters(countFile);
      const forwarded = peers.reduce((n, p) => n + p.inWindow, 0);
      clearInterval(tick);
      clearInterval(feedback);

      const retransmitted = peers.reduce((n, p) => n + p.rtx, 0);
      const allocations = after.allocations - before.allocations;
      console.log(`${suite ?? 'plain RTP'}${pipe ? ' through an SRTP pipe' : ''}: forwarded ${forwarded} packets (${retransmitted} RTX in total) to ${CONSUMERS} consumers; ` +
        `${allocations} allocator calls in the window = ${(allocations / Math.max(1, forwarded)).toFixed(4)} per forwarded packet`);
      assert.ok(forwarded > (CONSUMERS * PPS * WINDOW_MS) / 1000 / 2, `too few packets forwarded: ${forwarded}`);
      assert.ok(retransmitted > 0, 'NACKs produced no retransmissions');
      assert.equal(allocations, 0, `${allocations} allocator calls while forwarding ${forwarded} packets`);
    } finally {
      worker.close();
      for (const s of sockets) s.close();
      fs.rmSync(countFile, { force: true });
    }
  });
}

// ---------------------------------------------------------------------------
// Layered consumers: a VP8 simulcast producer (3 encodings by SSRC, L1T3, each
// with RTX) feeding simulcast consumers, and a VP9 SVC producer (L3T3, one
// SSRC) feeding SVC consumers; the consumers are spread over every spatial x
// temporal target, so the per-consumer descriptor rewrite (PictureID,
// TL0PICIDX, VP9 end of picture), layer drops and RTX built from the one
// stored copy all run. Key frames come every second and on PLI/FIR (the
// consumers ask while they lock on their layers); the window starts once
// every consumer is at its preferred layers.

const FPS = 30;
const TIDS = [0, 2, 1, 2];

// PLI (PSFB FMT 1) and FIR (FMT 4) from the worker: the SSRCs that must send a key frame.
function keyFrameRequests(m) {
  const ssrcs = [];
  for (let off = 0; off + 12 <= m.length;) {
    const fmt = m[off] & 0x1f;
    if (m[off + 1] === 206 && (fmt === 1 || fmt === 4)) ssrcs.push(m.readUInt32BE(off + (fmt === 1 ? 8 : 12)));
    off += (m.readUInt16BE(off + 2) + 1) * 4;
  }
  return ssrcs;
}

function rtpHeader(b, { seq, ts, ssrc, pt, marker }) {
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
}

// VP8 simulcast: 3 encodings by SSRC, 1 / 3 / 6 packets per frame (as a browser sends
// 320x180 / 640x360 / 1280x720). RFC 7741 §4.2: X, S on the first packet; I (15-bit), L,
// T: |TL0PICIDX| |TID|Y|KEYIDX|; then the payload header (P = 0 on a key frame).
const SIM_SSRCS = [0x5100, 0x5101, 0x5102];
const SIM_PACKETS = [1, 3, 6];
class Vp8SimulcastSender {
  constructor(sock, port) {
    this.sock = sock;
    this.port = port;
    this.plis = 0;
    this.streams = SIM_SSRCS.map((ssrc, i) => ({
      ssrc, seq: 65500 - 200 * i, ts: 0xffff0000 + 7777 * i, pictureId: 32700 + i, tl0: 250, frame: 0, keyAsked: true,
    }));
    sock.on('message', (m) => {
      for (const ssrc of keyFrameRequests(m)) {
        this.plis++;
        const s = this.streams.find((x) => x.ssrc === ssrc);
        if (s) s.keyAsked = true;
      }
    });
  }

  static producerParameters() {
    return {
      codecs: [
        { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] },
        { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
      ],
      encodings: SIM_SSRCS.map((ssrc, i) => ({ ssrc, rtx: { ssrc: ssrc + 0x100 }, scalabilityMode: 'L1T3' })),
    };
  }

  // Packets per second a consumer at these layers gets (TIDs 0,2,1,2: 1/4, 2/4, 4/4 of the frames).
  static expectedPps({ spatialLayer, temporalLayer }) {
    return SIM_PACKETS[spatialLayer] * FPS * [0.25, 0.5, 1][temporalLayer];
  }

  frame() {
    this.streams.forEach((s, i) => {
      const key = s.keyAsked || s.frame % FPS === 0;
      s.keyAsked = false;
      const tid = key ? 0 : TIDS[s.frame % 4];
      if (tid === 0) s.tl0 = (s.tl0 + 1) & 0xff;
      // Y: TID 1, and TID 2 right after a TID 0, depend on TID 0 only.
      const sync = tid === 1 || (tid === 2 && s.frame % 4 === 1);
      const n = SIM_PACKETS[i];
      for (let k = 0; k < n; k++) {
        const b = Buffer.alloc(12 + 6 + 900, 0x5a);
        rtpHeader(b, { seq: s.seq, ts: s.ts, ssrc: s.ssrc, pt: 96, marker: k === n - 1 });
        b[12] = 0x80 | (k === 0 ? 0x10 : 0);
        b[13] = 0xe0;
        b[14] = 0x80 | ((s.pictureId >> 8) & 0x7f);
        b[15] = s.pictureId & 0xff;
        b[16] = s.tl0;
        b[17] = (tid << 6) | (sync ? 0x20 : 0);
        if (k === 0) b[18] = key ? 0x10 : 0x11;
        this.sock.send(b, this.port, '127.0.0.1');
        s.seq = (s.seq + 1) & 0xffff;
      }
      s.ts = (s.ts + 90000 / FPS) >>> 0;
      s.pictureId = (s.pictureId + 1) & 0x7fff;
      s.frame++;
    });
  }
}

// VP9 SVC L3T3 (full SVC: upper spatial layers predict from the lower one), one SSRC,
// non-flexible mode (RFC 9628 §4.2): |I|P|L|F|B|E|V|Z|, |M|PID 15|, |TID|U|SID|D|,
// TL0PICIDX, and on the key picture's first packet the SS (3 layers with resolutions).
// Layer frames of 1 / 2 / 4 packets; the marker on the picture's last packet.
const SVC_SSRC = 0x5300;
const SVC_PACKETS = [1, 2, 4];
const SVC_SS = Buffer.from([0x50, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0]);
class Vp9SvcSender {
  constructor(sock, port) {
    this.sock = sock;
    this.port = port;
    this.plis = 0;
    this.s = { seq: 65400, ts: 0xfffe0000, pictureId: 32600, tl0: 200, frame: 0, keyAsked: true };
    sock.on('message', (m) => {
      for (const ssrc of keyFrameRequests(m)) {
        this.plis++;
        if (ssrc === SVC_SSRC) this.s.keyAsked = true;
      }
    });
  }

  static producerParameters() {
    return {
      codecs: [
        { mimeType: 'video/VP9', payloadType: 98, clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] },
        { mimeType: 'video/rtx', payloadType: 99, clockRate: 90000, parameters: { apt: 98 } },
      ],
      encodings: [{ ssrc: SVC_SSRC, rtx: { ssrc: SVC_SSRC + 0x100 }, scalabilityMode: 'L3T3' }],
    };
  }

  static expectedPps({ spatialLayer, temporalLayer }) {
    return SVC_PACKETS.slice(0, spatialLayer + 1).reduce((a, b) => a + b, 0) * FPS * [0.25, 0.5, 1][temporalLayer];
  }

  frame() {
    const s = this.s;
    const key = s.keyAsked || s.frame % FPS === 0;
    s.keyAsked = false;
    const tid = key ? 0 : TIDS[s.frame % 4];
    if (tid === 0) s.tl0 = (s.tl0 + 1) & 0xff;
    const switchingUp = tid > 0 && (tid === 1 || s.frame % 4 === 1);
    for (let sid = 0; sid < 3; sid++) {
      const n = SVC_PACKETS[sid];
      for (let k = 0; k < n; k++) {
        const ss = key && sid === 0 && k === 0 ? SVC_SS : Buffer.alloc(0);
        const b = Buffer.alloc(12 + 5 + ss.length + 800, 0x5a);
        rtpHeader(b, { seq: s.seq, ts: s.ts, ssrc: SVC_SSRC, pt: 98, marker: sid === 2 && k === n - 1 });
        b[12] = 0x80 | (key ? 0 : 0x40) | 0x20 | (k === 0 ? 0x08 : 0) | (k === n - 1 ? 0x04 : 0) | (ss.length ? 0x02 : 0);
        b[13] = 0x80 | ((s.pictureId >> 8) & 0x7f);
        b[14] = s.pictureId & 0xff;
        b[15] = (tid << 5) | (switchingUp ? 0x10 : 0) | (sid << 1) | (sid > 0 ? 1 : 0);
        b[16] = s.tl0;
        ss.copy(b, 17);
        this.sock.send(b, this.port, '127.0.0.1');
        s.seq = (s.seq + 1) & 0xffff;
      }
    }
    s.ts = (s.ts + 90000 / FPS) >>> 0;
    s.pictureId = (s.pictureId + 1) & 0x7fff;
    s.frame++;
  }
}

async function layeredAllocTest({ Sender, mimeType, producerType, consumerType, label }) {
  const countFile = path.join(os.tmpdir(), `sluice-alloc-${producerType}-${process.pid}`);
  process.env.LD_PRELOAD = LIB;
  process.env.ALLOCCOUNT_FILE = countFile;
  const worker = await mediasoup.createWorker();
  delete process.env.LD_PRELOAD;
  delete process.env.ALLOCCOUNT_FILE;
  const sockets = [];
  const timers = [];
  try {
    const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType, clockRate: 90000 }] });
    const input = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true,
    });
    const producer = await input.produce({ kind: 'video', rtpParameters: Sender.producerParameters() });
    assert.equal(producer.type, producerType);
    const peers = [];
    for (let i = 0; i < CONSUMERS; i++) {
      const sock = dgram.createSocket('udp4');
      await new Promise((r) => sock.bind(0, '127.0.0.1', r));
      sockets.push(sock);
      const transport = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false,
      });
      await transport.connect({ ip: '127.0.0.1', port: sock.address().port });
      const preferredLayers = { spatialLayer: i % 3, temporalLayer: Math.floor(i / 3) % 3 };
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, preferredLayers });
      assert.equal(consumer.type, consumerType);
      const ssrc = consumer.rtpParameters.encodings[0].ssrc;
      const peer = { sock, transport, consumer, preferredLayers, ssrc, rtx: 0, inWindow: 0, lastSeq: -1 };
      sock.on('message', (m) => {
        if (m[1] >= 200 && m[1] <= 207) return;
        if (m.readUInt32BE(8) === ssrc) peer.lastSeq = m.readUInt16BE(2);
        else peer.rtx++;
        peer.inWindow++;
      });
      peers.push(peer);
    }

    const send = dgram.createSocket('udp4');
    await new Promise((r) => send.bind(0, '127.0.0.1', r));
    sockets.push(send);
    const sender = new Sender(send, input.tuple.localPort);
    timers.push(setInterval(() => sender.frame(), 1000 / FPS));
    // Each consumer peer reports and NACKs its two newest packets every 100 ms.
    timers.push(setInterval(() => {
      for (const [i, p] of peers.entries()) {
        if (p.lastSeq < 0) continue;
        const rtcp = rrAndNack(0x1000 + i, p.ssrc, [(p.lastSeq - 2) & 0xffff, (p.lastSeq - 1) & 0xffff]);
        p.sock.send(rtcp, p.transport.tuple.localPort, '127.0.0.1');
      }
    }, 100));

    const locked = (p) => p.consumer.currentLayers?.spatialLayer === p.preferredLayers.spatialLayer
      && p.consumer.currentLayers?.temporalLayer === p.preferredLayers.temporalLayer;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !peers.every(locked)) await sleep(100);
    const notLocked = peers.filter((p) => !locked(p)).map((p) => ({ want: p.preferredLayers, have: p.consumer.currentLayers }));
    assert.deepEqual(notLocked, [], 'consumers not at their preferred layers');
    await sleep(WARMUP_MS);

    const before = readCounters(countFile);
    for (const p of peers) p.inWindow = 0;
    await sleep(WINDOW_MS);
    const after = readCounters(countFile);
    const forwarded = peers.reduce((n, p) => n + p.inWindow, 0);
    const retransmitted = peers.reduce((n, p) => n + p.rtx, 0);
    const allocations = after.allocations - before.allocations;
    console.log(`${label}: forwarded ${forwarded} packets (${retransmitted} RTX in total) to ${CONSUMERS} ${consumerType} `
      + `consumers at every spatial x temporal layer; ${sender.plis} PLI/FIR to the sender; ${allocations} allocator `
      + `calls in the window = ${(allocations / Math.max(1, forwarded)).toFixed(4)} per forwarded packet`);
    const expected = peers.reduce((n, p) => n + (Sender.expectedPps(p.preferredLayers) * WINDOW_MS) / 1000, 0);
    assert.ok(forwarded > expected / 2, `too few packets forwarded: ${forwarded} (about ${expected} expected)`);
    assert.ok(retransmitted > 0, 'NACKs produced no retransmissions');
    assert.equal(allocations, 0, `${allocations} allocator calls while forwarding ${forwarded} packets`);
  } finally {
    for (const t of timers) clearInterval(t);
    worker.close();
    for (const s of sockets) s.close();
    fs.rmSync(countFile, { force: true });
  }
}

const skipLayered = { skip: !LIB && 'ALLOCCOUNT_LIB not set (sanitizer build)' };
test('no allocator calls per forwarded packet, VP8 simulcast (3 x L1T3) to simulcast consumers', skipLayered, () =>
  layeredAllocTest({ Sender: Vp8SimulcastSender, mimeType: 'video/VP8', producerType: 'simulcast',
    consumerType: 'simulcast', label: 'VP8 simulcast 3 x L1T3' }));
test('no allocator calls per forwarded packet, VP9 SVC (L3T3) to SVC consumers', skipLayered, () =>
  layeredAllocTest({ Sender: Vp9SvcSender, mimeType: 'video/VP9', producerType: 'svc',
    consumerType: 'svc', label: 'VP9 SVC L3T3' }));
// The producer side of a layered producer: three VP8 encodings found by RID
// (MID + RID one-byte extensions, learned on the first packets), temporal
// layer ids in every descriptor (bitrateByLayer), a video orientation byte
// in every packet, a stream with a RID nobody announced (counted drops), all
// forwarded by a pipe consumer. Nothing may allocate once the SSRCs are
// learned.
function vp8LayeredPacket({ seq, ts, ssrc, key, rid, tid, picture }) {
  // Extension block: MID "0" (id 1), RID (id 10), CVO (id 4), padded to words.
  const elems = [0x10, 0x30, (10 << 4) | (rid.length - 1), ...Buffer.from(rid), 0x40, 0x01];
  while (elems.length % 4) elems.push(0);
  const ext = Buffer.from([0xbe, 0xde, 0x00, elems.length / 4, ...elems]);
  const b = Buffer.alloc(12 + ext.length + 6 + 900);
  b[0] = 0x90;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  ext.copy(b, 12);
  let o = 12 + ext.length;
  b[o++] = 0x90; // X=1, S=1, PID=0
  b[o++] = 0xe0; // I, L, T
  b[o++] = 0x80 | ((picture >> 8) & 0x7f);
  b[o++] = picture & 0xff;
  b[o++] = (picture >> 2) & 0xff; // TL0PICIDX
  b[o++] = (tid & 3) << 6;
  b[o] = key ? 0x00 : 0x01;
  return b;
}

test('no allocator calls per received packet on a layered producer (RID simulcast, layers, orientation)',
  { skip: !LIB && 'ALLOCCOUNT_LIB not set (sanitizer build)' }, async () => {
    const countFile = path.join(os.tmpdir(), `sluice-alloc-layers-${process.pid}`);
    process.env.LD_PRELOAD = LIB;
    process.env.ALLOCCOUNT_FILE = countFile;
    const worker = await mediasoup.createWorker();
    delete process.env.LD_PRELOAD;
    delete process.env.ALLOCCOUNT_FILE;
    const sockets = [];
    try {
      const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
      const input = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
      const rids = ['r0', 'r1', 'r2'];
      const producer = await input.produce({
        kind: 'video',
        rtpParameters: {
          mid: '0',
          codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
          headerExtensions: [
            { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
            { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 10 },
            { uri: 'urn:3gpp:video-orientation', id: 4 },
          ],
          encodings: rids.map((rid) => ({ rid, scalabilityMode: 'L1T3' })),
        },
      });
      const sock = dgram.createSocket('udp4');
      await new Promise((r) => sock.bind(0, '127.0.0.1', r));
      sockets.push(sock);
      let forwarded = 0;
      sock.on('message', (m) => { if (!(m[1] >= 200 && m[1] <= 207)) forwarded++; });
      const output = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
      await output.connect({ ip: '127.0.0.1', port: sock.address().port });
      await output.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, pipe: true });

      const send = dgram.createSocket('udp4');
      await new Promise((r) => send.bind(0, '127.0.0.1', r));
      sockets.push(send);
      const port = input.tuple.localPort;
      const streams = [...rids, 'r9'].map((rid, i) => ({ rid, ssrc: 7000 + i, seq: 65100 + 50 * i, ts: 0xfff00000 }));
      let picture = 0;
      const tick = setInterval(() => {
        for (let k = 0; k < 3; k++, picture++) {
          const tid = [0, 2, 1, 2][picture % 4];
          for (const s of streams) {
            send.send(vp8LayeredPacket({ seq: s.seq++, ts: s.ts, ssrc: s.ssrc, key: picture % 100 === 0, rid: s.rid, tid, picture }),
              port, '127.0.0.1');
            s.ts += 3000;
          }
        }
      }, 10);

      await sleep(WARMUP_MS);
      const before = readCounters(countFile);
      const forwardedBefore = forwarded;
      await sleep(WINDOW_MS);
      const after = readCounters(countFile);
      clearInterval(tick);
      const inWindow = forwarded - forwardedBefore;
      const allocations = after.allocations - before.allocations;
      const [st] = await producer.getStats();
      console.log(`layered producer: forwarded ${inWindow} packets of 3 RID streams in the window; ${allocations} allocator calls`);
      assert.ok(inWindow > (3 * 300 * WINDOW_MS) / 1000 / 2, `too few packets forwarded: ${inWindow}`);
      assert.equal((await producer.getStats()).length, 3);
      assert.ok(st.bitrateByLayer['0.0'] > 0 && st.bitrateByLayer['0.2'] > st.bitrateByLayer['0.0'], 'layers measured');
      assert.equal(allocations, 0, `${allocations} allocator calls while receiving and forwarding ${inWindow} packets`);
    } finally {
      worker.close();
      for (const s of sockets) s.close();
      fs.rmSync(countFile, { force: true });
    }
  });

// ---------------------------------------------------------------------------
// DirectTransport: media over the channel both ways. A UDP VP8 producer feeds
// consumers on a DirectTransport (each packet becomes a CONSUMER_RTP
// notification to Node), and Node feeds a producer on a DirectTransport with
// producer.send() (PRODUCER_SEND frames) that a UDP consumer forwards. The
// notification is built in the channel writer's reused builder and copied
// into the bounded output queue, so a packet itself costs no allocator call.
// What remains is the queue's buffer: when Node falls behind by more than its
// 64 KiB base within one flush it grows (bounded by SLUICE_CHANNEL_OUT_LIMIT),
// and it shrinks back once drained; that is counted here too, as a rate.

const DIRECT_CONSUMERS = 4;

test('no allocator calls per packet on the DirectTransport paths (CONSUMER_RTP out, PRODUCER_SEND in)',
  { skip: !LIB && 'ALLOCCOUNT_LIB not set (sanitizer build)' }, async () => {
    const countFile = path.join(os.tmpdir(), `sluice-alloc-direct-${process.pid}`);
    process.env.LD_PRELOAD = LIB;
    process.env.ALLOCCOUNT_FILE = countFile;
    const worker = await mediasoup.createWorker();
    delete process.env.LD_PRELOAD;
    delete process.env.ALLOCCOUNT_FILE;
    const sockets = [];
    try {
      const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
      const vp8 = (ssrc) => ({
        kind: 'video',
        rtpParameters: {
          codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
          encodings: [{ ssrc }],
        },
      });
      // UDP in -> direct consumers -> 'rtp' events.
      const input = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
      const udpProducer = await input.produce(vp8(4242));
      const direct = await router.createDirectTransport();
      let events = 0;
      for (let i = 0; i < DIRECT_CONSUMERS; i++) {
        const consumer = await direct.consume({ producerId: udpProducer.id, rtpCapabilities: router.rtpCapabilities });
        consumer.on('rtp', () => events++);
      }
      // producer.send() in -> UDP consumer.
      const directProducer = await direct.produce(vp8(5252));
      const sock = dgram.createSocket('udp4');
      await new Promise((r) => sock.bind(0, '127.0.0.1', r));
      sockets.push(sock);
      let forwarded = 0;
      sock.on('message', (m) => { if (!(m[1] >= 200 && m[1] <= 207)) forwarded++; });
      const output = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
      await output.connect({ ip: '127.0.0.1', port: sock.address().port });
      await output.consume({ producerId: directProducer.id, rtpCapabilities: router.rtpCapabilities });

      const send = dgram.createSocket('udp4');
      await new Promise((r) => send.bind(0, '127.0.0.1', r));
      sockets.push(send);
      const port = input.tuple.localPort;
      let seq = 65000;
      let ts = 0xfff00000;
      let sent = 0;
      const tick = setInterval(() => {
        for (let k = 0; k < PPS / 200; k++) {
          const key = sent % 300 === 0;
          send.send(vp8Packet(seq, ts, 4242, key), port, '127.0.0.1');
          directProducer.send(vp8Packet(seq, ts, 5252, key));
          seq++;
          sent++;
          if (sent % 3 === 0) ts += 3000;
        }
      }, 10);

      await sleep(WARMUP_MS);
      if (process.env.ALLOCCOUNT_TRACE) {
        const fd = fs.openSync(countFile, 'r+');
        fs.writeSync(fd, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), 0, 8, 24);
        fs.closeSync(fd);
      }
      const before = readCounters(countFile);
      const [eventsBefore, forwardedBefore, sentBefore] = [events, forwarded, sent];
      await sleep(WINDOW_MS);
      const after = readCounters(countFile);
      const sentAfter = sent;
      clearInterval(tick);
      const out = events - eventsBefore;
      const inward = forwarded - forwardedBefore;
      const allocations = after.allocations - before.allocations;
      console.log(`direct: ${out} CONSUMER_RTP notifications (${DIRECT_CONSUMERS} consumers) and ${inward} producer.send() ` +
        `packets forwarded to UDP in the window; ${allocations} allocator calls = ` +
        `${(allocations / Math.max(1, out + inward)).toFixed(4)} per packet`);
      // Every packet sent in the window (give or take the edges) came out.
      const sentInWindow = sentAfter - sentBefore;
      assert.ok(sentInWindow > 200, `too few packets sent: ${sentInWindow}`);
      assert.ok(out > DIRECT_CONSUMERS * sentInWindow * 0.9, `too few rtp events: ${out} for ${sentInWindow} sent`);
      assert.ok(inward > sentInWindow * 0.9, `too few packets forwarded from producer.send(): ${inward} for ${sentInWindow}`);
      assert.ok(allocations / (out + inward) < 0.01,
        `${allocations} allocator calls for ${out + inward} packets: more than the output queue's regrowth`);
    } finally {
      worker.close();
      for (const s of sockets) s.close();
      fs.rmSync(countFile, { force: true });
    }
  });

// RTP observers on the audio path: an Opus producer whose packets carry the
// RFC 6464 level (one-byte form) is watched by an AudioLevelObserver and an
// ActiveSpeakerObserver while consumers forward it. Every packet's level is
// read and accumulated, and both observers' timers run several times in the
// window; nothing may allocate. (The levels stay under the level observer's
// threshold and the single speaker is made dominant during the warm-up, so
// the window carries no notification, whose frames the channel may allocate.)
test('no allocator calls per received packet with RTP observers watching the producer',
  { skip: !LIB && 'ALLOCCOUNT_LIB not set (sanitizer build)' }, async () => {
    const countFile = path.join(os.tmpdir(), `sluice-alloc-observers-${process.pid}`);
    process.env.LD_PRELOAD = LIB;
    process.env.ALLOCCOUNT_FILE = countFile;
    const worker = await mediasoup.createWorker();
    delete process.env.LD_PRELOAD;
    delete process.env.ALLOCCOUNT_FILE;
    const sockets = [];
    try {
      const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
      const input = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
      const producer = await input.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
          headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 }],
          encodings: [{ ssrc: 5151 }],
        },
      });
      const alo = await router.createAudioLevelObserver({ maxEntries: 1, threshold: -10, interval: 250 });
      const aso = await router.createActiveSpeakerObserver({ interval: 100 });
      await alo.addProducer({ producerId: producer.id });
      await aso.addProducer({ producerId: producer.id });
      let events = 0;
      alo.on('volumes', () => events++);
      alo.on('silence', () => events++);
      let dominant = 0;
      aso.on('dominantspeaker', () => dominant++);

      let forwarded = 0;
      for (let i = 0; i < 4; i++) {
        const sock = dgram.createSocket('udp4');
        await new Promise((r) => sock.bind(0, '127.0.0.1', r));
        sockets.push(sock);
        sock.on('message', (m) => { if (!(m[1] >= 200 && m[1] <= 207)) forwarded++; });
        const output = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
        await output.connect({ ip: '127.0.0.1', port: sock.address().port });
        await output.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
      }

      const send = dgram.createSocket('udp4');
      await new Promise((r) => send.bind(0, '127.0.0.1', r));
      sockets.push(send);
      const port = input.tuple.localPort;
      let seq = 65400;
      let ts = 0xfff00000;
      const tick = setInterval(() => {
        for (let k = 0; k < 5; k++) {
          const b = Buffer.alloc(12 + 8 + 80, 0x55);
          b[0] = 0x90;
          b[1] = 111;
          b.writeUInt16BE(seq++ & 0xffff, 2);
          b.writeUInt32BE(ts >>> 0, 4);
          b.writeUInt32BE(5151, 8);
          b.set([0xbe, 0xde, 0x00, 0x01, 0x10, 0x80 | (20 + (seq % 40)), 0, 0], 12);
          ts += 960;
          send.send(b, port, '127.0.0.1');
        }
      }, 10);

      await sleep(WARMUP_MS);
      const before = readCounters(countFile);
      const forwardedBefore = forwarded;
      const dominantBefore = dominant;
      await sleep(WINDOW_MS);
      const after = readCounters(countFile);
      clearInterval(tick);
      const inWindow = forwarded - forwardedBefore;
      const allocations = after.allocations - before.allocations;
      console.log(`observed audio producer: forwarded ${inWindow} packets in the window; ${allocations} allocator calls`);
      assert.ok(inWindow > (4 * 500 * WINDOW_MS) / 1000 / 2, `too few packets forwarded: ${inWindow}`);
      assert.equal(dominantBefore, 1, 'the speaker was made dominant in the warm-up');
      assert.equal(dominant, 1, 'no notification in the window');
      assert.equal(events, 0, 'levels stay under the threshold');
      assert.equal(allocations, 0, `${allocations} allocator calls while observing ${inWindow} packets`);
    } finally {
      worker.close();
      for (const s of sockets) s.close();
      fs.rmSync(countFile, { force: true });
    }
  });
