// The media path through PlainTransports, driven by the unmodified mediasoup
// Node library, checked on the wire: a raw UDP peer on 127.0.0.1 sends RTP to
// a comedia PlainTransport (the producer), other peers receive what the
// worker's consumers send to them.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-forwarding.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorker, closeAll, nextEvent, UdpPeer, StreamSender, videoSession, audioSession, openConsumer,
  openProducerSide, videoProducerOptions, checkForwarded, assertContiguous,
  fenceReceived, waitUntil, audioProducerOptions, MEDIA_CODECS, PRODUCER_VP8_PT, PRODUCER_OPUS_PT,
  SEND_PATH, openConsumerSide, consumerWire,
} from './lib/media-peer.mjs';
import { buildSr, buildSdesCname, isPli, u16, RTCP } from './lib/rtp.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

describe('PlainTransport tuples (comedia)', () => {
  test("rtcpMux: the first RTP packet from the peer emits 'tuple' with its address", async () => {
    const s = await videoSession(worker);
    assert.equal(s.transport.tuple.localAddress, '127.0.0.1');
    assert.equal(s.transport.tuple.protocol, 'udp');
    assert.ok(s.transport.tuple.localPort > 0);
    assert.equal(s.transport.rtcpTuple, undefined);

    const tuple = nextEvent(s.transport, 'tuple');
    s.sender.sendVp8Frame({ keyframe: true });
    const expected = {
      localIp: '127.0.0.1', localAddress: '127.0.0.1', localPort: s.port,
      remoteIp: '127.0.0.1', remotePort: s.peer.port, protocol: 'udp',
    };
    assert.deepEqual(await tuple, expected);
    assert.deepEqual(s.transport.tuple, expected);
  });

  test("rtcpMux false: RTCP on the RTCP port emits 'rtcptuple', and the worker's RTCP goes there", async () => {
    const s = await videoSession(worker, { rtcpMux: false });
    const rtcpLocal = s.transport.rtcpTuple;
    assert.ok(rtcpLocal, 'rtcpTuple present with rtcpMux false');
    assert.equal(rtcpLocal.localAddress, '127.0.0.1');
    assert.ok(rtcpLocal.localPort > 0 && rtcpLocal.localPort !== s.port, 'a separate RTCP port');

    const tuple = nextEvent(s.transport, 'tuple');
    s.sender.sendVp8Frame({ keyframe: true });
    assert.equal((await tuple).remotePort, s.peer.port);

    const rtcpPeer = await UdpPeer.open();
    const rtcpTuple = nextEvent(s.transport, 'rtcptuple');
    rtcpPeer.send(Buffer.concat([
      buildSr({ ssrc: s.sender.ssrc, ntpSec: 3900000000, ntpFrac: 0x12345678, rtpTs: s.sender.ts, packetCount: 1, octetCount: 100 }),
      buildSdesCname({ ssrc: s.sender.ssrc, cname: 'video-peer' }),
    ]), rtcpLocal.localPort);
    assert.deepEqual(await rtcpTuple, {
      localIp: '127.0.0.1', localAddress: '127.0.0.1', localPort: rtcpLocal.localPort,
      remoteIp: '127.0.0.1', remotePort: rtcpPeer.port, protocol: 'udp',
    });
    assert.equal(s.transport.rtcpTuple.remotePort, rtcpPeer.port);

    // Receiver reports about the producer's stream go to the RTCP tuple.
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame();
    const rr = await rtcpPeer.waitRtcp(
      (p) => (p.pt === RTCP.RR || p.pt === RTCP.SR) && p.reports.some((r) => r.ssrc === s.sender.ssrc),
      'a receiver report for the producer SSRC on the RTCP port', 4000);
    assert.equal(rr.from.port, rtcpLocal.localPort, 'sent from the RTCP port');
  });
});

