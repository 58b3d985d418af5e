// Harness for the WebRTC suites: a third-party WebRTC stack (werift, pure
// TypeScript) connected to mediasoup WebRtcTransports created through the
// unmodified mediasoup Node library. The library hands out ICE, DTLS and RTP
// parameters as objects; a browser-side client would turn them into SDP for
// its RTCPeerConnection, and so does this file:
//
//   publish:   werift offers (sendonly, a=setup:actpass); the answer is built
//              here from the transport's parameters and the producer's RTP
//              parameters, which are derived from werift's offer.
//   subscribe: the offer is built here from the transport's parameters and the
//              consumer's RTP parameters; werift answers (recvonly).
//
// In both the mediasoup side is ICE-lite (controlled) and werift the full,
// controlling agent. Whichever side the SDP makes the DTLS client, the role
// given to transport.connect() is werift's, read back from werift's own SDP.
//
// Everything stays on 127.0.0.1: werift gathers host candidates from the
// machine's interfaces, binds them all to 127.0.0.1 and pairs only loopback
// candidates; no STUN server.
//
// The SDP and RTP-parameter code lives in webrtc-sdp.mjs, the lossy relay in
// lossy-relay.mjs; both are re-exported here.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack,
  useNACK, usePLI, useFIR, useSdesMid, useAbsSendTime, useTransportWideCC,
} from 'werift';
import { buildRtp, vp8FramePayloads, vp8IsKeyFrame, opusPayload, seqDiff, u16, u32 } from './rtp.mjs';
import {
  LOOPBACK, WERIFT_VP8_PT, WERIFT_RTX_PT, WERIFT_OPUS_PT, parseSdp, weriftDtlsParameters, mediasoupSideSdp,
  producerRtpParameters, weriftRtpCapabilities,
} from './webrtc-sdp.mjs';
import { closeRelays } from './lossy-relay.mjs';

export * from './webrtc-sdp.mjs';
export * from './lossy-relay.mjs';

// ---------------------------------------------------------------------------
// Waits
// ---------------------------------------------------------------------------

// Polls `predicate` until it returns a truthy value (resolved with it). On
// timeout the error reads "<what> after N s; <state()>", e.g.
// "no ICE completion after 5 s; iceState=new". A predicate may throw to fail
// early (e.g. on dtlsState 'failed').
export async function waitFor(predicate, what, { timeoutMs = 5000, state = () => '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) {
      const detail = state();
      throw new Error(`${what} after ${timeoutMs / 1000} s${detail ? `; ${detail}` : ''}`);
    }
    await sleep(10);
  }
}

// Rejects after `timeoutMs` with "<what> after N s" if `promise` has not settled.
export async function withTimeout(promise, what, timeoutMs = 5000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// werift peers
// ---------------------------------------------------------------------------

const openClosables = new Set();

function remember(closable) {
  openClosables.add(closable);
  return closable;
}

// Closes every peer, media source and relay the harness opened.
export async function closeWebRtcPeers() {
  closeRelays();
  const all = [...openClosables];
  openClosables.clear();
  for (const c of all) {
    try {
      await withTimeout(Promise.resolve(c.close()), 'closing a werift peer', 3000);
    } catch {
      // a peer that does not close in time is left to process exit
    }
  }
}

function weriftCodecs({ transportCc, payloadTypes = {} }) {
  const { vp8 = WERIFT_VP8_PT, rtx = WERIFT_RTX_PT, opus = WERIFT_OPUS_PT } = payloadTypes;
  const videoFb = [useNACK(), usePLI(), useFIR()];
  if (transportCc) videoFb.push({ type: 'transport-cc' });
  return {
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: vp8, rtcpFeedback: videoFb }),
      new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: rtx, parameters: `apt=${vp8}` }),
    ],
    audio: [
      new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: opus }),
    ],
  };
}

