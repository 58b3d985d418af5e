// The demo's fallback producer when GStreamer is not usable: a synthetic VP8-like RTP
// stream (30 fps, a keyframe every second or on PLI/FIR, RFC 7741 payload descriptor with
// a 15-bit picture id, keyframes with a real VP8 key frame header) on one UDP socket that
// also receives RTCP (rtcp-mux) and answers NACKs with RTX (RFC 4588). The payload bytes
// are filler: nobody decodes them, the worker only reads the descriptor and the key flag.

import dgram from 'node:dgram';
import { forEachRtcp, isRtcp } from './demo-receiver.mjs';

export class SyntheticSender {
  constructor({ dest, pt, rtxPt, ssrc, rtxSsrc, fps = 30, keyframeInterval = 30, width = 640, height = 360 }) {
    Object.assign(this, { dest, pt, rtxPt, ssrc, rtxSsrc, fps, keyframeInterval, width, height });
    this.seq = 1000;
    this.rtxSeq = 5000;
    this.ts = 123456;
    this.pictureId = 0;
    this.frame = 0;
    this.forceKey = false;
    this.history = new Map(); // seq -> packet, the last 1024
    this.stats = { frames: 0, keyframes: 0, packets: 0, rtxPackets: 0, pli: 0 };
  }

  async start() {
    this.socket = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, '127.0.0.1', resolve);
    });
    this.socket.on('message', (msg) => this.onRtcp(msg));
    const start = performance.now();
    // Paced on the wall clock, so timer jitter does not slow the stream down.
    const tick = () => {
      const due = Math.floor(((performance.now() - start) * this.fps) / 1000) + 1;
      while (this.frame < due) this.sendFrame();
    };
    this.timer = setInterval(tick, Math.floor(1000 / this.fps / 2));
    tick();
  }

  stop() {
    clearInterval(this.timer);
    this.socket?.close();
  }

  sendFrame() {
    const key = this.frame % this.keyframeInterval === 0 || this.forceKey;
    this.forceKey = false;
    const count = key ? 8 : 3;
    const size = key ? 1100 : 700;
    for (let i = 0; i < count; i++) {
      const buf = Buffer.alloc(12 + 4 + size, 0x5a);
      buf[0] = 0x80;
      buf[1] = (i === count - 1 ? 0x80 : 0) | this.pt;
      buf.writeUInt16BE(this.seq, 2);
      buf.writeUInt32BE(this.ts >>> 0, 4);
      buf.writeUInt32BE(this.ssrc >>> 0, 8);
      // RFC 7741 §4.2: X, S on the first packet, PID 0; I; M + 15-bit picture id.
      buf[12] = i === 0 ? 0x90 : 0x80;
      buf[13] = 0x80;
      buf.writeUInt16BE(0x8000 | this.pictureId, 14);
      if (i === 0) {
        // RFC 6386 §9.1 frame tag: key_frame = 0 for key frames, version 0, show_frame 1.
        const tag = (key ? 0 : 1) | (1 << 4) | ((count * size) << 5);
        buf[16] = tag & 0xff;
        buf[17] = (tag >> 8) & 0xff;
        buf[18] = (tag >> 16) & 0xff;
        if (key) {
          buf[19] = 0x9d; buf[20] = 0x01; buf[21] = 0x2a;
          buf.writeUInt16LE(this.width, 22);
          buf.writeUInt16LE(this.height, 24);
        }
      }
      this.history.set(this.seq, buf);
      this.history.delete((this.seq - 1024) & 0xffff);
      this.socket.send(buf, this.dest.port, this.dest.address);
      this.seq = (this.seq + 1) & 0xffff;
      this.stats.packets++;
    }
    this.ts = (this.ts + 90000 / this.fps) >>> 0;
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    this.frame++;
    this.stats.frames++;
    if (key) this.stats.keyframes++;
  }

  onRtcp(msg) {
    if (!isRtcp(msg)) return;
    forEachRtcp(msg, (pt, fmt, offset, length) => {
      if ((pt === 206 && (fmt === 1 || fmt === 4))) { // PLI, FIR
        this.stats.pli++;
        this.forceKey = true;
      } else if (pt === 205 && fmt === 1) { // generic NACK
        for (let fci = offset + 12; fci + 4 <= offset + length; fci += 4) {
          const pid = msg.readUInt16BE(fci);
          const blp = msg.readUInt16BE(fci + 2);
          for (let bit = -1; bit < 16; bit++) {
            if (bit < 0 || blp & (1 << bit)) this.resend((pid + bit + 1) & 0xffff);
          }
        }
      }
    });
  }

  resend(seq) {
    const original = this.history.get(seq);
    if (!original) return;
    const rtx = Buffer.alloc(original.length + 2);
    original.copy(rtx, 0, 0, 12);
    rtx[1] = (original[1] & 0x80) | this.rtxPt;
    rtx.writeUInt16BE(this.rtxSeq, 2);
    rtx.writeUInt32BE(this.rtxSsrc >>> 0, 8);
    rtx.writeUInt16BE(seq, 12);
    original.copy(rtx, 14, 12);
    this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
    this.stats.rtxPackets++;
    this.socket.send(rtx, this.dest.port, this.dest.address);
  }
}

// The producer side every script shares: a comedia PlainTransport and a VP8 producer with
// RTX, NACK, PLI and FIR, whose SSRCs and payload types are `sender`'s ({ pt, rtxPt, ssrc,
// rtxSsrc }). Returns { transport, producer }.
export async function produceVp8(router, sender, cname, listenInfo = { protocol: 'udp', ip: '127.0.0.1' }) {
  const transport = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
  const producer = await transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [
        { mimeType: 'video/VP8', payloadType: sender.pt, clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] },
        { mimeType: 'video/rtx', payloadType: sender.rtxPt, clockRate: 90000, parameters: { apt: sender.pt } },
      ],
      encodings: [{ ssrc: sender.ssrc, rtx: { ssrc: sender.rtxSsrc } }],
      rtcp: { cname },
    },
  });
  return { transport, producer };
}
