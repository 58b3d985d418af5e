// Zero allocator calls per forwarded packet, inside the real worker process.
//
// The worker runs with an LD_PRELOAD counter (test/alloc/alloccount.c) that
// counts every heap allocation in a shared file. One VP8 producer streams at
// ~1000 packets/s to CONSUMERS plain-transport consumers whose peers send
// receiver reports and NACKs (so retransmissions are built too); after a
// warm-up the count is read twice around a steady-state window and must not
// move. Run once in plain RTP and once per SRTP family (the producer peer
// and the consumer peers protect with lib/srtp.mjs; the worker's SrtpSession
// unprotects and protects every packet). Skipped when ALLOCCOUNT_LIB is not
// given (sanitizer builds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mediasoup from 'mediasoup';
import { SrtpContext, generateKeyBase64 } from './lib/srtp.mjs';

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

for (const suite of [null, 'AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_256_GCM']) {
  const name = 'no allocator calls per forwarded packet in steady state' + (suite ? `, SRTP ${suite}` : '');
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
      const peers = [];
      for (let i = 0; i < CONSUMERS; i++) {
        const sock = dgram.createSocket('udp4');
        await new Promise((r) => sock.bind(0, '127.0.0.1', r));
        sockets.push(sock);
        const transport = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false, ...srtpOptions,
        });
        const receiver = connectSrtp();
        await transport.connect({ ip: '127.0.0.1', port: sock.address().port, ...receiver.params });
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
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
      console.log(`${suite ?? 'plain RTP'}: forwarded ${forwarded} packets (${retransmitted} RTX in total) to ${CONSUMERS} consumers; ` +
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