// A werift RTCPeerConnection that stays on the loopback interface.
//   iceTcp:  also gather ICE-TCP candidates (active only: werift dials out)
//   iceLite: advertise ICE-lite (used for a werift stand-in of the worker)
//   transportCc: offer/accept transport-wide congestion control
//   payloadTypes: { vp8, rtx, opus } to offer instead of werift's defaults
export function createWeriftPeer({ iceTcp = false, iceLite = false, tcpPassive = false, transportCc = true,
  payloadTypes } = {}) {
  const extensions = [useSdesMid(), useAbsSendTime()];
  if (transportCc) extensions.push(useTransportWideCC());
  const pc = new RTCPeerConnection({
    codecs: weriftCodecs({ transportCc, payloadTypes }),
    headerExtensions: { video: extensions, audio: [useSdesMid(), useAbsSendTime()] },
    iceServers: [],
    iceUseIpv6: false,
    iceUseTcp: iceTcp,
    iceTcpPassive: tcpPassive,
    iceLite,
    // getHostAddresses() skips loopback: add it, and bind every host socket
    // to it so no candidate ever sends from or to another interface.
    iceAdditionalHostAddresses: [LOOPBACK],
    iceInterfaceAddresses: { udp4: LOOPBACK },
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === LOOPBACK && pair.remoteCandidate.host === LOOPBACK,
  });
  return remember(pc);
}

// werift's transport states in one line, for timeout messages.
export function weriftState(pc) {
  const dtls = pc.dtlsTransports.map((t) => t.state).join(',') || 'none';
  return `werift ice=${pc.iceConnectionState} dtls=${dtls} connection=${pc.connectionState}`;
}

export function transportState(transport) {
  return `iceState=${transport.iceState} dtlsState=${transport.dtlsState}`;
}

// Waits until both ends agree the connection is up: the transport reports ICE
// 'connected'/'completed' and DTLS 'connected', werift's DTLS is connected.
export async function waitConnected(pc, transport, timeoutMs = 5000) {
  const state = () => `${transportState(transport)}; ${weriftState(pc)}`;
  const failed = () => {
    if (transport.dtlsState === 'failed') throw new Error(`transport DTLS failed; ${state()}`);
    if (pc.connectionState === 'failed') throw new Error(`werift connection failed; ${state()}`);
  };
  await waitFor(() => {
    failed();
    return ['connected', 'completed'].includes(transport.iceState);
  }, 'no ICE completion', { timeoutMs, state });
  await waitFor(() => {
    failed();
    return transport.dtlsState === 'connected' && pc.dtlsTransports.some((t) => t.state === 'connected');
  }, 'no DTLS connection', { timeoutMs, state });
}

// ---------------------------------------------------------------------------
// Media sources: synthetic RTP written to a werift track
// ---------------------------------------------------------------------------

// VP8 at `fps` with a key frame every `keyframeInterval` frames and on PLI.
// Each frame is `packetsPerFrame` packets (key frames two more) with a VP8
// payload descriptor carrying a 15-bit picture id (RFC 7741 §4.2). Records
// what it handed to werift; werift rewrites SSRC and payload type only (its
// sequence number offset starts at 0), so `sent` seqs are the wire seqs.
export class Vp8Source {
  constructor(trackOut, sender, { fps = 30, keyframeInterval = 30, packetsPerFrame = 3, size = 300,
    seq = 1000, ts = 90000 } = {}) {
    Object.assign(this, { track: trackOut, sender, fps, keyframeInterval, packetsPerFrame, size });
    this.seq = u16(seq);
    this.ts = u32(ts);
    this.frames = 0;
    this.keyframes = 0;
    this.keyframeRequested = true;
    this.sent = []; // { seq, ts, marker, payload, keyframe }
    this.timer = null;
    remember(this);
  }

  canSend() {
    return this.sender.dtlsTransport?.state === 'connected';
  }

  start() {
    this.timer = setInterval(() => this.tick(), 1000 / this.fps);
    return this;
  }

