// WebRtcTransport and WebRtcServer against a third-party WebRTC stack: werift
// (pure TypeScript, from npm) publishes and subscribes through transports the
// unmodified mediasoup Node library creates on the worker. ICE-lite on the
// worker side, werift the controlling agent; DTLS-SRTP with the worker as
// server in some cases and client in others; ICE over UDP and TCP; NACK/RTX
// over SRTP through a lossy relay. See lib/webrtc-peer.mjs for the SDP.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test webrtc.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorker, closeAll, openConsumer, consumerWire, MEDIA_CODECS } from './lib/media-peer.mjs';
import { vp8IsKeyFrame } from './lib/rtp.mjs';
import {
  LOOPBACK, publish, subscribe, closeWebRtcPeers, LossyUdpRelay, checkDelivered, consumerSendStats,
  waitFor, transportState, vp8PictureId, WERIFT_VP8_PT,
} from './lib/webrtc-peer.mjs';
import { memoryOf } from './lib/memory-dump.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const UDP = { protocol: 'udp', ip: LOOPBACK };
const TCP = { protocol: 'tcp', ip: LOOPBACK };
const CASE = { timeout: 20000 };

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await closeWebRtcPeers();
  await closeAll();
});

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

function assertUp(transport, protocol, what) {
  assert.ok(['connected', 'completed'].includes(transport.iceState), `${what}: ${transportState(transport)}`);
  assert.equal(transport.dtlsState, 'connected', `${what}: ${transportState(transport)}`);
  const tuple = transport.iceSelectedTuple;
  assert.ok(tuple, `${what}: iceSelectedTuple set`);
  assert.equal(tuple.protocol, protocol, `${what}: selected tuple protocol`);
  assert.equal(tuple.localAddress ?? tuple.localIp, LOOPBACK, `${what}: selected tuple local address`);
  assert.ok(transport.iceCandidates.some((c) => c.protocol === protocol && c.port === tuple.localPort),
    `${what}: selected tuple local port ${tuple.localPort} is one of the candidates`);
}

async function framesAt(sub, kind, count, timeoutMs = 5000) {
  return waitFor(() => {
    const s = sub.stream(kind);
    return s && (kind === 'video' ? s.frames : s.packets.length) >= count && s;
  }, `fewer than ${count} ${kind === 'video' ? 'frames' : 'packets'} at werift`, {
    timeoutMs,
    state: () => {
      const s = sub.stream(kind);
      return `${s ? (kind === 'video' ? `${s.frames} frames` : `${s.packets.length} packets`) : 'no remote track'}; ` +
        `${transportState(sub.transport)}`;
    },
  });
}

// Forwarded VP8 at werift: the consumer's SSRC and PT, the publisher's frame
// content, constant offsets; in order, also starting on a key frame with
// picture ids stepping by one per frame. Without order (loss and RTX), at
// least one key frame.
function assertVideoDelivered(stream, pub, consumer, { ordered = true } = {}) {
  const wire = consumerWire(consumer);
  const { pairs } = checkDelivered(stream.packets, pub.source, wire, { ordered });
  if (!ordered) {
    assert.ok(stream.keyframes >= 1, 'a key frame arrived');
    return pairs;
  }
  assert.ok(vp8IsKeyFrame(stream.packets[0].payload), 'the first packet forwarded starts a key frame');
  const starts = stream.packets.filter((p) => p.payload[0] & 0x10);
  for (let i = 1; i < starts.length; ++i) {
    assert.equal((vp8PictureId(starts[i].payload) - vp8PictureId(starts[i - 1].payload)) & 0x7fff, 1,
      `picture id step at received seq ${starts[i].seq}`);
  }
  return pairs;
}

