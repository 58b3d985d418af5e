// Transport-wide congestion control, receive side (draft-holmer-rmcat-
// transport-wide-cc-extensions-01): a producer that negotiated the
// transport-wide sequence number gets RTPFB FMT 15 feedback from the worker,
// read here by werift's parser (the one a werift sender feeds its estimator).
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test tcc-feedback.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RtcpHeader, TransportWideCC } from 'werift';
import {
  startWorker, closeAll, openProducerSide, openConsumerSide, openConsumer, videoProducerOptions, MEDIA_CODECS,
  PRODUCER_VP8_PT,
} from './lib/media-peer.mjs';
import { buildRtp, buildNack, vp8FramePayloads, u16, RTCP } from './lib/rtp.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const TCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const TCC_ID = 5;
const SSRC = 0x7cc00001;

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

// RTP with one RFC 8285 one-byte header extension element (id, 2-byte value).
function rtpWithTransportSeq({ seq, ts, transportSeq, payload }) {
  const plain = buildRtp({ pt: PRODUCER_VP8_PT, seq, ts, ssrc: SSRC, payload });
  const ext = Buffer.from([0xbe, 0xde, 0x00, 0x01, (TCC_ID << 4) | 1, transportSeq >> 8, transportSeq & 0xff, 0]);
  const out = Buffer.concat([plain.subarray(0, 12), ext, plain.subarray(12)]);
  out[0] |= 0x10;
  return out;
}

async function session({ negotiate = true } = {}) {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const side = await openProducerSide(router);
  const options = videoProducerOptions(SSRC);
  options.rtpParameters.codecs[0].rtcpFeedback.push({ type: 'transport-cc' });
  if (negotiate) options.rtpParameters.headerExtensions = [{ uri: TCC_URI, id: TCC_ID }];
  const producer = await side.transport.produce(options);
  return { router, ...side, producer };
}

const feedbacks = (peer) => peer.rtcp.filter((p) => p.pt === RTCP.RTPFB && p.fmt === 15);

// werift reads the chunks and deltas; the statuses are walked here (werift's
// own packetResults only follows run-length chunks).
function parse(item) {
  const raw = Buffer.from(item.raw);
  const f = TransportWideCC.deSerialize(raw.subarray(4), RtcpHeader.deSerialize(raw.subarray(0, 4)));
  const results = [];
  let delta = 0;
  let t = f.referenceTime * 64000; // µs
  for (const chunk of f.packetChunks) {
    const symbols = chunk.symbolList ?? new Array(chunk.runLength).fill(chunk.packetStatus);
    for (const symbol of symbols) {
      if (results.length === f.packetStatusCount) break;
      const received = symbol === 1 || symbol === 2;
      if (received) t += f.recvDeltas[delta++].delta;
      results.push({ sequenceNumber: u16(f.baseSequenceNumber + results.length), received, atUs: received ? t : null });
    }
  }
  assert.equal(results.length, f.packetStatusCount, 'the chunks cover the status count');
  assert.equal(delta, f.recvDeltas.length, 'one delta per received packet');
  f.results = results;
  return f;
}

// Sends `count` packets 5 ms apart with transport seqs from `first` (wrapping),
// leaving out those in `lost`; returns the seqs sent, in order.
async function send(s, { first, count, lost = [] }) {
  const seqs = [];
  for (let i = 0; i < count; ++i) {
    const transportSeq = u16(first + i);
    seqs.push(transportSeq);
    if (lost.includes(transportSeq)) continue;
    const [payload] = vp8FramePayloads({ keyframe: i === 0, packets: 1, fill: i });
    s.peer.send(rtpWithTransportSeq({ seq: 1000 + i, ts: 90000 + 3000 * i, transportSeq, payload }), s.port);
    await sleep(5);
  }
  return seqs;
}