  requestKeyframe() {
    this.keyframeRequested = true;
  }

  tick() {
    if (!this.canSend()) return;
    const keyframe = this.keyframeRequested || this.frames % this.keyframeInterval === 0;
    this.keyframeRequested = false;
    const payloads = vp8FramePayloads({
      keyframe, packets: this.packetsPerFrame + (keyframe ? 2 : 0), size: this.size, fill: this.frames,
      descriptor: { pictureId: this.frames & 0x7fff },
    });
    payloads.forEach((payload, i) => {
      const marker = i === payloads.length - 1;
      this.track.writeRtp(buildRtp({ pt: WERIFT_VP8_PT, seq: this.seq, ts: this.ts, ssrc: 1, marker, payload }));
      this.sent.push({ seq: this.seq, ts: this.ts, marker, payload, keyframe: keyframe && i === 0 });
      this.seq = u16(this.seq + 1);
    });
    this.frames++;
    if (keyframe) this.keyframes++;
    this.ts = u32(this.ts + 90000 / this.fps);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  close() {
    this.stop();
  }
}

// Opus-like 20 ms packets (a TOC byte and a pattern), 960 ticks at 48 kHz.
export class OpusSource extends Vp8Source {
  constructor(trackOut, sender, { seq = 5000, ts = 48000, size = 80 } = {}) {
    super(trackOut, sender, { fps: 50, seq, ts, size });
  }

  tick() {
    if (!this.canSend()) return;
    const payload = opusPayload({ size: this.size, fill: this.frames });
    const marker = this.frames === 0;
    this.track.writeRtp(buildRtp({ pt: WERIFT_OPUS_PT, seq: this.seq, ts: this.ts, ssrc: 1, marker, payload }));
    this.sent.push({ seq: this.seq, ts: this.ts, marker, payload, keyframe: false });
    this.seq = u16(this.seq + 1);
    this.frames++;
    this.ts = u32(this.ts + 960);
  }
}

// ---------------------------------------------------------------------------
// Receiving: what arrives on a werift remote track (after SRTP, after RTX
// unwrapping, so retransmissions show up with their original seq)
// ---------------------------------------------------------------------------

export class ReceivedStream {
  constructor(remoteTrack) {
    this.track = remoteTrack;
    this.kind = remoteTrack.kind;
    this.packets = []; // { seq, ext, ts, marker, pt, ssrc, payload, at }
    this.extSeqs = new Set();
    this.lastSeq = undefined;
    this.lastExt = undefined;
    this.frameTs = new Set(); // timestamps whose marker packet arrived
    this.keyframes = 0;
    remoteTrack.onReceiveRtp.subscribe((rtp) => this.onRtp(rtp));
  }

  onRtp(rtp) {
    const h = rtp.header;
    // Unwrap to an extended seq relative to the previous packet (serial
    // arithmetic on 16 bits, RFC 1982), so coverage survives a wrap.
    const ext = this.lastSeq === undefined
      ? h.sequenceNumber + 0x10000
      : this.lastExt + seqDiff(this.lastSeq, h.sequenceNumber);
    if (this.lastExt === undefined || ext > this.lastExt) {
      this.lastExt = ext;
      this.lastSeq = h.sequenceNumber;
    }
    const payload = Buffer.from(rtp.payload);
    this.packets.push({ seq: h.sequenceNumber, ext, ts: h.timestamp, marker: h.marker, pt: h.payloadType,
      ssrc: h.ssrc, payload, at: Date.now() });
    this.extSeqs.add(ext);
    if (h.marker) this.frameTs.add(h.timestamp);
    if (this.kind === 'video' && vp8IsKeyFrame(payload)) this.keyframes++;
  }

  get frames() {
    return this.frameTs.size;
  }

