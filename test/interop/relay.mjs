// A lossy UDP relay between a media source (the worker's consumer PlainTransport, or in
// --direct mode the GStreamer sender) and the GStreamer receiver.
//
//   source ──(RTP+RTCP muxed)──► [upstream socket]  relay  [downstream socket] ──► receiver
//                                                                   RTP  → receiver rtp port
//                                                                   RTCP → receiver rtcp port
//   source ◄──── RTCP (RR, NACK, PLI...) ──────────── relay ◄────── receiver rtcp socket
//
// It drops a fraction of the media packets going downstream (the media payload type and SSRC
// only; never RTX, never RTCP, never a packet upstream) with a fixed-seed PRNG, so a run is
// reproducible for a given packet order. Two packets are never dropped, because no NACK-based
// receiver could notice their loss (RFC 4585 NACKs name a gap, and a gap needs a later packet):
//   - the first media packet (nothing before it tells the receiver the stream started earlier);
//   - packets of the final frame (RTP timestamp >= protectFromTsDelta after the first), as no
//     later packet would reveal a loss there.
// Everything else it sees is counted: RTCP by type and direction, the sequence numbers NACKed,
// RTX packets by original sequence number, so the test can say which drops were repaired.

import dgram from 'node:dgram';

const RTCP_NAMES = { 200: 'SR', 201: 'RR', 202: 'SDES', 203: 'BYE', 204: 'APP', 207: 'XR' };
const RTPFB_NAMES = { 1: 'NACK', 3: 'TMMBR', 4: 'TMMBN', 15: 'TWCC' };
const PSFB_NAMES = { 1: 'PLI', 2: 'SLI', 3: 'RPSI', 4: 'FIR', 15: 'AFB' };

// mulberry32: a tiny PRNG with a fixed seed, so the loss pattern is the same every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// RFC 5761 §4: RTCP packet types 192-223 share no value with RTP payload types once the
// marker bit is folded in, so the second byte tells them apart.
export function isRtcp(buf) {
  return buf.length >= 8 && buf[1] >= 192 && buf[1] <= 223;
}

