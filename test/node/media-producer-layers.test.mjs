// The producer side of layered producers, driven by raw UDP peers through the
// unmodified Node library: encodings found by RID (RTX by RRID when its SSRC
// is not signalled), a RID nobody announced counted and dropped, one score
// per encoding, key frame requests per encoding, and the video orientation
// extension turned into 'videoorientationchange', and each stream's bitrate
// by temporal layer read from the VP8 descriptors.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-producer-layers.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startWorker, closeAll, StreamSender, openProducerSide, openConsumerSide, waitUntil, MEDIA_CODECS,
  PRODUCER_VP8_PT,
} from './lib/media-peer.mjs';
import { buildRtp, buildPli, isPli, u16, u32, vp8FramePayloads } from './lib/rtp.mjs';
import { dropsOf } from './lib/sluice-drops.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const RTX_PT = 97;
const PEER_SSRC = 0x0c0ffee0;
const SSRCS = [0x2000b001, 0x2000b002, 0x2000b003];
const RTX_SSRCS = [0x2000c001, 0x2000c002, 0x2000c003];
const RIDS = ['r0', 'r1', 'r2'];
const SEQS = [65533, 100, 40000];
const EXT = { mid: 1, cvo: 4, rid: 10, rrid: 11 };
const HEADER_EXTENSIONS = [
  { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: EXT.mid },
  { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: EXT.rid },
  { uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: EXT.rrid },
  { uri: 'urn:3gpp:video-orientation', id: EXT.cvo },
];
const VP8 = {
  mimeType: 'video/VP8', payloadType: PRODUCER_VP8_PT, clockRate: 90000,
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
};
const RTX = { mimeType: 'video/rtx', payloadType: RTX_PT, clockRate: 90000, parameters: { apt: PRODUCER_VP8_PT } };

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

// RFC 8285 one-byte header extension block with `elements` ([id, Buffer]),
// inserted into a plain 12-byte-header RTP packet.
function withExtensions(plain, elements) {
  if (elements.length === 0) return plain;
  const body = Buffer.concat(elements.map(([id, v]) => Buffer.concat([Buffer.from([(id << 4) | (v.length - 1)]), v])));
  const words = Math.ceil(body.length / 4);
  const ext = Buffer.alloc(4 + 4 * words);
  ext.writeUInt16BE(0xbede, 0);
  ext.writeUInt16BE(words, 2);
  body.copy(ext, 4);
  const pkt = Buffer.concat([plain.subarray(0, 12), ext, plain.subarray(12)]);
  pkt[0] |= 0x10;
  return pkt;
}

// A StreamSender whose packets carry header extensions (`ext()`, per packet),
// and that can repair a packet it skipped with RTX (RFC 4588).
class ExtSender extends StreamSender {
  constructor(opts) {
    super(opts);
    this.ext = opts.ext ?? (() => []);
    this.rtxSsrc = opts.rtxSsrc;
    this.rtxExt = opts.rtxExt ?? (() => []);
    this.rtxSeq = 5000;
  }

  sendPacket({ payload, marker = false, skip = false, keyframe = false }) {
    const plain = buildRtp({ pt: this.pt, seq: this.seq, ts: this.ts, ssrc: this.ssrc, marker, payload });
    const pkt = withExtensions(plain, this.ext());
    const rec = { seq: this.seq, ts: this.ts, marker, payload, keyframe, skipped: skip, raw: pkt };
    this.sent.push(rec);
    if (!skip) this.peer.sendRtp(pkt, this.port);
    this.seq = u16(this.seq + 1);
    return rec;
  }

  sendRtx(rec, ext = this.rtxExt()) {
    const osn = Buffer.alloc(2);
    osn.writeUInt16BE(rec.seq);
    const plain = buildRtp({ pt: RTX_PT, seq: this.rtxSeq, ts: rec.ts, ssrc: this.rtxSsrc, marker: rec.marker,
      payload: Buffer.concat([osn, rec.payload]) });
    this.rtxSeq = u16(this.rtxSeq + 1);
    rec.skipped = false;
    this.peer.sendRtp(withExtensions(plain, ext), this.port);
  }
}

const text = (s) => Buffer.from(s);