  // Sequence numbers between the first and last received that never arrived.
  coverage() {
    if (this.extSeqs.size === 0) return { first: undefined, last: undefined, expected: 0, received: 0, missing: [] };
    const exts = [...this.extSeqs];
    const first = Math.min(...exts);
    const last = Math.max(...exts);
    const missing = [];
    for (let e = first; e <= last; ++e) if (!this.extSeqs.has(e)) missing.push(u16(e));
    return { first: u16(first), last: u16(last), expected: last - first + 1, received: this.extSeqs.size, missing };
  }
}

// RFC 7741 §4.2 payload descriptor length:
//   |X|R|N|S|R| PID |  then with X: |I|L|T|K| RSV |, I: 7- or 15-bit picture
//   id (M bit), L: TL0PICIDX, T or K: |TID|Y| KEYIDX|.
export function vp8DescriptorLength(payload) {
  let off = 1;
  if (payload[0] & 0x80) {
    const ext = payload[1];
    off = 2;
    if (ext & 0x80) off += (payload[off] & 0x80) ? 2 : 1;
    if (ext & 0x40) off += 1;
    if (ext & 0x30) off += 1;
  }
  return off;
}

export function vp8PictureId(payload) {
  if (!(payload[0] & 0x80) || !(payload[1] & 0x80)) return undefined;
  return (payload[2] & 0x80) ? ((payload[2] & 0x7f) << 8) | payload[3] : payload[2] & 0x7f;
}

// What identifies a packet's content end to end: the VP8 frame bytes after
// the payload descriptor (a forwarder may rewrite picture ids), or the whole
// Opus payload. Every packet a source writes has a distinct one.
function contentKey(kind, payload) {
  return (kind === 'video' ? payload.subarray(vp8DescriptorLength(payload)) : payload).toString('hex');
}

// Checks what a receiver got against what a source wrote. `received` items
// carry { seq, ts, ssrc, pt, marker, payload } (a ReceivedStream's packets or
// a UdpPeer's parsed RTP); `wire` is { ssrc, pt } the receiver should see.
// Each packet must carry content the source sent, with the same marker, at a
// constant seq and timestamp offset; with `ordered`, in send order. Returns
// { pairs, seqOffset, tsOffset } where pairs[i] = { out, src }.
export function checkDelivered(received, source, wire, { kind = 'video', ordered = true } = {}) {
  if (received.length === 0) throw new Error('no packets received');
  const byContent = new Map(source.sent.map((r) => [contentKey(kind, r.payload), r]));
  const pairs = received.map((out) => {
    const src = byContent.get(contentKey(kind, out.payload));
    if (!src) {
      throw new Error(`received seq ${out.seq} carries content the source never sent ` +
        `(${out.payload.length} bytes, starts ${out.payload.subarray(0, 12).toString('hex')})`);
    }
    return { out, src };
  });
  const seqOffset = u16(pairs[0].out.seq - pairs[0].src.seq);
  const tsOffset = u32(pairs[0].out.ts - pairs[0].src.ts);
  pairs.forEach(({ out, src }, i) => {
    const at = `packet ${i} (sent seq ${src.seq}, received seq ${out.seq})`;
    const fail = (what) => { throw new Error(`${at}: ${what}`); };
    if (out.ssrc !== wire.ssrc) fail(`SSRC ${out.ssrc}, expected ${wire.ssrc}`);
    if (out.pt !== wire.pt) fail(`payload type ${out.pt}, expected ${wire.pt}`);
    if (out.marker !== src.marker) fail(`marker ${out.marker}, sent ${src.marker}`);
    if (u16(out.seq - src.seq) !== seqOffset) fail(`seq offset ${u16(out.seq - src.seq)}, first packet had ${seqOffset}`);
    if (u32(out.ts - src.ts) !== tsOffset) fail(`timestamp offset ${u32(out.ts - src.ts)}, first packet had ${tsOffset}`);
    if (ordered && i > 0 && seqDiff(pairs[i - 1].src.seq, src.seq) <= 0) fail('arrived out of send order');
  });
  return { pairs, seqOffset, tsOffset };
}

// ---------------------------------------------------------------------------
// Publisher and subscriber: werift peers driven step by step, so that the
// same code talks to a mediasoup WebRtcTransport or to any other ICE-lite
// endpoint described by { iceParameters, iceCandidates, dtlsParameters }.
// ---------------------------------------------------------------------------

export class WeriftPublisher {
  // kind: 'video' (VP8 + RTX) or 'audio' (Opus).
  constructor({ kind = 'video', iceTcp = false, transportCc = true } = {}) {
    this.kind = kind;
    this.pc = createWeriftPeer({ iceTcp, transportCc });
    this.track = new MediaStreamTrack({ kind });
    this.transceiver = this.pc.addTransceiver(this.track, { direction: 'sendonly' });
    this.sender = this.transceiver.sender;
    this.plis = 0;
    this.sender.onPictureLossIndication.subscribe(() => {
      this.plis++;
      this.source?.requestKeyframe();
    });
  }

