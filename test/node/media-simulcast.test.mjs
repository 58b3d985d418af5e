// Simulcast producers and their consumers through PlainTransports, checked on
// the wire (issue 12, "Prove"): a raw UDP peer sends three VP8 encodings (by
// RID with the MID/RID header extensions as mediasoup-client's browser sends
// them, or by SSRC), L1T3, answering the worker's PLI/FIR with key frames; or
// three H264 encodings with key frames in STAP-A and FU-A. Consumer peers check
// what they receive: one encoding at a time, switches only at key frames,
// seq/ts/PictureID/TL0PICIDX continuous, temporal layers dropped and added
// where VP8 allows, layerschange, and RTX carrying each consumer's own rewrites.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-simulcast.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startWorker, closeAll, openProducerSide, openConsumerSide, consumerWire, pump, waitUntil, nextEvent,
} from './lib/media-peer.mjs';
import { buildNack, buildPli, parseRtxPayload, parseRtp, u16, tsDiff, isPli, isFir } from './lib/rtp.mjs';
import {
  EXT, RtpStream, Vp8SimulcastSender, H264SimulcastSender, parseVp8Descriptor, parseH264, checkVp8Simulcast,
  checkH264Simulcast, buildVp8Descriptor, buildVp9Descriptor, parseVp9Descriptor, h264FuA, h264Nal, h264StapA, NAL,
  assertLayerEvents, runsAfterStartup, T3_PATTERN, FRAME_MS, TS_STEP, oneByteExtensions, buildRtpWithExtensions,
} from './lib/layered.mjs';
import { dropsOf } from './lib/sluice-drops.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const PEER_SSRC = 0x0c0ffee1;
const VP8_PT = 96;
const H264_PT = 107;

export const LAYERED_CODECS = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0 } },
  {
    kind: 'video', mimeType: 'video/H264', clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

// As mediasoup-client produces a 3-encoding VP8 track: a MID, the MID and RID
// header extensions at the router's preferred ids, encodings by RID, L1T3.
function vp8ByRidOptions(rids = ['r0', 'r1', 'r2']) {
  return {
    kind: 'video',
    rtpParameters: {
      mid: '0',
      codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000, rtcpFeedback: FEEDBACK }],
      headerExtensions: [EXT.mid, EXT.rid, EXT.rrid].map(({ uri, id }) => ({ uri, id })),
      encodings: rids.map((rid) => ({ rid, scalabilityMode: 'L1T3' })),
      rtcp: { cname: 'simulcast-peer' },
    },
  };
}

function vp8BySsrcOptions(ssrcs, scalabilityMode = 'L1T3') {
  return {
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000, rtcpFeedback: FEEDBACK }],
      encodings: ssrcs.map((ssrc) => (scalabilityMode ? { ssrc, scalabilityMode } : { ssrc })),
      rtcp: { cname: 'simulcast-peer' },
    },
  };
}

// Three encodings, each with its own seq, ts, PictureID and TL0PICIDX space.
// `nearWrap` starts them just before the 16-bit seq, 32-bit ts, 15-bit
// PictureID and 8-bit TL0PICIDX wraps, each at a different distance.
function encodingSpaces({ ssrcs, rids, nearWrap }) {
  return ssrcs.map((ssrc, i) => ({
    ssrc, rid: rids?.[i],
    seq: nearWrap ? 65535 - 7 * (i + 1) : 1000 + 5000 * i,
    ts: nearWrap ? 0xffffffff - TS_STEP * (3 + 4 * i) : 0x10000000 * (i + 1),
    pictureId: nearWrap ? 0x7fff - 3 * (i + 1) : 100 + 1000 * i,
    tl0PicIdx: nearWrap ? 255 - (i + 1) : 10 * i,
  }));
}

async function vp8Session(worker, { byRid = true, nearWrap = false, ridPackets = 8, ssrcs = [0x2000a001, 0x2000a002, 0x2000a003],
  scalabilityMode = 'L1T3' } = {}) {
  const router = await worker.createRouter({ mediaCodecs: LAYERED_CODECS });
  const side = await openProducerSide(router);
  const rids = byRid ? ['r0', 'r1', 'r2'] : undefined;
  const producer = await side.transport.produce(byRid ? vp8ByRidOptions() : vp8BySsrcOptions(ssrcs, scalabilityMode));
  const sender = new Vp8SimulcastSender({
    peer: side.peer, port: side.port, pt: VP8_PT, mid: byRid ? '0' : undefined, ridPackets,
    encodings: encodingSpaces({ ssrcs, rids, nearWrap }),
  });
  return { router, ...side, producer, sender };
}

// A consumer on its own side, with its layerschange events recorded.
async function layeredConsumer(s, { preferredLayers, rtpCapabilities, paused = false } = {}) {
  const c = await openConsumerSide(s.router);
  const consumer = await c.transport.consume({
    producerId: s.producer.id, rtpCapabilities: rtpCapabilities ?? s.router.rtpCapabilities, paused,
    ...(preferredLayers ? { preferredLayers } : {}),
  });
  const layers = [];
  consumer.on('layerschange', (l) => layers.push({ layers: l ?? null, at: Date.now(), arrival: c.peer.arrivals }));
  return { ...c, consumer, wire: consumerWire(consumer), layers };
}

const sameLayers = (a, b) => a && b && a.spatialLayer === b.spatialLayer && a.temporalLayer === b.temporalLayer;

// Waits until the consumer reports `want` as its current layers (from a
// layerschange notification; the library keeps the last one).
function waitLayers(c, want, what, timeoutMs = 6000) {
  return waitUntil(() => sameLayers(c.consumer.currentLayers, want) && c.layers.find((l) => sameLayers(l.layers, want)),
    `${what}: currentLayers ${JSON.stringify(want)} (now ${JSON.stringify(c.consumer.currentLayers)})`, timeoutMs);
}

// Sends frames every FRAME_MS until stopped.
function flow(sender, { srEveryTicks = 0 } = {}) {
  return pump((tick) => {
    if (srEveryTicks && tick % srEveryTicks === 1) sender.sendSenderReports?.();
    sender.sendFrame();
  }, FRAME_MS);
}

// The forwarded frames of a checked run that arrived at or after `arrival`.
const framesSince = (frames, arrival) => frames.filter((f) => f.pairs[0].out.index >= arrival);

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