async function ridProducer({ mid = '0' } = {}) {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const side = await openProducerSide(router);
  const producer = await side.transport.produce({
    kind: 'video',
    rtpParameters: {
      mid, codecs: [VP8, RTX], headerExtensions: HEADER_EXTENSIONS,
      encodings: RIDS.map((rid) => ({ rid, scalabilityMode: 'L1T3' })),
      rtcp: { cname: 'rid-peer' },
    },
  });
  const midExt = mid ? [[EXT.mid, text(mid)]] : [];
  const senders = RIDS.map((rid, i) => new ExtSender({
    peer: side.peer, port: side.port, ssrc: SSRCS[i], pt: PRODUCER_VP8_PT, seq: SEQS[i], ts: 1000 * (i + 1),
    rtxSsrc: RTX_SSRCS[i],
    ext: () => [...midExt, [EXT.rid, text(rid)]],
    rtxExt: () => [...midExt, [EXT.rrid, text(rid)]],
  }));
  return { router, ...side, producer, senders, midExt };
}

// Sends `n` unannounced-stream packets (SSRC `ssrc`, extensions `ext`).
function sendStray(side, ssrc, ext, n, seq = 1) {
  for (let k = 0; k < n; ++k) {
    const plain = buildRtp({ pt: PRODUCER_VP8_PT, seq: seq + k, ts: 5000, ssrc, payload: Buffer.alloc(40, 0x5a) });
    side.peer.sendRtp(withExtensions(plain, ext), side.port);
  }
}

describe('simulcast by RID: streams, RTX by RRID, unknown RIDs', () => {
  test('three RID encodings learn their SSRCs, and their RTX SSRCs from the RRID', async () => {
    const s = await ridProducer();
    assert.equal(s.producer.type, 'simulcast');
    assert.equal((await s.producer.dump()).rtpStreams?.length ?? 0, 0, 'no stream before media names its SSRC');

    // Keyframe, then frames with one packet of frame 2 held back on each stream.
    const held = [];
    for (const [i, sender] of s.senders.entries()) {
      sender.sendVp8Frame({ keyframe: true, packets: 2 });
      sender.sendVp8Frame({ packets: 2 });
      const recs = sender.sendVp8Frame({ packets: 3, skipSeqs: [u16(sender.seq + 1)] });
      held[i] = recs[1];
      sender.sendVp8Frame({ packets: 2 });
    }
    await waitUntil(async () => (await s.producer.getStats()).length === 3, 'three inbound streams');
    // The repair: RTX on a new SSRC, carrying only MID and RRID.
    for (const [i, sender] of s.senders.entries()) sender.sendRtx(held[i]);
    const stats = await waitUntil(async () => {
      const st = await s.producer.getStats();
      return st.length === 3 && st.every((x) => x.packetsRepaired === 1) && st;
    }, 'each stream repaired once by its RTX');
    for (const [i, st] of stats.entries()) {
      assert.equal(st.type, 'inbound-rtp');
      assert.equal(st.rid, RIDS[i]);
      assert.equal(st.ssrc, SSRCS[i]);
      assert.equal(st.rtxSsrc, RTX_SSRCS[i], `stream ${i}: RTX SSRC learned from the RRID`);
      assert.equal(st.packetsRetransmitted, 1);
      assert.equal(st.packetCount, s.senders[i].sent.length, `stream ${i}: every packet once`);
      assert.equal(st.packetsLost, 0);
      assert.equal(st.mimeType, 'video/VP8');
    }

    const dump = await s.producer.dump();
    assert.equal(dump.rtpStreams.length, 3);
    for (const [i, st] of dump.rtpStreams.entries()) {
      assert.equal(st.params.encodingIdx, i);
      assert.equal(st.params.rid, RIDS[i]);
      assert.equal(st.params.ssrc, SSRCS[i]);
      assert.equal(st.params.rtxSsrc, RTX_SSRCS[i]);
      assert.equal(st.params.payloadType, PRODUCER_VP8_PT);
      assert.equal(st.params.temporalLayers, 3);
      assert.equal(st.rtxStream.params.rrid, RIDS[i]);
    }
    const drops = await dropsOf(s.transport);
    assert.equal(drops.noProducer, 0);
    assert.equal(drops.unknownRid, 0);

    // One score per encoding, named by index, SSRC and RID.
    const scores = await waitUntil(() => {
      const sc = s.producer.score;
      return sc.length === 3 && sc.every((x) => x.score > 0) && sc;
    }, "a 'score' listing the three encodings", 4000);
    assert.deepEqual(scores.map((x) => [x.encodingIdx, x.ssrc, x.rid]), RIDS.map((rid, i) => [i, SSRCS[i], rid]));
  });

  test('a RID nobody announced is counted (unknownRid) and dropped; the worker carries on', async () => {
    const s = await ridProducer();
    for (const sender of s.senders) sender.sendVp8Frame({ keyframe: true, packets: 2 });
    await waitUntil(async () => (await s.producer.getStats()).length === 3, 'three inbound streams');
    sendStray(s, 0x2000b009, [...s.midExt, [EXT.rid, text('r9')]], 5);
    // An announced RID on a second SSRC is a different drop: no stream for that SSRC.
    sendStray(s, 0x2000b00f, [...s.midExt, [EXT.rid, text('r1')]], 2);
    const drops = await waitUntil(async () => {
      const d = await dropsOf(s.transport);
      return d.unknownRid === 5 && d.noProducer === 2 && d;
    }, 'unknownRid 5 and noProducer 2');
    assert.equal(drops.badRtp, 0);
    const stats = await s.producer.getStats();
    assert.deepEqual(stats.map((x) => [x.rid, x.ssrc, x.packetCount]), RIDS.map((rid, i) => [rid, SSRCS[i], 2]));
    assert.equal((await worker.dump()).pid, worker.pid);
    // Media keeps flowing on the announced streams.
    for (const sender of s.senders) sender.sendVp8Frame({ packets: 2 });
    await waitUntil(async () => (await s.producer.getStats()).every((x) => x.packetCount === 4), 'four packets per stream');
  });

  test('without a MID the RID routes alone; an unknown one is still counted', async () => {
    const s = await ridProducer({ mid: '' });
    for (const sender of s.senders) sender.sendVp8Frame({ keyframe: true, packets: 3 });
    await waitUntil(async () => {
      const st = await s.producer.getStats();
      return st.length === 3 && st.every((x) => x.packetCount === 3);
    }, 'three streams of three packets');
    sendStray(s, 0x2000b009, [[EXT.rid, text('r9')]], 4);
    await waitUntil(async () => (await dropsOf(s.transport)).unknownRid === 4, 'unknownRid 4');
    assert.equal((await dropsOf(s.transport)).noProducer, 0);
  });
});

