// VP9 SVC producers and their consumers through PlainTransports, checked on
// the wire (issue 12, "Prove"): a raw UDP peer sends one VP9 stream whose
// pictures carry three spatial layer frames in one RTP timestamp (L3T3, and
// L3T3_KEY where upper layers are predicted from the layer below on key
// pictures only), with the T3 temporal pattern, answering PLI/FIR with a key
// picture. Consumer peers check that layers above their target are dropped
// per picture, the marker bit moves to the last forwarded packet of each
// picture, every forwarded layer frame is decodable where it lands (K-SVC: a
// spatial up-switch only on a key picture), and that a NACK is answered with
// this consumer's own marker bit.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-svc.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startWorker, closeAll, openProducerSide, openConsumerSide, consumerWire, pump, waitUntil,
} from './lib/media-peer.mjs';
import { buildNack, parseRtxPayload } from './lib/rtp.mjs';
import { Vp9SvcSender, checkVp9Svc, parseVp9Descriptor, assertLayerEvents, FRAME_MS, TS_STEP } from './lib/layered.mjs';
import { dropsOf } from './lib/sluice-drops.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const PEER_SSRC = 0x0c0ffee2;
const VP9_PT = 98;
const SSRC = 0x4000c001;
const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

const CODECS = [
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0 } },
];

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

async function svcSession(w, { mode = 'L3T3', nearWrap = false, flexible = false } = {}) {
  const router = await w.createRouter({ mediaCodecs: CODECS });
  const side = await openProducerSide(router);
  const producer = await side.transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP9', payloadType: VP9_PT, clockRate: 90000, parameters: { 'profile-id': 0 }, rtcpFeedback: FEEDBACK }],
      encodings: [{ ssrc: SSRC, scalabilityMode: mode }],
      rtcp: { cname: 'svc-peer' },
    },
  });
  const sender = new Vp9SvcSender({
    peer: side.peer, port: side.port, pt: VP9_PT, ssrc: SSRC, mode,
    seq: nearWrap ? 65500 : 4000, ts: nearWrap ? 0xffffffff - 20 * TS_STEP : 5000,
    pictureId: nearWrap ? 0x7ff0 : 300, tl0PicIdx: nearWrap ? 250 : 0, flexible,
  });
  return { router, ...side, producer, sender };
}

async function svcConsumer(s, { preferredLayers } = {}) {
  const c = await openConsumerSide(s.router);
  const consumer = await c.transport.consume({
    producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities, ...(preferredLayers ? { preferredLayers } : {}),
  });
  const layers = [];
  consumer.on('layerschange', (l) => layers.push(l ?? null));
  return { ...c, consumer, wire: consumerWire(consumer), layers };
}

const same = (a, b) => a && b && a.spatialLayer === b.spatialLayer && a.temporalLayer === b.temporalLayer;

function waitLayers(c, want, what, timeoutMs = 6000) {
  return waitUntil(() => same(c.consumer.currentLayers, want),
    `${what}: currentLayers ${JSON.stringify(want)} (now ${JSON.stringify(c.consumer.currentLayers)})`, timeoutMs);
}

const flow = (sender) => pump(() => sender.sendPicture(), FRAME_MS);

// Waits for `n` pictures forwarded to `c` after arrival index `mark`.
function waitPictures(c, mark, n, what) {
  return c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.ssrc && q.marker).length >= n, what, 6000);
}

const FLEX = { false: 'non-flexible ', true: 'flexible mode ' };

const picturesSince = (pictures, mark) => pictures.filter((p) => p.pairs[0].out.index >= mark);

// What a consumer at `top(n)` spatial layers (all temporal layers) would
// receive, built from the sent pictures: seq renumbered, the marker on the
// last forwarded packet (`moveMarker`), for checking the checker.
function modelSvc(sender, pictures, top, { moveMarker = true } = {}) {
  const out = [];
  let seq = 65533;
  for (const pic of sender.pictures.slice(0, pictures)) {
    const t = top(pic.n);
    if (t < 0) continue;
    const pk = pic.layers.slice(0, t + 1).flatMap((l) => l.packets);
    pk.forEach((q, k) => out.push({ seq: seq++ & 0xffff, ts: q.ts, payload: q.payload, index: out.length, ssrc: 1,
      marker: moveMarker ? k === pk.length - 1 : q.marker }));
  }
  return out;
}