describe('the layered-stream library (self-check, no worker)', () => {
  test('VP8 descriptor: build and parse agree on every field, 7- and 15-bit PictureID, key frame bit', () => {
    for (const pictureIdBits of [7, 15]) {
      const d = buildVp8Descriptor({ n: true, s: true, pid: 0, pictureId: pictureIdBits === 7 ? 0x55 : 0x4321,
        pictureIdBits, tl0PicIdx: 0xfe, tid: 2, y: true, keyIdx: 17 });
      const p = parseVp8Descriptor(Buffer.concat([d, Buffer.from([0x10, 0x02, 0x00])]));
      assert.deepEqual({ ...p }, {
        x: true, n: true, s: true, pid: 0, i: true, l: true, t: true, k: true,
        pictureId: pictureIdBits === 7 ? 0x55 : 0x4321, pictureIdBits, tl0PicIdx: 0xfe, tid: 2, y: true, keyIdx: 17,
        size: pictureIdBits === 7 ? 5 : 6, keyframe: true,
      });
    }
    // RFC 7741 §4.2 example bytes: X=1 S=1, I=1 L=1 T=1, M=1 PictureID 0x1234, TL0PICIDX 7, TID 1 Y.
    const raw = Buffer.from([0x90, 0xe0, 0x92, 0x34, 0x07, 0x60, 0x11]);
    assert.deepEqual(buildVp8Descriptor({ pictureId: 0x1234, tl0PicIdx: 7, tid: 1, y: true }), raw.subarray(0, 6));
    const p = parseVp8Descriptor(raw);
    assert.equal(p.keyframe, false, 'P=1 in the payload header: not a key frame');
    assert.equal(parseVp8Descriptor(Buffer.from([0x90, 0x80, 0x80])), null, 'cut inside a 15-bit PictureID');
    assert.equal(parseVp8Descriptor(Buffer.from([0x10])), null, 'no byte after the descriptor');
    // Not the first partition: never a key frame, whatever follows.
    assert.equal(parseVp8Descriptor(Buffer.from([0x11, 0x00])).keyframe, false);
  });

  test('VP9 descriptor: non-flexible with SS, flexible with P_DIFFs, truncation', () => {
    const ss = { sizes: [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }],
      group: [{ tid: 0, u: false, pDiffs: [4] }, { tid: 2, u: true, pDiffs: [1] }] };
    const a = buildVp9Descriptor({ p: false, b: true, e: false, pictureId: 0x7ffe, tid: 0, sid: 0, tl0PicIdx: 255, ss });
    const pa = parseVp9Descriptor(Buffer.concat([a, Buffer.from([0xaa])]));
    assert.equal(pa.keyframe, true);
    assert.deepEqual([pa.pictureId, pa.pictureIdBits, pa.tl0PicIdx, pa.sid, pa.b, pa.e, pa.v], [0x7ffe, 15, 255, 0, true, false, true]);
    assert.deepEqual(pa.ss, { spatialLayers: 3, sizes: ss.sizes, group: ss.group });
    assert.equal(pa.size, a.length);
    const b = buildVp9Descriptor({ flexible: true, p: true, b: false, e: true, pictureId: 5, pictureIdBits: 7, tid: 2, u: true, sid: 1, d: true, pDiffs: [1, 3] });
    assert.deepEqual(b, Buffer.from([0xf4, 0x05, 0x53, 0x03, 0x06]));
    const pb = parseVp9Descriptor(Buffer.concat([b, Buffer.from([0])]));
    assert.deepEqual([pb.f, pb.p, pb.tid, pb.u, pb.sid, pb.d, pb.tl0PicIdx, pb.keyframe], [true, true, 2, true, 1, true, undefined, false]);
    assert.deepEqual(pb.pDiffs, [1, 3]);
    assert.equal(parseVp9Descriptor(b), null, 'no payload byte');
    assert.equal(parseVp9Descriptor(Buffer.from([0xf0, 0x85])), null, 'cut in the PictureID');
    assert.equal(parseVp9Descriptor(Buffer.from([0xd0, 0x05, 0x03, 0x03, 0x03, 0x03, 0x00])), null, 'four P_DIFFs');
  });

  test('H264: single NAL, STAP-A and FU-A built and recognised; key frames by SPS/IDR', () => {
    const idr = h264Nal(NAL.IDR, Buffer.alloc(50, 1));
    const stap = h264StapA([h264Nal(NAL.SPS, Buffer.from([0x42, 0, 0x1f])), h264Nal(NAL.PPS, Buffer.from([0xce])), idr]);
    assert.deepEqual(parseH264(stap), { kind: 'stap-a', nalTypes: [7, 8, 5], keyframe: true });
    const fu = h264FuA(idr, 3);
    assert.equal(fu.length, 3);
    assert.deepEqual(fu.map((f) => [f[0], f[1]]), [[0x7c, 0x85], [0x7c, 0x05], [0x7c, 0x45]]);
    assert.deepEqual(Buffer.concat([Buffer.from([idr[0]]), ...fu.map((f) => f.subarray(2))]), idr, 'fragments reassemble');
    assert.equal(parseH264(fu[0]).keyframe, true);
    assert.equal(parseH264(fu[1]).keyframe, false);
    assert.equal(parseH264(h264Nal(NAL.SLICE, Buffer.alloc(9))).keyframe, false);
    assert.equal(parseH264(Buffer.from([0x18, 0x00, 0x09, 0x65])), null, 'STAP-A size past the end');
  });

  test('RID/MID one-byte extensions round-trip through parseRtp', () => {
    const raw = buildRtpWithExtensions({ pt: 96, seq: 1, ts: 2, ssrc: 3, payload: Buffer.from([1, 2]),
      extensions: [{ id: 1, data: Buffer.from('0') }, { id: 2, data: Buffer.from('r2') }] });
    const ext = oneByteExtensions(parseRtp(raw));
    assert.equal(ext.get(1).toString(), '0');
    assert.equal(ext.get(2).toString(), 'r2');
    assert.deepEqual(parseRtp(raw).payload, Buffer.from([1, 2]));
  });
});

// A reference simulcast forwarder in a few lines, for checking the checker:
// it follows `schedule(tick) -> { enc, tid }`, switches encoding only on a
// key frame of the target, forwards a frame when its TID is within the target
// and (once TL0-only) an upper layer comes back at a layer-sync frame, and
// rewrites seq, ts, PictureID (15-bit) and TL0PICIDX continuously.
function modelForward(sender, ticks, schedule) {
  const out = [];
  let cur = null;
  let curTid = 0;
  let seq = 65530;
  let pictureId = 0x7ffd;
  let tl0 = 254;
  for (let t = 0; t < ticks; ++t) {
    const frames = sender.sendFrame();
    const want = schedule(t);
    if (cur !== want.enc && frames[want.enc].keyframe) {
      cur = want.enc;
      curTid = want.tid;
    }
    if (cur === null) continue;
    const f = frames[cur];
    if (f.keyframe || f.tid === 0) curTid = Math.min(curTid, want.tid);
    if (f.tid > curTid && f.tid <= want.tid && f.y) curTid = f.tid;
    if (f.tid > Math.min(curTid, want.tid)) continue;
    if (f.tid === 0) tl0 = (tl0 + 1) & 0xff;
    for (const pk of f.packets) {
      const d = parseVp8Descriptor(pk.payload);
      const desc = buildVp8Descriptor({ n: d.n, s: d.s, pid: d.pid, pictureId, tl0PicIdx: tl0, tid: d.tid, y: d.y });
      out.push({ seq: seq & 0xffff, ts: (0xfffff000 + TS_STEP * t) >>> 0, marker: pk.marker, payload: Buffer.concat([desc, pk.rest]),
        index: out.length, at: t * FRAME_MS, ssrc: 1 });
      seq++;
    }
    pictureId = (pictureId + 1) & 0x7fff;
  }
  return out;
}

const fakePeer = () => ({ sendRtp() {}, sendRtcp() {}, rtcp: [] });
function modelSender() {
  return new Vp8SimulcastSender({ peer: fakePeer(), port: 1, pt: VP8_PT, encodings: encodingSpaces({ ssrcs: [1, 2, 3], nearWrap: true }) });
}

