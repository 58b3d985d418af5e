// The WebRTC harness (lib/webrtc-peer.mjs) checked without a worker: the
// mediasoup Node library's own ORTC code (ortc.js, plain JS) turns werift's
// offer into producer and consumer RTP parameters, and a second werift peer
// in ICE-lite mode stands in for the worker's WebRtcTransport, described by
// the same { iceParameters, iceCandidates, dtlsParameters } objects the
// library hands out. The SDP the harness writes for the mediasoup side then
// has to carry ICE, DTLS (both roles), RTP and RTX far enough for media,
// NACK and RTX to flow between two real WebRTC stacks, over UDP, ICE-TCP and
// the lossy relay.
//
//   cd test/node && node --test webrtc-loopback.test.mjs

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { MediaStreamTrack } from 'werift';
import { MEDIA_CODECS } from './lib/media-peer.mjs';
import {
  LOOPBACK, URI, WERIFT_VP8_PT, WERIFT_RTX_PT, WERIFT_OPUS_PT, createWeriftPeer, closeWebRtcPeers,
  parseSdp, producerRtpParameters, weriftRtpCapabilities, mediasoupSideSdp, weriftDtlsParameters,
  WeriftPublisher, WeriftSubscriber, ReceivedStream, Vp8Source, LossyUdpRelay, waitFor, weriftState,
  checkDelivered, isRtpPacket, setupToRole,
} from './lib/webrtc-peer.mjs';

const ortc = createRequire(import.meta.url)('mediasoup/node/lib/ortc.js');
const routerCaps = ortc.generateRouterRtpCapabilities(structuredClone(MEDIA_CODECS));

after(closeWebRtcPeers);

// ---------------------------------------------------------------------------
// A werift ICE-lite peer standing in for the worker
// ---------------------------------------------------------------------------

// The mediasoup-shaped transport parameters of an ICE-lite werift peer, from
// its local SDP (loopback candidates only).
function transportOf(pc) {
  const m = parseSdp(pc.localDescription.sdp).media[0];
  return {
    iceParameters: { usernameFragment: m.iceUfrag, password: m.icePwd, iceLite: true },
    iceCandidates: m.candidates.filter((c) => c.address === LOOPBACK).map((c) => ({
      foundation: c.foundation, priority: c.priority, ip: c.address, address: c.address, protocol: c.protocol,
      port: c.port, type: 'host', ...(c.tcpType ? { tcpType: c.tcpType } : {}),
    })),
    dtlsParameters: { role: 'auto', fingerprints: m.fingerprints },
    iceState: 'new',
    dtlsState: 'new',
  };
}

async function gathered(pc) {
  await waitFor(() => pc.iceGatheringState === 'complete', 'stand-in ICE gathering not complete',
    { timeoutMs: 3000, state: () => weriftState(pc) });
}

// Receives what a publisher offers. `setup` is the stand-in's a=setup as the
// harness will write it ('passive': the stand-in is the DTLS server).
async function receivingStandIn(offerSdp, { setup, tcp = false }) {
  const pc = createWeriftPeer({ iceLite: true, iceTcp: tcp, tcpPassive: tcp });
  const streams = [];
  pc.onTrack.subscribe((t) => streams.push(new ReceivedStream(t)));
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  const answer = (await pc.createAnswer()).sdp.replace(/a=setup:\w+/g, `a=setup:${setup}`);
  await pc.setLocalDescription({ type: 'answer', sdp: answer });
  await gathered(pc);
  return { pc, streams, transport: transportOf(pc) };
}

// Sends VP8 like a consumer would, with the router's payload types: its
// offer gives the "consumer" RTP parameters (its SSRCs, payload types, mid).
async function sendingStandIn({ tcp = false, seq = 65500 } = {}) {
  const pt = (mimeType) => routerCaps.codecs.find((c) => c.mimeType === mimeType).preferredPayloadType;
  const pc = createWeriftPeer({ iceLite: true, iceTcp: tcp, tcpPassive: tcp, transportCc: false,
    payloadTypes: { vp8: pt('video/VP8'), rtx: pt('video/rtx'), opus: pt('audio/opus') } });
  const out = new MediaStreamTrack({ kind: 'video' });
  const transceiver = pc.addTransceiver(out, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const offer = parseSdp(pc.localDescription.sdp).media[0];
  const consumer = { kind: 'video', rtpParameters: producerRtpParameters(offer, routerCaps) };
  const source = new Vp8Source(out, transceiver.sender, { seq });
  transceiver.sender.onPictureLossIndication.subscribe(() => source.requestKeyframe());
  return { pc, transceiver, consumer, source, transport: transportOf(pc) };
}

function bothConnected(a, b) {
  return waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected',
    'werift peers not connected', { timeoutMs: 6000, state: () => `A: ${weriftState(a)}; B: ${weriftState(b)}` });
}

