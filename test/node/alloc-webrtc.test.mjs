// Zero allocator calls per forwarded packet on the WebRTC path, inside the real worker process.
//
// As alloc.test.mjs, with WebRtcTransport consumers connected by real ICE + DTLS 1.2 clients
// (test/bench/webrtcpeer: STUN checks with integrity, an OpenSSL DTLS handshake with use_srtp,
// SRTP decrypted by libsrtp2, receiver reports and NACKs back over SRTCP). test/bench/rtpgen
// feeds one VP8 producer on a PlainTransport at 1000 packets/s; after a warm-up the worker's
// LD_PRELOAD allocation counter must not move over a steady-state window while every peer
// receives media (SRTP protect per packet, SRTCP unprotect, RTX built for NACKs). Once per
// DTLS-SRTP profile: AEAD_AES_128_GCM and AES_CM_128_HMAC_SHA1_80.
// Skipped without ALLOCCOUNT_LIB (sanitizer builds) or without the bench tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mediasoup from 'mediasoup';
import {
  RTPGEN, RtpGen, VP8_ROUTER_CODECS, WEBRTCPEER, WebRtcPeers, connectWebRtcPeer, consumeChecked, produceRtpgenVp8,
} from '../../scripts/rtpgen-load.mjs';

const LIB = process.env.ALLOCCOUNT_LIB;
const PEERS = 8;
const PPS = 1000;
const WARMUP_MS = 2000;
const WINDOW_MS = 3000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const allocations = (file) => Number(fs.readFileSync(file).readBigUInt64LE(0));
const skip = (!LIB && 'ALLOCCOUNT_LIB not set (sanitizer build)')
  || (!(fs.existsSync(RTPGEN) && fs.existsSync(WEBRTCPEER)) && `no ${WEBRTCPEER} (SLUICE_BENCH_BUILD)`);
// webrtcpeer's per-peer counters: [media, rtx, rtcp, lost by gap, nacks sent, duplicates, reordered, other].
const sum = (stats, k) => stats.sinks.reduce((x, s) => x + s[k], 0);

for (const suite of ['gcm', 'cm']) {
  test(`no allocator calls per forwarded packet over WebRtcTransports (DTLS-SRTP, ${suite})`, { skip }, async () => {
    const countFile = path.join(os.tmpdir(), `sluice-alloc-webrtc-${process.pid}`);
    process.env.LD_PRELOAD = LIB;
    process.env.ALLOCCOUNT_FILE = countFile;
    const worker = await mediasoup.createWorker({ logLevel: 'error' });
    delete process.env.LD_PRELOAD;
    delete process.env.ALLOCCOUNT_FILE;
    const gen = new RtpGen({ recv: 0, nack: 0 });
    const peers = new WebRtcPeers({ suite, nack: 0.02 });
    try {
      await gen.ports;
      const fingerprint = (await peers.fingerprint).split(' ');
      const router = await worker.createRouter({ mediaCodecs: VP8_ROUTER_CODECS });
      const { transport: input, producer } = await produceRtpgenVp8(router);
      gen.cmd(`dest 127.0.0.1 ${input.tuple.localPort}`);
      gen.cmd(`rate ${PPS}`);
      for (let i = 0; i < PEERS; i++) {
        const transport = await connectWebRtcPeer(router, peers, fingerprint, i);
        await consumeChecked(transport, router, producer);
      }
      await sleep(WARMUP_MS);
      const a = { allocs: allocations(countFile), peers: await peers.stats() };
      await sleep(WINDOW_MS);
      const b = { allocs: allocations(countFile), peers: await peers.stats() };
      const forwarded = sum(b.peers, 0) - sum(a.peers, 0);
      const rtx = sum(b.peers, 1) - sum(a.peers, 1);
      const nacks = sum(b.peers, 4) - sum(a.peers, 4);
      console.log(`${suite}: ${PEERS} DTLS peers (${b.peers.connected} connected, ${b.peers.srtpErrors} SRTP errors), `
        + `forwarded ${forwarded} packets and ${rtx} RTX for ${nacks} NACKs in ${WINDOW_MS} ms; `
        + `${b.allocs - a.allocs} allocator calls in the window`);
      assert.ok(a.allocs > 0, 'the LD_PRELOAD counter saw the worker start');
      assert.equal(b.peers.connected, PEERS);
      assert.equal(b.peers.srtpErrors, 0);
      assert.ok(forwarded > PEERS * PPS * (WINDOW_MS / 1000) * 0.8, `forwarded ${forwarded}`);
      assert.ok(nacks > 0 && rtx > 0.8 * nacks, `${rtx} RTX for ${nacks} NACKs`);
      assert.equal(b.allocs - a.allocs, 0, 'allocator calls while forwarding over SRTP');
    } finally {
      peers.close();
      gen.close();
      worker.close();
      fs.rmSync(countFile, { force: true });
    }
  });
}
