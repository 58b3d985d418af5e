// DirectTransport: media between Node and the worker over the channel.
// producer.send() enters the worker's store-once path and leaves on a UDP
// consumer (bytes checked on the wire); a UDP producer's packets reach Node
// through consumer.on('rtp') rewritten as the consumer's rtpParameters say;
// transport.sendRtcp() and transport.on('rtcp') carry RTCP both ways; bad
// packets from Node and a controller too slow to read are counted drops.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test direct-transport.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import {
  startWorker, closeAll, StreamSender, openConsumer, checkForwarded, assertContiguous, waitUntil,
  nextEvent, videoSession, audioSession, videoProducerOptions, audioProducerOptions, consumerWire,
  MEDIA_CODECS, PRODUCER_VP8_PT, PRODUCER_OPUS_PT,
} from './lib/media-peer.mjs';
import { buildRtp, buildPli, buildNack, parseRtp, parseRtcp, parseRtxPayload, isPli, RTCP } from './lib/rtp.mjs';
import { dropsOf } from './lib/sluice-drops.mjs';
import { memoryOf } from './lib/memory-dump.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

// A StreamSender whose "peer" is producer.send(): the sender keeps its record
// of every packet (seq, ts, payload) for checkForwarded.
function directSender(producer, opts) {
  const peer = { sendRtp: (pkt) => producer.send(pkt) };
  return new StreamSender({ peer, port: 0, ...opts });
}

// Collects consumer.on('rtp') packets, parsed, with the raw bytes kept.
function collectRtp(consumer) {
  const got = [];
  consumer.on('rtp', (buf) => {
    const pkt = parseRtp(buf);
    assert.ok(pkt, `consumer 'rtp' is not an RTP packet: ${buf.toString('hex')}`);
    got.push(Object.assign(pkt, { raw: buf }));
  });
  return got;
}

// Collects transport.on('rtcp') compounds as parsed RTCP items.
function collectRtcp(transport) {
  const got = [];
  transport.on('rtcp', (buf) => got.push(...parseRtcp(buf)));
  return got;
}

describe('createDirectTransport', () => {
  test('dump, stats and the methods a DirectTransport does not have', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const t = await router.createDirectTransport();
    const dump = await t.dump();
    assert.equal(dump.id, t.id);
    assert.equal(dump.direct, true);
    assert.equal(dump.maxMessageSize, 262144, "mediasoup's default maxMessageSize");
    const small = await router.createDirectTransport({ maxMessageSize: 1000 });
    assert.equal((await small.dump()).maxMessageSize, 1000);
    const [stats] = await t.getStats();
    assert.equal(stats.type, 'direct-transport');
    assert.equal(stats.transportId, t.id);
    assert.equal(stats.bytesReceived, 0);
    await t.connect({}); // a no-op in the library
    await assert.rejects(t.setMaxIncomingBitrate(100000), /not implemented in DirectTransport/);
    const memory = await memoryOf(worker);
    assert.equal(memory.transports.directTransports, 2);
    small.close();
    assert.equal((await memoryOf(worker)).transports.directTransports, 1);
    router.close();
  });
});

describe('Node -> direct producer -> UDP consumer', () => {
  test('producer.send() packets leave on the wire rewritten, payload intact; the consumer PLI reaches Node as rtcp', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const direct = await router.createDirectTransport();
    const rtcp = collectRtcp(direct);
    const ssrc = 0x0d1ec701;
    const producer = await direct.produce(videoProducerOptions(ssrc));
    const c = await openConsumer(router, producer);
    const sender = directSender(producer, { ssrc, pt: PRODUCER_VP8_PT, seq: 65530, ts: 1000 });

    // A delta frame first: the consumer waits for a key frame and asks the
    // producer's sender (here: Node) for one.
    sender.sendVp8Frame({ keyframe: false, packets: 2 });
    await waitUntil(() => rtcp.find((p) => isPli(p) && p.mediaSsrc === ssrc), 'PLI for the direct producer as rtcp');
    const first = sender.sent.length;
    sender.sendVp8Frame({ keyframe: true, packets: 3 });
    for (let f = 0; f < 5; ++f) sender.sendVp8Frame({ packets: 2 });
    const expected = sender.sent.length - first;
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= expected, `${expected} packets on the wire`);
    const received = c.peer.rtpOf(c.wire.ssrc);
    assert.equal(received.length, expected, 'nothing before the key frame, everything after it');
    checkForwarded(received, sender, c.wire);
    assertContiguous(received);
    assert.ok(received[0].payload.equals(sender.sent[first].payload), 'starts at the key frame');

    const [producerStats] = await producer.getStats();
    assert.equal(producerStats.packetCount, sender.sent.length);
    const [stats] = await direct.getStats();
    assert.equal(stats.bytesReceived, sender.sent.reduce((n, r) => n + r.raw.length, 0));
    router.close();
  });
});

