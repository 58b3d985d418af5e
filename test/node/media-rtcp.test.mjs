// RTCP on the media path, checked on the wire with raw UDP peers: NACK answered
// with RTX (RFC 4588) or a plain resend from the retransmission ring, the
// ring's window, the worker's own NACKs to the producer, key frame requests,
// sender and receiver reports, scores.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-rtcp.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startWorker, closeAll, videoSession, openConsumer, capsWithoutRtx, checkForwarded, assertContiguous,
  waitUntil, pump,
} from './lib/media-peer.mjs';
import {
  buildNack, buildPli, buildFir, buildSr, buildSdesCname, parseRtxPayload, isNack, isPli, isFir,
  u16, u32, tsDiff, RTCP,
} from './lib/rtp.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const PEER_SSRC = 0x0c0ffee0; // sender SSRC of the consumer peer's feedback

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

// RTX packets that carry a retransmission (an OSN at least); padding-only
// packets on the RTX SSRC (bandwidth probing) are left out.
function rtxOf(peer, rtxSsrc, since = 0) {
  return peer.rtp.filter((p) => p.index >= since && p.ssrc === rtxSsrc && p.payload.length >= 2);
}

async function outboundStats(consumer) {
  const out = (await consumer.getStats()).find((x) => x.type === 'outbound-rtp');
  assert.ok(out, 'consumer stats have an outbound-rtp entry');
  return out;
}