describe('the VP9 SVC checker (self-check, no worker)', () => {
  const fakePeer = () => ({ sendRtp() {}, sendRtcp() {}, rtcp: [] });
  const sent = (mode, n, keyAt = []) => {
    const sender = new Vp9SvcSender({ peer: fakePeer(), port: 1, pt: VP9_PT, ssrc: 1, seq: 65000, ts: 0xfffff000, mode });
    for (let k = 0; k < n; ++k) sender.sendPicture({ keyframe: keyAt.includes(k) });
    return sender;
  };

  test('all layers as sent pass; the marker moved to layer 1 when layer 2 is dropped passes', () => {
    const s = sent('L3T3', 12);
    assert.ok(checkVp9Svc(modelSvc(s, 12, () => 2), s).pictures.every((p) => p.top === 2));
    assert.ok(checkVp9Svc(modelSvc(s, 12, () => 1), s).pictures.every((p) => p.top === 1));
  });
  test('layer 2 dropped but the marker left where it was fails', () => {
    const s = sent('L3T3', 6);
    assert.throws(() => checkVp9Svc(modelSvc(s, 6, () => 1, { moveMarker: false }), s), /marker/);
  });
  test('a packet missing inside a layer frame fails', () => {
    const s = sent('L3T3', 6);
    const out = modelSvc(s, 6, () => 2);
    out.splice(9, 1);
    for (let j = 9; j < out.length; ++j) out[j].seq = (out[j - 1].seq + 1) & 0xffff;
    assert.throws(() => checkVp9Svc(out, s), /whole|layers 0/);
  });
  test('L3T3: an up-switch at a switching-up point (P=0 upper layers) passes, at a plain delta picture fails', () => {
    const s = sent('L3T3', 20);
    assert.ok(s.pictures[8].upSwitch && !s.pictures[8].keyframe);
    checkVp9Svc(modelSvc(s, 20, (n) => (n < 8 ? 0 : 2)), s);
    assert.throws(() => checkVp9Svc(modelSvc(s, 20, (n) => (n < 6 ? 0 : 2)), s), /reference/);
  });
  test('L3T3_KEY: an up-switch at a key picture passes, at any other picture fails', () => {
    const s = sent('L3T3_KEY', 20, [10]);
    assert.ok(!s.pictures.some((p) => p.upSwitch));
    checkVp9Svc(modelSvc(s, 20, (n) => (n < 10 ? 0 : 2)), s);
    assert.throws(() => checkVp9Svc(modelSvc(s, 20, (n) => (n < 8 ? 0 : 2)), s), /reference/);
    // Down-switch anywhere stays decodable in K-SVC.
    checkVp9Svc(modelSvc(s, 20, (n) => (n < 5 ? 2 : 0)), s);
  });
  test('a temporal layer 2 picture forwarded after TL0-only, without a switching-up point, fails', () => {
    const s = sent('L3T3', 12);
    // Pictures 0..7 at TL0 only, then picture 7 (TID 2, U=0) forwarded.
    const out = modelSvc(s, 12, (n) => ((n < 7 && s.pictures[n].tid > 0) ? -1 : 2));
    assert.equal(s.pictures[7].tid, 2);
    assert.equal(s.pictures[7].layers[0].u, false);
    assert.throws(() => checkVp9Svc(out, s), /reference/);
  });
});