describe('the VP8 simulcast checker (self-check against a reference forwarder, no worker)', () => {
  // Encoding 2, then 0 (key frame asked at tick 10, sent at 14), then 1 at
  // TL0 only, then 1 at all layers.
  const schedule = (t) => (t < 10 ? { enc: 2, tid: 2 } : t < 30 ? { enc: 0, tid: 2 } : t < 50 ? { enc: 1, tid: 0 } : { enc: 1, tid: 2 });
  function run(mutate) {
    const sender = modelSender();
    const out = modelForward({
      sendFrame() {
        const t = sender.tick;
        if (t === 14) sender.encodings[0].keyPending = true;
        if (t === 33) sender.encodings[1].keyPending = true;
        return sender.sendFrame();
      },
    }, 70, schedule);
    mutate?.(out, sender);
    return () => checkVp8Simulcast(out, sender);
  }

  test('a correct forwarder passes, with the runs and layers it took', () => {
    const { runs, frames } = run()();
    assert.deepEqual(runs.map((r) => r.enc), [2, 0, 1]);
    assert.ok(frames.some((f) => f.frame.enc === 1 && f.frame.tid === 2));
  });
  test('a lost packet fails', () => assert.throws(run((out) => out.splice(20, 1)), /seq follows|whole/));
  test('a seq gap fails', () => assert.throws(run((out) => { for (const p of out.slice(30)) p.seq = (p.seq + 1) & 0xffff; }), /seq follows/));
  test('a switch on a delta frame fails', () => assert.throws(run((out, sender) => {
    // Replace a forwarded frame of encoding 0 by encoding 1's frame of the same tick.
    const k = out.findIndex((p) => sender.sourceOf(p.payload).frame.enc === 0 && !sender.sourceOf(p.payload).frame.keyframe &&
      sender.sourceOf(p.payload).frame.tid === 0);
    const src = sender.sourceOf(out[k].payload).frame;
    const other = sender.encodings[1].frames.find((f) => f.tick === src.tick);
    const d = parseVp8Descriptor(out[k].payload);
    out.splice(k, src.packets.length, ...other.packets.map((pk, j) => ({ ...out[k], seq: (out[k].seq + j) & 0xffff,
      marker: pk.marker, payload: Buffer.concat([buildVp8Descriptor({ s: j === 0, pictureId: d.pictureId, tl0PicIdx: d.tl0PicIdx,
        tid: other.tid, y: other.y }), pk.rest]) })));
    for (let j = k + other.packets.length; j < out.length; ++j) out[j].seq = (out[j - 1].seq + 1) & 0xffff;
  }), /key frame|reference/));
  test('a PictureID gap fails', () => assert.throws(run((out) => {
    for (const p of out.slice(40)) { const d = parseVp8Descriptor(p.payload); p.payload = Buffer.concat([buildVp8Descriptor({ n: d.n, s: d.s, pid: d.pid, pictureId: (d.pictureId + 1) & 0x7fff, tl0PicIdx: d.tl0PicIdx, tid: d.tid, y: d.y }), p.payload.subarray(d.size)]); }
  }), /PictureID/));
  test('a 7-bit PictureID on the wire fails', () => assert.throws(run((out) => {
    const d = parseVp8Descriptor(out[0].payload);
    out[0].payload = Buffer.concat([buildVp8Descriptor({ s: d.s, pictureId: d.pictureId & 0x7f, pictureIdBits: 7, tl0PicIdx: d.tl0PicIdx, tid: d.tid, y: d.y }), out[0].payload.subarray(d.size)]);
  }), /15-bit/));
  test('a TL0PICIDX that does not follow fails', () => assert.throws(run((out) => {
    for (const p of out.slice(50)) { const d = parseVp8Descriptor(p.payload); p.payload = Buffer.concat([buildVp8Descriptor({ n: d.n, s: d.s, pid: d.pid, pictureId: d.pictureId, tl0PicIdx: (d.tl0PicIdx + 3) & 0xff, tid: d.tid, y: d.y }), p.payload.subarray(d.size)]); }
  }), /TL0PICIDX/));
  test('a changed byte after the descriptor fails', () => assert.throws(run((out) => { out[12].payload[out[12].payload.length - 1] ^= 1; }), /bytes after the descriptor/));
  test('a changed marker fails', () => assert.throws(run((out) => { out[5].marker = !out[5].marker; }), /marker/));
  test('a ts jump across a switch beyond the wall time fails', () => assert.throws(run((out, sender) => {
    const k = out.findIndex((p) => sender.sourceOf(p.payload).enc === 0);
    for (const p of out.slice(k)) p.ts = (p.ts + 90 * 2000) >>> 0;
  }), /ts step/));
  test('a ts step within an encoding that differs from the source fails', () => assert.throws(run((out) => {
    for (const p of out.slice(60)) p.ts = (p.ts + 1) >>> 0;
  }), /ts step|one ts/));
  test('an upper temporal frame without layer sync after TL0-only fails (its reference was dropped)', () => assert.throws(run((out, sender) => {
    // At TL0 only on encoding 1, insert that encoding's next TID 2, Y=0 frame.
    const k = out.findIndex((p) => { const f = sender.sourceOf(p.payload).frame; return f.enc === 1 && f.tick > 40 && f.tid === 0; });
    const f0 = sender.sourceOf(out[k].payload).frame;
    const f3 = sender.encodings[1].frames.find((f) => f.n > f0.n && f.tid === 2 && !f.y);
    assert.ok(f3);
    const end = k + f0.packets.length;
    const d = parseVp8Descriptor(out[k].payload);
    const ins = f3.packets.map((pk, j) => ({ ...out[end - 1], seq: (out[end - 1].seq + 1 + j) & 0xffff, marker: pk.marker,
      payload: Buffer.concat([buildVp8Descriptor({ s: j === 0, pictureId: (d.pictureId + 1) & 0x7fff, tl0PicIdx: d.tl0PicIdx, tid: 2, y: false }), pk.rest]) }));
    out.splice(end, 0, ...ins);
    for (let j = end + ins.length; j < out.length; ++j) {
      out[j].seq = (out[j - 1].seq + 1) & 0xffff;
      const dj = parseVp8Descriptor(out[j].payload);
      out[j].payload = Buffer.concat([buildVp8Descriptor({ n: dj.n, s: dj.s, pid: dj.pid, pictureId: (dj.pictureId + 1) & 0x7fff, tl0PicIdx: dj.tl0PicIdx, tid: dj.tid, y: dj.y }), out[j].payload.subarray(dj.size)]);
    }
  }), /reference/));
});

describe('VP8 simulcast producer (works without layered consumers)', () => {
  test('by RID: type simulcast; RID/MID only on the first packets; a pipe consumer forwards every encoding byte for byte', async () => {
    const s = await vp8Session(worker, { byRid: true, ridPackets: 4 });
    assert.equal(s.producer.type, 'simulcast');
    const c = await openConsumerSide(s.router);
    const consumer = await c.transport.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities, pipe: true });
    assert.equal(consumer.type, 'pipe');
    const wires = consumer.rtpParameters.encodings.map((e) => e.ssrc);
    for (let f = 0; f < 8; ++f) s.sender.sendFrame();
    for (const [i, e] of s.sender.encodings.entries()) {
      const n = e.stream.packetsSent;
      await c.peer.until((p) => p.rtpOf(wires[i]).length >= n, `${n} packets of encoding ${i}`);
      const got = c.peer.rtpOf(wires[i]);
      assert.equal(got.length, n);
      const sent = e.frames.flatMap((fr) => fr.packets);
      got.forEach((p, k) => {
        assert.ok(p.payload.equals(sent[k].payload), `encoding ${i} packet ${k}: descriptor and payload untouched`);
        assert.equal(p.marker, sent[k].marker);
      });
      // Later packets (after ridPackets) carried no RID: still routed to this encoding.
      assert.ok(sent.length > 4);
    }
    const stats = await s.producer.getStats();
    assert.deepEqual(stats.map((x) => x.rid).sort(), ['r0', 'r1', 'r2']);
    assert.deepEqual(stats.map((x) => x.ssrc).sort(), s.sender.encodings.map((e) => e.stream.ssrc).sort());
  });

  test('a PLI on pipe stream 1 reaches the producer peer for encoding 1, whose next frame is a key frame', async () => {
    const s = await vp8Session(worker, { byRid: false });
    const c = await openConsumerSide(s.router);
    const consumer = await c.transport.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities, pipe: true });
    for (let f = 0; f < 3; ++f) s.sender.sendFrame();
    const w1 = consumer.rtpParameters.encodings[1].ssrc;
    await c.peer.until((p) => p.rtpOf(w1).length >= 7, 'encoding 1 flowing');
    const mark = s.peer.arrivals;
    c.peer.sendRtcp(buildPli({ senderSsrc: PEER_SSRC, mediaSsrc: w1 }), c.port);
    await s.peer.waitRtcp((p) => (isPli(p) && p.mediaSsrc === s.sender.encodings[1].stream.ssrc) ||
      (isFir(p) && p.firs.some((x) => x.ssrc === s.sender.encodings[1].stream.ssrc)), 'a key frame request for encoding 1', 3000, mark);
    const frames = s.sender.sendFrame();
    assert.deepEqual(frames.map((f) => f.keyframe), [false, true, false], 'the sender answered on encoding 1 only');
    assert.equal(s.sender.keyRequestLog.at(-1).enc, 1);
  });
});

