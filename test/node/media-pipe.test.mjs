// The pipe consumer (transport.consume({ pipe: true })) through PlainTransports,
// checked on the wire: every producer encoding goes out as its own stream with
// the SSRC of the consumer's encoding at the same index.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-pipe.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorker, closeAll, StreamSender, openProducerSide, openConsumerSide, checkForwarded,
  assertContiguous, fenceReceived, waitUntil, audioProducerOptions, MEDIA_CODECS,
  PRODUCER_VP8_PT, PRODUCER_OPUS_PT,
} from './lib/media-peer.mjs';
import { buildNack, buildRtp, parseRtxPayload, u16, RTCP } from './lib/rtp.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const PEER_SSRC = 0x0c0ffee0;
const SSRCS = [0x1000a001, 0x1000a002, 0x1000a003];
// Each stream starts just before the 16-bit wrap, at a different point.
const SEQS = [65530, 65524, 65520];

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

function simulcastProducerOptions() {
  return {
    kind: 'video',
    rtpParameters: {
      codecs: [
        {
          mimeType: 'video/VP8', payloadType: PRODUCER_VP8_PT, clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
        },
      ],
      encodings: SSRCS.map((ssrc) => ({ ssrc })),
      rtcp: { cname: 'simulcast-peer' },
    },
  };
}

// What stream i of a pipe consumer is expected to send.
function pipeWire(consumer, i) {
  const params = consumer.rtpParameters;
  const media = params.codecs.find((c) => !/\/rtx$/i.test(c.mimeType));
  const rtx = params.codecs.find((c) => /\/rtx$/i.test(c.mimeType) && c.parameters?.apt === media.payloadType);
  const enc = params.encodings[i];
  return { ssrc: enc.ssrc, pt: media.payloadType, rtxSsrc: enc.rtx?.ssrc, rtxPt: rtx?.payloadType };
}

async function simulcastSession() {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const side = await openProducerSide(router);
  const producer = await side.transport.produce(simulcastProducerOptions());
  const senders = SSRCS.map((ssrc, i) => new StreamSender({
    peer: side.peer, port: side.port, ssrc, pt: PRODUCER_VP8_PT, seq: SEQS[i], ts: 1000 * (i + 1),
  }));
  const c = await openConsumerSide(router);
  const consumer = await c.transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, pipe: true });
  const wires = SSRCS.map((_, i) => pipeWire(consumer, i));
  return { router, ...side, producer, senders, c, consumer, wires };
}

function sendFrames(senders, { keyframe = false, frames = 1, packets = 2 } = {}) {
  for (let f = 0; f < frames; ++f)
    for (const s of senders) s.sendVp8Frame({ keyframe: keyframe && f === 0, packets });
}