describe('forwarding to a simple consumer', () => {
  test('VP8: consumer SSRC and PT, contiguous seq, constant ts offset, same payload and marker', async () => {
    const s = await videoSession(worker, { seq: 3000, ts: 123456 });
    const c = await openConsumer(s.router, s.producer);
    assert.equal(c.consumer.kind, 'video');
    assert.equal(c.consumer.type, 'simple');
    assert.notEqual(c.wire.ssrc, s.sender.ssrc);
    assert.notEqual(c.wire.pt, PRODUCER_VP8_PT, 'the router PT differs from the producer PT');

    s.sender.sendVp8Frame({ keyframe: true, packets: 3 });
    for (let i = 0; i < 10; ++i) s.sender.sendVp8Frame({ packets: 2 });
    const total = s.sender.sent.length; // 23
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= total, `${total} packets at the consumer peer`);
    const received = c.peer.rtpOf(c.wire.ssrc);
    assert.equal(received.length, total);
    checkForwarded(received, s.sender, c.wire);
    assertContiguous(received);
    assert.equal(received.filter((p) => p.marker).length, 11, 'one marker per frame');
    assert.equal(c.peer.rejected.length, 0);
    // No retransmission nobody asked for. (Other SSRCs, e.g. a bandwidth probe's
    // padding, are not this test's business.)
    assert.equal(c.peer.rtpOf(c.wire.rtxSsrc).length, 0, 'nothing on the RTX SSRC');
    assert.equal(c.peer.rtpOf(s.sender.ssrc).length, 0, 'nothing on the producer SSRC');
  });

  test('Opus: consumer SSRC and PT, contiguous seq, constant ts offset, same payload and marker', async () => {
    const s = await audioSession(worker);
    const c = await openConsumer(s.router, s.producer);
    assert.equal(c.consumer.kind, 'audio');
    assert.equal(c.wire.rtxSsrc, undefined, 'no RTX for audio');
    for (let i = 0; i < 30; ++i) s.sender.sendOpus({ marker: i === 0 });
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 30, '30 Opus packets');
    const received = c.peer.rtpOf(c.wire.ssrc);
    assert.equal(received.length, 30);
    checkForwarded(received, s.sender, c.wire);
    assertContiguous(received);
    assert.equal(received[0].marker, true);
  });

  test('Opus with ignoreDtx: DTX packets (TOC byte only) are not sent, seqs stay contiguous; without it they are', async () => {
    const s = await audioSession(worker);
    const side = await openConsumerSide(s.router);
    const dtxOff = await openConsumer(s.router, s.producer);
    const consumer = await side.transport.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities, ignoreDtx: true });
    const wire = consumerWire(consumer);
    // 10 voice, 5 DTX (a 1-byte TOC payload), 10 voice.
    const dtx = [];
    for (let i = 0; i < 25; ++i) {
      if (i >= 10 && i < 15) {
        dtx.push(s.sender.sendPacket({ payload: Buffer.from([0xf8]) }));
        s.sender.ts = (s.sender.ts + s.sender.tsStep) >>> 0;
      } else {
        s.sender.sendOpus();
      }
    }
    await side.peer.until((p) => p.rtpOf(wire.ssrc).length >= 20, '20 voice packets');
    await dtxOff.peer.until((p) => p.rtpOf(dtxOff.wire.ssrc).length >= 25, 'all 25 packets without ignoreDtx');
    await fenceReceived(s.transport, s.peer.bytesSent);
    const got = side.peer.rtpOf(wire.ssrc);
    assert.equal(got.length, 20, 'the 5 DTX packets left out');
    assert.ok(got.every((p) => p.payload.length > 1), 'no DTX payload forwarded');
    assertContiguous(got, 'ignoreDtx consumer');
    assert.equal(dtxOff.peer.rtpOf(dtxOff.wire.ssrc).filter((p) => p.payload.length === 1).length, dtx.length);
  });

  test("an audio consumer's stats: its outbound stream, and the producer's inbound one only once it received media", async () => {
    const s = await audioSession(worker);
    const c = await openConsumer(s.router, s.producer);
    const before = await c.consumer.getStats();
    assert.deepEqual(before.map((x) => x.type), ['outbound-rtp']);
    for (let i = 0; i < 5; ++i) s.sender.sendOpus();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 5, '5 Opus packets');
    const after = await c.consumer.getStats();
    assert.deepEqual(after.map((x) => x.type), ['outbound-rtp', 'inbound-rtp']);
    assert.equal(after[1].packetCount, 5);
  });

  test('several consumers get the same streams, each with its own SSRC (audio + video on one transport)', async () => {
    const s = await videoSession(worker, { ssrc: 0x0a0a0a0a });
    const audioSide = await openProducerSide(s.router);
    const audioProducer = await audioSide.transport.produce(audioProducerOptions(0x0b0b0b0b));
    const audio = new StreamSender({ peer: audioSide.peer, port: audioSide.port, ssrc: 0x0b0b0b0b,
      pt: PRODUCER_OPUS_PT, tsStep: 960 });

    const a = await openConsumer(s.router, s.producer);
    const aAudio = await openConsumer(s.router, audioProducer, { side: a });
    const b = await openConsumer(s.router, s.producer);
    const c = await openConsumer(s.router, s.producer);
    const ssrcs = [a.wire.ssrc, aAudio.wire.ssrc, b.wire.ssrc, c.wire.ssrc];
    assert.equal(new Set(ssrcs).size, 4, `distinct consumer SSRCs ${ssrcs}`);

    s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (let i = 0; i < 6; ++i) {
      s.sender.sendVp8Frame({ packets: 2 });
      audio.sendOpus();
    }
    const nv = s.sender.sent.length;
    const na = audio.sent.length;
    for (const [peerSide, wire, sender, n] of [[a, a.wire, s.sender, nv], [a, aAudio.wire, audio, na],
      [b, b.wire, s.sender, nv], [c, c.wire, s.sender, nv]]) {
      await peerSide.peer.until((p) => p.rtpOf(wire.ssrc).length >= n, `${n} packets for SSRC ${wire.ssrc}`);
      const received = peerSide.peer.rtpOf(wire.ssrc);
      assert.equal(received.length, n);
      checkForwarded(received, sender, wire);
      assertContiguous(received);
    }
    // Each peer gets only its own consumers' streams.
    for (const [peerSide, own] of [[a, [a.wire.ssrc, aAudio.wire.ssrc]], [b, [b.wire.ssrc]], [c, [c.wire.ssrc]]]) {
      for (const ssrc of ssrcs.filter((x) => !own.includes(x))) {
        assert.equal(peerSide.peer.rtpOf(ssrc).length, 0, `peer :${peerSide.peer.port} got SSRC ${ssrc}`);
      }
    }
  });

  test(`datagrams leave through the ${SEND_PATH} send path`, async () => {
    const before = (await worker.dump()).liburing;
    const s = await videoSession(worker, { ssrc: 0x0c0c0c0c });
    const consumers = [];
    for (let i = 0; i < 3; ++i) consumers.push(await openConsumer(s.router, s.producer));
    s.sender.sendVp8Frame({ keyframe: true, packets: 3 });
    for (let i = 0; i < 4; ++i) s.sender.sendVp8Frame({ packets: 3 });
    const n = s.sender.sent.length;
    for (const c of consumers) {
      await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} packets`);
      checkForwarded(c.peer.rtpOf(c.wire.ssrc), s.sender, c.wire);
    }
    const after = (await worker.dump()).liburing;
    if (SEND_PATH === 'sendmmsg') {
      assert.equal(after, undefined, 'disableLiburing: no io_uring counters');
      return;
    }
    if (after === undefined) return; // this kernel has no io_uring: the worker fell back to sendmmsg
    // Every datagram (3 x n RTP, plus RTCP) was one SQE; none fell back.
    assert.ok(after.sqeProcessCount - before.sqeProcessCount >= 3 * n,
      `${after.sqeProcessCount - before.sqeProcessCount} SQEs for ${3 * n} packets`);
    assert.equal(after.sqeMissCount, 0);
  });

  test('a video consumer of a live stream requests a key frame (PLI) and forwards from the key frame on', async () => {
    const s = await videoSession(worker);
    // The stream is live (delta frames only) before anyone consumes it.
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame();
    await waitUntil(async () => (await s.producer.getStats())[0]?.packetCount >= 3, 'the producer stream to exist');

    const mark = s.peer.arrivals;
    const c = await openConsumer(s.router, s.producer);
    const pli = await s.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === s.sender.ssrc,
      'a PLI for the producer SSRC after consume()', 3000, mark);
    assert.equal(pli.from.port, s.port);

    // Delta frames are held back until the key frame.
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame({ packets: 2 });
    await fenceReceived(s.transport, s.peer.bytesSent);
    assert.equal(c.peer.rtpOf(c.wire.ssrc).length, 0, 'no delta frame forwarded before the key frame');

    const key = s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame({ packets: 2 });
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 8, '8 packets from the key frame on');
    const received = c.peer.rtpOf(c.wire.ssrc);
    assert.equal(received.length, 8);
    assert.ok(received[0].payload.equals(key[0].payload), 'the first packet forwarded is the key frame');
    checkForwarded(received, s.sender, c.wire);
    assertContiguous(received);
  });

  for (const [name, seq, ts] of [
    ['seq from 65530, ts from 0xFFFFFF00', 65530, 0xffffff00],
    ['one packet before both wraps (seq 65535, ts 0xFFFFFFFF - 100)', 65535, 0xffffffff - 100],
  ]) {
    test(`across the sequence-number and timestamp wraps: ${name}`, async () => {
      const s = await videoSession(worker, { seq, ts, tsStep: 3000 });
      const c = await openConsumer(s.router, s.producer);
      s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
      for (let i = 0; i < 8; ++i) s.sender.sendVp8Frame({ packets: 2 });
      const n = s.sender.sent.length;
      assert.ok(s.sender.sent.some((r) => r.seq === 0) && s.sender.sent.some((r) => r.ts < 3000 * 9),
        'the input itself wraps');
      await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} packets`);
      const received = c.peer.rtpOf(c.wire.ssrc);
      assert.equal(received.length, n);
      checkForwarded(received, s.sender, c.wire);
      assertContiguous(received);
    });
  }

  test('an Opus stream across both wraps stays contiguous', async () => {
    const s = await audioSession(worker, { seq: 65533, ts: 0xffffffff - 1500, tsStep: 960 });
    const c = await openConsumer(s.router, s.producer);
    for (let i = 0; i < 8; ++i) s.sender.sendOpus();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 8, '8 Opus packets');
    const received = c.peer.rtpOf(c.wire.ssrc);
    checkForwarded(received, s.sender, c.wire);
    assertContiguous(received);
  });
});

