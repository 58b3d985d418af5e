// A lossy UDP relay for the WebRTC suites: sits between a WebRTC peer and a
// server's UDP candidate and drops a seeded fraction of RTP in one direction,
// never STUN, DTLS or RTCP, so NACK and RTX run over SRTP.

import dgram from 'node:dgram';
import { LOOPBACK } from './webrtc-sdp.mjs';

const openRelays = new Set();

export function closeRelays() {
  for (const relay of openRelays) relay.close();
}

// mulberry32: a seeded PRNG so a run's drop pattern can be reproduced.
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

// RFC 7983 §7 demultiplexing: 128..191 is RTP/RTCP, and of those RFC 5761
// §4 puts RTCP packet types 192..223 in the second byte. STUN (0..3) and
// DTLS (20..63) never match, so ICE and the handshake always pass.
export function isRtpPacket(buf) {
  return buf.length >= 12 && buf[0] >= 128 && buf[0] <= 191 && !(buf[1] >= 192 && buf[1] <= 223);
}

// Sits between a peer and a UDP server address (e.g. a WebRtcTransport's UDP
// candidate). Advertise { address: LOOPBACK, port: relay.port } to the peer;
// each peer address gets its own upstream socket, so the server sees one
// stable remote tuple per peer socket. Drops a fraction `lossRate` of RTP
// (never STUN, DTLS or RTCP) in `direction` 'toPeer' (server → peer) or
// 'toServer'.
export class LossyUdpRelay {
  static async open({ target, lossRate = 0.05, seed = 1, direction = 'toPeer' }) {
    const relay = new LossyUdpRelay(target, lossRate, seed, direction);
    relay.socket = await LossyUdpRelay.bind();
    relay.port = relay.socket.address().port;
    relay.socket.on('message', (msg, rinfo) => relay.fromPeer(msg, rinfo));
    openRelays.add(relay);
    return relay;
  }

  static bind() {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        socket.on('error', () => {});
        resolve(socket);
      });
    });
  }

  constructor(target, lossRate, seed, direction) {
    Object.assign(this, { target: { address: target.address ?? target.ip, port: target.port }, lossRate, direction });
    this.random = prng(seed);
    this.upstreams = new Map(); // "addr:port" of the peer → { socket, ready }
    this.stats = { toServer: 0, toPeer: 0, rtpToPeer: 0, rtpToServer: 0, dropped: 0 };
    this.closed = false;
  }

  drop(msg, direction) {
    if (direction !== this.direction || !isRtpPacket(msg)) return false;
    if (this.random() >= this.lossRate) return false;
    this.stats.dropped++;
    return true;
  }

  fromPeer(msg, rinfo) {
    if (this.closed) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = this.upstreams.get(key);
    if (!up) {
      up = { ready: LossyUdpRelay.bind() };
      this.upstreams.set(key, up);
      up.ready.then((socket) => {
        up.socket = socket;
        if (this.closed) socket.close();
        else socket.on('message', (m) => this.fromServer(m, rinfo));
      });
    }
    if (isRtpPacket(msg)) this.stats.rtpToServer++;
    if (this.drop(msg, 'toServer')) return;
    this.stats.toServer++;
    up.ready.then((socket) => {
      if (!this.closed) socket.send(msg, this.target.port, this.target.address);
    });
  }

  fromServer(msg, peer) {
    if (this.closed) return;
    if (isRtpPacket(msg)) this.stats.rtpToPeer++;
    if (this.drop(msg, 'toPeer')) return;
    this.stats.toPeer++;
    this.socket.send(msg, peer.port, peer.address);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    openRelays.delete(this);
    this.socket.close();
    for (const up of this.upstreams.values()) up.socket?.close();
  }
}