describe('pipe consumer of a simulcast producer (3 encodings by SSRC)', () => {
  test('every encoding forwarded on its own SSRC: PT mapped, seq continuous per stream across the wrap', async () => {
    const s = await simulcastSession();
    assert.equal(s.producer.type, 'simulcast');
    assert.equal(s.consumer.type, 'pipe');
    assert.equal(s.consumer.rtpParameters.encodings.length, 3);
    const ssrcs = s.wires.map((w) => w.ssrc);
    assert.equal(new Set([...ssrcs, ...SSRCS]).size, 6, `consumer SSRCs ${ssrcs} distinct from the producer's`);
    assert.ok(s.wires.every((w) => w.rtxSsrc !== undefined), 'RTX negotiated for every stream');

    sendFrames(s.senders, { keyframe: true, frames: 12, packets: 2 });
    for (let i = 0; i < 3; ++i) {
      const n = s.senders[i].sent.length;
      await s.c.peer.until((p) => p.rtpOf(s.wires[i].ssrc).length >= n, `${n} packets on stream ${i}`);
      const received = s.c.peer.rtpOf(s.wires[i].ssrc);
      assert.equal(received.length, n, `stream ${i}: every packet once`);
      checkForwarded(received, s.senders[i], s.wires[i]);
      assertContiguous(received, `stream ${i}`);
      assert.ok(received.some((p) => p.seq === 0), `stream ${i} crossed the 16-bit wrap`);
      assert.notEqual(s.wires[i].pt, PRODUCER_VP8_PT);
    }
    for (const ssrc of SSRCS) assert.equal(s.c.peer.rtpOf(ssrc).length, 0, 'nothing on a producer SSRC');

    // One sender report (with its SDES CNAME) per stream.
    for (const w of s.wires) {
      await s.c.peer.waitRtcp((p) => p.pt === RTCP.SR && p.ssrc === w.ssrc, `an SR for ${w.ssrc}`, 4000);
    }
  });

  test('a NACK for one stream is answered from that stream (RTX with its OSN)', async () => {
    const s = await simulcastSession();
    sendFrames(s.senders, { keyframe: true, frames: 6, packets: 2 });
    const i = 1;
    const w = s.wires[i];
    for (let j = 0; j < 3; ++j)
      await s.c.peer.until((p) => p.rtpOf(s.wires[j].ssrc).length >= 12, `stream ${j} packets`);
    const target = s.c.peer.rtpOf(w.ssrc)[5];
    const mark = s.c.peer.arrivals;
    s.c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: w.ssrc, seqs: [target.seq] }), s.c.port);
    const rtx = await s.c.peer.waitRtp((p) => p.ssrc === w.rtxSsrc, 'an RTX packet', 3000, mark);
    assert.equal(rtx.pt, w.rtxPt);
    const { osn, payload } = parseRtxPayload(rtx.payload);
    assert.equal(osn, target.seq);
    assert.ok(payload.equals(target.payload), 'the NACKed packet of stream 1');
    assert.equal(rtx.ts, target.ts);
    // Nothing resent on the other streams.
    for (const j of [0, 2]) {
      assert.equal(s.c.peer.rtp.filter((p) => p.index >= mark && (p.ssrc === s.wires[j].rtxSsrc || p.ssrc === s.wires[j].ssrc)).length, 0);
    }
    await waitUntil(async () => (await s.consumer.getStats()).find((x) => x.ssrc === w.ssrc).packetsRetransmitted === 1,
      'stream 1 packetsRetransmitted 1');
  });

  test('pause/resume: nothing while paused, then each stream restarts on its keyframe, seq continuous', async () => {
    const s = await simulcastSession();
    sendFrames(s.senders, { keyframe: true, frames: 3, packets: 2 });
    for (let i = 0; i < 3; ++i)
      await s.c.peer.until((p) => p.rtpOf(s.wires[i].ssrc).length >= 6, `stream ${i} before pause`);
    const last = s.wires.map((w) => s.c.peer.rtpOf(w.ssrc).at(-1));

    await s.consumer.pause();
    const before = s.c.peer.rtp.length;
    const pausedAt = s.c.peer.arrivals;
    sendFrames(s.senders, { keyframe: true, frames: 3, packets: 2 });
    await fenceReceived(s.transport, s.senders.reduce((n, x) => n + x.sent.length, 0) * 100);
    assert.equal(s.c.peer.rtp.length, before, 'nothing forwarded while paused');

    await s.consumer.resume();
    sendFrames(s.senders, { frames: 2, packets: 2 }); // delta frames: waiting for a keyframe
    const mark = s.c.peer.arrivals;
    sendFrames(s.senders, { keyframe: true, frames: 2, packets: 2 });
    for (let i = 0; i < 3; ++i) {
      await s.c.peer.until((p) => p.rtpOf(s.wires[i].ssrc).length >= 10, `stream ${i} after resume`);
      const after = s.c.peer.rtpOf(s.wires[i].ssrc).filter((p) => p.index >= pausedAt);
      assert.equal(after.length, 4, `stream ${i}: only from the keyframe on`);
      assert.ok(after.every((p) => p.index >= mark));
      assert.equal(after[0].seq, u16(last[i].seq + 1), `stream ${i}: seq continues`);
      assertContiguous(after, `stream ${i} after resume`);
    }
  });

  test('dump and getStats list every stream, as the library parses them', async () => {
    const s = await simulcastSession();
    sendFrames(s.senders, { keyframe: true, frames: 2, packets: 2 });
    for (let i = 0; i < 3; ++i)
      await s.c.peer.until((p) => p.rtpOf(s.wires[i].ssrc).length >= 4, `stream ${i}`);

    const dump = await s.consumer.dump();
    assert.equal(dump.type, 'pipe');
    assert.equal(dump.id, s.consumer.id);
    assert.equal(dump.producerId, s.producer.id);
    assert.equal(dump.kind, 'video');
    assert.equal(dump.consumableRtpEncodings.length, 3);
    assert.equal(dump.rtpParameters.encodings.length, 3);
    assert.equal(dump.rtpStreams.length, 3);
    dump.rtpStreams.forEach((st, i) => {
      assert.equal(st.params.encodingIdx, i);
      assert.equal(st.params.ssrc, s.wires[i].ssrc);
      assert.equal(st.params.payloadType, s.wires[i].pt);
      assert.equal(st.params.mimeType, 'video/VP8');
      assert.equal(st.params.rtxSsrc, s.wires[i].rtxSsrc);
      assert.equal(st.params.rtxPayloadType, s.wires[i].rtxPt);
    });
    assert.equal(dump.paused, false);

    const stats = await s.consumer.getStats();
    assert.equal(stats.length, 3, 'one outbound-rtp entry per stream');
    stats.forEach((st, i) => {
      assert.equal(st.type, 'outbound-rtp');
      assert.equal(st.ssrc, s.wires[i].ssrc);
      assert.equal(st.rtxSsrc, s.wires[i].rtxSsrc);
      assert.equal(st.kind, 'video');
      assert.equal(st.mimeType, 'video/VP8');
      assert.equal(st.packetCount, 4);
    });

    // The transport routes RTCP about any of the streams (media or RTX SSRC) to this consumer.
    const tdump = await s.c.transport.dump();
    const bySsrc = new Map(tdump.mapSsrcConsumerId.map(({ key, value }) => [key, value]));
    const byRtx = new Map(tdump.mapRtxSsrcConsumerId.map(({ key, value }) => [key, value]));
    for (const w of s.wires) {
      assert.equal(bySsrc.get(w.ssrc), s.consumer.id);
      assert.equal(byRtx.get(w.rtxSsrc), s.consumer.id);
    }
  });
});

