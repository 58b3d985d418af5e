// PipeTransport and router.pipeToRouter(): a producer on one router consumed
// on another (same worker, another worker), checked on the wire at the far
// consumer; a simulcast producer piped with every encoding; NACK/RTX across
// the pipe (a relay drops a packet on the pipe); SRTP on the pipe;
// pause/resume/close crossing it; bad arguments.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test pipe-router.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorker, closeAll, videoSession, openConsumer, openConsumerSide, checkForwarded, assertContiguous,
  fenceReceived, nextEvent, waitUntil, matchToSent, StreamSender, openProducerSide, MEDIA_CODECS, PRODUCER_VP8_PT,
} from './lib/media-peer.mjs';
import { dropsOf } from './lib/sluice-drops.mjs';
import { PipeRelay, relayedPipe, connectedPipe, pipeProducer, pipeDump, closePipeRelays } from './lib/pipe.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

let workerA;
let workerB;
before(async () => {
  workerA = await startWorker();
  workerB = await startWorker();
});
after(async () => {
  closePipeRelays();
  await closeAll();
});

function sendFrames(sender, { keyframe = false, frames = 1, packets = 2 } = {}) {
  for (let f = 0; f < frames; ++f) sender.sendVp8Frame({ keyframe: keyframe && f === 0, packets });
}

// Source video session on workerA, far router on `farWorker`, piped.
async function pipedSession(farWorker, pipeOptions = {}) {
  const s = await videoSession(workerA, { seq: 65520 });
  const far = await farWorker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const piped = await s.router.pipeToRouter({ producerId: s.producer.id, router: far, ...pipeOptions });
  const c = await openConsumer(far, piped.pipeProducer);
  return { ...s, far, ...piped, c };
}

async function checkFarMedia(s, what) {
  sendFrames(s.sender, { keyframe: true, frames: 10, packets: 3 });
  const n = s.sender.sent.length;
  await s.c.peer.until((p) => p.rtpOf(s.c.wire.ssrc).length >= n, `${n} packets at the far consumer (${what})`);
  const received = s.c.peer.rtpOf(s.c.wire.ssrc);
  assert.equal(received.length, n, 'every packet once');
  checkForwarded(received, s.sender, s.c.wire);
  assertContiguous(received, what);
}