// ---------------------------------------------------------------------------
// Parameters and SDP, checked by mediasoup's own ORTC code
// ---------------------------------------------------------------------------

describe('RTP parameters', () => {
  test('producer parameters from a werift VP8 offer: PTs, RTX, SSRCs, mid, extensions, feedback', async () => {
    const pub = new WeriftPublisher({ kind: 'video' });
    const offer = await pub.offer();
    const params = producerRtpParameters(offer, routerCaps);
    const mapping = ortc.getProducerRtpParametersMapping(params, routerCaps);
    ortc.validateRtpParameters(structuredClone(params));
    assert.equal(params.mid, offer.mid);
    assert.deepEqual(params.codecs.map((c) => [c.mimeType, c.payloadType]),
      [['video/VP8', WERIFT_VP8_PT], ['video/rtx', WERIFT_RTX_PT]]);
    assert.deepEqual(params.codecs[1].parameters, { apt: WERIFT_VP8_PT });
    assert.deepEqual(params.codecs[0].rtcpFeedback.map((f) => `${f.type} ${f.parameter}`.trim()).sort(),
      ['ccm fir', 'nack', 'nack pli', 'transport-cc']);
    const fid = offer.ssrcGroups.find((g) => g.semantics === 'FID');
    assert.deepEqual(params.encodings, [{ ssrc: fid.ssrcs[0], rtx: { ssrc: fid.ssrcs[1] } }]);
    assert.equal(params.encodings[0].ssrc, pub.sender.ssrc);
    assert.deepEqual(params.headerExtensions.map((e) => e.uri).sort(), [URI.absSendTime, URI.mid, URI.transportCc].sort());
    assert.ok(params.rtcp.cname);
    assert.equal(mapping.codecs[0].mappedPayloadType,
      routerCaps.codecs.find((c) => c.mimeType === 'video/VP8').preferredPayloadType);
    await pub.close();
  });

  test('producer parameters from a werift Opus offer', async () => {
    const pub = new WeriftPublisher({ kind: 'audio' });
    const params = producerRtpParameters(await pub.offer(), routerCaps);
    ortc.validateRtpParameters(params);
    ortc.getProducerRtpParametersMapping(params, routerCaps);
    assert.deepEqual(params.codecs.map((c) => [c.mimeType, c.payloadType, c.channels]), [['audio/opus', WERIFT_OPUS_PT, 2]]);
    assert.equal(params.encodings.length, 1);
    assert.equal(params.encodings[0].rtx, undefined);
    await pub.close();
  });

  test('werift capabilities give a consumer VP8 + RTX with nack/pli/fir; werift answers it with the router PTs', async () => {
    const caps = weriftRtpCapabilities(routerCaps);
    ortc.validateRtpCapabilities(caps);
    const pub = new WeriftPublisher({ kind: 'video' });
    const params = producerRtpParameters(await pub.offer(), routerCaps);
    await pub.close();
    const mapping = ortc.getProducerRtpParametersMapping(params, routerCaps);
    const consumable = ortc.getConsumableRtpParameters('video', params, routerCaps, mapping);
    const rtpParameters = ortc.getConsumerRtpParameters({
      consumableRtpParameters: consumable, remoteRtpCapabilities: caps, pipe: false, enableRtx: true });
    rtpParameters.mid = '0';
    const vp8 = rtpParameters.codecs[0];
    assert.equal(vp8.mimeType, 'video/VP8');
    assert.deepEqual(vp8.rtcpFeedback.map((f) => `${f.type} ${f.parameter}`.trim()), ['nack', 'nack pli', 'ccm fir']);
    assert.equal(rtpParameters.codecs[1].mimeType, 'video/rtx');
    assert.ok(rtpParameters.encodings[0].rtx, 'consumer has an RTX SSRC');
    assert.deepEqual(rtpParameters.headerExtensions.map((e) => e.uri).sort(), [URI.absSendTime, URI.mid].sort());

    // A transport that nobody answers: werift only parses it here.
    const transport = {
      iceParameters: { usernameFragment: 'sluiceufrag', password: 'sluicepasswordsluicepassword', iceLite: true },
      iceCandidates: [{ foundation: 'udpcandidate', priority: 1076302079, ip: LOOPBACK, address: LOOPBACK,
        protocol: 'udp', port: 9, type: 'host' }],
      dtlsParameters: { role: 'auto', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] },
    };
    const sub = new WeriftSubscriber();
    const dtls = await sub.accept(transport, [{ kind: 'video', rtpParameters }]);
    await sub.start();
    assert.match(sub.offerSdp, /^a=ice-lite\r$/m);
    assert.match(sub.offerSdp, /^a=setup:actpass\r$/m);
    const answer = parseSdp(sub.answerSdp).media[0];
    assert.equal(answer.mid, '0');
    assert.equal(answer.direction, 'recvonly');
    assert.equal(answer.setup, 'active', 'werift answers actpass as the DTLS client');
    assert.equal(dtls.role, 'client');
    assert.ok(dtls.fingerprints.length > 0);
    assert.deepEqual(answer.codecs.map((c) => c.payloadType), rtpParameters.codecs.map((c) => c.payloadType),
      'werift answers with the router payload types');
    assert.deepEqual(answer.codecs[0].rtcpFeedback.map((f) => `${f.type} ${f.parameter}`.trim()).sort(),
      ['ccm fir', 'nack', 'nack pli']);
    assert.equal(answer.codecs[1].parameters.apt, vp8.payloadType);
    for (const e of rtpParameters.headerExtensions) {
      assert.ok(answer.extmaps.some((a) => a.id === e.id && a.uri === e.uri), `werift kept extmap ${e.id} ${e.uri}`);
    }
    const receiver = sub.pc.getTransceivers()[0].receiver;
    assert.equal(sub.streams.length, 1, 'one remote track');
    assert.equal(sub.streams[0].track.ssrc, rtpParameters.encodings[0].ssrc);
    assert.equal(receiver.ssrcByRtx[rtpParameters.encodings[0].rtx.ssrc], rtpParameters.encodings[0].ssrc,
      'werift maps the RTX SSRC to the media SSRC');
    await sub.close();
  });

  test("a=setup:active in the offer: werift's answer is turned to passive and connect() gets role 'server'", async () => {
    const dtls = weriftDtlsParameters('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:passive\r\n' +
      'a=fingerprint:sha-256 AA:BB\r\n');
    assert.deepEqual(dtls, { role: 'server', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] });
    assert.equal(setupToRole('active'), 'client');
    assert.throws(() => setupToRole('actpass'));
  });

  test('mediasoup-side SDP: TCP candidates say tcptype passive; a candidate map can rewrite or drop', () => {
    const transport = {
      iceParameters: { usernameFragment: 'u', password: 'p' },
      iceCandidates: [
        { foundation: 'udpcandidate', priority: 1076302079, address: LOOPBACK, protocol: 'udp', port: 40000, type: 'host' },
        { foundation: 'tcpcandidate', priority: 1076276479, address: LOOPBACK, protocol: 'tcp', port: 40001,
          type: 'host', tcpType: 'passive' },
      ],
      dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }, { algorithm: 'sha-512', value: 'BB' }] },
    };
    const rtpParameters = { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2,
      parameters: { useinbandfec: 1 }, rtcpFeedback: [] }], headerExtensions: [], encodings: [{ ssrc: 1234 }],
    rtcp: { cname: 'x', reducedSize: true } };
    const sdp = mediasoupSideSdp({ transport, setup: 'actpass',
      media: [{ kind: 'audio', mid: '0', direction: 'sendonly', rtpParameters }] });
    assert.match(sdp, /^a=candidate:tcpcandidate 1 tcp 1076276479 127\.0\.0\.1 40001 typ host tcptype passive\r$/m);
    assert.match(sdp, /^a=rtpmap:100 opus\/48000\/2\r$/m);
    assert.match(sdp, /^a=fmtp:100 useinbandfec=1\r$/m);
    assert.match(sdp, /^a=fingerprint:sha-512 BB\r$/m);
    assert.match(sdp, /^a=ssrc:1234 cname:x\r$/m);
    const rewritten = parseSdp(mediasoupSideSdp({ transport, setup: 'passive',
      candidates: (c) => (c.protocol === 'udp' ? { ...c, port: 50000 } : null),
      media: [{ kind: 'audio', mid: '0', direction: 'recvonly', rtpParameters }] })).media[0];
    assert.deepEqual(rewritten.candidates.map((c) => [c.protocol, c.port]), [['udp', 50000]]);
    assert.equal(rewritten.ssrcs.length, 0, 'no a=ssrc for a receiving m-section');
    assert.equal(rewritten.iceLite, true);
  });

  test('relay classification: RTP dropped, RTCP/STUN/DTLS never', () => {
    assert.equal(isRtpPacket(Buffer.from('80600001000000000000000a', 'hex')), true); // PT 96
    assert.equal(isRtpPacket(Buffer.from('80e00001000000000000000a', 'hex')), true); // PT 96 + marker
    assert.equal(isRtpPacket(Buffer.from('80c80006000000000000000a', 'hex')), false); // SR
    assert.equal(isRtpPacket(Buffer.from('81cd0003000000000000000a', 'hex')), false); // NACK
    assert.equal(isRtpPacket(Buffer.from('000100002112a442000000000000', 'hex')), false); // STUN
    assert.equal(isRtpPacket(Buffer.from('16fefd000000000000000000', 'hex')), false); // DTLS
  });
});