describe('UDP producer -> direct consumer -> Node', () => {
  test("consumer.on('rtp') gives the exact bytes: payload equal, header as the consumer's rtpParameters say", async () => {
    const s = await audioSession(worker, { seq: 65000 });
    const direct = await s.router.createDirectTransport();
    const consumer = await direct.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities });
    const wire = consumerWire(consumer);
    assert.notEqual(wire.ssrc, 0x55667788);
    const got = collectRtp(consumer);
    for (let i = 0; i < 40; ++i) s.sender.sendOpus({ size: 40 + i, marker: i === 0 });
    await waitUntil(() => got.length >= 40, '40 rtp events');
    checkForwarded(got, s.sender, wire);
    assertContiguous(got);
    assert.equal(wire.pt, 100, "the router's opus payload type");
    // The bytes are the consumer's header then the payload sent, unchanged.
    for (const [i, pkt] of got.entries()) {
      const payload = s.sender.sent[i].payload;
      assert.ok(pkt.raw.subarray(pkt.raw.length - payload.length).equals(payload), `packet ${i}: payload bytes`);
      assert.equal(pkt.raw.readUInt32BE(8), wire.ssrc, `packet ${i}: SSRC bytes`);
    }
    const [stats] = await direct.getStats();
    assert.equal(stats.rtpBytesSent, got.reduce((n, p) => n + p.raw.length, 0));
    assert.equal((await dropsOf(direct)).channelFull, 0);
  });

  test('transport.sendRtcp(): a PLI reaches the UDP sender, a NACK brings RTX as rtp; the consumer SR arrives as rtcp', async () => {
    const s = await videoSession(worker);
    const direct = await s.router.createDirectTransport();
    const rtcp = collectRtcp(direct);
    const consumer = await direct.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities });
    const wire = consumerWire(consumer);
    const got = collectRtp(consumer);
    s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
    s.sender.sendVp8Frame({ packets: 2 });
    await waitUntil(() => got.length >= 4, '4 rtp events');
    checkForwarded(got, s.sender, wire);

    // A PLI from "the direct side" for the consumer's SSRC: the producer's
    // sender gets one for its own SSRC.
    const since = s.peer.arrivals;
    direct.sendRtcp(buildPli({ senderSsrc: 0x12345678, mediaSsrc: wire.ssrc }));
    const pli = await s.peer.waitRtcp((p) => isPli(p), 'PLI at the UDP sender', 3000, since);
    assert.equal(pli.mediaSsrc, 0x11223344);

    // A NACK from the direct side: the resend comes back as an 'rtp' event,
    // RTX (RFC 4588) on the consumer's RTX SSRC carrying the original seq.
    assert.ok(wire.rtxSsrc, 'the consumer negotiated RTX');
    const lost = got[1];
    direct.sendRtcp(buildNack({ senderSsrc: 0x12345678, mediaSsrc: wire.ssrc, seqs: [lost.seq] }));
    const rtx = await waitUntil(() => got.find((p) => p.ssrc === wire.rtxSsrc), 'RTX as an rtp event');
    assert.equal(rtx.pt, wire.rtxPt);
    const { osn, payload } = parseRtxPayload(rtx.payload);
    assert.equal(osn, lost.seq);
    assert.ok(payload.equals(lost.payload), 'RTX carries the original payload');
    const media = got.filter((p) => p.ssrc === wire.ssrc);

    // Video reports every 0.5-1.5 s: the consumer's SR, with what it sent.
    const sr = await waitUntil(() => rtcp.find((p) => p.pt === RTCP.SR && p.ssrc === wire.ssrc),
      "the consumer's SR as rtcp", 4000);
    assert.equal(sr.packetCount, media.length);
    assert.equal(sr.octetCount, media.reduce((n, p) => n + p.payload.length, 0));
  });
});