describe('key frame requests per encoding', () => {
  test('a PLI on one pipe stream asks that encoding only, throttled per encoding', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const side = await openProducerSide(router);
    const producer = await side.transport.produce({
      kind: 'video',
      rtpParameters: { codecs: [VP8], encodings: SSRCS.map((ssrc) => ({ ssrc })), rtcp: { cname: 'kf-peer' } },
    });
    const senders = SSRCS.map((ssrc, i) => new StreamSender({ peer: side.peer, port: side.port, ssrc, pt: PRODUCER_VP8_PT, seq: SEQS[i] }));
    const c = await openConsumerSide(router);
    const consumer = await c.transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, pipe: true });
    const wires = consumer.rtpParameters.encodings.map((e) => e.ssrc);
    // Key frames answer whatever the new consumer asked for.
    for (const sender of senders) sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (const w of wires) await c.peer.until((p) => p.rtpOf(w).length >= 2, `stream ${w} forwarded`);

    const plisFor = (ssrc, since) => side.peer.rtcp.filter((p) => p.index >= since && isPli(p) && p.mediaSsrc === ssrc);
    const pli = (i) => c.peer.sendRtcp(buildPli({ senderSsrc: PEER_SSRC, mediaSsrc: wires[i] }), c.port);
    const before = (await producer.getStats()).map((x) => x.pliCount);

    const mark = side.peer.arrivals;
    pli(1);
    await side.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === SSRCS[1], 'a PLI for encoding 1', 3000, mark);
    pli(1); // still waiting for that key frame: not asked again
    pli(2); // another encoding: its own request
    await side.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === SSRCS[2], 'a PLI for encoding 2', 3000, mark);
    await sleep(200);
    assert.equal(plisFor(SSRCS[0], mark).length, 0, 'nothing asked of encoding 0');
    assert.equal(plisFor(SSRCS[1], mark).length, 1, 'encoding 1 asked once');
    assert.equal(plisFor(SSRCS[2], mark).length, 1);

    // Its key frame ends the wait: the next PLI goes through at once.
    senders[1].sendVp8Frame({ keyframe: true, packets: 2 });
    await c.peer.until((p) => p.rtpOf(wires[1]).length >= 4, 'the key frame forwarded');
    const mark2 = side.peer.arrivals;
    pli(1);
    await side.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === SSRCS[1], 'a second PLI for encoding 1', 3000, mark2);

    const after = (await producer.getStats()).map((x) => x.pliCount);
    assert.deepEqual(after.map((n, i) => n - before[i]), [0, 2, 1], 'pliCount per encoding');
  });
});

