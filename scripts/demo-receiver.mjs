// The demo's consumer endpoint: one UDP socket (RTP + RTCP muxed) that a consumer
// PlainTransport sends to. It plays a lossy link plus a NACK-capable receiver:
//   - a fixed-seed PRNG makes it ignore ~lossRate of the new media packets, as if the
//     network had lost them;
//   - sequence gaps are NACKed at once (RTCP generic NACK, RFC 4585 §6.2.1), and again
//     every retryMs up to maxNacks times while still missing;
//   - RTX packets (RFC 4588) whose original sequence number is missing count as repairs;
//   - every rrIntervalMs it sends a receiver report (with LSR/DLSR from the worker's last SR,
//     so the worker can measure the RTT).

import dgram from 'node:dgram';

// mulberry32: tiny, fixed seed, same loss pattern for the same packet order.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// RFC 3550 §5.1 header (with CSRCs, RFC 8285 extension, padding); null if not RTP v2.
export function parseRtp(buf) {
  if (buf.length < 12 || buf[0] >> 6 !== 2) return null;
  let offset = 12 + 4 * (buf[0] & 0x0f);
  if (buf[0] & 0x10) {
    if (buf.length < offset + 4) return null;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (buf[0] & 0x20) end -= buf[buf.length - 1];
  if (end < offset) return null;
  return { pt: buf[1] & 0x7f, seq: buf.readUInt16BE(2), ts: buf.readUInt32BE(4), ssrc: buf.readUInt32BE(8), payloadOffset: offset, payloadLength: end - offset };
}

// RFC 5761 §4: RTCP packet types 192-223 (with the marker bit) never clash with RTP PTs.
export function isRtcp(buf) {
  return buf.length >= 8 && buf[1] >= 192 && buf[1] <= 223;
}

// Calls fn(pt, count, offset, length) for each packet of an RTCP compound.
export function forEachRtcp(buf, fn) {
  for (let offset = 0; offset + 4 <= buf.length;) {
    const length = (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > buf.length) return;
    fn(buf[offset + 1], buf[offset] & 0x1f, offset, length);
    offset += length;
  }
}

// Generic NACK (PT 205, FMT 1): PID + BLP entries covering the given 16-bit seqs.
export function buildNack(senderSsrc, mediaSsrc, seqs) {
  const entries = [];
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    const last = entries.at(-1);
    const d = last ? seq - last.ext : -1;
    if (last && d >= 1 && d <= 16) last.blp |= 1 << (d - 1);
    else entries.push({ ext: seq, blp: 0 });
  }
  const buf = Buffer.alloc(12 + 4 * entries.length);
  buf[0] = 0x81;
  buf[1] = 205;
  buf.writeUInt16BE(2 + entries.length, 2);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  entries.forEach((e, i) => {
    buf.writeUInt16BE(e.ext & 0xffff, 12 + 4 * i);
    buf.writeUInt16BE(e.blp, 14 + 4 * i);
  });
  return buf;
}

export class DemoReceiver {
  // media: { pt, rtxPt, ssrc, rtxSsrc } as the consumer sends them.
  constructor({ name, media, lossRate, seed, retryMs = 100, maxNacks = 4, rrIntervalMs = 500 }) {
    this.name = name;
    this.media = media;
    this.lossRate = lossRate;
    this.random = prng(seed);
    this.retryMs = retryMs;
    this.maxNacks = maxNacks;
    this.rrIntervalMs = rrIntervalMs;
    this.ssrc = (0x5100d000 + seed) >>> 0; // our RTCP sender SSRC: any value will do
    this.peer = null; // the consumer transport's tuple, learnt from its first datagram
    this.highest = null; // highest extended seq seen (media)
    this.base = null;
    this.missing = new Map(); // extended seq -> { nacks, lastNackAt }
    this.lastSr = null; // { lsr, at }
    this.prevExpected = 0;
    this.prevReceived = 0;
    this.stats = { packets: 0, bytes: 0, dropped: 0, nacked: 0, nackPackets: 0, rtx: 0, repaired: 0, recovered: 0, other: 0, rtcp: 0 };
  }