describe('bad input from Node', () => {
  test('oversized and malformed producer.send() and sendRtcp() are counted; the worker keeps forwarding', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const direct = await router.createDirectTransport({ maxMessageSize: 500 });
    const ssrc = 0x0a0d1001;
    const producer = await direct.produce(audioProducerOptions(ssrc));
    const c = await openConsumer(router, producer);
    const sender = directSender(producer, { ssrc, pt: PRODUCER_OPUS_PT, seq: 10, ts: 4800, tsStep: 960 });

    producer.send(buildRtp({ pt: PRODUCER_OPUS_PT, seq: 9, ts: 0, ssrc, payload: Buffer.alloc(600, 7) }));
    producer.send(Buffer.from([0x80, 0x6f, 0x00])); // shorter than an RTP header
    producer.send(Buffer.alloc(40)); // version 0
    producer.send(Buffer.alloc(0));
    direct.sendRtcp(Buffer.from([0x81, 0xc9, 0x00, 0x40, 1, 2, 3, 4])); // length past the end
    direct.sendRtcp(Buffer.alloc(501, 0x80));
    const drops = await waitUntil(async () => {
      const d = await dropsOf(direct);
      return d.tooLarge === 2 && d.badRtp === 3 && d.badRtcp === 1 && d;
    }, 'tooLarge 2, badRtp 3, badRtcp 1');
    assert.equal(drops.noProducer, 0);

    for (let i = 0; i < 5; ++i) sender.sendOpus({ size: 50 });
    await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= 5, '5 packets on the wire');
    checkForwarded(c.peer.rtpOf(c.wire.ssrc), sender, c.wire);
    router.close();
  });

  test('producer.send() to a producer on a PlainTransport is counted there (notDirect)', async () => {
    const s = await audioSession(worker);
    s.producer.send(buildRtp({ pt: PRODUCER_OPUS_PT, seq: 1, ts: 1, ssrc: 0x55667788, payload: Buffer.alloc(20) }));
    await waitUntil(async () => (await dropsOf(s.transport)).notDirect === 1, 'notDirect 1');
    const [producerStats] = await s.producer.getStats();
    assert.equal(producerStats?.packetCount ?? 0, 0);
  });
});

// Node code for a child process: `count` opus packets of 1,012 bytes from
// seq `first` to 127.0.0.1:port, 100 at a time, from one socket bound to
// :SENDER_PORT (so a comedia transport sees one tuple across runs).
const SENDER_PORT = 40000 + (process.pid % 20000);
function udpBlast(port, first, count) {
  return `
    const dgram = require('node:dgram');
    const sock = dgram.createSocket('udp4');
    let seq = ${first};
    function batch() {
      for (let i = 0; i < 100 && seq < ${first + count}; ++i, ++seq) {
        const buf = Buffer.alloc(1012); // dgram keeps it until sent
        buf.writeUInt16BE(0x8000 | ${PRODUCER_OPUS_PT}, 0);
        buf.writeUInt16BE(seq, 2);
        buf.writeUInt32BE(seq * 960, 4);
        buf.writeUInt32BE(0x55667788, 8);
        buf.writeUInt32BE(seq, 12);
        sock.send(buf, ${port}, '127.0.0.1');
      }
      if (seq < ${first + count}) setTimeout(batch, 3);
      else setTimeout(() => sock.close(), 300);
    }
    sock.bind(${SENDER_PORT}, '127.0.0.1', batch);`;
}

describe('a controller too slow to read', () => {
  test('CONSUMER_RTP beyond the channel limit is dropped and counted, then delivery resumes', async () => {
    const slow = await startWorker({ SLUICE_CHANNEL_OUT_LIMIT: '65536' });
    const s = await audioSession(slow);
    const direct = await s.router.createDirectTransport();
    const consumer = await direct.consume({ producerId: s.producer.id, rtpCapabilities: s.router.rtpCapabilities });
    const got = collectRtp(consumer);

    // A child process sends 3,000 packets of 1,000 bytes while this process's
    // event loop is blocked in spawnSync: nothing reads the channel.
    const count = 3000;
    const child = spawnSync(process.execPath, ['-e', udpBlast(s.port, 0, count)], { timeout: 20000 });
    assert.equal(child.status, 0, String(child.stderr));

    const received = await waitUntil(async () => (await s.producer.getStats())[0]?.packetCount, 'producer stats');
    const drops = await waitUntil(async () => {
      const d = await dropsOf(direct);
      return got.length + d.channelFull === received && d;
    }, 'every packet the producer took either delivered or counted', 5000);
    assert.ok(drops.channelFull > 0, `the slow controller caused drops (received ${received}, delivered ${got.length})`);
    assert.ok(got.length > 0, 'what fit in the queue was delivered');
    console.log(`slow controller: ${received} packets in, ${got.length} delivered as rtp events, ` +
      `${drops.channelFull} dropped (channelFull)`);
    const memory = await memoryOf(slow);
    assert.ok(memory.channel.droppedNotifications >= drops.channelFull);
    assert.ok(memory.channel.outQueueHighWaterBytes <= 65536 + 4096, `queue high water ${memory.channel.outQueueHighWaterBytes}`);

    // Delivery resumes once the controller reads again (the same sender: the
    // comedia tuple is its port).
    const before = got.length;
    await new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', udpBlast(s.port, count, 1)], (error) => (error ? reject(error) : resolve()));
    });
    await waitUntil(() => got.length === before + 1, 'one more rtp event');
    assert.equal(got.at(-1).payload.readUInt32BE(0), count);
  });
});