describe("video orientation: 'videoorientationchange' on each change", () => {
  test('first orientation and each change reported once; RTX and packets without it change nothing', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const side = await openProducerSide(router);
    const producer = await side.transport.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [VP8, RTX], headerExtensions: HEADER_EXTENSIONS,
        encodings: [{ ssrc: SSRCS[0], rtx: { ssrc: RTX_SSRCS[0] } }], rtcp: { cname: 'cvo-peer' },
      },
    });
    const events = [];
    producer.on('videoorientationchange', ({ camera, flip, rotation }) => events.push({ camera, flip, rotation }));
    let cvo = null;
    const sender = new ExtSender({
      peer: side.peer, port: side.port, ssrc: SSRCS[0], pt: PRODUCER_VP8_PT, rtxSsrc: RTX_SSRCS[0],
      ext: () => (cvo === null ? [] : [[EXT.cvo, Buffer.from([cvo])]]),
    });
    const send = (value, packets) => {
      cvo = value;
      return sender.sendVp8Frame({ keyframe: sender.frames === 0, packets });
    };
    send(0x00, 3); // front camera, upright: the first one is reported
    send(0x01, 2); // 90 degrees
    send(0x01, 2);
    send(0xF1, 1); // reserved bits set: the same orientation
    send(0x0E, 3); // back camera, flipped, 180 degrees
    cvo = 0x00;
    const held = sender.sendVp8Frame({ packets: 3, skipSeqs: [sender.seq + 1] })[1];
    // Repaired by an RTX whose (stale) orientation must not count.
    sender.sendRtx(held, [[EXT.cvo, Buffer.from([0x03])]]);
    send(null, 2); // no extension
    send(0x0E, 1);
    send(0x00, 1);
    const total = sender.sent.length;
    await waitUntil(async () => (await producer.getStats())[0]?.packetCount === total, `${total} packets received`);
    await sleep(50);
    assert.deepEqual(events, [
      { camera: false, flip: false, rotation: 0 },
      { camera: false, flip: false, rotation: 90 },
      { camera: true, flip: true, rotation: 180 },
      { camera: false, flip: false, rotation: 0 }, // the packets of the held-back frame
      { camera: true, flip: true, rotation: 180 },
      { camera: false, flip: false, rotation: 0 },
    ]);
  });
});

describe('bitrateByLayer in the producer stats', () => {
  test('VP8 L1T3: each temporal layer measured from the descriptors, cumulatively', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const side = await openProducerSide(router);
    const ssrc = SSRCS[0];
    const producer = await side.transport.produce({
      kind: 'video',
      rtpParameters: { codecs: [VP8], encodings: [{ ssrc, scalabilityMode: 'L1T3' }], rtcp: { cname: 'layers-peer' } },
    });
    assert.equal(producer.type, 'simulcast', 'one VP8 stream with temporal layers');
    const sender = new StreamSender({ peer: side.peer, port: side.port, ssrc, pt: PRODUCER_VP8_PT });
    const bytes = [0, 0, 0]; // RTP bytes sent per temporal layer
    const pattern = [0, 2, 1, 2];
    for (let f = 0; f < 24; ++f) {
      const tid = pattern[f % 4];
      const payloads = vp8FramePayloads({ keyframe: f === 0, packets: 2, size: 100 + 40 * tid, fill: f,
        descriptor: { pictureId: f, tl0PicIdx: Math.floor(f / 4), tid } });
      for (const [i, payload] of payloads.entries()) {
        const rec = sender.sendPacket({ payload, marker: i === payloads.length - 1 });
        bytes[tid] += rec.raw.length;
      }
      sender.ts = u32(sender.ts + sender.tsStep);
    }
    await waitUntil(async () => (await producer.getStats())[0]?.packetCount === 48, '48 packets received');
    const [st] = await producer.getStats();
    assert.deepEqual(Object.keys(st.bitrateByLayer).sort(), ['0.0', '0.1', '0.2']);
    // Everything was sent well within the one-second window.
    assert.equal(st.bitrateByLayer['0.0'], 8 * bytes[0]);
    assert.equal(st.bitrateByLayer['0.1'], 8 * (bytes[0] + bytes[1]));
    assert.equal(st.bitrateByLayer['0.2'], 8 * (bytes[0] + bytes[1] + bytes[2]));
    assert.equal(st.bitrateByLayer['0.2'], st.bitrate, 'the top layer is the whole stream');
  });
});