async function assertStatsFlow(tPub, tSub, pub, sub) {
  const [inStats] = await tPub.getStats();
  const [outStats] = await tSub.getStats();
  assert.ok(inStats.bytesReceived > 0 && inStats.rtpBytesReceived > 0,
    `publisher transport received bytes=${inStats.bytesReceived} rtp=${inStats.rtpBytesReceived}`);
  assert.ok(outStats.bytesSent > 0 && outStats.rtpBytesSent > 0,
    `subscriber transport sent bytes=${outStats.bytesSent} rtp=${outStats.rtpBytesSent}`);
  const producerStats = await pub.producer.getStats();
  assert.ok(producerStats[0]?.packetCount > 0, `producer packetCount ${producerStats[0]?.packetCount}`);
  const consumerStats = await consumerSendStats(sub.consumer);
  const received = sub.stream(sub.consumer.kind).packets.length;
  assert.ok(consumerStats.packetCount >= received,
    `consumer packetCount ${consumerStats.packetCount} >= ${received} packets werift received`);
  return { inStats, outStats, producerStats, consumerStats };
}

async function pairOfTransports(router, options) {
  const tPub = await router.createWebRtcTransport(options);
  const tSub = await router.createWebRtcTransport(options);
  return { tPub, tSub };
}

async function closeAllOf(router, ...peers) {
  for (const peer of peers) await peer?.close();
  router.close();
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

describe('werift over WebRtcTransport', () => {
  test('(a) UDP: VP8 published and consumed; ICE, DTLS (worker as DTLS server) and stats', CASE, async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { tPub, tSub } = await pairOfTransports(router, { listenInfos: [UDP] });
    assert.equal(tPub.iceParameters.iceLite, true, 'the worker side is ICE-lite');
    assert.ok(tPub.iceCandidates.every((c) => c.protocol === 'udp'));

    const pub = await publish(router, tPub, { kind: 'video', setup: 'passive' });
    const sub = await subscribe(router, tSub, pub.producer, { setup: 'actpass' });
    assert.equal(tPub.dtlsParameters.role, 'server', 'worker is the DTLS server for the publisher');
    assert.equal(tSub.dtlsParameters.role, 'server', 'worker is the DTLS server for the subscriber (werift took active)');

    const stream = await framesAt(sub, 'video', 30);
    assertUp(tPub, 'udp', 'publisher transport');
    assertUp(tSub, 'udp', 'subscriber transport');
    const pairs = assertVideoDelivered(stream, pub, sub.consumer);
    assert.ok(pairs.length >= 90, `${pairs.length} packets for 30 frames`);
    assert.equal(stream.packets[0].pt, sub.consumer.rtpParameters.codecs[0].payloadType);
    await assertStatsFlow(tPub, tSub, pub, sub);
    await closeAllOf(router, pub, sub);
  });

  test('(b) ICE-TCP: passive TCP candidates only, werift dials in as active', CASE, async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { tPub, tSub } = await pairOfTransports(router, { listenInfos: [TCP], enableUdp: false, enableTcp: true });
    for (const t of [tPub, tSub]) {
      assert.ok(t.iceCandidates.length > 0 && t.iceCandidates.every((c) => c.protocol === 'tcp' && c.tcpType === 'passive'),
        `TCP passive candidates only: ${JSON.stringify(t.iceCandidates)}`);
    }
    const pub = await publish(router, tPub, { kind: 'video' });
    const sub = await subscribe(router, tSub, pub.producer);
    const stream = await framesAt(sub, 'video', 30);
    assertUp(tPub, 'tcp', 'publisher transport');
    assertUp(tSub, 'tcp', 'subscriber transport');
    assertVideoDelivered(stream, pub, sub.consumer);
    await assertStatsFlow(tPub, tSub, pub, sub);
    await closeAllOf(router, pub, sub);
  });

  test('(c) WebRtcServer (UDP + TCP): publisher over UDP, subscriber over TCP, worker as DTLS client', CASE, async () => {
    const server = await worker.createWebRtcServer({ listenInfos: [UDP, TCP] });
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { tPub, tSub } = await pairOfTransports(router, { webRtcServer: server });
    const udpPort = tPub.iceCandidates.find((c) => c.protocol === 'udp')?.port;
    const tcpPort = tPub.iceCandidates.find((c) => c.protocol === 'tcp')?.port;
    assert.ok(udpPort && tcpPort, `UDP and TCP candidates: ${JSON.stringify(tPub.iceCandidates)}`);
    assert.deepEqual(tSub.iceCandidates.map((c) => [c.protocol, c.port]).sort(),
      tPub.iceCandidates.map((c) => [c.protocol, c.port]).sort(), 'both transports share the server ports');
    assert.notEqual(tPub.iceParameters.usernameFragment, tSub.iceParameters.usernameFragment);

    const pub = await publish(router, tPub, { kind: 'video', setup: 'active',
      candidates: (c) => (c.protocol === 'udp' ? c : null) });
    const sub = await subscribe(router, tSub, pub.producer, { setup: 'active', iceTcp: true,
      candidates: (c) => (c.protocol === 'tcp' ? c : null) });
    assert.equal(tPub.dtlsParameters.role, 'client', 'worker is the DTLS client for the publisher');
    assert.equal(tSub.dtlsParameters.role, 'client', 'worker is the DTLS client for the subscriber');

    const stream = await framesAt(sub, 'video', 30);
    assertUp(tPub, 'udp', 'publisher transport');
    assertUp(tSub, 'tcp', 'subscriber transport');
    assertVideoDelivered(stream, pub, sub.consumer);
    await assertStatsFlow(tPub, tSub, pub, sub);
    const dump = await server.dump();
    assert.deepEqual([...dump.webRtcTransportIds].sort(), [tPub.id, tSub.id].sort());
    await closeAllOf(router, pub, sub);
    server.close();
  });

  test('(d) 5% RTP loss toward the subscriber: werift NACKs, the worker resends on RTX over SRTP', CASE, async (t) => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { tPub, tSub } = await pairOfTransports(router, { listenInfos: [UDP] });
    const relay = await LossyUdpRelay.open({ target: tSub.iceCandidates[0], lossRate: 0.05, seed: 11 });
    const pub = await publish(router, tPub, { kind: 'video' });
    const sub = await subscribe(router, tSub, pub.producer, {
      candidates: (c) => (c.protocol === 'udp' ? { ...c, address: LOOPBACK, port: relay.port } : null),
    });
    await framesAt(sub, 'video', 1);
    const since = pub.source.sent.length;
    await waitFor(() => pub.source.sent.length - since >= 450, '450 packets published', { timeoutMs: 8000 });
    pub.source.stop();
    const stream = sub.stream('video');
    // Let the last NACK rounds finish.
    await waitFor(() => stream.coverage().missing.length === 0, 'missing seqs at werift', { timeoutMs: 1500 })
      .catch(() => {});
    await sleep(200);

    const cov = stream.coverage();
    const stats = await consumerSendStats(sub.consumer);
    const [transportStats] = await tSub.getStats();
    t.diagnostic(`relay RTP toward werift ${relay.stats.rtpToPeer}, dropped ${relay.stats.dropped}; werift NACKs ` +
      `${sub.nacksSent} (${sub.nackedSeqs} seqs); consumer nackCount ${stats.nackCount} nackPacketCount ` +
      `${stats.nackPacketCount} packetsRetransmitted ${stats.packetsRetransmitted}; rtxBytesSent ` +
      `${transportStats.rtxBytesSent}; missing ${cov.missing.length} of ${cov.expected}`);
    assert.ok(relay.stats.dropped >= 5, `relay dropped ${relay.stats.dropped} RTP packets`);
    assert.ok(sub.nacksSent > 0, 'werift sent NACKs');
    assert.ok(stats.nackCount > 0, `consumer nackCount ${stats.nackCount}`);
    assert.ok(stats.packetsRetransmitted > 0, `consumer packetsRetransmitted ${stats.packetsRetransmitted}`);
    assert.ok(transportStats.rtxBytesSent > 0, `transport rtxBytesSent ${transportStats.rtxBytesSent}`);
    assert.ok(cov.expected >= 400, `werift saw a range of ${cov.expected} seqs`);
    assert.ok(cov.missing.length <= Math.max(1, Math.floor(relay.stats.dropped / 5)),
      `werift still misses ${cov.missing.length} of ${cov.expected} seqs (${cov.missing.join(',')}) after ` +
      `${relay.stats.dropped} drops`);
    assertVideoDelivered(stream, pub, sub.consumer, { ordered: false });
    await closeAllOf(router, pub, sub);
    relay.close();
  });

  test('(e) Opus published and consumed', CASE, async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { tPub, tSub } = await pairOfTransports(router, { listenInfos: [UDP] });
    const pub = await publish(router, tPub, { kind: 'audio' });
    assert.equal(pub.producer.kind, 'audio');
    const sub = await subscribe(router, tSub, pub.producer);
    assert.equal(sub.consumer.rtpParameters.encodings[0].rtx, undefined, 'no RTX for audio');
    const stream = await framesAt(sub, 'audio', 50);
    assertUp(tPub, 'udp', 'publisher transport');
    assertUp(tSub, 'udp', 'subscriber transport');
    const { pairs } = checkDelivered(stream.packets, pub.source, consumerWire(sub.consumer), { kind: 'audio' });
    assert.ok(pairs.length >= 50);
    assert.ok(stream.coverage().missing.length === 0, 'no gap in Opus seqs');
    await assertStatsFlow(tPub, tSub, pub, sub);
    await closeAllOf(router, pub, sub);
  });

  test('(g) the worker dump counts transports, DTLS and SRTP sessions; a connected DTLS session holds little', CASE, async () => {
    const base = (await memoryOf(worker)).transports;
    assert.ok(base, 'MemoryDump.transports present');
    const delta = async () => {
      const now = (await memoryOf(worker)).transports;
      return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - base[k]]));
    };
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const { tPub, tSub } = await pairOfTransports(router, { listenInfos: [UDP] });
    await router.createPlainTransport({ listenInfo: UDP });
    let d = await delta();
    assert.equal(d.webrtcTransports, 2);
    assert.equal(d.plainTransports, 1);
    assert.equal(d.dtlsSessions, 2);
    assert.equal(d.dtlsConnected, 0);
    assert.equal(d.srtpSessions, 0);
    const unconnected = d.dtlsBytesHeld;
    assert.ok(unconnected > 0, `bytes held before the handshake ${unconnected}`);

    const pub = await publish(router, tPub, { kind: 'video', setup: 'passive' });
    const sub = await subscribe(router, tSub, pub.producer, { setup: 'actpass' });
    await framesAt(sub, 'video', 5);
    d = await delta();
    assert.equal(d.dtlsSessions, 2);
    assert.equal(d.dtlsConnected, 2);
    assert.ok(d.srtpSessions >= 2, `srtp sessions ${d.srtpSessions}`);
    // OpenSSL's session is freed once connected: a few KB at most per transport.
    assert.ok(d.dtlsBytesHeld > 0 && d.dtlsBytesHeld <= 2 * 4096, `bytes held connected ${d.dtlsBytesHeld}`);
    assert.ok(d.dtlsBytesHeld < unconnected, 'connected sessions hold less than fresh ones');

    await closeAllOf(router, pub, sub);
    d = await delta();
    for (const [k, v] of Object.entries(d)) assert.equal(v, 0, `${k} back to where it was`);
  });

  test('(f) werift publishes over WebRtcTransport, a PlainTransport consumer gets decrypted RTP', CASE, async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const tPub = await router.createWebRtcTransport({ listenInfos: [UDP] });
    const pub = await publish(router, tPub, { kind: 'video' });
    const c = await openConsumer(router, pub.producer);
    const received = await c.peer.until((p) => {
      const r = p.rtpOf(c.wire.ssrc);
      return r.filter((x) => x.marker).length >= 30 && r;
    }, '30 frames at the PlainTransport peer', 5000);
    assert.equal(c.peer.rejected.length, 0, 'every datagram parsed as plain RTP/RTCP');
    assert.notEqual(c.wire.pt, WERIFT_VP8_PT, 'the router PT, not werift\'s');
    checkDelivered(received, pub.source, c.wire);
    assert.ok(vp8IsKeyFrame(received[0].payload), 'the first packet forwarded starts a key frame');
    assertUp(tPub, 'udp', 'publisher transport');
    await closeAllOf(router, pub);
    c.peer.close();
  });
});