  async bind(address = '127.0.0.1') {
    this.socket = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, address, resolve);
    });
    this.socket.setRecvBufferSize(1 << 20);
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.retryTimer = setInterval(() => this.retryNacks(), Math.max(20, this.retryMs / 2));
    this.rrTimer = setInterval(() => this.sendRr(), this.rrIntervalMs);
    return this.socket.address().port;
  }

  close() {
    clearInterval(this.retryTimer);
    clearInterval(this.rrTimer);
    this.socket?.close();
  }

  send(buf) {
    if (this.peer) this.socket.send(buf, this.peer.port, this.peer.address);
  }

  // 16-bit seq -> extended, nearest to the highest seen.
  extend(seq) {
    if (this.highest === null) return seq + 0x10000; // room below for reordering
    const h16 = this.highest & 0xffff;
    const delta = ((seq - h16 + 0x8000) & 0xffff) - 0x8000;
    return this.highest + delta;
  }

  onMessage(msg, rinfo) {
    this.peer ??= { address: rinfo.address, port: rinfo.port };
    if (isRtcp(msg)) {
      this.stats.rtcp++;
      forEachRtcp(msg, (pt, _count, offset) => {
        if (pt === 200 && msg.length >= offset + 16) { // SR: keep the middle of its NTP time
          const lsr = ((msg.readUInt32BE(offset + 8) & 0xffff) << 16 | msg.readUInt32BE(offset + 12) >>> 16) >>> 0;
          this.lastSr = { lsr, at: performance.now() };
        }
      });
      return;
    }
    const rtp = parseRtp(msg);
    if (!rtp) return;
    const { media } = this;
    if (rtp.pt === media.rtxPt && rtp.ssrc === media.rtxSsrc) {
      if (rtp.payloadLength < 2) return; // padding-only probe
      this.stats.rtx++;
      this.stats.bytes += msg.length;
      const ext = this.extend(msg.readUInt16BE(rtp.payloadOffset));
      if (this.missing.delete(ext)) this.stats.repaired++;
      return;
    }
    if (rtp.pt !== media.pt || rtp.ssrc !== media.ssrc) {
      this.stats.other++;
      return;
    }
    const ext = this.extend(rtp.seq);
    if (this.highest !== null && ext <= this.highest) { // late or resent, not by RTX
      if (this.missing.delete(ext)) this.stats.recovered++;
      this.stats.packets++;
      this.stats.bytes += msg.length;
      return;
    }
    // The lossy step: a new packet (never the first) vanishes as if lost on the way.
    if (this.highest !== null && this.random() < this.lossRate) {
      this.stats.dropped++;
      return;
    }
    this.stats.packets++;
    this.stats.bytes += msg.length;
    if (this.highest === null) {
      this.base = ext;
    } else if (ext > this.highest + 1) {
      const now = performance.now();
      const gap = [];
      for (let s = this.highest + 1; s < ext; s++) {
        this.missing.set(s, { nacks: 1, lastNackAt: now });
        gap.push(s);
      }
      this.stats.nacked += gap.length;
      this.sendNack(gap);
    }
    this.highest = ext;
  }

  sendNack(exts) {
    if (!exts.length) return;
    this.stats.nackPackets++;
    this.send(buildNack(this.ssrc, this.media.ssrc, exts.map((e) => e & 0xffff)));
  }

  retryNacks() {
    const now = performance.now();
    const again = [];
    for (const [ext, entry] of this.missing) {
      if (entry.nacks < this.maxNacks && now - entry.lastNackAt >= this.retryMs) {
        entry.nacks++;
        entry.lastNackAt = now;
        again.push(ext);
      }
    }
    this.sendNack(again);
  }

  // A receiver report with one block about the consumer's media SSRC (RFC 3550 §6.4.2).
  sendRr() {
    if (this.highest === null) return;
    const expected = this.highest - this.base + 1;
    const received = this.stats.packets;
    const lost = Math.max(0, Math.min(0x7fffff, expected - received));
    const expectedInterval = expected - this.prevExpected;
    const lostInterval = expectedInterval - (received - this.prevReceived);
    const fraction = expectedInterval > 0 && lostInterval > 0 ? Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)) : 0;
    this.prevExpected = expected;
    this.prevReceived = received;
    const buf = Buffer.alloc(32);
    buf[0] = 0x81;
    buf[1] = 201;
    buf.writeUInt16BE(7, 2);
    buf.writeUInt32BE(this.ssrc, 4);
    buf.writeUInt32BE(this.media.ssrc >>> 0, 8);
    buf.writeUInt32BE(((fraction << 24) | lost) >>> 0, 12);
    buf.writeUInt32BE(this.highest % 0x100000000, 16);
    buf.writeUInt32BE(0, 20); // jitter: not measured
    if (this.lastSr) {
      buf.writeUInt32BE(this.lastSr.lsr, 24);
      buf.writeUInt32BE(Math.round(((performance.now() - this.lastSr.at) / 1000) * 65536) >>> 0, 28);
    }
    this.send(buf);
  }
}

// One consumer on its own PlainTransport, connected to a new DemoReceiver (VP8 + RTX
// required): what the demo, the soak and the chaos check each open N times.
// Returns { name, transport, consumer, receiver, media }.
export async function openReceivingConsumer(router, producer, { name, lossRate, seed,
  listenInfo = { protocol: 'udp', ip: '127.0.0.1' } }) {
  const transport = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
  const consumer = await transport.consume({
    producerId: producer.id,
    rtpCapabilities: { codecs: router.rtpCapabilities.codecs, headerExtensions: [] },
  });
  const { codecs, encodings } = consumer.rtpParameters;
  const vp8 = codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
  const rtx = codecs.find((c) => c.mimeType.toLowerCase() === 'video/rtx' && c.parameters?.apt === vp8?.payloadType);
  if (!vp8 || !rtx || !encodings[0]?.rtx?.ssrc) throw new Error(`consumer without VP8 + RTX: ${JSON.stringify(consumer.rtpParameters)}`);
  const media = { pt: vp8.payloadType, rtxPt: rtx.payloadType, ssrc: encodings[0].ssrc, rtxSsrc: encodings[0].rtx.ssrc };
  const receiver = new DemoReceiver({ name, media, lossRate, seed });
  const port = await receiver.bind();
  await transport.connect({ ip: '127.0.0.1', port });
  return { name, transport, consumer, receiver, media };
}