describe('pause and resume', () => {
  test('consumer.pause() stops forwarding; resume() requests a key frame and forwarding restarts with it', async () => {
    const s = await videoSession(worker);
    const c = await openConsumer(s.router, s.producer);
    s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 5, '5 packets before pause');
    const beforePause = c.peer.rtpOf(c.wire.ssrc);
    const lastSeq = beforePause[beforePause.length - 1].seq;

    await c.consumer.pause();
    assert.equal(c.consumer.paused, true);
    s.sender.sendVp8Frame({ keyframe: true });
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame();
    await fenceReceived(s.transport, s.peer.bytesSent);
    assert.equal(c.peer.rtpOf(c.wire.ssrc).length, 5, 'nothing forwarded while paused');
    assert.equal((await c.consumer.dump()).paused, true);

    const mark = s.peer.arrivals;
    await c.consumer.resume();
    assert.equal(c.consumer.paused, false);
    await s.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === s.sender.ssrc,
      'a PLI for the producer SSRC after consumer.resume()', 3000, mark);

    for (let i = 0; i < 2; ++i) s.sender.sendVp8Frame();
    await fenceReceived(s.transport, s.peer.bytesSent);
    assert.equal(c.peer.rtpOf(c.wire.ssrc).length, 5, 'delta frames after resume wait for the key frame');

    const key = s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (let i = 0; i < 2; ++i) s.sender.sendVp8Frame();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 9, '4 packets after resume');
    const after = c.peer.rtpOf(c.wire.ssrc).slice(5);
    assert.equal(after.length, 4);
    assert.ok(after[0].payload.equals(key[0].payload), 'the first packet after resume is the key frame');
    assert.equal(after[0].seq, u16(lastSeq + 1), 'sequence numbers continue across the pause');
    assertContiguous(c.peer.rtpOf(c.wire.ssrc));
    for (const p of after) assert.equal(p.ssrc, c.wire.ssrc);
  });

  test("producer.pause(): the consumer emits 'producerpause' and nothing flows; resume() brings it back", async () => {
    const s = await videoSession(worker);
    const c = await openConsumer(s.router, s.producer);
    s.sender.sendVp8Frame({ keyframe: true });
    s.sender.sendVp8Frame();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 2, '2 packets before pause');
    const lastSeq = c.peer.rtpOf(c.wire.ssrc)[1].seq;

    const paused = nextEvent(c.consumer, 'producerpause');
    await s.producer.pause();
    await paused;
    assert.equal(c.consumer.producerPaused, true);
    s.sender.sendVp8Frame({ keyframe: true });
    for (let i = 0; i < 3; ++i) s.sender.sendVp8Frame();
    await fenceReceived(s.transport, s.peer.bytesSent);
    assert.equal(c.peer.rtpOf(c.wire.ssrc).length, 2, 'nothing forwarded while the producer is paused');
    assert.equal((await c.consumer.dump()).producerPaused, true);

    const resumed = nextEvent(c.consumer, 'producerresume');
    await s.producer.resume();
    await resumed;
    assert.equal(c.consumer.producerPaused, false);
    const key = s.sender.sendVp8Frame({ keyframe: true });
    s.sender.sendVp8Frame();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 4, '2 packets after resume');
    const received = c.peer.rtpOf(c.wire.ssrc);
    assert.ok(received[2].payload.equals(key[0].payload));
    assert.equal(received[2].seq, u16(lastSeq + 1), 'sequence numbers continue across the pause');
    assertContiguous(received);
  });
});