// A video session with one consumer that has received a key frame and
// `frames` two-packet delta frames.
async function flowing(w, { frames = 5, consumerOptions = {}, sessionOptions = {} } = {}) {
  const s = await videoSession(w, sessionOptions);
  const c = await openConsumer(s.router, s.producer,
    typeof consumerOptions === 'function' ? consumerOptions(s.router) : consumerOptions);
  s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
  for (let i = 0; i < frames; ++i) s.sender.sendVp8Frame({ packets: 2 });
  const n = s.sender.sent.length;
  await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} packets at the consumer peer`);
  return { s, c };
}

describe('NACK from the consumer peer', () => {
  test('answered with RTX: rtx SSRC and PT, OSN = the consumer seq, original payload; stats count it', async () => {
    const { s, c } = await flowing(worker);
    assert.ok(c.wire.rtxSsrc !== undefined, 'the consumer has encodings[0].rtx.ssrc');
    assert.ok(c.wire.rtxPt !== undefined, 'the consumer has a video/rtx codec with apt = the VP8 PT');
    assert.notEqual(c.wire.rtxSsrc, c.wire.ssrc);
    const received = c.peer.rtpOf(c.wire.ssrc);
    const target = received[4];

    let mark = c.peer.arrivals;
    c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [target.seq] }), c.port);
    const rtx = await c.peer.until((p) => rtxOf(p, c.wire.rtxSsrc, mark)[0], 'an RTX packet');
    assert.equal(rtx.pt, c.wire.rtxPt);
    const { osn, payload } = parseRtxPayload(rtx.payload);
    assert.equal(osn, target.seq, 'OSN is the sequence number the consumer peer saw');
    assert.ok(payload.equals(target.payload), 'the original payload follows the OSN');
    assert.equal(rtx.ts, target.ts);
    assert.equal(rtx.marker, target.marker);

    // Two more in one NACK item (PID + BLP bit): one RTX each, consecutive RTX seqs.
    mark = c.peer.arrivals;
    const t2 = received[6];
    const t3 = received[9];
    c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [t2.seq, t3.seq] }), c.port);
    await c.peer.until((p) => rtxOf(p, c.wire.rtxSsrc, mark).length >= 2, 'two RTX packets');
    const more = rtxOf(c.peer, c.wire.rtxSsrc, mark);
    assert.deepEqual(more.map((p) => parseRtxPayload(p.payload).osn), [t2.seq, t3.seq]);
    assert.ok(parseRtxPayload(more[1].payload).payload.equals(t3.payload));
    assert.equal(more[0].seq, u16(rtx.seq + 1), 'the RTX stream has its own contiguous seq');
    assert.equal(more[1].seq, u16(rtx.seq + 2));

    await waitUntil(async () => (await outboundStats(c.consumer)).packetsRetransmitted >= 3, 'packetsRetransmitted 3');
    const out = await outboundStats(c.consumer);
    assert.equal(out.packetsRetransmitted, 3);
    assert.equal(out.nackCount, 2, 'two NACK packets received');
    assert.equal(out.nackPacketCount, 3, 'three sequence numbers asked for');
    // No media packet was duplicated on the media SSRC.
    assert.equal(c.peer.rtpOf(c.wire.ssrc).length, s.sender.sent.length);
  });

  test('without RTX (capabilities without video/rtx) a NACK is answered with a plain resend', async () => {
    const { s, c } = await flowing(worker, {
      consumerOptions: (router) => ({ rtpCapabilities: capsWithoutRtx(router) }),
    });
    assert.equal(c.wire.rtxSsrc, undefined, 'no encodings[0].rtx');
    assert.equal(c.wire.rtxPt, undefined, 'no video/rtx codec');
    assert.ok(c.consumer.rtpParameters.codecs[0].rtcpFeedback.some((f) => f.type === 'nack' && !f.parameter),
      'the consumer still negotiates NACK');
    const target = c.peer.rtpOf(c.wire.ssrc)[3];

    const mark = c.peer.arrivals;
    c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [target.seq] }), c.port);
    const resent = await c.peer.waitRtp((p) => p.ssrc === c.wire.ssrc, 'a resent packet', 3000, mark);
    assert.equal(resent.ssrc, c.wire.ssrc);
    assert.equal(resent.pt, c.wire.pt);
    assert.equal(resent.seq, target.seq);
    assert.equal(resent.ts, target.ts);
    assert.equal(resent.marker, target.marker);
    assert.ok(resent.payload.equals(target.payload));
    await waitUntil(async () => (await outboundStats(c.consumer)).packetsRetransmitted >= 1, 'packetsRetransmitted 1');
    assert.equal((await outboundStats(c.consumer)).nackCount, 1);
    assert.equal(c.peer.rtpOf(c.wire.ssrc).length, s.sender.sent.length + 1);
  });

  test('the worker NACKs a gap from the producer across the seq wrap; the late packet is forwarded in place', async () => {
    const s = await videoSession(worker, { seq: 65530, ts: 0xfffff000 });
    const c = await openConsumer(s.router, s.producer);
    s.sender.sendVp8Frame({ keyframe: true }); // 65530
    for (let i = 0; i < 5; ++i) s.sender.sendVp8Frame(); // 65531..65535
    const [lost] = s.sender.sendVp8Frame({ skipSeqs: [0] }); // seq 0: not sent
    assert.equal(lost.seq, 0);
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame(); // 1..3

    const nack = await s.peer.waitRtcp((p) => isNack(p) && p.mediaSsrc === s.sender.ssrc && p.seqs.includes(0),
      'a NACK for seq 0 from the worker', 3000);
    assert.equal(nack.from.port, s.port);
    assert.ok(nack.seqs.every((q) => q === 0), `only the missing seq is asked for (got ${nack.seqs})`);

    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 9, '9 packets forwarded');
    const { seqOffset, tsOffset } = checkForwarded(c.peer.rtpOf(c.wire.ssrc), s.sender, c.wire);

    const mark = c.peer.arrivals;
    s.sender.resend(lost);
    const late = await c.peer.waitRtp((p) => p.ssrc === c.wire.ssrc, 'the late packet', 3000, mark);
    assert.ok(late.payload.equals(lost.payload));
    assert.equal(late.seq, u16(lost.seq + seqOffset), 'the late packet fills its own slot in the output');
    assert.equal(late.ts, u32(lost.ts + tsOffset));
  });
});

describe('key frame requests', () => {
  test('PLI and FIR from the consumer peer, and consumer.requestKeyFrame(), reach the producer peer as PLI', async () => {
    const { s, c } = await flowing(worker, { frames: 1 });
    const isKeyRequest = (p) => (isPli(p) && p.mediaSsrc === s.sender.ssrc) ||
      (isFir(p) && p.firs.some((f) => f.ssrc === s.sender.ssrc));

    let mark = s.peer.arrivals;
    c.peer.sendRtcp(buildPli({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc }), c.port);
    const pli = await s.peer.waitRtcp(isKeyRequest, 'a key frame request after the peer PLI', 3000, mark);
    assert.ok(isPli(pli), 'the producer asked with PLI (it negotiated nack pli)');
    assert.equal(pli.from.port, s.port);

    // A key frame answers the request; then ask again.
    let n = s.sender.sent.length + 1;
    s.sender.sendVp8Frame({ keyframe: true });
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, 'the key frame forwarded');
    mark = s.peer.arrivals;
    await c.consumer.requestKeyFrame();
    await s.peer.waitRtcp(isKeyRequest, 'a key frame request after consumer.requestKeyFrame()', 3000, mark);

    n = s.sender.sent.length + 1;
    s.sender.sendVp8Frame({ keyframe: true });
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, 'the key frame forwarded');
    mark = s.peer.arrivals;
    c.peer.sendRtcp(buildFir({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqNr: 1 }), c.port);
    await s.peer.waitRtcp(isKeyRequest, 'a key frame request after the peer FIR', 3000, mark);

    const out = await outboundStats(c.consumer);
    assert.equal(out.pliCount, 1, 'the consumer counted the PLI it received');
    assert.equal(out.firCount, 1, 'the consumer counted the FIR it received');
  });
});

describe('RTCP reports while media flows', () => {
  let s;
  let c;
  let media;
  const peerSr = { ntpSec: 0xe8a1b2c3, ntpFrac: 0x45678000 };

  before(async () => {
    ({ s, c } = await flowing(worker, { frames: 2, sessionOptions: { seq: 40000, tsStep: 1800 } }));
    // The producer peer reports as a sender once, so its RR can echo LSR.
    s.peer.sendRtcp(Buffer.concat([
      buildSr({ ssrc: s.sender.ssrc, ...peerSr, rtpTs: s.sender.ts, packetCount: s.sender.sent.length, octetCount: 1000 }),
      buildSdesCname({ ssrc: s.sender.ssrc, cname: 'video-peer' }),
    ]), s.port);
    // 20 ms frames at 90 kHz: the stream's timestamps follow the wall clock.
    media = pump(() => s.sender.sendVp8Frame(), 20);
  });
  after(() => media?.stop());

  test('the consumer peer gets SRs for the consumer SSRC with counts matching what it received', async () => {
    const sr1 = await c.peer.waitRtcp((p) => p.pt === RTCP.SR && p.ssrc === c.wire.ssrc,
      'an SR for the consumer SSRC', 4000);
    const check = (sr) => {
      const before = c.peer.rtpOf(c.wire.ssrc).filter((p) => p.index < sr.index);
      assert.ok(sr.packetCount >= 1 && sr.packetCount <= before.length,
        `SR packet count ${sr.packetCount} vs ${before.length} received before it`);
      const octets = before.slice(0, sr.packetCount).reduce((n, p) => n + p.payload.length, 0);
      assert.equal(sr.octetCount, octets, 'SR octet count = payload bytes of the packets it counts');
      // Its RTP timestamp is on the consumer's timeline, near the newest packet
      // (within 100 ms before it, or 1 s after).
      const newest = before[before.length - 1];
      const d = tsDiff(newest.ts, sr.rtpTs);
      assert.ok(d >= -9000 && d <= 90000, `SR rtp ts ${sr.rtpTs} vs newest packet ts ${newest.ts} (diff ${d})`);
      assert.ok(sr.ntpSec !== 0 || sr.ntpFrac !== 0, 'an NTP timestamp');
    };
    check(sr1);
    const sr2 = await c.peer.waitRtcp((p) => p.pt === RTCP.SR && p.ssrc === c.wire.ssrc,
      'a second SR for the consumer SSRC', 4000, sr1.index + 1);
    check(sr2);
    assert.ok(sr2.packetCount > sr1.packetCount, 'the count grows with media');
    assert.ok(tsDiff(sr1.rtpTs, sr2.rtpTs) > 0, 'the RTP timestamp advances');
    const sdes = c.peer.rtcp.find((p) => p.pt === RTCP.SDES && p.index === sr1.index);
    assert.ok(sdes, 'the SR travels in a compound with SDES (RFC 3550 §6.1)');
  });

  test('the producer peer gets receiver reports for the producer SSRC (no loss, LSR echoed)', async () => {
    const lsr = u32(((peerSr.ntpSec & 0xffff) * 65536) + (peerSr.ntpFrac >>> 16));
    const rtcp = await s.peer.waitRtcp((p) => (p.pt === RTCP.RR || p.pt === RTCP.SR) &&
      p.reports.some((r) => r.ssrc === s.sender.ssrc && r.lsr === lsr),
    'a report block for the producer SSRC echoing our SR', 4000);
    const block = rtcp.reports.find((r) => r.ssrc === s.sender.ssrc);
    assert.equal(block.fractionLost, 0);
    assert.equal(block.totalLost, 0);
    const sentBefore = s.sender.sent.map((r) => r.seq);
    assert.ok(sentBefore.includes(block.highestSeq & 0xffff), `highest seq ${block.highestSeq} was sent`);
    assert.equal(block.highestSeq >>> 16, 0, 'no wrap yet (cycles 0)');
    assert.equal(rtcp.from.port, s.port);
  });

  test("the producer emits 'score' for its stream, the consumer carries it as producerScore", async () => {
    // The library keeps the last 'score' notification in .score.
    const score = await waitUntil(() => s.producer.score.find((x) => x.ssrc === s.sender.ssrc && x.score === 10),
      "a producer 'score' of 10 for a lossless stream", 5000)
      .catch((error) => assert.fail(`${error.message}; producer.score ${JSON.stringify(s.producer.score)}`));
    assert.equal(score.encodingIdx, 0);
    await waitUntil(() => c.consumer.score.producerScore === 10 && c.consumer.score.producerScores?.[0] === 10,
      "a consumer 'score' with producerScore 10 and producerScores [10]", 5000)
      .catch((error) => assert.fail(`${error.message}; consumer.score ${JSON.stringify(c.consumer.score)}`));
  });

  test('the consumer peer\'s stream is still contiguous after seconds of media', () => {
    const received = c.peer.rtpOf(c.wire.ssrc);
    assert.ok(received.length > 20);
    assertContiguous(received);
    checkForwarded(received, s.sender, c.wire);
  });
});

describe('retransmission window', () => {
  test('a NACK for a packet older than the ring window (video floor 100 ms, ceiling 200 ms) is not answered', async () => {
    const w = await startWorker({ SLUICE_RING_VIDEO_FLOOR_MS: '100', SLUICE_RING_VIDEO_CEILING_MS: '200' });
    const { s, c } = await flowing(w, { frames: 1 });
    const old = c.peer.rtpOf(c.wire.ssrc)[0];
    // About one second of media at 20 ms per frame.
    const started = Date.now();
    while (Date.now() - started < 1000) {
      s.sender.sendVp8Frame();
      await sleep(20);
    }
    const n = s.sender.sent.length;
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} packets`);
    const recent = c.peer.rtpOf(c.wire.ssrc)[n - 1];

    // The old one first, then a recent one as a fence: the worker handles
    // them in order, so once the recent RTX is here the old one had its chance.
    const mark = c.peer.arrivals;
    c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [old.seq] }), c.port);
    c.peer.sendRtcp(buildNack({ senderSsrc: PEER_SSRC, mediaSsrc: c.wire.ssrc, seqs: [recent.seq] }), c.port);
    const rtx = await c.peer.until((p) => rtxOf(p, c.wire.rtxSsrc, mark)
      .find((x) => parseRtxPayload(x.payload).osn === recent.seq), 'the RTX for the recent packet');
    assert.ok(parseRtxPayload(rtx.payload).payload.equals(recent.payload));
    const answered = rtxOf(c.peer, c.wire.rtxSsrc, mark).map((p) => parseRtxPayload(p.payload).osn);
    assert.deepEqual(answered, [recent.seq], `only the recent packet was retransmitted (old seq ${old.seq})`);
    const out = await outboundStats(c.consumer);
    assert.equal(out.packetsRetransmitted, 1);
  });
});