  // Creates and applies werift's offer; returns its parsed m-section.
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.offerSdp = this.pc.localDescription.sdp;
    this.offerMedia = parseSdp(this.offerSdp).media[0];
    return this.offerMedia;
  }

  // The dtlsParameters for transport.connect() once the answer carries
  // `setup` (the mediasoup side's a=setup): werift offered actpass, so
  // 'passive' makes werift the DTLS client and 'active' the server.
  dtlsParameters(setup) {
    if (setup !== 'active' && setup !== 'passive') throw new Error(`an answer cannot say a=setup:${setup}`);
    const fingerprints = this.offerMedia.fingerprints.map((f) => ({ ...f }));
    return { role: setup === 'passive' ? 'client' : 'server', fingerprints };
  }

  // Answers werift's offer on behalf of `transport` with `rtpParameters`
  // (the producer's) and a=setup:`setup`.
  async answer(transport, rtpParameters, { setup = 'passive', candidates } = {}) {
    this.answerSdp = mediasoupSideSdp({
      transport, setup, candidates,
      media: [{ kind: this.kind, mid: this.offerMedia.mid, direction: 'recvonly', rtpParameters }],
    });
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this.answerSdp });
  }

  startMedia(options = {}) {
    this.source = this.kind === 'video'
      ? new Vp8Source(this.track, this.sender, options)
      : new OpusSource(this.track, this.sender, options);
    return this.source.start();
  }

  // werift's sender-side counters: NACKs received and packets resent on RTX.
  senderStats() {
    return {
      nacksReceived: this.sender.nackCount ?? 0,
      retransmitted: this.sender.retransmittedPacketsSent ?? 0,
      plis: this.plis,
    };
  }

  async close() {
    this.source?.stop();
    await this.pc.close();
  }
}

export class WeriftSubscriber {
  constructor({ iceTcp = false, transportCc = false } = {}) {
    this.pc = createWeriftPeer({ iceTcp, transportCc });
    this.streams = []; // ReceivedStream per remote track
    this.nacksSent = 0;
    this.nackedSeqs = 0;
    this.pc.onTrack.subscribe((t) => this.streams.push(new ReceivedStream(t)));
  }