describe('VP9 SVC producer', () => {
  test('L3T3 and L3T3_KEY producers are type svc; a pipe consumer forwards every layer untouched', async () => {
    for (const mode of ['L3T3', 'L3T3_KEY']) {
      const s = await svcSession(worker, { mode });
      assert.equal(s.producer.type, 'svc', mode);
      const c = await openConsumerSide(s.router);
      const consumer = await c.transport.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities, pipe: true });
      const w = consumer.rtpParameters.encodings[0].ssrc;
      for (let k = 0; k < 6; ++k) s.sender.sendPicture();
      const n = s.sender.stream.packetsSent;
      await c.peer.until((x) => x.rtpOf(w).length >= n, `${n} packets`);
      const got = c.peer.rtpOf(w);
      const sent = s.sender.pictures.flatMap((p) => p.layers.flatMap((l) => l.packets));
      got.forEach((p, k) => {
        assert.ok(p.payload.equals(sent[k].payload), `${mode} packet ${k}`);
        assert.equal(p.marker, sent[k].marker);
      });
      // The checker accepts the whole stream as it was sent.
      const { pictures } = checkVp9Svc(got, s.sender);
      assert.ok(pictures.every((p) => p.top === 2));
    }
  });
});

describe('VP9 SVC producer: bitrateByLayer', () => {
  test('L3T3: bitrateByLayer for the nine layers, growing with spatial and temporal layer', async () => {
    const s = await svcSession(worker, { mode: 'L3T3' });
    const p = flow(s.sender);
    try {
      const keys = [0, 1, 2].flatMap((sl) => [0, 1, 2].map((tl) => `${sl}.${tl}`));
      const [st] = await waitUntil(async () => {
        const x = await s.producer.getStats();
        return x.length === 1 && keys.every((k) => x[0].bitrateByLayer?.[k] > 0) && x;
      }, 'bitrateByLayer for 0.0 .. 2.2 above zero', 6000);
      const b = st.bitrateByLayer;
      assert.deepEqual(Object.keys(b).sort(), keys);
      for (let sl = 0; sl < 3; ++sl) {
        for (let tl = 0; tl < 3; ++tl) {
          if (tl > 0) assert.ok(b[`${sl}.${tl}`] > b[`${sl}.${tl - 1}`], `${sl}.${tl} above ${sl}.${tl - 1} (${JSON.stringify(b)})`);
          if (sl > 0) assert.ok(b[`${sl}.${tl}`] > b[`${sl - 1}.${tl}`], `${sl}.${tl} above ${sl - 1}.${tl} (${JSON.stringify(b)})`);
        }
      }
    } finally {
      p.stop();
    }
  });
});