describe('stats, dump and trace', () => {
  test('getStats() and dump() of transports, producer and consumer after media', async () => {
    const s = await videoSession(worker, { ssrc: 0x01020304 });
    const c = await openConsumer(s.router, s.producer);
    s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (let i = 0; i < 8; ++i) s.sender.sendVp8Frame();
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 10, '10 packets');
    const rtpBytesOut = c.peer.rtpOf(c.wire.ssrc).reduce((n, p) => n + p.raw.length, 0);

    const [pts] = await s.transport.getStats();
    assert.equal(pts.type, 'plain-rtp-transport');
    assert.equal(pts.transportId, s.transport.id);
    assert.equal(pts.bytesReceived, s.peer.bytesSent, 'producer transport bytesReceived = bytes the peer sent');
    assert.equal(pts.tuple.remotePort, s.peer.port);
    assert.equal(pts.rtcpMux, true);
    assert.equal(pts.comedia, true);
    const [cts] = await c.transport.getStats();
    assert.ok(cts.bytesSent >= rtpBytesOut, `consumer transport bytesSent ${cts.bytesSent} >= ${rtpBytesOut}`);
    assert.equal(cts.tuple.remotePort, c.peer.port);
    assert.equal(cts.comedia, false);

    const pstats = await s.producer.getStats();
    assert.equal(pstats.length, 1);
    assert.equal(pstats[0].type, 'inbound-rtp');
    assert.equal(pstats[0].ssrc, 0x01020304);
    assert.equal(pstats[0].kind, 'video');
    assert.equal(pstats[0].mimeType, 'video/VP8');
    assert.equal(pstats[0].packetCount, 10);
    assert.ok(pstats[0].byteCount > 0);

    const cstats = await c.consumer.getStats();
    const out = cstats.find((x) => x.type === 'outbound-rtp');
    assert.ok(out, 'an outbound-rtp entry');
    assert.equal(out.ssrc, c.wire.ssrc);
    assert.equal(out.rtxSsrc, c.wire.rtxSsrc);
    assert.equal(out.kind, 'video');
    assert.equal(out.mimeType, 'video/VP8');
    assert.equal(out.packetCount, 10);
    assert.ok(out.byteCount > 0);
    const inb = cstats.find((x) => x.type === 'inbound-rtp');
    assert.ok(inb && inb.ssrc === 0x01020304, "the producer's inbound-rtp entry follows (as mediasoup does)");

    const dump = await c.consumer.dump();
    assert.equal(dump.type, 'simple');
    assert.equal(dump.kind, 'video');
    assert.equal(dump.producerId, s.producer.id);
    assert.equal(dump.paused, false);
    assert.equal(dump.producerPaused, false);
    assert.equal(dump.rtpStream.params.ssrc, c.wire.ssrc);
    assert.equal(dump.rtpStream.params.payloadType, c.wire.pt);
    assert.equal(dump.rtpStream.params.mimeType, 'video/VP8');
    assert.equal(dump.rtpStream.params.clockRate, 90000);
    assert.equal(dump.rtpStream.params.rtxSsrc, c.wire.rtxSsrc);
    assert.equal(dump.rtpStream.params.rtxPayloadType, c.wire.rtxPt);
    assert.equal(dump.rtpStream.params.useNack, true);
    assert.equal(dump.rtpStream.params.usePli, true);
    assert.equal(dump.rtpStream.rtxStream?.params.ssrc, c.wire.rtxSsrc);

    const pdump = await s.producer.dump();
    assert.equal(pdump.kind, 'video');
    assert.equal(pdump.type, 'simple');
    assert.equal(pdump.rtpStreams?.length, 1);
    assert.equal(pdump.rtpStreams[0].params.ssrc, 0x01020304);

    const tdump = await c.transport.dump();
    assert.deepEqual(tdump.consumerIds, [c.consumer.id]);
    assert.equal(tdump.tuple.remotePort, c.peer.port);
  });

  test("trace events: the producer's key frame (in) and PLI (out)", async () => {
    const s = await videoSession(worker);
    const c = await openConsumer(s.router, s.producer);
    await s.producer.enableTraceEvent(['keyframe', 'pli']);
    const traces = [];
    s.producer.on('trace', (t) => traces.push(t));

    const [key] = s.sender.sendVp8Frame({ keyframe: true });
    const kt = await waitUntil(() => traces.find((t) => t.type === 'keyframe'), "a 'keyframe' trace");
    assert.equal(kt.direction, 'in');
    assert.equal(kt.info.rtpPacket.ssrc, s.sender.ssrc);
    assert.equal(kt.info.rtpPacket.sequenceNumber, key.seq);
    assert.equal(kt.info.rtpPacket.timestamp, key.ts);
    assert.equal(kt.info.rtpPacket.isKeyFrame, true);
    assert.equal(kt.info.isRtx, false);
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 1, 'the key frame forwarded');

    const mark = s.peer.arrivals;
    await c.consumer.requestKeyFrame();
    await s.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === s.sender.ssrc,
      'a PLI after consumer.requestKeyFrame()', 3000, mark);
    const pt = await waitUntil(() => traces.find((t) => t.type === 'pli'), "a 'pli' trace");
    assert.equal(pt.direction, 'out');
    assert.equal(pt.info.ssrc, s.sender.ssrc);
  });
});

// A check of this file's own assumptions that needs no media path.
test('the router offers VP8 (with RTX) and Opus for these tests', async () => {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const mimes = router.rtpCapabilities.codecs.map((c) => c.mimeType.toLowerCase());
  assert.deepEqual(mimes.sort(), ['audio/opus', 'video/rtx', 'video/vp8']);
  assert.ok(videoProducerOptions(1).rtpParameters.codecs[0].rtcpFeedback.some((f) => f.type === 'nack' && !f.parameter));
  router.close();
});