// ---------------------------------------------------------------------------
// Media between werift and the ICE-lite stand-in, through the harness's SDP
// ---------------------------------------------------------------------------

describe('werift to an ICE-lite stand-in', () => {
  for (const [setup, tcp] of [['passive', false], ['active', false], ['passive', true]]) {
    test(`publish VP8 (answer a=setup:${setup}, ${tcp ? 'ICE-TCP' : 'UDP'}): frames arrive with content intact`, async () => {
      const pub = new WeriftPublisher({ kind: 'video', iceTcp: tcp });
      await pub.offer();
      const standIn = await receivingStandIn(pub.offerSdp, { setup, tcp });
      const candidates = tcp ? (c) => (c.protocol === 'tcp' ? c : null) : (c) => (c.protocol === 'udp' ? c : null);
      const rtpParameters = producerRtpParameters(pub.offerMedia, routerCaps);
      await pub.answer(standIn.transport, rtpParameters, { setup, candidates });
      assert.equal(pub.dtlsParameters(setup).role, setup === 'passive' ? 'client' : 'server');
      await bothConnected(pub.pc, standIn.pc);
      assert.equal(pub.pc.iceTransports[0].connection.nominated?.localCandidate.transport, tcp ? 'tcp' : 'udp');
      pub.startMedia();
      const stream = await waitFor(() => standIn.streams.find((s) => s.frames >= 20), '20 frames at the stand-in',
        { timeoutMs: 5000, state: () => `${standIn.streams[0]?.frames ?? 0} frames, ${pub.source.frames} sent` });
      const { pairs } = checkDelivered(stream.packets, pub.source, { ssrc: pub.sender.ssrc, pt: WERIFT_VP8_PT });
      assert.equal(pairs[0].src.seq, 1000, 'the first packet sent arrives first');
      assert.ok(stream.keyframes >= 1);
      await pub.close();
      await standIn.pc.close();
    });
  }

  test('publish Opus: 50 packets arrive', async () => {
    const pub = new WeriftPublisher({ kind: 'audio' });
    await pub.offer();
    const standIn = await receivingStandIn(pub.offerSdp, { setup: 'passive' });
    await pub.answer(standIn.transport, producerRtpParameters(pub.offerMedia, routerCaps),
      { setup: 'passive', candidates: (c) => (c.protocol === 'udp' ? c : null) });
    await bothConnected(pub.pc, standIn.pc);
    pub.startMedia();
    const stream = await waitFor(() => standIn.streams.find((s) => s.packets.length >= 50), '50 Opus packets',
      { timeoutMs: 4000, state: () => `${standIn.streams[0]?.packets.length ?? 0} received` });
    checkDelivered(stream.packets, pub.source, { ssrc: pub.sender.ssrc, pt: WERIFT_OPUS_PT }, { kind: 'audio' });
    await pub.close();
    await standIn.pc.close();
  });

  for (const [setup, tcp] of [['actpass', false], ['active', false], ['actpass', true]]) {
    test(`subscribe VP8 (offer a=setup:${setup}, ${tcp ? 'ICE-TCP' : 'UDP'}): werift answers, frames arrive`, async () => {
      const standIn = await sendingStandIn({ tcp });
      const sub = new WeriftSubscriber({ iceTcp: tcp });
      const protocol = tcp ? 'tcp' : 'udp';
      const dtls = await sub.accept(standIn.transport, [standIn.consumer],
        { setup, candidates: (c) => (c.protocol === protocol ? c : null) });
      await sub.start();
      assert.equal(dtls.role, setup === 'actpass' ? 'client' : 'server');
      await standIn.pc.setRemoteDescription({ type: 'answer', sdp: sub.answerSdp });
      await bothConnected(sub.pc, standIn.pc);
      assert.equal(sub.pc.iceTransports[0].connection.nominated?.localCandidate.transport, protocol);
      standIn.source.start();
      const stream = await waitFor(() => sub.stream('video')?.frames >= 20 && sub.stream('video'), '20 frames at werift',
        { timeoutMs: 5000, state: () => `${sub.stream('video')?.frames ?? 0} frames` });
      const { encodings, codecs } = standIn.consumer.rtpParameters;
      const wire = { ssrc: encodings[0].ssrc, pt: codecs[0].payloadType };
      assert.notEqual(wire.pt, WERIFT_VP8_PT, 'the router payload type, not werift\'s default');
      checkDelivered(stream.packets, standIn.source, wire);
      assert.deepEqual(stream.coverage().missing, [], 'no loss without the relay');
      await sub.close();
      await standIn.pc.close();
    });
  }

  test('subscribe through the lossy relay (5% RTP, toward werift): werift NACKs, RTX repairs, seqs complete', async (t) => {
    const standIn = await sendingStandIn({ seq: 1000 });
    const udp = standIn.transport.iceCandidates.find((c) => c.protocol === 'udp');
    const relay = await LossyUdpRelay.open({ target: udp, lossRate: 0.05, seed: 7 });
    const sub = new WeriftSubscriber();
    await sub.accept(standIn.transport, [standIn.consumer],
      { candidates: (c) => (c.protocol === 'udp' ? { ...c, address: LOOPBACK, port: relay.port } : null) });
    await sub.start();
    await standIn.pc.setRemoteDescription({ type: 'answer', sdp: sub.answerSdp });
    await bothConnected(sub.pc, standIn.pc);
    standIn.source.start();
    await waitFor(() => standIn.source.sent.length >= 400, '400 packets sent', { timeoutMs: 8000 });
    standIn.source.stop();
    const stream = sub.stream('video');
    await waitFor(() => stream.coverage().missing.length === 0 && stream.extSeqs.size >= 300,
      'werift missing sequence numbers', { timeoutMs: 2000,
        state: () => `missing ${stream.coverage().missing.join(',')}; dropped ${relay.stats.dropped}` }).catch(() => {});
    const cov = stream.coverage();
    t.diagnostic(`sent ${standIn.source.sent.length}, relay RTP toward werift ${relay.stats.rtpToPeer}, dropped ` +
      `${relay.stats.dropped}; werift NACKs ${sub.nacksSent} (${sub.nackedSeqs} seqs); resent ` +
      `${standIn.transceiver.sender.retransmittedPacketsSent}; missing ${cov.missing.length} of ${cov.expected}`);
    assert.ok(relay.stats.dropped >= 5, `relay dropped ${relay.stats.dropped} RTP packets`);
    assert.ok(sub.nacksSent > 0, 'werift sent NACKs');
    const retransmitted = standIn.transceiver.sender.retransmittedPacketsSent;
    assert.ok(retransmitted > 0, 'the stand-in resent on RTX');
    assert.ok(cov.missing.length <= Math.max(1, Math.floor(relay.stats.dropped / 5)),
      `werift misses ${cov.missing.length} of ${cov.expected} seqs after ${relay.stats.dropped} drops`);
    assert.ok(cov.received >= 390, `received ${cov.received} distinct seqs`);
    checkDelivered(stream.packets, standIn.source, { ssrc: standIn.consumer.rtpParameters.encodings[0].ssrc,
      pt: standIn.consumer.rtpParameters.codecs[0].payloadType }, { ordered: false });
    await sub.close();
    await standIn.pc.close();
  });
});