test('every transport seq reported once, in order across the wrap, losses as not received', async () => {
  const s = await session();
  const lost = [65510, 65535, 3];
  const seqs = await send(s, { first: 65500, count: 60, lost });
  const last = seqs[seqs.length - 1];
  await s.peer.until((p) => feedbacks(p).some((f) => parse(f).results.some((r) => r.sequenceNumber === last)),
    `feedback reaching seq ${last}`, 2000);

  const parsed = feedbacks(s.peer).map(parse);
  const results = parsed.flatMap((f) => f.results);
  assert.deepEqual(results.map((r) => r.sequenceNumber), seqs, 'each seq once, in order, from the first sent');
  for (const r of results) assert.equal(r.received, !lost.includes(r.sequenceNumber), `seq ${r.sequenceNumber}`);
  // Consecutive feedbacks: base = previous base + its status count, fb count + 1.
  for (let i = 1; i < parsed.length; ++i) {
    assert.equal(parsed[i].baseSequenceNumber, u16(parsed[i - 1].baseSequenceNumber + parsed[i - 1].packetStatusCount));
    assert.equal(parsed[i].fbPktCount, (parsed[i - 1].fbPktCount + 1) % 256);
    assert.equal(parsed[i].mediaSourceSsrc, SSRC);
  }
  // Arrival times: reference time plus deltas, about 5 ms apart as sent.
  const arrivals = results.filter((r) => r.received).map((r) => r.atUs / 1000);
  const span = arrivals[arrivals.length - 1] - arrivals[0];
  assert.ok(span > 59 * 4 && span < 59 * 5 + 400, `first to last arrival ${span} ms (sent 5 ms apart)`);
  for (let i = 1; i < arrivals.length; ++i) assert.ok(arrivals[i] >= arrivals[i - 1] - 1, 'arrivals in order');
});

test('feedback about every 100 ms while packets arrive, none when they stop', async () => {
  const s = await session();
  const t0 = Date.now();
  await send(s, { first: 1, count: 150 });
  const elapsed = Date.now() - t0;
  await sleep(250);
  const n = feedbacks(s.peer).length;
  const expected = elapsed / 100;
  assert.ok(n >= expected * 0.6 && n <= expected * 1.6 + 2, `${n} feedbacks in ${elapsed} ms`);
  await sleep(300);
  assert.equal(feedbacks(s.peer).length, n, 'no feedback without new packets');
});

test('no feedback when the producer did not negotiate the extension', async () => {
  const s = await session({ negotiate: false });
  await send(s, { first: 1, count: 40 });
  await sleep(300);
  assert.equal(feedbacks(s.peer).length, 0);
});

// The value of one-byte-form element `id` in a parsed packet's extension block.
function oneByteElement(pkt, id) {
  if (!pkt.extension || pkt.extension.profile !== 0xbede) return null;
  const d = pkt.extension.data;
  for (let o = 0; o < d.length;) {
    if (d[o] === 0) { o++; continue; }
    const elemId = d[o] >> 4;
    const len = (d[o] & 0x0f) + 1;
    if (elemId === 15) break;
    if (elemId === id) return d.subarray(o + 1, o + 1 + len);
    o += 1 + len;
  }
  return null;
}

test('send side: one transport-wide seq per packet across the consumers of a transport, RTX included', async () => {
  const s = await session();
  const side = await openConsumerSide(s.router);
  const a = await openConsumer(s.router, s.producer, { side });
  const b = await openConsumer(s.router, s.producer, { side });
  const ext = a.consumer.rtpParameters.headerExtensions.find((e) => e.uri === TCC_URI);
  assert.ok(ext, 'the consumer negotiated the transport-wide cc extension');
  await send(s, { first: 100, count: 20 });
  const peer = side.peer;
  await peer.until((p) => p.rtpOf(a.wire.ssrc).length >= 20 && p.rtpOf(b.wire.ssrc).length >= 20, '20 packets each');
  // A NACK from the consumer peer: the RTX carries the next transport seq too.
  const target = peer.rtpOf(a.wire.ssrc)[5];
  peer.sendRtcp(buildNack({ senderSsrc: 0x0c0ffee0, mediaSsrc: a.wire.ssrc, seqs: [target.seq] }), side.port);
  await peer.until((p) => p.rtpOf(a.wire.rtxSsrc).length >= 1, 'an RTX packet');

  const seqs = peer.rtp.map((p) => {
    const v = oneByteElement(p, ext.id);
    assert.ok(v && v.length === 2, `packet ${p.ssrc}/${p.seq} carries the transport-wide seq`);
    return v.readUInt16BE(0);
  });
  for (let i = 1; i < seqs.length; ++i) assert.equal(seqs[i], u16(seqs[i - 1] + 1), `arrival ${i}: seqs ${seqs.slice(0, i + 1)}`);
  // The transport's own counter, from 1: the producer's seqs (100..119) are not forwarded.
  assert.equal(seqs[0], 1);
});