describe('VP8 simulcast producer: bitrateByLayer', () => {
  test('each encoding\'s stats carry bitrateByLayer for its temporal layers, each with the layers it needs', async () => {
    const s = await vp8Session(worker, { byRid: true });
    const p = flow(s.sender);
    try {
      const want = ['0.0', '0.1', '0.2'];
      const stats = await waitUntil(async () => {
        const st = await s.producer.getStats();
        return st.length === 3 && st.every((x) => want.every((k) => x.bitrateByLayer?.[k] > 0)) && st;
      }, 'bitrateByLayer 0.0, 0.1, 0.2 above zero on every encoding', 6000);
      for (const x of stats) {
        const b = x.bitrateByLayer;
        assert.deepEqual(Object.keys(b).sort(), want, `rid ${x.rid}: layers`);
        assert.ok(b['0.0'] < b['0.1'] && b['0.1'] < b['0.2'], `rid ${x.rid}: each layer adds to the ones it needs (${JSON.stringify(b)})`);
        assert.ok(b['0.2'] <= x.bitrate * 1.5 && b['0.2'] >= x.bitrate / 1.5, `rid ${x.rid}: the top layer is about the stream's bitrate (${b['0.2']} vs ${x.bitrate})`);
      }
    } finally {
      p.stop();
    }
  });
});

describe('VP8 simulcast producer: loss repaired by RTX (by RRID, by SSRC)', () => {
  for (const byRid of [true, false]) {
    test(`a packet lost on encoding 1 is NACKed for that encoding and repaired from RTX ${byRid ? 'named by the repaired-RID extension' : 'on its announced SSRC'}`, async () => {
      const router = await worker.createRouter({ mediaCodecs: LAYERED_CODECS });
      const side = await openProducerSide(router);
      const ssrcs = [0x2100a001, 0x2100a002, 0x2100a003];
      const rtxSsrcs = [0x2100b001, 0x2100b002, 0x2100b003];
      const options = byRid ? vp8ByRidOptions() : vp8BySsrcOptions(ssrcs);
      options.rtpParameters.codecs.push({ mimeType: 'video/rtx', payloadType: VP8_PT + 1, clockRate: 90000, parameters: { apt: VP8_PT } });
      if (!byRid) options.rtpParameters.encodings.forEach((e, i) => { e.rtx = { ssrc: rtxSsrcs[i] }; });
      const producer = await side.transport.produce(options);
      const sender = new Vp8SimulcastSender({
        peer: side.peer, port: side.port, pt: VP8_PT, rtxPt: VP8_PT + 1, mid: byRid ? '0' : undefined, ridPackets: 6,
        encodings: encodingSpaces({ ssrcs, rids: byRid ? ['r0', 'r1', 'r2'] : undefined, nearWrap: true })
          .map((e, i) => ({ ...e, rtxSsrc: rtxSsrcs[i] })),
      });
      const c = await openConsumerSide(router);
      const consumer = await c.transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, pipe: true });
      const w1 = consumer.rtpParameters.encodings[1].ssrc;
      const e1 = sender.encodings[1];
      // Lose the 9th and 10th packets of encoding 1 (after the RID packets: the
      // worker knows the SSRC by then; the RTX stream still names its RID).
      const lost = [u16(e1.stream.seq + 8), u16(e1.stream.seq + 9)];
      for (const q of lost) e1.stream.dropSeqs.add(q);
      const p = flow(sender);
      try {
        await c.peer.until((x) => x.rtpOf(w1).length >= 24, 'encoding 1 flowing');
        await waitUntil(() => sender.nackLog.filter((n) => n.enc === 1).length >= 2, 'the worker NACKed both lost packets of encoding 1', 4000);
        assert.ok(sender.nackLog.every((n) => n.enc === 1 && lost.includes(n.seq)), `NACKs only for the lost seqs of encoding 1 (${JSON.stringify(sender.nackLog)})`);
        const repaired = lost.map((q) => e1.stream.log.get(q));
        await c.peer.until((x) => repaired.every((r) => x.rtpOf(w1).some((q) => q.payload.equals(r.payload))), 'both repaired packets forwarded on pipe stream 1', 4000);
        const got = c.peer.rtpOf(w1);
        const first = got.find((q) => q.payload.equals(e1.frames[0].packets[0].payload));
        for (const r of repaired) {
          const out = got.find((q) => q.payload.equals(r.payload));
          assert.equal(u16(out.seq - first.seq), u16(r.seq - e1.frames[0].packets[0].seq), 'the repaired packet keeps its place in the sequence');
          assert.equal(out.marker, r.marker);
          assert.equal(got.filter((q) => q.payload.equals(r.payload)).length, 1, 'forwarded once');
        }
        for (const i of [0, 2]) {
          const wi = consumer.rtpParameters.encodings[i].ssrc;
          assert.ok(!c.peer.rtpOf(wi).some((q) => repaired.some((r) => q.payload.equals(r.payload))), `nothing repaired leaks into stream ${i}`);
        }
      } finally {
        p.stop();
      }
    });
  }
});

describe('VP8 simulcast producer: packets nobody announced', () => {
  test('a RID the producer did not announce (same MID) reaches no consumer, is counted, and the worker goes on', async () => {
    const s = await vp8Session(worker, { byRid: true });
    const c = await openConsumerSide(s.router);
    const consumer = await c.transport.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities, pipe: true });
    for (let f = 0; f < 3; ++f) s.sender.sendFrame();
    const wires = consumer.rtpParameters.encodings.map((e) => e.ssrc);
    await c.peer.until((x) => wires.every((w) => x.rtpOf(w).length >= 7), 'every encoding flowing');
    const before = await dropsOf(s.transport);
    const mark = c.peer.arrivals;
    const stray = new RtpStream({
      peer: s.peer, port: s.port, ssrc: 0x2000a0ff, pt: VP8_PT, seq: 7, ts: 7,
      extensions: () => [{ id: EXT.mid.id, data: Buffer.from('0') }, { id: EXT.rid.id, data: Buffer.from('r9') }],
    });
    for (let k = 0; k < 5; ++k) stray.send(Buffer.concat([buildVp8Descriptor({ pictureId: k, tl0PicIdx: 1, tid: 0 }), Buffer.from([0x10, 4, 0, 0x9d, 1, 0x2a, 0, 0, 0, 0, k])]), { marker: true });
    for (let f = 0; f < 2; ++f) s.sender.sendFrame();
    await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark).length >= 3 * 4, 'the announced encodings go on');
    await sleep(50);
    const after = await dropsOf(s.transport);
    assert.equal(c.peer.rtp.filter((q) => q.index >= mark).length, 3 * 4, 'only the announced encodings forwarded');
    assert.ok(c.peer.rtp.every((q) => s.sender.sourceOf(q.payload)), 'every packet forwarded is one of the announced encodings\'');
    const sum = (d) => Object.values(d ?? {}).reduce((x, y) => x + y, 0);
    assert.ok(sum(after) - sum(before) >= 5, `the 5 stray packets counted in sluice_drops (${JSON.stringify(after)})`);
    const stats = await s.producer.getStats();
    assert.deepEqual(stats.map((x) => x.rid).sort(), ['r0', 'r1', 'r2']);
  });
});

