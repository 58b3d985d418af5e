// Harness for the node media tests: workers started through the unmodified
// mediasoup library, raw UDP peers on 127.0.0.1 that record every datagram
// (RTP parsed, RTCP compounds split), senders that keep per-stream sequence
// and timestamp state, and the router/producer/consumer set-ups the tests share.

import dgram from 'node:dgram';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as mediasoup from 'mediasoup';
import {
  buildRtp, parseRtp, parseRtcp, isRtcp, u16, u32, seqDiff, vp8FramePayloads, opusPayload,
} from './rtp.mjs';
import { SrtpContext, generateKeyBase64 } from './srtp.mjs';

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

const spawned = new Set();

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// createWorker() with extra environment variables for that process only (the
// library copies process.env synchronously when spawning).
// SLUICE_TEST_SEND_PATH=sendmmsg runs a suite with disableLiburing, on the
// worker's other send path.
export const SEND_PATH = process.env.SLUICE_TEST_SEND_PATH === 'sendmmsg' ? 'sendmmsg' : 'io_uring';
export async function startWorker(env = {}, settings = {}) {
  if (SEND_PATH === 'sendmmsg') settings = { disableLiburing: true, ...settings };
  const saved = {};
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  let promise;
  try {
    promise = mediasoup.createWorker({ logLevel: 'warn', ...settings });
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  const worker = await promise;
  spawned.add(worker);
  return worker;
}

// Close every worker and peer this file opened; SIGKILL a worker that lingers.
export async function closeAll() {
  for (const peer of openPeers) peer.close();
  for (const worker of spawned) if (!worker.closed) worker.close();
  for (const worker of spawned) {
    const deadline = Date.now() + 2000;
    while (isAlive(worker.pid) && Date.now() < deadline) await sleep(10);
    if (isAlive(worker.pid)) process.kill(worker.pid, 'SIGKILL');
  }
  spawned.clear();
}

export async function waitUntil(predicate, what, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

// Resolves with the first emission of `event` (its first argument). Armed
// before the action that causes the event; a test that fails before awaiting
// it leaves no unhandled rejection and no timer holding the process.
export function nextEvent(emitter, event, timeoutMs = 3000) {
  const promise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    timer.unref();
    function onEvent(value) {
      clearTimeout(timer);
      resolve(value);
    }
    emitter.once(event, onEvent);
  });
  promise.catch(() => {});
  return promise;
}

// ---------------------------------------------------------------------------
// UDP peer
// ---------------------------------------------------------------------------

const openPeers = new Set();

export class UdpPeer {
  // srtpRx decrypts what arrives (RTP and RTCP); srtpTx encrypts what is sent.
  static async open({ srtpRx = null, srtpTx = null } = {}) {
    const socket = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const peer = new UdpPeer(socket, srtpRx, srtpTx);
    openPeers.add(peer);
    return peer;
  }

  constructor(socket, srtpRx, srtpTx) {
    this.socket = socket;
    this.port = socket.address().port;
    this.srtpRx = srtpRx;
    this.srtpTx = srtpTx;
    this.arrivals = 0; // every datagram gets an arrival index
    this.rtp = []; // parsed RTP, plus { index, at, from }
    this.rtcp = []; // parsed RTCP packets (compounds split), plus { index, at, from }
    this.rejected = []; // datagrams that were neither (or failed SRTP)
    this.bytesSent = 0;
    this.waiters = new Set();
    this.closed = false;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', () => {});
  }

  onMessage(msg, rinfo) {
    const index = this.arrivals++;
    const at = Date.now();
    const from = { address: rinfo.address, port: rinfo.port };
    if (isRtcp(msg)) {
      const plain = this.srtpRx ? this.srtpRx.unprotectRtcp(msg) : msg;
      let items = null;
      try {
        items = plain && parseRtcp(plain);
      } catch (error) {
        this.rejected.push({ index, at, from, raw: msg, why: error.message });
      }
      if (items) {
        for (const item of items) this.rtcp.push(Object.assign(item, { index, at, from }));
      } else if (!plain) {
        this.rejected.push({ index, at, from, raw: msg, why: 'SRTCP authentication' });
      }
    } else {
      const plain = this.srtpRx ? this.srtpRx.unprotectRtp(msg) : msg;
      const pkt = plain && parseRtp(plain);
      if (pkt) this.rtp.push(Object.assign(pkt, { index, at, from }));
      else this.rejected.push({ index, at, from, raw: msg, why: plain ? 'not RTP' : 'SRTP authentication' });
    }
    for (const waiter of this.waiters) waiter();
  }