  // Sets the mediasoup side's offer (sendonly, one m-section per consumer) and
  // creates werift's answer, not applied yet (see start()). setup is the
  // offer's a=setup: 'actpass' lets werift choose (it takes 'active', the
  // DTLS client); 'active' makes the mediasoup side the client, so werift's
  // answer is turned to a=setup:passive (werift otherwise answers 'active'
  // whatever the offer says). Returns the dtlsParameters for
  // transport.connect(), read from that answer.
  async accept(transport, consumers, { setup = 'actpass', candidates } = {}) {
    this.offerSdp = mediasoupSideSdp({
      transport, setup, candidates,
      media: consumers.map((c) => ({
        kind: c.kind, mid: c.rtpParameters.mid, direction: 'sendonly', rtpParameters: c.rtpParameters,
      })),
    });
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this.offerSdp });
    let answer = (await this.pc.createAnswer()).sdp;
    if (setup === 'active') answer = answer.replace(/a=setup:\w+/g, 'a=setup:passive');
    if (setup === 'passive') answer = answer.replace(/a=setup:\w+/g, 'a=setup:active');
    this.pendingAnswer = answer;
    return weriftDtlsParameters(answer);
  }

  // Applies the answer: werift starts ICE (and, as DTLS client, the
  // handshake). Called after transport.connect() so the worker already knows
  // the fingerprint when the first ClientHello arrives.
  async start() {
    await this.pc.setLocalDescription({ type: 'answer', sdp: this.pendingAnswer });
    this.answerSdp = this.pc.localDescription.sdp;
    for (const t of this.pc.getTransceivers()) {
      t.receiver.onPacketLost.subscribe((nack) => {
        this.nacksSent++;
        this.nackedSeqs += nack.lost.length;
      });
    }
  }

  stream(kind) {
    return this.streams.find((s) => s.kind === kind);
  }

  async close() {
    await this.pc.close();
  }
}

// ---------------------------------------------------------------------------
// The mediasoup flows
// ---------------------------------------------------------------------------

const onlyTcp = (transport) => transport.iceCandidates.every((c) => c.protocol === 'tcp');

// A werift peer publishing `kind` on `transport` (a WebRtcTransport of
// `router`): offer → producer RTP parameters → connect → produce → answer,
// then waits for ICE + DTLS and starts the media source.
//   setup: the mediasoup side's a=setup ('passive': werift is the DTLS client)
//   iceTcp: gather ICE-TCP (default: when the transport has only TCP candidates)
export async function publish(router, transport, { kind = 'video', setup = 'passive', candidates,
  iceTcp = onlyTcp(transport), transportCc = true, media = {}, timeoutMs = 5000 } = {}) {
  const pub = remember(new WeriftPublisher({ kind, iceTcp, transportCc }));
  pub.transport = transport;
  const offerMedia = await pub.offer();
  const rtpParameters = producerRtpParameters(offerMedia, router.rtpCapabilities);
  await transport.connect({ dtlsParameters: pub.dtlsParameters(setup) });
  pub.producer = await transport.produce({ kind, rtpParameters });
  pub.rtpParameters = rtpParameters;
  await pub.answer(transport, rtpParameters, { setup, candidates });
  await waitConnected(pub.pc, transport, timeoutMs);
  pub.startMedia(media);
  return pub;
}

// A werift peer receiving `producer` on `transport`: consume (paused) with
// werift's capabilities → offer → werift's answer → connect with werift's
// role and fingerprint → apply the answer → wait for ICE + DTLS → resume.
//   setup: the offer's a=setup ('actpass': werift picks 'active')
export async function subscribe(router, transport, producer, { setup = 'actpass', candidates,
  iceTcp = onlyTcp(transport), transportCc = false, timeoutMs = 5000 } = {}) {
  const sub = remember(new WeriftSubscriber({ iceTcp, transportCc }));
  sub.transport = transport;
  const rtpCapabilities = weriftRtpCapabilities(router.rtpCapabilities, { transportCc });
  sub.consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
  const dtlsParameters = await sub.accept(transport, [sub.consumer], { setup, candidates });
  await transport.connect({ dtlsParameters });
  await sub.start();
  await waitConnected(sub.pc, transport, timeoutMs);
  await sub.consumer.resume();
  return sub;
}

// The consumer's outbound stats entry (mediasoup lists the producer's
// inbound stream too once it has one).
export async function consumerSendStats(consumer) {
  const stats = await consumer.getStats();
  return stats.find((s) => s.type === 'outbound-rtp') ?? stats[0];
}