describe('VP8 simulcast consumer', () => {
  test('by RID: type, one encoding with RTX, preferred/current layers, down and up switches only at key frames, continuous seq/ts/PictureID/TL0PICIDX', async () => {
    const s = await vp8Session(worker, { byRid: true });
    const c = await layeredConsumer(s);
    assert.equal(c.consumer.type, 'simulcast');
    assert.equal(c.consumer.rtpParameters.encodings.length, 1);
    assert.equal(c.consumer.rtpParameters.encodings[0].scalabilityMode, 'L3T3');
    assert.ok(c.wire.ssrc && c.wire.rtxSsrc, 'media and RTX SSRCs');
    assert.deepEqual(c.consumer.preferredLayers, { spatialLayer: 2, temporalLayer: 2 }, 'default: the highest layers');
    assert.equal(c.consumer.currentLayers ?? null, null, 'no current layers before anything was sent');

    const p = flow(s.sender);
    try {
      // Starts on the top encoding, from a key frame.
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 20, '20 packets forwarded');

      // Down to encoding 0 (all temporal layers): asked with a key frame request for it.
      let mark = c.peer.arrivals;
      const reqMark = s.sender.keyRequestLog.length;
      await c.consumer.setPreferredLayers({ spatialLayer: 0, temporalLayer: 2 });
      assert.deepEqual(c.consumer.preferredLayers, { spatialLayer: 0, temporalLayer: 2 });
      await waitLayers(c, { spatialLayer: 0, temporalLayer: 2 }, 'down to 0');
      assert.ok(s.sender.keyRequestLog.slice(reqMark).some((r) => r.enc === 0), 'the worker asked encoding 0 for a key frame');
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc).length >= 16, 'encoding 0 flowing');

      // Encoding 1, base temporal layer only.
      mark = c.peer.arrivals;
      await c.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 0 });
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 0 }, 'to 1/0');
      const t0Mark = c.peer.arrivals;
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= t0Mark && q.ssrc === c.wire.ssrc).length >= 12, 'encoding 1 TL0 flowing');

      // Temporal up-switch on encoding 1.
      const upMark = c.peer.arrivals;
      await c.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 2 });
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'to 1/2');
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= upMark && q.ssrc === c.wire.ssrc).length >= 16, 'encoding 1 all layers');
      p.stop();
      await sleep(50);

      const { frames, runs } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender);
      assert.deepEqual(runsAfterStartup(runs, frames, 2).map((r) => r.enc), [2, 0, 1], 'encodings forwarded in order 2, 0, 1');
      // While the target was 1/0, only TID 0 frames (after the switch landed).
      const t0 = framesSince(frames, t0Mark).filter((f) => f.pairs[0].out.index < upMark);
      assert.ok(t0.length >= 3 && t0.every((f) => f.frame.tid === 0 && f.frame.enc === 1), 'only TL0 of encoding 1 at 1/0');
      // After the up-switch, the upper temporal layers come back.
      const up = framesSince(frames, upMark);
      assert.ok(up.some((f) => f.frame.tid === 2) && up.some((f) => f.frame.tid === 1), 'TL1 and TL2 forwarded again');
      assertLayerEvents(c.layers.map((l) => l.layers), [
        { spatialLayer: 2, temporalLayer: 2 }, { spatialLayer: 0, temporalLayer: 2 },
        { spatialLayer: 1, temporalLayer: 0 }, { spatialLayer: 1, temporalLayer: 2 },
      ]);
      assert.equal(c.peer.rtpOf(c.wire.rtxSsrc).length, 0, 'no RTX nobody asked for');
      for (const e of s.sender.encodings) assert.equal(c.peer.rtpOf(e.stream.ssrc).length, 0, 'nothing on producer SSRCs');

      // dump and getStats as the library parses them.
      const dump = await c.consumer.dump();
      assert.equal(dump.type, 'simulcast');
      assert.deepEqual([dump.preferredSpatialLayer, dump.targetSpatialLayer, dump.currentSpatialLayer], [1, 1, 1]);
      assert.deepEqual([dump.preferredTemporalLayer, dump.targetTemporalLayer, dump.currentTemporalLayer], [2, 2, 2]);
      assert.equal(dump.consumableRtpEncodings.length, 3);
      assert.equal(dump.rtpStream.params.ssrc, c.wire.ssrc);
      assert.equal(dump.rtpStream.params.rtxSsrc, c.wire.rtxSsrc);
      const stats = await c.consumer.getStats();
      const out = stats.find((x) => x.type === 'outbound-rtp');
      assert.equal(out.ssrc, c.wire.ssrc);
      assert.equal(out.packetCount, c.peer.rtpOf(c.wire.ssrc).length, 'packetCount: every packet the peer received');
      for (const x of stats.filter((y) => y.type === 'inbound-rtp'))
        assert.equal(x.ssrc, s.sender.encodings[1].stream.ssrc, 'the inbound entry is the encoding being forwarded');
    } finally {
      p.stop();
    }
  });

  test('by SSRC across the seq, ts, PictureID and TL0PICIDX wraps: consume({ preferredLayers }) starts low, then up to the top', async () => {
    const s = await vp8Session(worker, { byRid: false, nearWrap: true });
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 0, temporalLayer: 1 } });
    assert.equal(c.consumer.type, 'simulcast');
    assert.deepEqual(c.consumer.preferredLayers, { spatialLayer: 0, temporalLayer: 1 });
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 0, temporalLayer: 1 }, 'start at 0/1');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 24, '24 packets');
      const upMark = c.peer.arrivals;
      await c.consumer.setPreferredLayers({ spatialLayer: 2, temporalLayer: 2 });
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'up to 2/2');
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= upMark && q.ssrc === c.wire.ssrc).length >= 40, 'encoding 2 flowing');
      p.stop();
      await sleep(50);
      const received = c.peer.rtpOf(c.wire.ssrc);
      const { frames, runs } = checkVp8Simulcast(received, s.sender);
      assert.deepEqual(runs.map((r) => r.enc), [0, 2]);
      const before = frames.filter((f) => f.frame.enc === 0);
      assert.ok(before.every((f) => f.frame.tid <= 1), 'TL2 dropped at 0/1');
      // Encoding 0 crossed its seq, ts, PictureID and TL0PICIDX wraps while it was forwarded.
      const fwd0 = before.map((f) => f.frame);
      const srcSeqs = fwd0.flatMap((f) => f.packets.map((q) => q.seq));
      assert.ok(srcSeqs.some((q) => q > 65500) && srcSeqs.some((q) => q < 100), 'forwarded across the source seq wrap');
      assert.ok(fwd0.some((f) => f.ts > 0xffff0000) && fwd0.some((f) => f.ts < 0x10000), 'forwarded across the source ts wrap');
      assert.ok(fwd0.some((f) => f.pictureId > 0x7ff0) && fwd0.some((f) => f.pictureId < 0x10), 'across the PictureID wrap');
      assert.ok(fwd0.some((f) => f.tl0PicIdx > 250) && fwd0.some((f) => f.tl0PicIdx < 5), 'across the TL0PICIDX wrap');
      assert.ok(received.length >= 64);
    } finally {
      p.stop();
    }
  });

  test('timestamps across a switch follow the sender reports\' NTP times exactly (one capture clock)', async () => {
    const s = await vp8Session(worker, { byRid: false });
    s.sender.sendSenderReports();
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 2, temporalLayer: 2 } });
    const p = flow(s.sender, { srEveryTicks: 10 });
    try {
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 16, 'flowing');
      await c.consumer.setPreferredLayers({ spatialLayer: 0, temporalLayer: 2 });
      await waitLayers(c, { spatialLayer: 0, temporalLayer: 2 }, 'down to 0');
      await c.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 2 });
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'to 1');
      const mark = c.peer.arrivals;
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc).length >= 8, 'encoding 1 flowing');
      p.stop();
      const { frames, runs } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender);
      const after = runsAfterStartup(runs, frames, 2);
      assert.deepEqual(after.map((r) => r.enc), [2, 0, 1]);
      for (const r of after.slice(1)) {
        const a = frames[r.from - 1];
        const b = frames[r.from];
        // Both encodings share one capture clock: the output ts step is the
        // capture-time step, whatever each encoding's own ts offset.
        const want = TS_STEP * (b.frame.tick - a.frame.tick);
        const got = tsDiff(a.ts, b.ts);
        assert.ok(Math.abs(got - want) <= 2,
          `switch enc ${a.frame.enc} -> ${b.frame.enc}: ts step ${got}, ${want} for ${b.frame.tick - a.frame.tick} capture ticks`);
      }
    } finally {
      p.stop();
    }
  });

  test('point 7: two consumers switched at different moments; each NACK answered by RTX carrying that consumer\'s own rewrites', async () => {
    // A window long enough to NACK packets from before both switches.
    const w = await startWorker({ SLUICE_RING_VIDEO_FLOOR_MS: '10000', SLUICE_RING_VIDEO_CEILING_MS: '10000' });
    const s = await vp8Session(w, { byRid: true, nearWrap: true });
    const a = await layeredConsumer(s);
    const b = await layeredConsumer(s, { preferredLayers: { spatialLayer: 0, temporalLayer: 2 } });
    const p = flow(s.sender);
    try {
      await waitLayers(a, { spatialLayer: 2, temporalLayer: 2 }, 'A start');
      await waitLayers(b, { spatialLayer: 0, temporalLayer: 2 }, 'B start');
      await a.peer.until((x) => x.rtpOf(a.wire.ssrc).length >= 12, 'A flowing');
      await a.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 1 });
      await waitLayers(a, { spatialLayer: 1, temporalLayer: 1 }, 'A to 1/1');
      await sleep(6 * FRAME_MS);
      await b.consumer.setPreferredLayers({ spatialLayer: 2, temporalLayer: 2 });
      await waitLayers(b, { spatialLayer: 2, temporalLayer: 2 }, 'B to 2/2');
      await sleep(6 * FRAME_MS);
      await b.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 2 });
      await waitLayers(b, { spatialLayer: 1, temporalLayer: 2 }, 'B to 1/2');
      await sleep(6 * FRAME_MS);
      p.stop();
      await sleep(50);

      // Both end on encoding 1 (A without its TL2 frames): the last packet
      // both received carries each one's own rewrite; A dropped TL2 for a
      // while, so its PictureIDs fell behind B's.
      const srcA = new Map(a.peer.rtpOf(a.wire.ssrc).map((q) => [s.sender.sourceOf(q.payload), q]));
      const lastB = b.peer.rtpOf(b.wire.ssrc).findLast((q) => srcA.has(s.sender.sourceOf(q.payload)));
      assert.ok(lastB, 'a packet both consumers received');
      const lastA = srcA.get(s.sender.sourceOf(lastB.payload));
      assert.equal(s.sender.sourceOf(lastB.payload).enc, 1);
      const [dA, dB] = [lastA, lastB].map((q) => parseVp8Descriptor(q.payload));
      assert.notEqual(dA.pictureId, dB.pictureId, 'the consumers\' PictureID spaces differ (so the RTX check below tells them apart)');
      const expectRuns = { A: [2, 1], B: [0, 2, 1] };
      for (const [name, c] of [['A', a], ['B', b]]) {
        const received = c.peer.rtpOf(c.wire.ssrc);
        const { runs: allRuns, pairs, frames } = checkVp8Simulcast(received, s.sender);
        const runs = runsAfterStartup(allRuns, frames, expectRuns[name][0]);
        assert.deepEqual(runs.map((r) => r.enc), expectRuns[name], `${name}'s encodings`);
        // NACK, from each run of one encoding, its key frame's first packet and
        // one 5 packets later, and the last packet received.
        const want = new Set();
        for (const r of runs) {
          const fromPkt = pairs.findIndex((x) => x.src.frame.enc === r.enc);
          want.add(fromPkt);
          want.add(Math.min(pairs.length - 1, fromPkt + 5));
        }
        want.add(pairs.length - 1);
        const targets = [...want].map((k) => received[k]);
        const mark = c.peer.arrivals;
        c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: targets.map((t) => t.seq) }), c.port);
        await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.rtxSsrc).length >= targets.length,
          `${name}: ${targets.length} RTX packets`, 4000);
        const rtx = c.peer.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.rtxSsrc);
        assert.equal(rtx.length, targets.length, `${name}: one RTX per NACKed seq`);
        for (const r of rtx) {
          assert.equal(r.pt, c.wire.rtxPt, `${name}: RTX payload type`);
          const { osn, payload } = parseRtxPayload(r.payload);
          const orig = targets.find((t) => t.seq === osn);
          assert.ok(orig, `${name}: OSN ${osn} is a NACKed seq`);
          assert.ok(payload.equals(orig.payload),
            `${name}: RTX for seq ${osn} carries the bytes this consumer received (descriptor rewritten for this consumer)\n` +
            `  got  ${payload.subarray(0, 10).toString('hex')}\n  want ${orig.payload.subarray(0, 10).toString('hex')}`);
          assert.equal(r.ts, orig.ts, `${name}: RTX for seq ${osn}: this consumer's ts`);
          assert.equal(r.marker, orig.marker, `${name}: RTX for seq ${osn}: marker`);
        }
      }
    } finally {
      p.stop();
    }
  });

  test('the top encoding goes silent: the consumer moves to the best active one (from its key frame) and back when it returns', async () => {
    const s = await vp8Session(worker, { byRid: false });
    const c = await layeredConsumer(s);
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 10, 'flowing');
      s.sender.encodings[2].active = false;
      await waitUntil(() => c.consumer.currentLayers?.spatialLayer === 1, 'current spatial layer 1 once encoding 2 is silent', 10000);
      const mark = c.peer.arrivals;
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc).length >= 8, 'encoding 1 flowing');
      s.sender.encodings[2].active = true;
      s.sender.encodings[2].keyPending = true;
      await waitUntil(() => c.consumer.currentLayers?.spatialLayer === 2, 'back on spatial layer 2', 10000);
      const back = c.peer.arrivals;
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= back && q.ssrc === c.wire.ssrc).length >= 8, 'encoding 2 flowing again');
      p.stop();
      await sleep(50);
      const { runs, frames } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender, { tsSlackMs: 500 });
      assert.deepEqual(runsAfterStartup(runs, frames, 2).map((r) => r.enc), [2, 1, 2]);
    } finally {
      p.stop();
    }
  });

  test('producer pause and resume: producerpause/producerresume, nothing while paused, then from a key frame with everything continuous', async () => {
    const s = await vp8Session(worker, { byRid: true });
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 0, temporalLayer: 2 } });
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 0, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 12, 'flowing');
      const paused = nextEvent(c.consumer, 'producerpause');
      await s.producer.pause();
      await paused;
      await sleep(3 * FRAME_MS);
      const pausedAt = c.peer.arrivals;
      await sleep(12 * FRAME_MS);
      assert.equal(c.peer.rtp.filter((q) => q.index >= pausedAt && q.ssrc === c.wire.ssrc).length, 0, 'nothing while the producer is paused');
      const resumed = nextEvent(c.consumer, 'producerresume');
      await s.producer.resume();
      await resumed;
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= pausedAt && q.ssrc === c.wire.ssrc).length >= 10, 'flowing after resume');
      p.stop();
      await sleep(50);
      const { frames } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender, { tsSlackMs: 500 });
      assert.ok(frames.find((f) => f.pairs[0].out.index >= pausedAt).frame.keyframe, 'resumed on a key frame');
    } finally {
      p.stop();
    }
  });

  test('7-bit PictureIDs in (crossing their 7-bit wrap): 15-bit on the wire, +1 per frame across a switch', async () => {
    const s = await vp8Session(worker, { byRid: false });
    for (const e of s.sender.encodings) {
      e.pictureIdBits = 7;
      e.pictureId = 120 - 5 * e.enc;
    }
    const c = await layeredConsumer(s);
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 20, 'flowing');
      await c.consumer.setPreferredLayers({ spatialLayer: 0, temporalLayer: 2 });
      await waitLayers(c, { spatialLayer: 0, temporalLayer: 2 }, 'down to 0');
      const mark = c.peer.arrivals;
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc).length >= 20, 'encoding 0 flowing');
      p.stop();
      await sleep(50);
      const { frames } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender);
      assert.ok(frames.some((f) => f.frame.pictureId > 120) && frames.some((f) => f.frame.pictureId < 5), 'source PictureIDs crossed 127 -> 0');
      assert.ok(frames.every((f) => parseVp8Descriptor(f.frame.packets[0].payload).pictureIdBits === 7), 'the source sent 7-bit ids');
    } finally {
      p.stop();
    }
  });

  test('a consumer created while the encodings flow asks for a key frame and starts on it; preferred layers beyond the producer are clamped', async () => {
    const s = await vp8Session(worker, { byRid: true });
    const p = flow(s.sender);
    try {
      await waitUntil(() => s.sender.tick >= 15, '15 frames sent');
      const reqMark = s.sender.keyRequestLog.length;
      const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 7, temporalLayer: 9 } });
      assert.deepEqual(c.consumer.preferredLayers, { spatialLayer: 2, temporalLayer: 2 }, 'clamped to the producer\'s layers');
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 10, 'flowing');
      p.stop();
      await sleep(50);
      assert.ok(s.sender.keyRequestLog.slice(reqMark).some((r) => r.enc === 2), 'a key frame request for encoding 2');
      const { frames } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender);
      assert.ok(frames[0].frame.keyframe && frames[0].frame.tick >= 15, 'the first frame forwarded is a key frame sent after the consumer came');
    } finally {
      p.stop();
    }
  });

  test('a real loss on the forwarded encoding stays one gap in the output; the late packet takes its own seq (forwarded, or resent on NACK)', async () => {
    // A window that still holds the lost packet's neighbours when it arrives.
    const w = await startWorker({ SLUICE_RING_VIDEO_FLOOR_MS: '5000', SLUICE_RING_VIDEO_CEILING_MS: '5000' });
    const s = await vp8Session(w, { byRid: false, nearWrap: true });
    s.sender.answerNacks = false;
    const c = await layeredConsumer(s);
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 10, 'flowing');
      // Lose the second packet of encoding 2's next TID 0 delta frame.
      const e2 = s.sender.encodings[2];
      const ahead = (T3_PATTERN.length - e2.pos) % T3_PATTERN.length; // frames until the next TID 0
      const lostSeq = u16(e2.stream.seq + 2 * ahead + 1);
      e2.stream.dropSeqs.add(lostSeq);
      await waitUntil(() => e2.stream.log.has(lostSeq) && s.sender.tick > 0, 'the lost packet accounted for');
      await sleep(10 * FRAME_MS);
      p.stop();
      await sleep(50);
      const lostRec = e2.stream.log.get(lostSeq);
      assert.ok(lostRec.skipped && lostRec.frame.tid === 0 && lostRec.k === 1, 'lost: packet 1 of a TID 0 frame');
      const received = c.peer.rtpOf(c.wire.ssrc);
      const steps = received.slice(1).map((q, i) => u16(q.seq - received[i].seq));
      assert.deepEqual(steps.filter((d) => d !== 1), [2], 'exactly one gap of one seq in the output');
      const gapAt = steps.indexOf(2);
      const gapSeq = u16(received[gapAt].seq + 1);
      assert.equal(s.sender.sourceOf(received[gapAt].payload), lostRec.frame.packets[0], 'the gap is where the lost packet belongs');

      // The lost packet arrives late. (This worker does not forward it to a
      // layered consumer; it answers the consumer's NACK for the gap.)
      const mark = c.peer.arrivals;
      s.peer.sendRtp(lostRec.raw, s.port);
      let late = await c.peer.waitRtp((q) => q.ssrc === c.wire.ssrc, 'the late packet forwarded', 500, mark).catch(() => null);
      if (!late) {
        c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [gapSeq] }), c.port);
        const rtx = await c.peer.waitRtp((q) => q.ssrc === c.wire.rtxSsrc, 'RTX for the gap', 3000, mark);
        const { osn, payload } = parseRtxPayload(rtx.payload);
        late = { ...rtx, seq: osn, payload, ssrc: c.wire.ssrc };
      }
      assert.equal(late.seq, gapSeq, 'the late packet fills the gap');
      const repaired = [...received.slice(0, gapAt + 1), late, ...received.slice(gapAt + 1)];
      checkVp8Simulcast(repaired, s.sender);
    } finally {
      p.stop();
    }
  });

  test('pause and resume: nothing while paused, then from a key frame with seq, ts, PictureID and TL0PICIDX continuing', async () => {
    const s = await vp8Session(worker, { byRid: false, nearWrap: true });
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 1 } });
    assert.deepEqual(c.consumer.preferredLayers, { spatialLayer: 1, temporalLayer: 2 }, 'temporal layer defaults to the highest');
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 12, 'flowing');
      await c.consumer.pause();
      await sleep(3 * FRAME_MS); // what was in flight when pause() returned
      const pausedAt = c.peer.arrivals;
      await sleep(12 * FRAME_MS);
      assert.equal(c.peer.rtp.filter((q) => q.index >= pausedAt && q.ssrc === c.wire.ssrc).length, 0, 'nothing while paused');
      const reqMark = s.sender.keyRequestLog.length;
      await c.consumer.resume();
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= pausedAt && q.ssrc === c.wire.ssrc).length >= 10, 'flowing after resume');
      p.stop();
      await sleep(50);
      assert.ok(s.sender.keyRequestLog.slice(reqMark).some((r) => r.enc === 1), 'resume asked encoding 1 for a key frame');
      // One checked stream across the pause: the first frame after it is a
      // key frame (its predecessors were not sent), everything continuous.
      const { frames } = checkVp8Simulcast(c.peer.rtpOf(c.wire.ssrc), s.sender, { tsSlackMs: 500 });
      const firstAfter = frames.find((f) => f.pairs[0].out.index >= pausedAt);
      assert.ok(firstAfter.frame.keyframe, 'resumed on a key frame');
    } finally {
      p.stop();
    }
  });

  test('a NACK for seqs this consumer never sent (ahead of it, long before it) resends nothing and harms nothing', async () => {
    const s = await vp8Session(worker, { byRid: false });
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 1, temporalLayer: 0 } });
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 0 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 8, 'flowing');
      p.stop();
      await sleep(30);
      const received = c.peer.rtpOf(c.wire.ssrc);
      const last = received.at(-1).seq;
      const mark = c.peer.arrivals;
      const bogus = [...Array(16).keys()].map((k) => u16(last + 1 + k)).concat([u16(received[0].seq - 300), u16(received[0].seq - 1)]);
      c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: bogus }), c.port);
      // A real NACK after them is still answered, and only it.
      c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [received.at(-2).seq] }), c.port);
      const rtx = await c.peer.waitRtp((q) => q.ssrc === c.wire.rtxSsrc, 'RTX for the real NACK', 3000, mark);
      await sleep(100);
      const all = c.peer.rtp.filter((q) => q.index >= mark);
      assert.equal(all.length, 1, `only the one real retransmission (got OSNs ${all.map((q) => parseRtxPayload(q.payload).osn)})`);
      assert.equal(parseRtxPayload(rtx.payload).osn, received.at(-2).seq);
      assert.ok(parseRtxPayload(rtx.payload).payload.equals(received.at(-2).payload));
      await worker.dump();
    } finally {
      p.stop();
    }
  });

  test('no scalabilityMode signalled but TIDs on the wire: every TID is sent, and a NACK for a TID 2 packet is answered', async () => {
    const s = await vp8Session(worker, { byRid: false, scalabilityMode: null });
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 1 } });
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 0 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).filter((q) => parseVp8Descriptor(q.payload).tid === 2).length >= 3,
        'TID 2 packets forwarded');
      p.stop();
      await sleep(30);
      const target = c.peer.rtpOf(c.wire.ssrc).filter((q) => parseVp8Descriptor(q.payload).tid === 2).at(-1);
      const mark = c.peer.arrivals;
      c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [target.seq] }), c.port);
      const rtx = await c.peer.waitRtp((q) => q.ssrc === c.wire.rtxSsrc, 'the RTX of the TID 2 packet', 3000, mark);
      const { osn, payload } = parseRtxPayload(rtx.payload);
      assert.equal(osn, target.seq);
      assert.ok(payload.equals(target.payload), 'the bytes this consumer sent');
    } finally {
      p.stop();
    }
  });

  test('consumer without RTX: a NACK is answered by a plain resend with the same seq and bytes', async () => {
    const s = await vp8Session(worker, { byRid: false });
    const caps = structuredClone(s.router.rtpCapabilities);
    caps.codecs = caps.codecs.filter((x) => x.mimeType.toLowerCase() !== 'video/rtx');
    const c = await layeredConsumer(s, { rtpCapabilities: caps, preferredLayers: { spatialLayer: 1, temporalLayer: 2 } });
    assert.equal(c.wire.rtxSsrc, undefined);
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 10, 'flowing');
      p.stop();
      await sleep(30);
      const received = c.peer.rtpOf(c.wire.ssrc);
      const target = received.at(-3);
      const mark = c.peer.arrivals;
      c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [target.seq] }), c.port);
      const again = await c.peer.waitRtp((q) => q.ssrc === c.wire.ssrc, 'the resent packet', 3000, mark);
      assert.equal(again.seq, target.seq);
      assert.equal(again.ts, target.ts);
      assert.equal(again.marker, target.marker);
      assert.ok(again.payload.equals(target.payload), 'same rewritten bytes');
    } finally {
      p.stop();
    }
  });

  test('bad input: an unparseable descriptor, a TID beyond L1T3, a RID nobody announced: not forwarded, counted; the worker goes on', async () => {
    const s = await vp8Session(worker, { byRid: true });
    const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 1, temporalLayer: 2 } });
    const p = flow(s.sender);
    let stopped = false;
    try {
      await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'start');
      await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 10, 'flowing');
      p.stop();
      stopped = true;
      await sleep(30);
      const before = { drops: await dropsOf(s.transport), stats: await s.producer.getStats(), cstats: await c.consumer.getStats() };
      const e1 = s.sender.encodings[1];
      const mark = c.peer.arrivals;
      // 1. A 15-bit PictureID cut after its first byte (and nothing after).
      e1.stream.send(Buffer.from([0x90, 0x80, 0x80]), { marker: true });
      // 2. A whole frame whose descriptor says TID 3 (L1T3 has 0..2).
      s.sender.sendEncodingFrame(e1, { descriptorOverride: { tid: 3 } });
      // 3. A key frame on a fourth RID the producer never announced.
      const stray = new RtpStream({
        peer: s.peer, port: s.port, ssrc: 0x2000a0ff, pt: VP8_PT, seq: 7, ts: 7,
        extensions: () => [{ id: EXT.mid.id, data: Buffer.from('0') }, { id: EXT.rid.id, data: Buffer.from('r9') }],
      });
      stray.send(Buffer.concat([buildVp8Descriptor({ pictureId: 1, tl0PicIdx: 1, tid: 0 }), Buffer.from([0x10, 4, 0, 0x9d, 1, 0x2a, 0, 0, 0, 0, 1])]), { marker: true });
      // Then the good stream goes on, from a key frame on every encoding (the
      // TID 3 frame took a place in encoding 1's reference chain).
      for (const e of s.sender.encodings) e.keyPending = true;
      for (let f = 0; f < 8; ++f) s.sender.sendFrame();
      await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc).length >= 16, 'the stream after the bad input');
      await sleep(50);
      // What was forwarded before and after the bad input each passes the
      // checks (every packet maps to a good sent packet, frames whole, ...),
      // and seq runs on across the drops without a gap.
      const all = c.peer.rtpOf(c.wire.ssrc);
      const beforeBad = all.filter((q) => q.index < mark);
      const afterBad = all.filter((q) => q.index >= mark);
      checkVp8Simulcast(beforeBad, s.sender);
      const { frames } = checkVp8Simulcast(afterBad, s.sender);
      assert.equal(u16(afterBad[0].seq - beforeBad.at(-1).seq), 1, 'no seq gap where the bad packets were dropped');
      assert.ok(frames.every((f) => f.frame.tid <= 2), 'the TID 3 frame was not forwarded');
      assert.equal(frames.length, 8, 'the 8 good frames after the bad input, nothing else');
      assert.equal(c.peer.rtp.filter((q) => q.index >= mark && q.ssrc !== c.wire.ssrc).length, 0, 'nothing on another SSRC');
      // Counted somewhere the stats expose.
      const after = { drops: await dropsOf(s.transport), stats: await s.producer.getStats(), cstats: await c.consumer.getStats() };
      const sum = (d) => Object.values(d ?? {}).reduce((x, y) => x + y, 0);
      const discarded = (st) => st.reduce((x, y) => x + (y.packetsDiscarded ?? 0), 0);
      // Counted where stats show it: the transport's sluice_drops, the
      // producer's or the consumer's (outbound) packetsDiscarded.
      const outDiscarded = (st) => st.filter((x) => x.type === 'outbound-rtp').reduce((x, y) => x + y.packetsDiscarded, 0);
      const counted = sum(after.drops) - sum(before.drops) + discarded(after.stats) - discarded(before.stats) +
        outDiscarded(after.cstats) - outDiscarded(before.cstats);
      assert.ok(counted >= 4, `each of the 4 bad packets counted (sluice_drops ${JSON.stringify(after.drops)}, ` +
        `producer packetsDiscarded ${discarded(after.stats)}, consumer ${outDiscarded(after.cstats)})`);
      assert.ok(!after.stats.some((x) => x.rid === 'r9'), 'no stream for the unannounced RID');
      await worker.dump();
    } finally {
      if (!stopped) p.stop();
    }
  });
});