describe('VP9 SVC consumer', () => {
  for (const flexible of [false, true]) {
    test(`${FLEX[flexible]}L3T3: type svc, default top layers; spatial layers dropped per picture with the marker moved, temporal layers dropped and taken back`, async () => {
      const s = await svcSession(worker, { mode: 'L3T3', nearWrap: true, flexible });
      const c = await svcConsumer(s);
      assert.equal(c.consumer.type, 'svc');
      assert.equal(c.consumer.rtpParameters.encodings.length, 1);
      assert.equal(c.consumer.rtpParameters.encodings[0].scalabilityMode, 'L3T3');
      assert.ok(c.wire.rtxSsrc, 'RTX negotiated');
      assert.deepEqual(c.consumer.preferredLayers, { spatialLayer: 2, temporalLayer: 2 });
      assert.equal(c.consumer.currentLayers ?? null, null);
      const p = flow(s.sender);
      try {
        await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
        await waitPictures(c, 0, 8, '8 whole pictures');

        await c.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 2 });
        await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'to 1/2');
        const m1b = c.peer.arrivals;
        await waitPictures(c, m1b, 8, 'pictures at 1/2');

        const e12 = c.peer.arrivals;
        await c.consumer.setPreferredLayers({ spatialLayer: 0, temporalLayer: 0 });
        await waitLayers(c, { spatialLayer: 0, temporalLayer: 0 }, 'to 0/0');
        const m2 = c.peer.arrivals;
        await waitPictures(c, m2, 4, 'pictures at 0/0');

        const e00 = c.peer.arrivals;
        await c.consumer.setPreferredLayers({ spatialLayer: 0, temporalLayer: 1 });
        await waitLayers(c, { spatialLayer: 0, temporalLayer: 1 }, 'to 0/1');
        const m3 = c.peer.arrivals;
        await waitPictures(c, m3, 6, 'pictures at 0/1');
        p.stop();
        await sleep(50);

        const { pictures } = checkVp9Svc(c.peer.rtpOf(c.wire.ssrc), s.sender);
        assert.ok(picturesSince(pictures, 0).slice(0, 4).every((x) => x.top === 2), 'all three layers at first');
        const at12 = picturesSince(pictures, m1b).filter((x) => x.pairs[0].out.index < e12);
        assert.ok(at12.length >= 6 && at12.every((x) => x.top === 1), 'layer 2 dropped at 1/2; the marker on layer 1\'s E packet');
        assert.ok(at12.some((x) => x.picture.tid === 2), 'all temporal layers at 1/2');
        const at00 = picturesSince(pictures, m2).filter((x) => x.pairs[0].out.index < e00);
        assert.ok(at00.length >= 3 && at00.every((x) => x.top === 0 && x.picture.tid === 0), 'only layer 0, TL0 at 0/0');
        const at01 = picturesSince(pictures, m3);
        assert.ok(at01.every((x) => x.top === 0 && x.picture.tid <= 1), 'layer 0, TL0/TL1 at 0/1');
        assert.ok(at01.some((x) => x.picture.tid === 1), 'TL1 taken back at 0/1 (at a switching-up point)');
        assertLayerEvents(c.layers, [
          { spatialLayer: 2, temporalLayer: 2 }, { spatialLayer: 1, temporalLayer: 2 },
          { spatialLayer: 0, temporalLayer: 0 }, { spatialLayer: 0, temporalLayer: 1 },
        ]);
        // The source crossed its seq, ts and PictureID wraps while forwarded.
        const src = pictures.map((x) => x.picture);
        assert.ok(src.some((x) => x.ts > 0xffff0000) && src.some((x) => x.ts < 0x100000), 'across the ts wrap');
        assert.ok(src.some((x) => x.pictureId > 0x7ff0) && src.some((x) => x.pictureId < 0x20), 'across the PictureID wrap');
      } finally {
        p.stop();
      }
    });
  }

  // This once found three marker bits in one picture: the worker took an
  // upper layer's switching-up point after the picture's layer 0 had gone out
  // marked. Up-switches now happen at key pictures only.
  test('L3T3: a spatial up-switch (key picture or switching-up point) keeps one marker per picture, on its last packet', async () => {
    const s = await svcSession(worker, { mode: 'L3T3', nearWrap: true });
    const c = await svcConsumer(s, { preferredLayers: { spatialLayer: 0, temporalLayer: 2 } });
    const p = flow(s.sender);
    try {
      await waitLayers(c, { spatialLayer: 0, temporalLayer: 2 }, 'start at 0/2');
      await waitPictures(c, 0, 6, 'pictures at 0/2');
      const up = c.peer.arrivals;
      await c.consumer.setPreferredLayers({ spatialLayer: 2, temporalLayer: 1 });
      await waitLayers(c, { spatialLayer: 2, temporalLayer: 1 }, 'up to 2/1');
      const landed = c.peer.arrivals;
      await waitPictures(c, landed, 6, 'pictures at 2/1');
      p.stop();
      await sleep(50);
      const { pictures } = checkVp9Svc(c.peer.rtpOf(c.wire.ssrc), s.sender);
      assert.ok(picturesSince(pictures, 0).filter((x) => x.pairs[0].out.index < up).every((x) => x.top === 0));
      const firstTop = pictures.find((x) => x.top > 0);
      assert.ok(firstTop.picture.keyframe || firstTop.picture.upSwitch, 'the up-switch lands on a key picture or a switching-up point');
      const at21 = picturesSince(pictures, landed);
      assert.ok(at21.every((x) => x.top === 2 && x.picture.tid <= 1), 'layers 0..2, TL0/TL1 at 2/1');
    } finally {
      p.stop();
    }
  });

  for (const flexible of [false, true]) {
    test(`${FLEX[flexible]}L3T3_KEY (K-SVC): a spatial up-switch waits for a key picture (requested by the worker); down-switch drops upper layers`, async () => {
      const s = await svcSession(worker, { mode: 'L3T3_KEY', flexible });
      const c = await svcConsumer(s, { preferredLayers: { spatialLayer: 0, temporalLayer: 2 } });
      assert.equal(c.consumer.type, 'svc');
      assert.equal(c.consumer.rtpParameters.encodings[0].scalabilityMode, 'L3T3_KEY');
      const p = flow(s.sender);
      try {
        await waitLayers(c, { spatialLayer: 0, temporalLayer: 2 }, 'start at 0/2');
        await waitPictures(c, 0, 10, '10 pictures at 0/2');
        const reqMark = s.sender.keyRequestLog.length;
        const up = c.peer.arrivals;
        await c.consumer.setPreferredLayers({ spatialLayer: 2, temporalLayer: 2 });
        await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'up to 2/2');
        await waitPictures(c, up, 10, 'pictures after the up-switch');
        assert.ok(s.sender.keyRequestLog.length > reqMark, 'the worker asked for a key picture to switch up');
        await c.consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 2 });
        await waitLayers(c, { spatialLayer: 1, temporalLayer: 2 }, 'down to 1/2');
        const downLanded = c.peer.arrivals;
        await waitPictures(c, downLanded, 6, 'pictures after the down-switch');
        p.stop();
        await sleep(50);
        // checkVp9Svc asserts every forwarded layer frame's references were
        // forwarded: in K-SVC an upper layer's delta frames reference only their
        // own layer, so an up-switch anywhere but a key picture fails there.
        const { pictures } = checkVp9Svc(c.peer.rtpOf(c.wire.ssrc), s.sender);
        const firstTop = pictures.find((x) => x.top > 0);
        assert.ok(firstTop.picture.keyframe, `the first picture with upper layers is a key picture (source picture ${firstTop.picture.n})`);
        assert.ok(picturesSince(pictures, 0).filter((x) => x.pairs[0].out.index < up).every((x) => x.top === 0));
        assert.ok(picturesSince(pictures, downLanded).every((x) => x.top === 1), 'layer 2 dropped after the down-switch');
        const dump = await c.consumer.dump();
        assert.equal(dump.type, 'svc');
        assert.deepEqual([dump.preferredSpatialLayer, dump.targetSpatialLayer, dump.currentSpatialLayer], [1, 1, 1]);
        assert.deepEqual([dump.preferredTemporalLayer, dump.targetTemporalLayer, dump.currentTemporalLayer], [2, 2, 2]);
        assert.equal(dump.rtpStream.params.ssrc, c.wire.ssrc);
        const out = (await c.consumer.getStats()).find((x) => x.type === 'outbound-rtp');
        assert.equal(out.packetCount, c.peer.rtpOf(c.wire.ssrc).length, 'packetCount: every packet the peer received');
      } finally {
        p.stop();
      }
    });
  }

  test('NACK: two consumers at different spatial layers; each RTX carries that consumer\'s marker bit and seq for the one stored packet', async () => {
    const w = await startWorker({ SLUICE_RING_VIDEO_FLOOR_MS: '10000', SLUICE_RING_VIDEO_CEILING_MS: '10000' });
    const s = await svcSession(w, { mode: 'L3T3', nearWrap: true });
    const top = await svcConsumer(s);
    const mid = await svcConsumer(s, { preferredLayers: { spatialLayer: 1, temporalLayer: 2 } });
    const p = flow(s.sender);
    try {
      await waitLayers(top, { spatialLayer: 2, temporalLayer: 2 }, 'top start');
      await waitLayers(mid, { spatialLayer: 1, temporalLayer: 2 }, 'mid start');
      await waitPictures(top, 0, 6, 'top pictures');
      await waitPictures(mid, 0, 6, 'mid pictures');
      p.stop();
      await sleep(50);
      const checked = new Map();
      for (const [name, c] of [['top', top], ['mid', mid]]) checked.set(name, checkVp9Svc(c.peer.rtpOf(c.wire.ssrc), s.sender));
      // A source packet both forwarded: layer 1's E packet of a picture both got.
      const midPairs = checked.get('mid').pairs;
      const topPairs = checked.get('top').pairs;
      const shared = midPairs.filter((x) => x.src.sid === 1 && x.src.k === x.src.frame.packets.length - 1 &&
        topPairs.some((y) => y.src === x.src)).slice(-2);
      assert.equal(shared.length, 2, 'two layer-1 end packets forwarded to both');
      for (const x of shared) assert.equal(x.out.marker, true, 'mid: marker on layer 1\'s last packet (layer 2 dropped)');
      for (const [name, c, pairs] of [['top', top, topPairs], ['mid', mid, midPairs]]) {
        const outs = shared.map((x) => pairs.find((y) => y.src === x.src).out);
        if (name === 'top') assert.ok(outs.every((o) => !o.marker), 'top: no marker inside the picture');
        const mark = c.peer.arrivals;
        c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: outs.map((o) => o.seq) }), c.port);
        await c.peer.until((x) => x.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.rtxSsrc).length >= outs.length, `${name}: RTX`, 4000);
        for (const r of c.peer.rtp.filter((q) => q.index >= mark && q.ssrc === c.wire.rtxSsrc)) {
          const { osn, payload } = parseRtxPayload(r.payload);
          const orig = outs.find((o) => o.seq === osn);
          assert.ok(orig, `${name}: OSN ${osn} NACKed`);
          assert.equal(r.pt, c.wire.rtxPt);
          assert.equal(r.marker, orig.marker, `${name}: RTX for ${osn} carries this consumer's marker`);
          assert.equal(r.ts, orig.ts, `${name}: ts`);
          assert.ok(payload.equals(orig.payload), `${name}: RTX payload for ${osn} equals what this consumer received`);
        }
      }
    } finally {
      p.stop();
    }
  });

  test('bad input: a SID beyond L3T3, a TID beyond it, a cut descriptor: not forwarded, counted; the stream goes on', async () => {
    const s = await svcSession(worker, { mode: 'L3T3' });
    const c = await svcConsumer(s);
    for (let k = 0; k < 4; ++k) s.sender.sendPicture();
    await waitLayers(c, { spatialLayer: 2, temporalLayer: 2 }, 'start');
    await waitPictures(c, 0, 4, '4 pictures');
    const before = { drops: await dropsOf(s.transport), stats: await s.producer.getStats(), cstats: await c.consumer.getStats() };
    const mark = c.peer.arrivals;
    // A picture whose top layer claims SID 3, then one whose layers claim TID 3.
    s.sender.sendPicture({ layerOverride: (sid) => (sid === 2 ? { sid: 3 } : {}) });
    s.sender.sendPicture({ layerOverride: () => ({ tid: 3 }) });
    // A descriptor cut inside its 15-bit PictureID.
    s.sender.stream.send(Buffer.from([0xa8, 0x80]), { marker: true });
    for (let k = 0; k < 8; ++k) s.sender.sendPicture();
    await waitPictures(c, mark, 4, 'pictures after the bad input');
    await sleep(100);
    const got = c.peer.rtpOf(c.wire.ssrc);
    assert.ok(!got.some((q) => { const d = parseVp9Descriptor(q.payload); return !d || d.sid > 2 || d.tid > 2; }),
      'nothing with SID/TID beyond L3T3 and no broken descriptor forwarded');
    const after = { drops: await dropsOf(s.transport), stats: await s.producer.getStats(), cstats: await c.consumer.getStats() };
    const sum = (d) => Object.values(d ?? {}).reduce((x, y) => x + y, 0);
    const discarded = (st) => st.reduce((x, y) => x + (y.packetsDiscarded ?? 0), 0);
    // Counted where stats show it: the transport's sluice_drops, the
      // producer's or the consumer's (outbound) packetsDiscarded.
      const outDiscarded = (st) => st.filter((x) => x.type === 'outbound-rtp').reduce((x, y) => x + y.packetsDiscarded, 0);
      const counted = sum(after.drops) - sum(before.drops) + discarded(after.stats) - discarded(before.stats) +
        outDiscarded(after.cstats) - outDiscarded(before.cstats);
    assert.ok(counted >= 9, `each of the 9 bad packets (2 of SID 3, 6 of TID 3, 1 cut) counted (sluice_drops ${JSON.stringify(after.drops)}, packetsDiscarded ${discarded(after.stats)}, consumer ${outDiscarded(after.cstats)})`);
    await worker.dump();
  });
});