// A StreamSender whose packets carry the RID header extension (RFC 8852,
// RFC 8285 one-byte form): the producer learns the SSRC from it.
const RID_EXT_ID = 10;
class RidSender extends StreamSender {
  constructor(opts) {
    super(opts);
    this.rid = opts.rid;
  }

  sendPacket({ payload, marker = false, keyframe = false }) {
    const plain = buildRtp({ pt: this.pt, seq: this.seq, ts: this.ts, ssrc: this.ssrc, marker, payload });
    const rid = Buffer.from(this.rid);
    const words = Math.ceil((1 + rid.length) / 4);
    const ext = Buffer.alloc(4 + 4 * words);
    ext.writeUInt16BE(0xbede, 0);
    ext.writeUInt16BE(words, 2);
    ext[4] = (RID_EXT_ID << 4) | (rid.length - 1);
    rid.copy(ext, 5);
    const pkt = Buffer.concat([plain.subarray(0, 12), ext, plain.subarray(12)]);
    pkt[0] |= 0x10;
    const rec = { seq: this.seq, ts: this.ts, marker, payload, keyframe, skipped: false, raw: pkt };
    this.sent.push(rec);
    this.peer.sendRtp(pkt, this.port);
    this.seq = u16(this.seq + 1);
    return rec;
  }
}

describe('pipe consumer of a simulcast producer (3 encodings by RID)', () => {
  test('each RID stream forwarded on the SSRC of its consumer encoding', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const side = await openProducerSide(router);
    const options = simulcastProducerOptions();
    options.rtpParameters.encodings = [{ rid: 'r0' }, { rid: 'r1' }, { rid: 'r2' }];
    options.rtpParameters.headerExtensions = [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: RID_EXT_ID }];
    const producer = await side.transport.produce(options);
    assert.equal(producer.type, 'simulcast');
    const senders = ['r0', 'r1', 'r2'].map((rid, i) => new RidSender({
      peer: side.peer, port: side.port, ssrc: SSRCS[i], pt: PRODUCER_VP8_PT, seq: SEQS[i], rid,
    }));
    const c = await openConsumerSide(router);
    const consumer = await c.transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, pipe: true });
    assert.equal(consumer.rtpParameters.encodings.length, 3);
    sendFrames(senders, { keyframe: true, frames: 5, packets: 2 });
    for (let i = 0; i < 3; ++i) {
      const w = pipeWire(consumer, i);
      await c.peer.until((p) => p.rtpOf(w.ssrc).length >= 10, `10 packets on stream ${i}`);
      const received = c.peer.rtpOf(w.ssrc);
      assert.equal(received.length, 10);
      checkForwarded(received, senders[i], w);
      assertContiguous(received, `stream ${i}`);
    }
  });
});

describe('pipe consumer of a simple producer', () => {
  test('Opus: one stream on the consumer encoding SSRC, no RTX', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const side = await openProducerSide(router);
    const producer = await side.transport.produce(audioProducerOptions(0x0b0b0b0b));
    const sender = new StreamSender({ peer: side.peer, port: side.port, ssrc: 0x0b0b0b0b, pt: PRODUCER_OPUS_PT, seq: 65534, tsStep: 960 });
    const c = await openConsumerSide(router);
    const consumer = await c.transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, pipe: true });
    assert.equal(consumer.type, 'pipe');
    assert.equal(consumer.rtpParameters.encodings.length, 1);
    const w = pipeWire(consumer, 0);
    assert.equal(w.rtxSsrc, undefined);
    for (let i = 0; i < 20; ++i) sender.sendOpus();
    await c.peer.until((p) => p.rtpOf(w.ssrc).length >= 20, '20 Opus packets');
    const received = c.peer.rtpOf(w.ssrc);
    checkForwarded(received, sender, w);
    assertContiguous(received);
    const dump = await consumer.dump();
    assert.equal(dump.rtpStreams.length, 1);
    assert.equal((await consumer.getStats()).length, 1);
  });
});