// RFC 3550 §5.1 fixed header, CSRCs, RFC 8285 extension; null when not an RTP v2 packet.
export function parseRtp(buf) {
  if (buf.length < 12 || buf[0] >> 6 !== 2) return null;
  const csrcCount = buf[0] & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (buf[0] & 0x10) {
    if (buf.length < offset + 4) return null;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (buf[0] & 0x20) end -= buf[buf.length - 1];
  if (end < offset) return null;
  return {
    marker: (buf[1] & 0x80) !== 0,
    pt: buf[1] & 0x7f,
    seq: buf.readUInt16BE(2),
    ts: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payloadOffset: offset,
    payloadLength: end - offset,
  };
}

// Walks an RTCP compound packet (RFC 3550 §6.1) and calls fn(name, buf, offset, length).
function forEachRtcp(buf, fn) {
  let offset = 0;
  while (offset + 4 <= buf.length) {
    const count = buf[offset] & 0x1f;
    const type = buf[offset + 1];
    const length = (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > buf.length) {
      fn('truncated', buf, offset, buf.length - offset);
      return;
    }
    let name = RTCP_NAMES[type];
    if (type === 205) name = RTPFB_NAMES[count] ?? `RTPFB${count}`;
    else if (type === 206) name = PSFB_NAMES[count] ?? `PSFB${count}`;
    fn(name ?? `PT${type}`, buf, offset, length);
    offset += length;
  }
}

// min / median / max of a list of milliseconds, rounded.
function spread(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { min: at(0), median: at(0.5), max: at(1) };
}

function bump(map, key, by = 1) {
  map[key] = (map[key] ?? 0) + by;
}

export class Relay {
  // media: { pt, ssrc, rtxPt, rtxSsrc } of the stream as it leaves the source.
  // lossRate: fraction of media packets dropped. seed: PRNG seed.
  // protectFromTsDelta: RTP timestamp distance from the first media packet from which no
  // packet is dropped (the final frame).
  // upstreamPeer: { address, port } of the source; when absent, learnt from its first datagram.
  constructor({ media, lossRate = 0.05, seed = 0x5eed, protectFromTsDelta = Infinity, upstreamPeer }) {
    this.media = media;
    this.lossRate = lossRate;
    this.random = prng(seed);
    this.protectFromTsDelta = protectFromTsDelta;
    this.upstreamPeer = upstreamPeer ?? null;
    this.receiver = null; // { address, rtpPort, rtcpPort }
    this.firstTs = null;
    this.seen = new Set(); // media sequence numbers seen downstream (forwarded or dropped)
    this.dropped = []; // sequence numbers dropped, in order
    this.droppedSet = new Set();
    this.repairedBy = new Map(); // dropped seq -> 'rtx' | 'resend'
    this.nacked = new Set(); // sequence numbers the receiver asked for
    this.dropTime = new Map(); // dropped seq -> ms when dropped
    this.nackDelays = []; // ms from a drop to the first NACK naming it
    this.repairDelays = []; // ms from a drop to the first retransmission of it
    this.stats = {
      mediaForwarded: 0,
      mediaDropped: 0,
      mediaProtected: 0,
      mediaResent: 0, // a media PT packet repeating a seq already seen (plain retransmission)
      rtxForwarded: 0,
      rtxPadding: 0,
      otherRtp: 0, // RTP with a PT/SSRC that is neither the media nor its RTX
      otherRtpKeys: {},
      rtcpDown: {}, // RTCP packet types going to the receiver
      rtcpUp: {}, // RTCP packet types going to the source
      nackItems: 0, // sequence numbers requested, counting repeats
      unroutable: 0,
    };
  }

  async bind(address = '127.0.0.1') {
    const open = () =>
      new Promise((resolve, reject) => {
        const socket = dgram.createSocket('udp4');
        socket.once('error', reject);
        socket.bind(0, address, () => {
          socket.setRecvBufferSize(1 << 20);
          resolve(socket);
        });
      });
    this.upstream = await open();
    this.downstream = await open();
    this.upstream.on('message', (msg, rinfo) => this.onUpstream(msg, rinfo));
    this.downstream.on('message', (msg) => this.onDownstream(msg));
    return { upstreamPort: this.upstream.address().port, downstreamPort: this.downstream.address().port };
  }

  setReceiver(address, rtpPort, rtcpPort) {
    this.receiver = { address, rtpPort, rtcpPort };
  }

  close() {
    this.upstream?.close();
    this.downstream?.close();
  }

  // From the source, toward the receiver: the only direction with loss.
  onUpstream(msg, rinfo) {
    if (!this.upstreamPeer) this.upstreamPeer = { address: rinfo.address, port: rinfo.port };
    if (!this.receiver) {
      this.stats.unroutable++;
      return;
    }
    if (isRtcp(msg)) {
      forEachRtcp(msg, (name) => bump(this.stats.rtcpDown, name));
      this.downstream.send(msg, this.receiver.rtcpPort, this.receiver.address);
      return;
    }
    const rtp = parseRtp(msg);
    if (rtp && !this.decideDrop(rtp, msg)) return;
    this.downstream.send(msg, this.receiver.rtpPort, this.receiver.address);
  }

  // Returns false when the packet is to be dropped; counts what it sees.
  decideDrop(rtp, msg) {
    const { media } = this;
    if (rtp.pt === media.rtxPt && rtp.ssrc === media.rtxSsrc) {
      if (rtp.payloadLength < 2) {
        this.stats.rtxPadding++;
        return true;
      }
      this.stats.rtxForwarded++;
      // RFC 4588 §4: the RTX payload starts with the original sequence number.
      return this.noteRepair(msg.readUInt16BE(rtp.payloadOffset), 'rtx');
    }
    if (rtp.pt !== media.pt || rtp.ssrc !== media.ssrc) {
      this.stats.otherRtp++;
      bump(this.stats.otherRtpKeys, `pt${rtp.pt}/ssrc${rtp.ssrc}`);
      return true;
    }
    if (this.seen.has(rtp.seq)) {
      this.stats.mediaResent++;
      return this.noteRepair(rtp.seq, 'resend');
    }
    this.seen.add(rtp.seq);
    if (this.firstTs === null) {
      this.firstTs = rtp.ts;
      this.stats.mediaForwarded++;
      return true;
    }
    const tsDelta = (rtp.ts - this.firstTs) | 0; // serial difference, negative if older
    if (tsDelta >= this.protectFromTsDelta) {
      this.stats.mediaProtected++;
      this.stats.mediaForwarded++;
      return true;
    }
    if (this.random() < this.lossRate) {
      this.stats.mediaDropped++;
      this.dropped.push(rtp.seq);
      this.droppedSet.add(rtp.seq);
      this.dropTime.set(rtp.seq, performance.now());
      return false;
    }
    this.stats.mediaForwarded++;
    return true;
  }

  noteRepair(seq, how) {
    if (this.droppedSet.has(seq) && !this.repairedBy.has(seq)) {
      this.repairedBy.set(seq, how);
      this.repairDelays.push(performance.now() - this.dropTime.get(seq));
    }
    return true;
  }

  // From the receiver (its RTCP socket), toward the source: never dropped.
  onDownstream(msg) {
    if (!this.upstreamPeer) {
      this.stats.unroutable++;
      return;
    }
    if (isRtcp(msg)) {
      forEachRtcp(msg, (name, buf, offset, length) => {
        bump(this.stats.rtcpUp, name);
        if (name !== 'NACK') return;
        // RFC 4585 §6.2.1: FCI entries of PID (16 bits) + BLP (16 bits) after the 12-byte header.
        for (let fci = offset + 12; fci + 4 <= offset + length; fci += 4) {
          const pid = buf.readUInt16BE(fci);
          const blp = buf.readUInt16BE(fci + 2);
          for (let bit = -1; bit < 16; bit++) {
            if (bit >= 0 && !(blp & (1 << bit))) continue;
            const seq = (pid + bit + 1) & 0xffff;
            if (this.droppedSet.has(seq) && !this.nacked.has(seq)) {
              this.nackDelays.push(performance.now() - this.dropTime.get(seq));
            }
            this.nacked.add(seq);
            this.stats.nackItems++;
          }
        }
      });
    }
    this.upstream.send(msg, this.upstreamPeer.port, this.upstreamPeer.address);
  }

  summary() {
    const unrepaired = this.dropped.filter((seq) => !this.repairedBy.has(seq));
    const notNacked = this.dropped.filter((seq) => !this.nacked.has(seq));
    const byRtx = [...this.repairedBy.values()].filter((how) => how === 'rtx').length;
    return {
      ...this.stats,
      droppedSeqs: this.dropped,
      repaired: this.repairedBy.size,
      repairedByRtx: byRtx,
      unrepaired,
      notNacked,
      nackedSeqs: this.nacked.size,
      nackDelayMs: spread(this.nackDelays),
      repairDelayMs: spread(this.repairDelays),
    };
  }
}