  send(buf, port) {
    this.bytesSent += buf.length;
    this.socket.send(buf, port, '127.0.0.1');
  }

  sendRtp(pkt, port) {
    this.send(this.srtpTx ? this.srtpTx.protectRtp(pkt) : pkt, port);
  }

  sendRtcp(pkt, port) {
    this.send(this.srtpTx ? this.srtpTx.protectRtcp(pkt) : pkt, port);
  }

  rtpOf(ssrc) {
    return this.rtp.filter((p) => p.ssrc === ssrc);
  }

  // Waits until `predicate(peer)` returns a truthy value, re-checking on each
  // datagram; resolves with that value.
  until(predicate, what, timeoutMs = 3000) {
    const first = predicate(this);
    if (first) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} on peer :${this.port}` +
          ` (${this.rtp.length} RTP, ${this.rtcp.length} RTCP, ${this.rejected.length} rejected received)`));
      }, timeoutMs);
      const check = () => {
        let value;
        try {
          value = predicate(this);
        } catch (error) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(error);
          return;
        }
        if (value) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(value);
        }
      };
      this.waiters.add(check);
    });
  }

  // First RTP packet (from index `since` on) matching `match`.
  waitRtp(match, what, timeoutMs = 3000, since = 0) {
    return this.until((peer) => peer.rtp.find((p) => p.index >= since && match(p)), what, timeoutMs);
  }

  // First RTCP packet (from arrival index `since` on) matching `match`.
  waitRtcp(match, what, timeoutMs = 3000, since = 0) {
    return this.until((peer) => peer.rtcp.find((p) => p.index >= since && match(p)), what, timeoutMs);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    openPeers.delete(this);
    this.socket.close();
  }
}

// ---------------------------------------------------------------------------
// Senders: one RTP stream from a peer to a worker port
// ---------------------------------------------------------------------------

export class StreamSender {
  constructor({ peer, port, ssrc, pt, seq = 1000, ts = 90000, tsStep = 3000 }) {
    Object.assign(this, { peer, port, ssrc, pt, seq: u16(seq), ts: u32(ts), tsStep });
    this.sent = []; // { seq, ts, marker, payload, keyframe, skipped }
    this.frames = 0;
  }

  // Sends (or, with skip, only accounts for) one packet.
  sendPacket({ payload, marker = false, skip = false, keyframe = false }) {
    const pkt = buildRtp({ pt: this.pt, seq: this.seq, ts: this.ts, ssrc: this.ssrc, marker, payload });
    const rec = { seq: this.seq, ts: this.ts, marker, payload, keyframe, skipped: skip, raw: pkt };
    this.sent.push(rec);
    if (!skip) this.peer.sendRtp(pkt, this.port);
    this.seq = u16(this.seq + 1);
    return rec;
  }

  // Re-sends a packet recorded earlier (e.g. one that was skipped).
  resend(rec) {
    rec.skipped = false;
    this.peer.sendRtp(rec.raw, this.port);
  }

  // One VP8 frame in `packets` packets, marker on the last; `skipSeqs` are
  // accounted for but not sent. Advances the timestamp afterwards.
  sendVp8Frame({ keyframe = false, packets = 1, size = 120, skipSeqs = [] } = {}) {
    const payloads = vp8FramePayloads({ keyframe, packets, size, fill: this.frames });
    const recs = payloads.map((payload, i) => this.sendPacket({
      payload, marker: i === payloads.length - 1, keyframe: keyframe && i === 0,
      skip: skipSeqs.includes(this.seq),
    }));
    this.frames++;
    this.ts = u32(this.ts + this.tsStep);
    return recs;
  }

  sendOpus({ size = 60, marker = false } = {}) {
    const rec = this.sendPacket({ payload: opusPayload({ size, fill: this.frames }), marker });
    this.frames++;
    this.ts = u32(this.ts + this.tsStep);
    return rec;
  }

  delivered() {
    return this.sent.filter((r) => !r.skipped);
  }

  bySeq(seq) {
    return this.sent.find((r) => r.seq === seq);
  }
}

// Calls fn every `intervalMs` until stopped; returns { stop, ticks }.
export function pump(fn, intervalMs = 20) {
  const state = { ticks: 0, stopped: false };
  const timer = setInterval(() => {
    if (state.stopped) return;
    state.ticks++;
    fn(state.ticks);
  }, intervalMs);
  state.stop = () => {
    state.stopped = true;
    clearInterval(timer);
  };
  return state;
}

// ---------------------------------------------------------------------------
// Router, producer and consumer set-ups
// ---------------------------------------------------------------------------

export const MEDIA_CODECS = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

// Producer payload types deliberately differ from the router's (which come
// from mediasoup's table: opus 100, VP8 101, rtx 102) so the rewrite shows.
export const PRODUCER_VP8_PT = 96;
export const PRODUCER_OPUS_PT = 111;

export function videoProducerOptions(ssrc) {
  return {
    kind: 'video',
    rtpParameters: {
      codecs: [{
        mimeType: 'video/VP8', payloadType: PRODUCER_VP8_PT, clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
      }],
      encodings: [{ ssrc }],
      rtcp: { cname: 'video-peer' },
    },
  };
}

export function audioProducerOptions(ssrc) {
  return {
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: PRODUCER_OPUS_PT, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc }],
      rtcp: { cname: 'audio-peer' },
    },
  };
}

// The router's capabilities without video/rtx: a consumer without RTX.
export function capsWithoutRtx(router) {
  const caps = structuredClone(router.rtpCapabilities);
  caps.codecs = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/rtx');
  return caps;
}

const LISTEN = { protocol: 'udp', ip: '127.0.0.1' };

// A producing side: a comedia PlainTransport and the raw peer that sends to it.
//   srtp: a crypto suite name to enable SRTP (the peer encrypts with its own
//   key given to connect(), decrypts the worker's RTCP with the transport's).
//   srtpConnect: the suite given to connect() if not srtp (the one offered).
export async function openProducerSide(router, { rtcpMux = true, srtp = null, srtpConnect = srtp } = {}) {
  const transport = await router.createPlainTransport({
    listenInfo: LISTEN, rtcpMux, comedia: true,
    ...(srtp ? { enableSrtp: true, srtpCryptoSuite: srtp } : {}),
  });
  let peer;
  if (srtp) {
    const keyBase64 = generateKeyBase64(srtpConnect);
    await transport.connect({ srtpParameters: { cryptoSuite: srtpConnect, keyBase64 } });
    peer = await UdpPeer.open({
      srtpTx: new SrtpContext(srtpConnect, keyBase64),
      srtpRx: SrtpContext.fromParameters(transport.srtpParameters),
    });
  } else {
    peer = await UdpPeer.open();
  }
  return { transport, peer, port: transport.tuple.localPort };
}

// A consuming side: a connected (non-comedia) PlainTransport and its peer.
export async function openConsumerSide(router, { srtp = null, srtpConnect = srtp } = {}) {
  const transport = await router.createPlainTransport({
    listenInfo: LISTEN, rtcpMux: true, comedia: false,
    ...(srtp ? { enableSrtp: true, srtpCryptoSuite: srtp } : {}),
  });
  const peer = await UdpPeer.open();
  if (srtp) {
    const keyBase64 = generateKeyBase64(srtpConnect);
    await transport.connect({ ip: '127.0.0.1', port: peer.port, srtpParameters: { cryptoSuite: srtpConnect, keyBase64 } });
    // The transport's parameters as they stand after connect() (mediasoup
    // documents that they may change there).
    peer.srtpTx = new SrtpContext(srtpConnect, keyBase64);
    peer.srtpRx = SrtpContext.fromParameters(transport.srtpParameters);
  } else {
    await transport.connect({ ip: '127.0.0.1', port: peer.port });
  }
  return { transport, peer, port: transport.tuple.localPort };
}

// What a consumer is expected to send, from its rtpParameters.
export function consumerWire(consumer) {
  const params = consumer.rtpParameters;
  const media = params.codecs.find((c) => !/\/rtx$/i.test(c.mimeType));
  const rtx = params.codecs.find((c) => /\/rtx$/i.test(c.mimeType) && c.parameters?.apt === media.payloadType);
  const enc = params.encodings[0];
  return {
    ssrc: enc.ssrc,
    pt: media.payloadType,
    clockRate: media.clockRate,
    rtxSsrc: enc.rtx?.ssrc,
    rtxPt: rtx?.payloadType,
  };
}

// A consumer on its own consumer side.
export async function openConsumer(router, producer, { srtp = null, srtpConnect = srtp, rtpCapabilities, paused = false, side } = {}) {
  const s = side ?? await openConsumerSide(router, { srtp, srtpConnect });
  const consumer = await s.transport.consume({
    producerId: producer.id, rtpCapabilities: rtpCapabilities ?? router.rtpCapabilities, paused,
  });
  return { ...s, consumer, wire: consumerWire(consumer) };
}

// Router + VP8 producer side + producer, with a StreamSender ready.
export async function videoSession(worker, { ssrc = 0x11223344, seq = 1000, ts = 90000, tsStep = 3000,
  rtcpMux = true, srtp = null, srtpConnect = srtp } = {}) {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const side = await openProducerSide(router, { rtcpMux, srtp, srtpConnect });
  const producer = await side.transport.produce(videoProducerOptions(ssrc));
  const sender = new StreamSender({ peer: side.peer, port: side.port, ssrc, pt: PRODUCER_VP8_PT, seq, ts, tsStep });
  return { router, ...side, producer, sender };
}

export async function audioSession(worker, { ssrc = 0x55667788, seq = 2000, ts = 48000, tsStep = 960 } = {}) {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const side = await openProducerSide(router);
  const producer = await side.transport.produce(audioProducerOptions(ssrc));
  const sender = new StreamSender({ peer: side.peer, port: side.port, ssrc, pt: PRODUCER_OPUS_PT, seq, ts, tsStep });
  return { router, ...side, producer, sender };
}

// ---------------------------------------------------------------------------
// Checks shared by several tests
// ---------------------------------------------------------------------------

// Maps each packet a consumer peer received (media SSRC only) to what the
// producer peer sent, by payload bytes (payloads are unique per packet).
export function matchToSent(received, sender) {
  const byPayload = new Map(sender.sent.map((r) => [r.payload.toString('hex'), r]));
  return received.map((p) => {
    const src = byPayload.get(p.payload.toString('hex'));
    if (!src) {
      throw new Error(`consumer packet seq ${p.seq} carries a payload the producer never sent ` +
        `(${p.payload.length} bytes, starts ${p.payload.subarray(0, 12).toString('hex')})`);
    }
    return { out: p, src };
  });
}

// The forwarding invariants for a simple consumer, over the packets a consumer
// peer received (in arrival order) and what the producer peer sent:
//   SSRC and PT are the consumer's; payload bytes and marker are the
//   original's; out.seq - in.seq is constant mod 2^16 and out.ts - in.ts is
//   constant mod 2^32 (so consecutive input gives +1 output); arrival order is
//   send order. Returns { pairs, seqOffset, tsOffset }.
export function checkForwarded(received, sender, wire) {
  assert.ok(received.length > 0, 'no packets received');
  const pairs = matchToSent(received, sender);
  const seqOffset = u16(pairs[0].out.seq - pairs[0].src.seq);
  const tsOffset = u32(pairs[0].out.ts - pairs[0].src.ts);
  pairs.forEach(({ out, src }, i) => {
    const at = `packet ${i} (in seq ${src.seq}, out seq ${out.seq})`;
    assert.equal(out.ssrc, wire.ssrc, `${at}: SSRC`);
    assert.equal(out.pt, wire.pt, `${at}: payload type`);
    assert.equal(out.marker, src.marker, `${at}: marker`);
    assert.ok(out.payload.equals(src.payload), `${at}: payload bytes`);
    assert.equal(u16(out.seq - src.seq), seqOffset, `${at}: seq offset (out - in) changed`);
    assert.equal(u32(out.ts - src.ts), tsOffset, `${at}: timestamp offset (out - in) changed`);
    if (i > 0) {
      const prev = pairs[i - 1];
      assert.ok(seqDiff(prev.src.seq, src.seq) > 0, `${at}: arrived out of send order`);
      assert.equal(seqDiff(prev.out.seq, out.seq), seqDiff(prev.src.seq, src.seq), `${at}: seq step`);
    }
  });
  return { pairs, seqOffset, tsOffset };
}

// Each consecutive pair of packets differs by exactly one in sequence number.
export function assertContiguous(received, what = 'consumer packets') {
  for (let i = 1; i < received.length; ++i) {
    assert.equal(u16(received[i].seq - received[i - 1].seq), 1,
      `${what}: seq ${received[i - 1].seq} followed by ${received[i].seq}`);
  }
}

// Waits until the transport's stats show at least `bytes` received: the worker
// has read everything the peer sent so far (a fence for "nothing forwarded"
// checks). Then allows a short time for any forwarded datagram to land.
export async function fenceReceived(transport, bytes, settleMs = 100) {
  await waitUntil(async () => (await transport.getStats())[0].bytesReceived >= bytes,
    `transport bytesReceived >= ${bytes}`);
  await sleep(settleMs);
}