describe('router.pipeToRouter()', () => {
  test('within one worker: pipeToRouter() is refused (one id per worker), an application pipe carries the bytes', async () => {
    const s = await videoSession(workerA, { seq: 65520 });
    const far = await workerA.createRouter({ mediaCodecs: MEDIA_CODECS });
    // The far producer would take the original's id, which this worker
    // already knows; mediasoup-worker refuses it the same way.
    await assert.rejects(s.router.pipeToRouter({ producerId: s.producer.id, router: far }),
      (e) => e.constructor === Error && /already exists/.test(e.message));

    const { a, b } = await connectedPipe(s.router, far);
    const { pipeConsumer, pipeProducer: pp } = await pipeProducer(a, b, s.producer, { newId: true });
    assert.equal(pipeConsumer.type, 'pipe');
    assert.equal(pp.type, 'simple');
    assert.equal(pipeConsumer.rtpParameters.encodings[0].rtx, undefined, 'no RTX without enableRtx');
    assert.ok(!pipeConsumer.rtpParameters.codecs.some((c) => c.rtcpFeedback.some((fb) => fb.type === 'nack' && !fb.parameter)),
      'no generic NACK feedback without enableRtx');
    const c = await openConsumer(far, pp);
    await checkFarMedia({ ...s, c }, 'same worker');
    assert.notEqual(c.wire.pt, PRODUCER_VP8_PT);

    // Each router lists its pipe transport; the far router maps the piped producer to its consumer.
    const routerDump = await s.router.dump();
    const farDump = await far.dump();
    assert.ok(routerDump.transportIds.includes(a.id));
    assert.ok(farDump.transportIds.includes(b.id) && farDump.transportIds.includes(c.transport.id));
    const farMap = farDump.mapProducerIdConsumerIds.find((e) => e.key === pp.id);
    assert.deepEqual(farMap.values, [c.consumer.id]);
    const stats = await pp.getStats();
    assert.equal(stats[0].packetCount, s.sender.sent.length, 'pipe producer received the whole stream');
  });

  test('across two workers, with pipe transport dump/stats (tuple, rtx, type)', async () => {
    const s = await videoSession(workerA, { seq: 65530 });
    const far = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });
    let pa;
    let pb;
    s.router.observer.on('newtransport', (t) => { pa = t; });
    far.observer.on('newtransport', (t) => { pb ??= t; });
    const piped = await s.router.pipeToRouter({ producerId: s.producer.id, router: far });
    assert.equal(pa.constructor.name, 'PipeTransport');
    assert.equal(pb.constructor.name, 'PipeTransport');
    const c = await openConsumer(far, piped.pipeProducer);
    await checkFarMedia({ ...s, c }, 'two workers');

    for (const [t, other] of [[pa, pb], [pb, pa]]) {
      const dump = await pipeDump(t);
      assert.equal(dump.rtx, false);
      assert.equal(dump.srtpParameters, undefined);
      assert.equal(dump.tuple.protocol, 'udp');
      assert.equal(dump.tuple.localAddress, '127.0.0.1');
      assert.equal(dump.tuple.remotePort, other.tuple.localPort);
      assert.equal(dump.tuple.remoteIp, '127.0.0.1');
      const [stats] = await t.getStats();
      assert.equal(stats.type, 'pipe-transport');
      assert.equal(stats.tuple.localPort, t.tuple.localPort);
      assert.equal(stats.tuple.remotePort, other.tuple.localPort);
    }
    const [sa] = await pa.getStats();
    const [sb] = await pb.getStats();
    assert.ok(sa.rtpBytesSent > 0 && sb.rtpBytesReceived > 0, 'media crossed the pipe');
    assert.equal(sa.rtpBytesSent, sb.rtpBytesReceived, 'every RTP byte sent arrived');
  });

  test('a simulcast producer crosses with all its encodings, each on its SSRC', async () => {
    const SSRCS = [0x2000a001, 0x2000a002, 0x2000a003];
    const router = await workerA.createRouter({ mediaCodecs: MEDIA_CODECS });
    const side = await openProducerSide(router);
    const producer = await side.transport.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [{
          mimeType: 'video/VP8', payloadType: PRODUCER_VP8_PT, clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }],
        encodings: SSRCS.map((ssrc) => ({ ssrc })),
        rtcp: { cname: 'simulcast-peer' },
      },
    });
    const far = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { pipeConsumer, pipeProducer: pp } = await router.pipeToRouter({ producerId: producer.id, router: far });
    assert.equal(pipeConsumer.rtpParameters.encodings.length, 3);
    assert.equal(pp.type, 'simulcast');
    // A pipe consumer on the far side shows every encoding arriving.
    const c = await openConsumerSide(far);
    const farPipe = await c.transport.consume({ producerId: pp.id, rtpCapabilities: far.rtpCapabilities, pipe: true });
    const senders = SSRCS.map((ssrc, i) => new StreamSender({ peer: side.peer, port: side.port, ssrc, pt: PRODUCER_VP8_PT, seq: 100 * i, ts: 5000 * i }));
    for (let f = 0; f < 6; ++f) for (const x of senders) x.sendVp8Frame({ keyframe: f === 0, packets: 2 });
    for (let i = 0; i < 3; ++i) {
      const ssrc = farPipe.rtpParameters.encodings[i].ssrc;
      await c.peer.until((p) => p.rtpOf(ssrc).length >= 12, `encoding ${i} at the far side`);
      const received = c.peer.rtpOf(ssrc);
      assert.equal(received.length, 12);
      checkForwarded(received, senders[i], { ssrc, pt: farPipe.rtpParameters.codecs.find((x) => !/\/rtx$/i.test(x.mimeType)).payloadType });
    }
    const stats = await pp.getStats();
    assert.equal(stats.length, 3, 'the far producer has a stream per encoding');
  });

  test('NACK/RTX across the pipe (enableRtx): a packet dropped on the pipe is repaired for the far consumer', async () => {
    const s = await videoSession(workerA, { seq: 65530 });
    const far = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { a, b, relay } = await relayedPipe(s.router, far, { enableRtx: true });
    assert.equal((await pipeDump(a)).rtx, true);
    const { pipeConsumer, pipeProducer: pp } = await pipeProducer(a, b, s.producer);
    const pipeRtx = pipeConsumer.rtpParameters.encodings[0].rtx;
    assert.ok(pipeRtx?.ssrc, 'pipe consumer has RTX with enableRtx');
    const c = await openConsumer(far, pp);

    // Drop the first transmission of the 8th media packet on the pipe.
    const pipeSsrc = pipeConsumer.rtpParameters.encodings[0].ssrc;
    let seen = 0;
    relay.dropToB = (rtp) => rtp !== null && rtp.ssrc === pipeSsrc && ++seen === 8;
    for (let f = 0; f < 10; ++f) {
      sendFrames(s.sender, { keyframe: f === 0, packets: 3 });
      await new Promise((r) => setTimeout(r, 20));
    }
    const n = s.sender.sent.length;
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} packets at the far consumer, the lost one repaired`, 4000);
    assert.equal(relay.dropped.length, 1);
    const repairs = relay.toB.map((m) => m.readUInt32BE(8)).filter((ssrc) => ssrc === pipeRtx.ssrc);
    assert.ok(repairs.length >= 1, 'an RTX packet crossed the pipe');
    const received = c.peer.rtpOf(c.wire.ssrc);
    const pairs = matchToSent(received, s.sender);
    assert.equal(new Set(pairs.map((x) => x.src.seq)).size, n, 'every packet the producer got reached the far consumer');
    const lost = pairs.find((x) => x.src.payload.equals(relay.dropped[0].payload));
    assert.ok(lost, 'the dropped packet arrived repaired');
    for (const { out } of pairs) assert.equal(out.ssrc, c.wire.ssrc);
    const [pstats] = await pipeConsumer.getStats();
    assert.ok(pstats.packetsRetransmitted >= 1, 'pipe consumer counted the retransmission');
  });

  test('SRTP pipe (AEAD_AES_256_GCM): nothing crosses in clear, the far consumer gets the plain bytes', async () => {
    const s = await videoSession(workerA);
    const far = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { a, b, relay } = await relayedPipe(s.router, far, { enableSrtp: true });
    assert.equal(a.srtpParameters.cryptoSuite, 'AEAD_AES_256_GCM');
    assert.equal(Buffer.from(a.srtpParameters.keyBase64, 'base64').length, 44);
    assert.notEqual(a.srtpParameters.keyBase64, b.srtpParameters.keyBase64);
    assert.deepEqual((await pipeDump(b)).srtpParameters, b.srtpParameters);
    const { pipeProducer: pp } = await pipeProducer(a, b, s.producer);
    const c = await openConsumer(far, pp);
    await checkFarMedia({ ...s, c }, 'SRTP pipe');
    assert.ok(relay.toB.length >= s.sender.sent.length);
    for (const m of relay.toB) {
      for (const r of s.sender.sent) assert.equal(m.indexOf(r.payload.subarray(4)), -1, 'a payload crossed the pipe in clear');
    }

    // The library's own pipe with SRTP too (another producer: this one's id
    // is taken on workerB now).
    const s2 = await videoSession(workerA);
    const far2 = await workerB.createRouter({ mediaCodecs: MEDIA_CODECS });
    const piped = await s2.router.pipeToRouter({ producerId: s2.producer.id, router: far2, enableSrtp: true });
    const c2 = await openConsumer(far2, piped.pipeProducer);
    sendFrames(s2.sender, { keyframe: true, frames: 3, packets: 2 });
    await c2.peer.until((p) => p.rtpOf(c2.wire.ssrc).length >= 6, 'media over the library-made SRTP pipe');
  });

  test('pause, resume and close of the producer cross the pipe', async () => {
    const s = await pipedSession(workerB);
    sendFrames(s.sender, { keyframe: true, frames: 2, packets: 2 });
    await s.c.peer.until((p) => p.rtpOf(s.c.wire.ssrc).length >= 4, 'media before pause');

    const paused = nextEvent(s.c.consumer, 'producerpause');
    await s.producer.pause();
    await paused;
    await waitUntil(() => s.pipeProducer.paused, 'the library paused the pipe producer');
    assert.equal(s.c.consumer.producerPaused, true);
    const before = s.c.peer.rtp.length;
    sendFrames(s.sender, { keyframe: true, frames: 3, packets: 2 });
    await fenceReceived(s.transport, s.sender.sent.length * 100);
    assert.equal(s.c.peer.rtp.filter((p) => p.ssrc === s.c.wire.ssrc).length, before, 'nothing while paused');

    const resumed = nextEvent(s.c.consumer, 'producerresume');
    await s.producer.resume();
    await resumed;
    const mark = s.c.peer.arrivals;
    sendFrames(s.sender, { keyframe: true, frames: 2, packets: 2 });
    await s.c.peer.until((p) => p.rtp.filter((x) => x.index >= mark && x.ssrc === s.c.wire.ssrc).length >= 4, 'media after resume');

    const closed = nextEvent(s.c.consumer, 'producerclose');
    s.producer.close();
    await closed;
    await waitUntil(() => s.pipeProducer.closed && s.pipeConsumer.closed, 'pipe consumer and producer closed');
    await waitUntil(async () => (await s.far.dump()).mapProducerIdConsumerIds.length === 0, 'far producer gone in the worker');
  });
});

describe('PipeTransport arguments', () => {
  test('connect: missing ip/port → TypeError, twice → Error; SRTP: missing or wrong suite → TypeError; TCP refused', async () => {
    const router = await workerA.createRouter({ mediaCodecs: MEDIA_CODECS });
    const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
    const t = await router.createPipeTransport({ listenInfo });
    await assert.rejects(t.connect({ port: 4000 }), { name: 'TypeError' }); // the library's own check
    await assert.rejects(t.connect({ ip: '127.0.0.1' }), { name: 'TypeError', message: /missing port/ });
    await assert.rejects(t.connect({ ip: 'not-an-ip', port: 4000 }), { name: 'TypeError', message: /invalid ip/ });
    await assert.rejects(t.connect({ ip: '::1', port: 4000 }), { name: 'TypeError', message: /family/ });
    await t.connect({ ip: '127.0.0.1', port: 4000 });
    assert.equal(t.tuple.remotePort, 4000);
    await assert.rejects(t.connect({ ip: '127.0.0.1', port: 4001 }), (e) => e.name === 'Error' && /already called/.test(e.message));

    const secure = await router.createPipeTransport({ listenInfo, enableSrtp: true });
    await assert.rejects(secure.connect({ ip: '127.0.0.1', port: 4000 }), { name: 'TypeError', message: /missing srtpParameters/ });
    await assert.rejects(secure.connect({
      ip: '127.0.0.1', port: 4000,
      srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: Buffer.alloc(30, 1).toString('base64') },
    }), { name: 'TypeError', message: /crypto suite must be AEAD_AES_256_GCM/ });
    await assert.rejects(secure.connect({
      ip: '127.0.0.1', port: 4000, srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: 'AAAA' },
    }), { name: 'TypeError', message: /invalid srtpParameters/ });
    await assert.rejects(t.connect({ ip: '127.0.0.1', port: 4000, srtpParameters: secure.srtpParameters }),
      (e) => e.name === 'Error');
    const plainT = await router.createPipeTransport({ listenInfo });
    await assert.rejects(plainT.connect({ ip: '127.0.0.1', port: 4000, srtpParameters: secure.srtpParameters }),
      { name: 'TypeError', message: /SRTP is not enabled/ });

    await assert.rejects(router.createPipeTransport({ listenInfo: { protocol: 'tcp', ip: '127.0.0.1' } }),
      { message: /UDP only/ });
    await assert.rejects(router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: '1.2.3.999' } }),
      { name: 'TypeError' });
  });

  test('packets from anyone but the connected remote are dropped and counted, nothing reaches a producer', async () => {
    const router = await workerA.createRouter({ mediaCodecs: MEDIA_CODECS });
    const t = await router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
    const relay = await PipeRelay.open();
    await t.connect({ ip: '127.0.0.1', port: relay.a.address().port });
    const stranger = await openProducerSide(router); // just for a peer socket
    const sender = new StreamSender({ peer: stranger.peer, port: t.tuple.localPort, ssrc: 1234, pt: 96 });
    sendFrames(sender, { keyframe: true, frames: 2, packets: 2 });
    await waitUntil(async () => (await dropsOf(t)).unknownTuple === 4, '4 packets counted as unknownTuple');
    const [stats] = await t.getStats();
    assert.equal(stats.bytesReceived, 0, 'not counted as received');
    // Before connect() everything is dropped as notConnected.
    const idle = await router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
    sender.port = idle.tuple.localPort;
    sendFrames(sender, { frames: 1, packets: 3 });
    await waitUntil(async () => (await dropsOf(idle)).notConnected === 3, '3 packets counted as notConnected');
  });
});