describe('H264 simulcast consumer', () => {
  async function h264Session(keyStyle) {
    const router = await worker.createRouter({ mediaCodecs: LAYERED_CODECS });
    const side = await openProducerSide(router);
    const ssrcs = [0x3000b001, 0x3000b002, 0x3000b003];
    const producer = await side.transport.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [{
          mimeType: 'video/H264', payloadType: H264_PT, clockRate: 90000, rtcpFeedback: FEEDBACK,
          parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
        }],
        encodings: ssrcs.map((ssrc) => ({ ssrc })),
        rtcp: { cname: 'h264-peer' },
      },
    });
    const sender = new H264SimulcastSender({
      peer: side.peer, port: side.port, pt: H264_PT, keyStyle,
      encodings: ssrcs.map((ssrc, i) => ({ ssrc, seq: 65500 + 11 * i, ts: 0xfffff000 - 77777 * i })),
    });
    return { router, ...side, producer, sender };
  }

  for (const keyStyle of ['fu-a', 'stap-a']) {
    test(`key frames as ${keyStyle === 'fu-a' ? 'STAP-A (SPS, PPS) + FU-A IDR' : 'one STAP-A (SPS, PPS, IDR)'}: switches only there, payloads untouched, seq/ts continuous, NACK answered from this stream`, async () => {
      const s = await h264Session(keyStyle);
      assert.equal(s.producer.type, 'simulcast');
      const c = await layeredConsumer(s, { preferredLayers: { spatialLayer: 2 } });
      assert.equal(c.consumer.type, 'simulcast');
      const p = flow(s.sender);
      try {
        await waitUntil(() => c.consumer.currentLayers?.spatialLayer === 2, 'current spatial layer 2', 6000);
        await c.peer.until((x) => x.rtpOf(c.wire.ssrc).length >= 12, 'flowing');
        await c.consumer.setPreferredLayers({ spatialLayer: 0 });
        await waitUntil(() => c.consumer.currentLayers?.spatialLayer === 0, 'current spatial layer 0', 6000);
        const mark = c.peer.arrivals;
        await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc).length >= 8, 'encoding 0 flowing');
        await c.consumer.setPreferredLayers({ spatialLayer: 1 });
        await waitUntil(() => c.consumer.currentLayers?.spatialLayer === 1, 'current spatial layer 1', 6000);
        const mark2 = c.peer.arrivals;
        await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark2 && q.ssrc === c.wire.ssrc).length >= 8, 'encoding 1 flowing');
        p.stop();
        await sleep(30);
        const received = c.peer.rtpOf(c.wire.ssrc);
        const { runs, pairs, frames } = checkH264Simulcast(received, s.sender);
        assert.deepEqual(runsAfterStartup(runs, frames, 2).map((r) => r.enc), [2, 0, 1]);
        pairs.forEach(({ out, src }) => assert.ok(out.payload.equals(src.payload), 'H264 payload forwarded as sent'));
        assert.ok(s.sender.encodings.some((e) => e.frames.some((f) => f.packets.some((q) => q.seq === 0))), 'a stream crossed the seq wrap');
        // NACK the last run's first packet (its key frame) and the last packet.
        const targets = [frames[runs.at(-1).from].pairs[0].out, received.at(-1)];
        const nackMark = c.peer.arrivals;
        c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: targets.map((t) => t.seq) }), c.port);
        await c.peer.until((x) => x.rtp.filter((q) => q.index >= nackMark && q.ssrc === c.wire.rtxSsrc).length >= 2, 'two RTX packets');
        for (const r of c.peer.rtp.filter((q) => q.index >= nackMark && q.ssrc === c.wire.rtxSsrc)) {
          const { osn, payload } = parseRtxPayload(r.payload);
          const orig = targets.find((t) => t.seq === osn);
          assert.ok(orig && payload.equals(orig.payload) && r.ts === orig.ts && r.marker === orig.marker, `RTX for ${osn} is the packet this consumer got`);
        }
      } finally {
        p.stop();
      }
    });
  }
});
