// A ~100-line stand-in for the worker's media path, for `vp8-rtx.mjs --mock-sfu`: what the
// receiver must see from sluice, done the simplest way, so a failing worker run can be
// compared with a passing reference on the same peers and relay. Not a test of anything by
// itself; it is never run by meson.
//
// Like a mediasoup SimpleConsumer on a PlainTransport (rtcp-mux) it rewrites SSRC and payload
// type (and offsets the sequence number and timestamp), keeps the packets it sent in a ring,
// and answers each NACKed sequence number with an RTX packet (RFC 4588 §4: rtx SSRC and PT,
// its own RTX sequence, the original sequence number, then the original payload).
// Producer side: comedia (latches the sender's address from its first packet), and forwards
// PLI/FIR from the receiver to the sender rewritten to the sender's SSRC.

import dgram from 'node:dgram';
import { isRtcp, parseRtp } from './relay.mjs';

const RING = 2048;

export class MockSfu {
  // producer: { pt, ssrc } the sender uses. consumer: { pt, rtxPt, ssrc, rtxSsrc } sent out.
  constructor({ producer, consumer }) {
    this.producer = producer;
    this.consumer = consumer;
    this.ring = new Array(RING).fill(null);
    this.seqOffset = 1000;
    this.tsOffset = 123456;
    this.rtxSeq = 5000;
    this.stats = { forwarded: 0, nackItems: 0, retransmitted: 0, missingInRing: 0, pliForwarded: 0 };
  }

  async bind(consumerPeer) {
    const open = () =>
      new Promise((resolve) => {
        const socket = dgram.createSocket('udp4');
        socket.bind(0, '127.0.0.1', () => resolve(socket));
      });
    this.consumerPeer = consumerPeer; // { address, port } of the relay
    this.producerSide = await open();
    this.consumerSide = await open();
    this.producerSide.on('message', (msg, rinfo) => this.onProducer(msg, rinfo));
    this.consumerSide.on('message', (msg) => this.onConsumer(msg));
    return { producerPort: this.producerSide.address().port, consumerPort: this.consumerSide.address().port };
  }

  close() {
    this.producerSide?.close();
    this.consumerSide?.close();
  }

  onProducer(msg, rinfo) {
    if (!this.senderPeer) {
      this.senderPeer = { address: rinfo.address, port: rinfo.port };
      this.forwardKeyframeRequest(); // as a new consumer asks for a keyframe
    }
    if (isRtcp(msg)) return; // SR from the sender: not needed by this stand-in
    const rtp = parseRtp(msg);
    if (!rtp || rtp.pt !== this.producer.pt || rtp.ssrc !== this.producer.ssrc) return;
    const out = Buffer.from(msg);
    const seq = (rtp.seq + this.seqOffset) & 0xffff;
    out[1] = (out[1] & 0x80) | this.consumer.pt;
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE((rtp.ts + this.tsOffset) >>> 0, 4);
    out.writeUInt32BE(this.consumer.ssrc, 8);
    this.ring[seq % RING] = { seq, packet: out, payloadOffset: rtp.payloadOffset };
    this.consumerSide.send(out, this.consumerPeer.port, this.consumerPeer.address);
    this.stats.forwarded++;
  }

  onConsumer(msg) {
    if (!isRtcp(msg)) return;
    for (let offset = 0; offset + 4 <= msg.length;) {
      const fmt = msg[offset] & 0x1f;
      const type = msg[offset + 1];
      const length = (msg.readUInt16BE(offset + 2) + 1) * 4;
      if (type === 205 && fmt === 1) this.onNack(msg.subarray(offset, offset + length));
      if (type === 206 && (fmt === 1 || fmt === 4)) this.forwardKeyframeRequest();
      offset += length;
    }
  }

  // RFC 4585 §6.2.1 generic NACK: PID + BLP items after the 12-byte header.
  onNack(nack) {
    for (let fci = 12; fci + 4 <= nack.length; fci += 4) {
      const pid = nack.readUInt16BE(fci);
      const blp = nack.readUInt16BE(fci + 2);
      for (let bit = -1; bit < 16; bit++) {
        if (bit >= 0 && !(blp & (1 << bit))) continue;
        this.stats.nackItems++;
        this.retransmit((pid + bit + 1) & 0xffff);
      }
    }
  }

  retransmit(seq) {
    const entry = this.ring[seq % RING];
    if (!entry || entry.seq !== seq) {
      this.stats.missingInRing++;
      return;
    }
    const { packet, payloadOffset } = entry;
    const rtx = Buffer.alloc(packet.length + 2);
    packet.copy(rtx, 0, 0, payloadOffset);
    rtx[1] = (packet[1] & 0x80) | this.consumer.rtxPt;
    rtx.writeUInt16BE(this.rtxSeq, 2);
    this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
    rtx.writeUInt32BE(this.consumer.rtxSsrc, 8);
    rtx.writeUInt16BE(seq, payloadOffset);
    packet.copy(rtx, payloadOffset + 2, payloadOffset);
    this.consumerSide.send(rtx, this.consumerPeer.port, this.consumerPeer.address);
    this.stats.retransmitted++;
  }

  forwardKeyframeRequest() {
    if (!this.senderPeer) return;
    // PLI (RFC 4585 §6.3.1): V=2 FMT=1, PT=206, length 2, sender SSRC, media SSRC.
    const pli = Buffer.alloc(12);
    pli[0] = 0x81;
    pli[1] = 206;
    pli.writeUInt16BE(2, 2);
    pli.writeUInt32BE(1, 4);
    pli.writeUInt32BE(this.producer.ssrc, 8);
    this.producerSide.send(pli, this.senderPeer.port, this.senderPeer.address);
    this.stats.pliForwarded++;
  }
}
