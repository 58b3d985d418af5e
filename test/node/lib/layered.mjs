// Layered video for the node media tests: byte builders and parsers for the
// VP8 (RFC 7741), VP9 (RFC 9628) and H264 (RFC 6184) payload formats, RTP
// header extensions (RFC 8285 one-byte form) for MID/RID, and senders that
// produce what a browser produces: three simulcast encodings (by RID or by
// SSRC) with an L1T3 temporal pattern, or one VP9 SVC stream (L3T3, L3T3_KEY),
// each answering the worker's PLI/FIR with a key frame on the stream it names
// and its NACKs with RTX (RFC 4588) or a plain resend.
//
// Every packet a sender sends is recorded with its frame, its layers and the
// frames it depends on, so a test can map what a consumer received back to the
// source and check that each forwarded frame is decodable where it lands.

import assert from 'node:assert/strict';
import { buildRtp, buildSr, buildSdesCname, compound, isPli, isFir, isNack, u16, u32, tsDiff } from './rtp.mjs';

// ---------------------------------------------------------------------------
// RTP header extensions, one-byte form (RFC 8285 §4.2)
//
//    0                   1                   2                   3
//   |       0xBE    |    0xDE       |           length              |
//   |  ID   |  L    |  data ...  (L+1 bytes), ... padding (0)       |
// ---------------------------------------------------------------------------

export const EXT = {
  mid: { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
  rid: { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 2 },
  rrid: { uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: 3 },
};

// An RTP packet carrying `extensions` ([{ id, data: Buffer }]) in the
// one-byte form; none gives a packet without the X bit.
export function buildRtpWithExtensions({ extensions = [], ...rtp }) {
  const plain = buildRtp(rtp);
  if (extensions.length === 0) return plain;
  const items = [];
  for (const { id, data } of extensions) {
    assert.ok(id >= 1 && id <= 14 && data.length >= 1 && data.length <= 16, `one-byte extension ${id}`);
    items.push(Buffer.from([(id << 4) | (data.length - 1)]), data);
  }
  const body = Buffer.concat(items);
  const words = Math.ceil(body.length / 4);
  const ext = Buffer.alloc(4 + 4 * words);
  ext.writeUInt16BE(0xbede, 0);
  ext.writeUInt16BE(words, 2);
  body.copy(ext, 4);
  const head = plain.subarray(0, 12 + 4 * (plain[0] & 0x0f));
  const pkt = Buffer.concat([head, ext, plain.subarray(head.length)]);
  pkt[0] |= 0x10;
  return pkt;
}

// The one-byte extensions of a parsed RTP packet (rtp.mjs parseRtp) as a Map
// id -> Buffer; an empty map for none or another profile.
export function oneByteExtensions(pkt) {
  const out = new Map();
  if (!pkt.extension || pkt.extension.profile !== 0xbede) return out;
  const d = pkt.extension.data;
  for (let o = 0; o < d.length;) {
    if (d[o] === 0) { ++o; continue; }
    const id = d[o] >> 4;
    const len = (d[o] & 0x0f) + 1;
    if (id === 15 || o + 1 + len > d.length) break;
    out.set(id, d.subarray(o + 1, o + 1 + len));
    o += 1 + len;
  }
  return out;
}

// ---------------------------------------------------------------------------
// VP8 payload descriptor (RFC 7741 §4.2)
//
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID | (REQUIRED)
//  X:   |I|L|T|K| RSV   | (OPTIONAL)
//  I:   |M| PictureID   | (OPTIONAL)      M=1: a second PictureID byte (15 bits)
//  L:   |   TL0PICIDX   | (OPTIONAL)
//  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
//
// Then, at the start of partition 0 (S=1, PID=0), the VP8 payload header
// (§4.3) |Size0|H| VER |P|: P = 0 for a key frame. A key frame's header goes
// on with the start code 9d 01 2a and 14-bit width and height (RFC 6386 §9.1).
// ---------------------------------------------------------------------------

export function buildVp8Descriptor({ n = false, s = true, pid = 0, pictureId, pictureIdBits = 15, tl0PicIdx,
  tid, y = false, keyIdx } = {}) {
  const hasT = tid !== undefined;
  const hasK = keyIdx !== undefined;
  const hasX = pictureId !== undefined || tl0PicIdx !== undefined || hasT || hasK;
  const bytes = [(hasX ? 0x80 : 0) | (n ? 0x20 : 0) | (s ? 0x10 : 0) | (pid & 0x07)];
  if (hasX) {
    bytes.push((pictureId !== undefined ? 0x80 : 0) | (tl0PicIdx !== undefined ? 0x40 : 0) |
      (hasT ? 0x20 : 0) | (hasK ? 0x10 : 0));
    if (pictureId !== undefined) {
      if (pictureIdBits === 15) bytes.push(0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff);
      else bytes.push(pictureId & 0x7f);
    }
    if (tl0PicIdx !== undefined) bytes.push(tl0PicIdx & 0xff);
    if (hasT || hasK) bytes.push(((tid ?? 0) & 3) << 6 | (y ? 0x20 : 0) | ((keyIdx ?? 0) & 0x1f));
  }
  return Buffer.from(bytes);
}

// Parses the descriptor at the start of `payload`; null when it is cut short
// or leaves no byte after it. `keyframe` is read from the payload header.
export function parseVp8Descriptor(payload) {
  if (payload.length < 1) return null;
  const b0 = payload[0];
  const d = {
    x: (b0 & 0x80) !== 0, n: (b0 & 0x20) !== 0, s: (b0 & 0x10) !== 0, pid: b0 & 0x07,
    i: false, l: false, t: false, k: false,
    pictureId: undefined, pictureIdBits: undefined, tl0PicIdx: undefined, tid: undefined, y: undefined, keyIdx: undefined,
  };
  let off = 1;
  if (d.x) {
    if (payload.length < 2) return null;
    const b1 = payload[1];
    Object.assign(d, { i: (b1 & 0x80) !== 0, l: (b1 & 0x40) !== 0, t: (b1 & 0x20) !== 0, k: (b1 & 0x10) !== 0 });
    off = 2;
    if (d.i) {
      if (payload.length < off + 1) return null;
      if (payload[off] & 0x80) {
        if (payload.length < off + 2) return null;
        d.pictureId = ((payload[off] & 0x7f) << 8) | payload[off + 1];
        d.pictureIdBits = 15;
        off += 2;
      } else {
        d.pictureId = payload[off] & 0x7f;
        d.pictureIdBits = 7;
        off += 1;
      }
    }
    if (d.l) {
      if (payload.length < off + 1) return null;
      d.tl0PicIdx = payload[off++];
    }
    if (d.t || d.k) {
      if (payload.length < off + 1) return null;
      if (d.t) {
        d.tid = payload[off] >> 6;
        d.y = (payload[off] & 0x20) !== 0;
      }
      if (d.k) d.keyIdx = payload[off] & 0x1f;
      off += 1;
    }
  }
  if (payload.length <= off) return null;
  d.size = off;
  d.keyframe = d.s && d.pid === 0 && (payload[off] & 0x01) === 0;
  return d;
}

// The VP8 payload header of a frame's first packet (RFC 6386 §9.1): a 3-byte
// frame tag (P, version 0, show_frame, first partition size), and for a key
// frame the start code and the 14-bit dimensions.
export function vp8PayloadHeader({ keyframe, width = 640, height = 480 }) {
  if (!keyframe) return Buffer.from([0x11, 0x04, 0x00]); // P=1 (inter frame), show_frame
  return Buffer.from([0x10, 0x04, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, (width >> 8) & 0x3f,
    height & 0xff, (height >> 8) & 0x3f]);
}

// ---------------------------------------------------------------------------
// VP9 payload descriptor (RFC 9628 §4.2)
//
//  non-flexible (F=0)                     flexible (F=1)
//       +-+-+-+-+-+-+-+-+                      +-+-+-+-+-+-+-+-+
//       |I|P|L|F|B|E|V|Z| (REQUIRED)           |I|P|L|F|B|E|V|Z| (REQUIRED)
//  I:   |M| PICTURE ID  | (RECOMMENDED)   I:   |M| PICTURE ID  |
//  M:   | EXTENDED PID  |                 M:   | EXTENDED PID  |
//  L:   | TID |U| SID |D|                 L:   | TID |U| SID |D|
//       |   TL0PICIDX   |                 P,F: | P_DIFF      |N| (up to 3 times)
//  V:   | SS ...        |                 V:   | SS ...        |
//
// Scalability structure (§4.2.1):
//  V:   | N_S |Y|G|-|-|-|
//  Y:   |     WIDTH     | (16 bits) } N_S + 1 times
//       |     HEIGHT    | (16 bits) }
//  G:   |      N_G      |
//  N_G: | TID |U| R |-|-| } N_G times, each followed by R P_DIFF bytes
//       |    P_DIFF     |
//
// P: inter-picture predicted; B/E: first/last packet of a layer frame;
// U: switching up point; D: inter-layer dependency; Z: not a reference for
// the next spatial layer. A key frame: P=0 on the SID 0 frame of a picture.
// ---------------------------------------------------------------------------

export function buildVp9Descriptor({ flexible = false, p = false, b = true, e = true, z = false, pictureId,
  pictureIdBits = 15, tid, u = false, sid = 0, d = false, tl0PicIdx, pDiffs = [], ss } = {}) {
  const hasL = tid !== undefined;
  const bytes = [(pictureId !== undefined ? 0x80 : 0) | (p ? 0x40 : 0) | (hasL ? 0x20 : 0) | (flexible ? 0x10 : 0) |
    (b ? 0x08 : 0) | (e ? 0x04 : 0) | (ss ? 0x02 : 0) | (z ? 0x01 : 0)];
  if (pictureId !== undefined) {
    if (pictureIdBits === 15) bytes.push(0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff);
    else bytes.push(pictureId & 0x7f);
  }
  if (hasL) {
    bytes.push(((tid & 7) << 5) | (u ? 0x10 : 0) | ((sid & 7) << 1) | (d ? 1 : 0));
    if (!flexible) bytes.push((tl0PicIdx ?? 0) & 0xff);
  }
  if (flexible && p) {
    assert.ok(pDiffs.length >= 1 && pDiffs.length <= 3, 'flexible mode: 1 to 3 P_DIFFs on an inter picture');
    pDiffs.forEach((diff, k) => bytes.push(((diff & 0x7f) << 1) | (k < pDiffs.length - 1 ? 1 : 0)));
  }
  if (ss) {
    const { sizes = [], group = [] } = ss;
    const ns = (ss.spatialLayers ?? sizes.length) - 1;
    bytes.push((ns << 5) | (sizes.length ? 0x10 : 0) | (group.length ? 0x08 : 0));
    for (const { width, height } of sizes) bytes.push(width >> 8, width & 0xff, height >> 8, height & 0xff);
    if (group.length) {
      bytes.push(group.length);
      for (const g of group) {
        bytes.push(((g.tid & 7) << 5) | (g.u ? 0x10 : 0) | ((g.pDiffs.length & 3) << 2));
        bytes.push(...g.pDiffs);
      }
    }
  }
  return Buffer.from(bytes);
}

// Parses a VP9 descriptor; null when it is cut short, or declares more than
// three P_DIFFs, or leaves no payload byte after it.
export function parseVp9Descriptor(payload) {
  if (payload.length < 1) return null;
  const b0 = payload[0];
  const d = {
    i: (b0 & 0x80) !== 0, p: (b0 & 0x40) !== 0, l: (b0 & 0x20) !== 0, f: (b0 & 0x10) !== 0,
    b: (b0 & 0x08) !== 0, e: (b0 & 0x04) !== 0, v: (b0 & 0x02) !== 0, z: (b0 & 0x01) !== 0,
    pictureId: undefined, pictureIdBits: undefined, tid: 0, u: false, sid: 0, d: false, tl0PicIdx: undefined,
    pDiffs: [], ss: null,
  };
  let off = 1;
  const need = (n) => payload.length >= off + n;
  if (d.i) {
    if (!need(1)) return null;
    if (payload[off] & 0x80) {
      if (!need(2)) return null;
      d.pictureId = ((payload[off] & 0x7f) << 8) | payload[off + 1];
      d.pictureIdBits = 15;
      off += 2;
    } else {
      d.pictureId = payload[off++] & 0x7f;
      d.pictureIdBits = 7;
    }
  }
  if (d.l) {
    if (!need(1)) return null;
    const l = payload[off++];
    Object.assign(d, { tid: l >> 5, u: (l & 0x10) !== 0, sid: (l >> 1) & 7, d: (l & 1) !== 0 });
    if (!d.f) {
      if (!need(1)) return null;
      d.tl0PicIdx = payload[off++];
    }
  }
  if (d.f && d.p) {
    for (;;) {
      if (!need(1) || d.pDiffs.length === 3) return null;
      const x = payload[off++];
      d.pDiffs.push(x >> 1);
      if (!(x & 1)) break;
    }
  }
  if (d.v) {
    if (!need(1)) return null;
    const v = payload[off++];
    const ss = { spatialLayers: (v >> 5) + 1, sizes: [], group: [] };
    if (v & 0x10) {
      if (!need(4 * ss.spatialLayers)) return null;
      for (let k = 0; k < ss.spatialLayers; ++k, off += 4)
        ss.sizes.push({ width: payload.readUInt16BE(off), height: payload.readUInt16BE(off + 2) });
    }
    if (v & 0x08) {
      if (!need(1)) return null;
      const ng = payload[off++];
      for (let k = 0; k < ng; ++k) {
        if (!need(1)) return null;
        const g = payload[off++];
        const r = (g >> 2) & 3;
        if (!need(r)) return null;
        ss.group.push({ tid: g >> 5, u: (g & 0x10) !== 0, pDiffs: [...payload.subarray(off, off + r)] });
        off += r;
      }
    }
    d.ss = ss;
  }
  if (payload.length <= off) return null;
  d.size = off;
  d.keyframe = d.b && !d.p && d.sid === 0;
  return d;
}

// ---------------------------------------------------------------------------
// H264 (RFC 6184)
//
//   NAL unit header |F|NRI|  Type   |    Type 1..23: a single NAL unit packet
//   STAP-A (24):    [header] { 16-bit size, NAL unit } ...          (§5.7.1)
//   FU-A (28):      |F|NRI| 28 | + |S|E|R| Type | + fragment          (§5.8)
// Key frame: an IDR slice (5), with its SPS (7) and PPS (8).
// ---------------------------------------------------------------------------

export const NAL = { SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, STAP_A: 24, FU_A: 28 };

export function h264Nal(type, body, nri = 3) {
  return Buffer.concat([Buffer.from([((nri & 3) << 5) | (type & 0x1f)]), body]);
}

export function h264StapA(nals, nri = 3) {
  const parts = [Buffer.from([((nri & 3) << 5) | NAL.STAP_A])];
  for (const nal of nals) {
    const size = Buffer.alloc(2);
    size.writeUInt16BE(nal.length);
    parts.push(size, nal);
  }
  return Buffer.concat(parts);
}

// Splits one NAL unit into `count` FU-A payloads.
export function h264FuA(nal, count) {
  const indicator = (nal[0] & 0xe0) | NAL.FU_A;
  const type = nal[0] & 0x1f;
  const body = nal.subarray(1);
  const step = Math.ceil(body.length / count);
  const out = [];
  for (let k = 0; k < count; ++k) {
    const header = (k === 0 ? 0x80 : 0) | (k === count - 1 ? 0x40 : 0) | type;
    out.push(Buffer.concat([Buffer.from([indicator, header]), body.subarray(k * step, (k + 1) * step)]));
  }
  return out;
}

// What an H264 RTP payload carries: its packetization, the NAL unit types in
// it (for FU-A the fragmented unit's type, with start/end), and whether it
// starts a key frame (an SPS or IDR unit, or the first fragment of one).
export function parseH264(payload) {
  if (payload.length < 1) return null;
  const type = payload[0] & 0x1f;
  if (type >= 1 && type <= 23) return { kind: 'single', nalTypes: [type], keyframe: type === NAL.SPS || type === NAL.IDR };
  if (type === NAL.STAP_A) {
    const nalTypes = [];
    for (let o = 1; o < payload.length;) {
      if (o + 2 > payload.length) return null;
      const size = payload.readUInt16BE(o);
      if (size === 0 || o + 2 + size > payload.length) return null;
      nalTypes.push(payload[o + 2] & 0x1f);
      o += 2 + size;
    }
    if (nalTypes.length === 0) return null;
    return { kind: 'stap-a', nalTypes, keyframe: nalTypes.includes(NAL.SPS) || nalTypes.includes(NAL.IDR) };
  }
  if (type === NAL.FU_A) {
    if (payload.length < 3) return null;
    const start = (payload[1] & 0x80) !== 0;
    const end = (payload[1] & 0x40) !== 0;
    const nalType = payload[1] & 0x1f;
    return { kind: 'fu-a', nalTypes: [nalType], start, end, keyframe: start && (nalType === NAL.IDR || nalType === NAL.SPS) };
  }
  return null;
}

// SPS/PPS for constrained baseline 3.1 (profile-level-id 42e01f), 640x480.
export const H264_SPS = h264Nal(NAL.SPS, Buffer.from('42e01f8d680a03da100000030010000003032f1e3065', 'hex'));
export const H264_PPS = h264Nal(NAL.PPS, Buffer.from('ce3c80', 'hex'));
const SEI_UUID = Buffer.from('sluice-test-tag1', 'latin1'); // 16 bytes

// ---------------------------------------------------------------------------
// Unique frame bodies: every packet's bytes after the codec's own headers start
// with a tag naming its stream, frame and packet, so what a consumer received
// maps back to one sent packet whatever the worker did to the descriptor.
// ---------------------------------------------------------------------------

export function frameBody({ stream, frame, packet, size }) {
  const body = Buffer.alloc(Math.max(size + ((frame * 7 + packet) % 11), 12));
  body.write('LY', 0, 'latin1');
  body[2] = stream;
  body.writeUInt32BE(frame, 3);
  body[7] = packet;
  for (let j = 8; j < body.length; ++j) body[j] = (stream * 101 + frame * 31 + packet * 7 + j) & 0xff;
  return body;
}

// ---------------------------------------------------------------------------
// One RTP stream: sequence number, timestamp and the header extensions it
// carries, and a log of what it sent.
// ---------------------------------------------------------------------------

export class RtpStream {
  // rtx: { ssrc, pt, seq, extensions } to answer NACKs with RFC 4588 RTX.
  constructor({ peer, port, ssrc, pt, seq, ts, extensions = () => [], rtx = null }) {
    Object.assign(this, { peer, port, ssrc: ssrc >>> 0, pt, seq: u16(seq), ts: u32(ts), extensions });
    this.packetsSent = 0;
    this.octetsSent = 0;
    this.dropSeqs = new Set(); // seqs to account for without sending (loss on the way in)
    this.log = new Map(); // seq -> record, for retransmission
    this.rtx = rtx && { ...rtx, ssrc: rtx.ssrc >>> 0, seq: u16(rtx.seq ?? 100), extensions: rtx.extensions ?? (() => []), sent: [] };
  }

  send(payload, { marker = false } = {}) {
    const raw = buildRtpWithExtensions({
      pt: this.pt, seq: this.seq, ts: this.ts, ssrc: this.ssrc, marker, payload, extensions: this.extensions(this),
    });
    const rec = { ssrc: this.ssrc, seq: this.seq, ts: this.ts, marker, payload, raw, skipped: this.dropSeqs.has(this.seq) };
    if (!rec.skipped) this.peer.sendRtp(raw, this.port);
    this.log.set(this.seq, rec);
    this.seq = u16(this.seq + 1);
    this.packetsSent++;
    this.octetsSent += payload.length;
    return rec;
  }

  // Retransmits seq as RTX (RFC 4588 §4: the OSN, then the original
  // payload; the original timestamp and marker) when RTX is set up, else
  // as the original packet. False for a seq never sent.
  retransmit(seq) {
    const rec = this.log.get(u16(seq));
    if (!rec) return false;
    if (!this.rtx) {
      this.peer.sendRtp(rec.raw, this.port);
      return true;
    }
    const osn = Buffer.alloc(2);
    osn.writeUInt16BE(rec.seq);
    const raw = buildRtpWithExtensions({
      pt: this.rtx.pt, seq: this.rtx.seq, ts: rec.ts, ssrc: this.rtx.ssrc, marker: rec.marker,
      payload: Buffer.concat([osn, rec.payload]), extensions: this.rtx.extensions(this.rtx),
    });
    this.peer.sendRtp(raw, this.port);
    this.rtx.sent.push({ seq: this.rtx.seq, osn: rec.seq });
    this.rtx.seq = u16(this.rtx.seq + 1);
    return true;
  }
}

// The worker's feedback seen on a producer peer since the last call: key
// frame requests (PLI media SSRC, FIR FCI SSRCs) and NACKs (media SSRC, seqs).
class FeedbackReader {
  constructor(peer) {
    this.peer = peer;
    this.cursor = peer.rtcp.length;
  }

  take() {
    const items = [];
    for (; this.cursor < this.peer.rtcp.length; ++this.cursor) {
      const p = this.peer.rtcp[this.cursor];
      if (isPli(p)) items.push({ ssrc: p.mediaSsrc, kind: 'pli', at: p.at });
      else if (isFir(p)) for (const f of p.firs) items.push({ ssrc: f.ssrc, kind: 'fir', at: p.at });
      else if (isNack(p)) items.push({ ssrc: p.mediaSsrc, kind: 'nack', seqs: p.seqs, at: p.at });
    }
    return items;
  }
}

// Temporal pattern of L1T3 (and of each spatial layer of L3T3): four frames
// per group, TID 0, 2, 1, 2. Frames 1 and 2 depend only on the TID 0 frame
// (layer sync: VP8 Y, VP9 U); frame 3 on every frame since it.
export const T3_PATTERN = [
  { tid: 0, sync: false },
  { tid: 2, sync: true },
  { tid: 1, sync: true },
  { tid: 2, sync: false },
];

// The 90 kHz clock all senders share: frame k of a session is captured at
// k * frameMs after `epochMs` (wall time), whatever the stream's ts offset.
export const FRAME_MS = 20;
export const TS_STEP = 90 * FRAME_MS;

// NTP for a wall-clock time in ms (RFC 3550 §4: seconds since 1900).
export function ntpOf(ms) {
  const sec = Math.floor(ms / 1000) + 2208988800;
  const frac = Math.floor(((ms % 1000) / 1000) * 0x100000000);
  return { ntpSec: sec >>> 0, ntpFrac: frac >>> 0 };
}

// ---------------------------------------------------------------------------
// VP8 simulcast sender: N encodings, each its own SSRC, seq, ts and PictureID
// space, L1T3, a key frame on an encoding whenever the worker asks for one.
//
//   encodings: [{ ssrc, rid?, seq, ts, pictureId, tl0PicIdx, pictureIdBits?, rtxSsrc? }]
//   rtxPt: with an encoding's rtxSsrc, NACKs are answered with RTX.
//   ridPackets: how many first packets of each stream carry MID and RID
//     (a browser stops once the stream is acknowledged); Infinity for all.
//   temporalLayers: 1 (every frame TID 0, no T bit) or 3 (T3_PATTERN).
// Each frame record: { enc, n, tid, y, keyframe, pictureId, tl0PicIdx, ts,
// tick, deps: [frame n of the same encoding], packets: [...] }.
// ---------------------------------------------------------------------------

export class Vp8SimulcastSender {
  constructor({ peer, port, pt, rtxPt, encodings, mid, ridPackets = Infinity, temporalLayers = 3, packetsPerFrame = 2,
    keyPackets = 3, size = 100 }) {
    Object.assign(this, { peer, port, pt, mid, ridPackets, temporalLayers, packetsPerFrame, keyPackets, size });
    this.answerNacks = true; // false: a loss stays a loss
    this.keyRequests = new FeedbackReader(peer);
    this.keyRequestLog = []; // { enc, kind, at }
    this.nackLog = []; // { enc, seq, at }
    this.tick = 0;
    this.epochMs = Date.now();
    const midExt = mid !== undefined ? [{ id: EXT.mid.id, data: Buffer.from(mid) }] : [];
    this.encodings = encodings.map((e, enc) => {
      const stream = new RtpStream({
        peer, port, ssrc: e.ssrc, pt, seq: e.seq, ts: e.ts,
        extensions: (s) => (s.packetsSent < ridPackets && e.rid ? [...midExt, { id: EXT.rid.id, data: Buffer.from(e.rid) }] : []),
        // RTX as a browser sends it for a RID encoding: MID and repaired RID
        // on the first packets of the RTX stream too.
        rtx: e.rtxSsrc && rtxPt ? {
          ssrc: e.rtxSsrc, pt: rtxPt, seq: 20000 + 1000 * enc,
          extensions: (r) => (r.sent.length < ridPackets && e.rid ? [...midExt, { id: EXT.rrid.id, data: Buffer.from(e.rid) }] : []),
        } : null,
      });
      return {
        ...e, enc, stream, pictureId: e.pictureId ?? 0, tl0PicIdx: e.tl0PicIdx ?? 0, pictureIdBits: e.pictureIdBits ?? 15,
        frames: [], pos: 0, lastTl0: -1, sinceTl0: [], keyPending: true, active: true,
      };
    });
    this.byTag = new Map(); // frameBody tag -> packet record
  }

  encodingOfSsrc(ssrc) {
    return this.encodings.find((e) => e.stream.ssrc === ssrc >>> 0);
  }

  // Reads the worker's feedback: PLI/FIR mark that encoding for a key frame,
  // a NACK is answered at once (RTX when the encoding has an RTX SSRC).
  serviceKeyRequests() {
    for (const r of this.keyRequests.take()) {
      const e = this.encodingOfSsrc(r.ssrc);
      if (!e) continue;
      if (r.kind === 'nack') {
        for (const seq of r.seqs) {
          this.nackLog.push({ enc: e.enc, seq, at: r.at });
          if (this.answerNacks) e.stream.retransmit(seq);
        }
        continue;
      }
      e.keyPending = true;
      this.keyRequestLog.push({ enc: e.enc, kind: r.kind, at: r.at, tick: this.tick });
    }
  }

  // One frame on every active encoding, all captured at the same instant
  // (their timestamps advance by TS_STEP together). `keyframe` forces one.
  sendFrame({ keyframe = false, only } = {}) {
    this.serviceKeyRequests();
    const sent = [];
    for (const e of this.encodings) {
      if (!e.active || (only && !only.includes(e.enc))) continue;
      sent.push(this.sendEncodingFrame(e, { keyframe: keyframe || e.keyPending }));
    }
    this.tick++;
    for (const e of this.encodings) e.stream.ts = u32(e.stream.ts + TS_STEP);
    return sent;
  }

  sendEncodingFrame(e, { keyframe, descriptorOverride } = {}) {
    if (keyframe) e.pos = 0;
    const layered = this.temporalLayers > 1;
    const slot = layered ? T3_PATTERN[e.pos] : { tid: 0, sync: false };
    const n = e.frames.length;
    if (slot.tid === 0) e.tl0PicIdx = (e.tl0PicIdx + 1) & 0xff;
    let deps;
    if (keyframe) deps = [];
    else if (slot.tid === 0) deps = e.lastTl0 >= 0 ? [e.lastTl0] : [];
    else if (slot.sync) deps = [e.lastTl0];
    else deps = [...e.sinceTl0];
    const frame = {
      enc: e.enc, n, tid: slot.tid, y: layered && slot.sync, keyframe, pictureId: e.pictureId,
      tl0PicIdx: e.tl0PicIdx, ts: e.stream.ts, tick: this.tick, deps, packets: [],
    };
    const count = keyframe ? this.keyPackets : this.packetsPerFrame;
    for (let k = 0; k < count; ++k) {
      const descriptor = buildVp8Descriptor({
        s: k === 0, pid: 0, pictureId: e.pictureId, pictureIdBits: e.pictureIdBits,
        tl0PicIdx: layered ? e.tl0PicIdx : undefined, tid: layered ? slot.tid : undefined, y: frame.y,
        ...(descriptorOverride ?? {}),
      });
      const header = k === 0 ? vp8PayloadHeader({ keyframe, width: 320 << e.enc, height: 180 << e.enc }) : Buffer.alloc(0);
      const body = frameBody({ stream: e.enc, frame: n, packet: k, size: this.size + 40 * e.enc });
      const rest = Buffer.concat([header, body]);
      const rec = e.stream.send(Buffer.concat([descriptor, rest]), { marker: k === count - 1 });
      Object.assign(rec, { enc: e.enc, frame, k, descriptor, rest });
      frame.packets.push(rec);
      this.byTag.set(body.subarray(0, 8).toString('hex'), rec);
    }
    e.frames.push(frame);
    if (keyframe) e.keyPending = false;
    if (slot.tid === 0) {
      e.lastTl0 = n;
      e.sinceTl0 = [n];
    } else {
      e.sinceTl0.push(n);
    }
    e.pictureId = (e.pictureId + 1) & (e.pictureIdBits === 15 ? 0x7fff : 0x7f);
    e.pos = layered ? (e.pos + 1) % T3_PATTERN.length : 0;
    return frame;
  }

  // A sender report for every encoding: the NTP time of the current tick's
  // capture instant and that encoding's RTP time for it (RFC 3550 §6.4.1),
  // with an SDES CNAME, as one compound per encoding.
  sendSenderReports(cname = 'simulcast-peer') {
    const { ntpSec, ntpFrac } = ntpOf(this.epochMs + this.tick * FRAME_MS);
    for (const e of this.encodings) {
      this.peer.sendRtcp(compound(
        buildSr({ ssrc: e.stream.ssrc, ntpSec, ntpFrac, rtpTs: e.stream.ts, packetCount: e.stream.packetsSent,
          octetCount: e.stream.octetsSent }),
        buildSdesCname({ ssrc: e.stream.ssrc, cname }),
      ), this.port);
    }
  }

  // The packet a forwarded payload came from: found by the tag after the VP8
  // headers (the worker may rewrite the descriptor, never what follows it).
  sourceOf(payload) {
    const d = parseVp8Descriptor(payload);
    if (!d) return null;
    const off = d.size + (d.s && d.pid === 0 ? (d.keyframe ? 10 : 3) : 0);
    return this.byTag.get(payload.subarray(off, off + 8).toString('hex')) ?? null;
  }
}

// ---------------------------------------------------------------------------
// H264 simulcast sender: N encodings by SSRC, a key frame as STAP-A (SPS, PPS)
// followed by the IDR in FU-A fragments (or the whole key frame in one STAP-A),
// delta frames as one single-NAL packet or FU-A fragments.
// ---------------------------------------------------------------------------

export class H264SimulcastSender {
  constructor({ peer, port, pt, encodings, keyStyle = 'fu-a', size = 300 }) {
    Object.assign(this, { peer, port, pt, keyStyle, size });
    this.keyRequests = new FeedbackReader(peer);
    this.keyRequestLog = [];
    this.tick = 0;
    this.encodings = encodings.map((e, enc) => ({
      ...e, enc, stream: new RtpStream({ peer, port, ssrc: e.ssrc, pt, seq: e.seq, ts: e.ts }),
      frames: [], keyPending: true, active: true,
    }));
    this.byTag = new Map();
  }

  serviceKeyRequests() {
    for (const r of this.keyRequests.take()) {
      const e = this.encodings.find((x) => x.stream.ssrc === r.ssrc >>> 0);
      if (!e) continue;
      if (r.kind === 'nack') {
        for (const seq of r.seqs) e.stream.retransmit(seq);
        continue;
      }
      e.keyPending = true;
      this.keyRequestLog.push({ enc: e.enc, kind: r.kind, at: r.at, tick: this.tick });
    }
  }

  sendFrame({ keyframe = false } = {}) {
    this.serviceKeyRequests();
    const sent = [];
    for (const e of this.encodings) {
      if (!e.active) continue;
      sent.push(this.sendEncodingFrame(e, keyframe || e.keyPending));
    }
    this.tick++;
    for (const e of this.encodings) e.stream.ts = u32(e.stream.ts + TS_STEP);
    return sent;
  }

  sendEncodingFrame(e, keyframe) {
    const n = e.frames.length;
    const frame = { enc: e.enc, n, tid: 0, keyframe, ts: e.stream.ts, tick: this.tick,
      deps: keyframe || n === 0 ? [] : [n - 1], packets: [] };
    const tagged = (k, size) => {
      const body = frameBody({ stream: e.enc, frame: n, packet: k, size });
      return body;
    };
    // SPS and PPS are the same in every key frame: an SEI (user data
    // unregistered, H.264 D.1.6) carrying the tag keeps their STAP-A unique.
    const sei = (k) => h264Nal(NAL.SEI, Buffer.concat([Buffer.from([5, 24]), SEI_UUID,
      frameBody({ stream: e.enc, frame: n, packet: k, size: 0 }).subarray(0, 8), Buffer.from([0x80])]), 0);
    let payloads;
    if (keyframe && this.keyStyle === 'stap-a') {
      const idr = h264Nal(NAL.IDR, tagged(0, 200));
      payloads = [h264StapA([H264_SPS, H264_PPS, sei(9), idr])];
    } else if (keyframe) {
      const idr = h264Nal(NAL.IDR, tagged(1, 3 * this.size));
      payloads = [h264StapA([H264_SPS, H264_PPS, sei(0)]), ...h264FuA(idr, 3)];
    } else if (n % 2 === 0) {
      payloads = [h264Nal(NAL.SLICE, tagged(0, this.size), 2)];
    } else {
      payloads = h264FuA(h264Nal(NAL.SLICE, tagged(0, 2 * this.size), 2), 2);
    }
    payloads.forEach((payload, k) => {
      const rec = e.stream.send(payload, { marker: k === payloads.length - 1 });
      Object.assign(rec, { enc: e.enc, frame, k });
      frame.packets.push(rec);
      this.byTag.set(payload.toString('hex'), rec);
    });
    e.frames.push(frame);
    if (keyframe) e.keyPending = false;
    return frame;
  }

  // H264 payloads are forwarded as they are: the whole payload is the key.
  sourceOf(payload) {
    return this.byTag.get(payload.toString('hex')) ?? null;
  }
}

// ---------------------------------------------------------------------------
// VP9 SVC sender: one SSRC, each picture 3 spatial layer frames in one RTP
// timestamp (non-flexible mode, as libwebrtc sends SVC), T3 temporal pattern.
//   L3T3:      upper spatial layers predicted from the layer below (D=1) in
//              every picture, and from their own layer's earlier frames.
//              Every `switchEvery` pictures (a TL0 one) the upper layers are
//              predicted from the layer below only (P=0): a spatial
//              switching-up point that is not a key picture.
//   L3T3_KEY:  inter-layer prediction on key pictures only (K-SVC).
// B on the first and E on the last packet of each layer frame, the marker on
// the last packet of the picture; the scalability structure on key pictures.
// Frame record: { n (picture), sid, tid, u, keyframe, deps: [[picture, sid]] }.
// ---------------------------------------------------------------------------

export const VP9_SIZES = [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }];

export class Vp9SvcSender {
  constructor({ peer, port, pt, ssrc, seq, ts, pictureId = 0, tl0PicIdx = 0, mode = 'L3T3', packetsPerLayer = 2,
    size = 80, flexible = false, switchEvery = 8 }) {
    Object.assign(this, { peer, port, pt, mode, packetsPerLayer, size, flexible, switchEvery });
    this.ksvc = /_KEY$/.test(mode);
    const m = /^L(\d)T(\d)/.exec(mode);
    this.spatialLayers = Number(m[1]);
    this.temporalLayers = Number(m[2]);
    this.stream = new RtpStream({ peer, port, ssrc, pt, seq, ts });
    this.pictureId = pictureId;
    this.tl0PicIdx = tl0PicIdx;
    this.keyRequests = new FeedbackReader(peer);
    this.keyRequestLog = [];
    this.keyPending = true;
    this.pictures = []; // { n, tid, keyframe, ts, pictureId, tl0PicIdx, layers: [frame per sid] }
    this.pos = 0;
    this.lastTl0 = -1;
    this.sinceTl0 = [];
    this.tick = 0;
    this.byTag = new Map();
  }

  serviceKeyRequests() {
    for (const r of this.keyRequests.take()) {
      if (r.ssrc >>> 0 !== this.stream.ssrc) continue;
      if (r.kind === 'nack') {
        for (const seq of r.seqs) this.stream.retransmit(seq);
        continue;
      }
      this.keyPending = true;
      this.keyRequestLog.push({ kind: r.kind, at: r.at, tick: this.tick });
    }
  }

  // One picture. `layerOverride(sid)` may replace descriptor fields of one
  // layer's packets (for bad-input tests).
  sendPicture({ keyframe = false, layerOverride } = {}) {
    this.serviceKeyRequests();
    keyframe = keyframe || this.keyPending;
    if (keyframe) this.pos = 0;
    const slot = this.temporalLayers > 1 ? T3_PATTERN[this.pos] : { tid: 0, sync: false };
    const n = this.pictures.length;
    if (slot.tid === 0) this.tl0PicIdx = (this.tl0PicIdx + 1) & 0xff;
    let temporalDeps;
    if (keyframe) temporalDeps = [];
    else if (slot.tid === 0) temporalDeps = this.lastTl0 >= 0 ? [this.lastTl0] : [];
    else if (slot.sync) temporalDeps = [this.lastTl0];
    else temporalDeps = [...this.sinceTl0];
    const picture = { n, tid: slot.tid, keyframe, ts: this.stream.ts, pictureId: this.pictureId, tl0PicIdx: this.tl0PicIdx,
      tick: this.tick, layers: [] };
    // L3T3: every `switchEvery` pictures a TL0 picture whose upper layers
    // are predicted from the layer below only (P=0, D=1): a spatial
    // switching-up point without a key frame (RFC 9628 §4.2, P and D).
    const upSwitch = !keyframe && !this.ksvc && this.switchEvery > 0 && slot.tid === 0 && n % this.switchEvery === 0;
    picture.upSwitch = upSwitch;
    for (let sid = 0; sid < this.spatialLayers; ++sid) {
      const interLayer = sid > 0 && (keyframe || !this.ksvc);
      const intra = keyframe || (upSwitch && sid > 0);
      const deps = [...(intra ? [] : temporalDeps.map((p) => [p, sid])), ...(interLayer ? [[n, sid - 1]] : [])];
      const frame = { n, sid, tid: slot.tid, u: slot.sync, keyframe, interLayer, intra, deps, packets: [], picture };
      const count = this.packetsPerLayer;
      for (let k = 0; k < count; ++k) {
        const last = sid === this.spatialLayers - 1 && k === count - 1;
        const descriptor = buildVp9Descriptor({
          flexible: this.flexible,
          p: !intra, b: k === 0, e: k === count - 1, z: sid === this.spatialLayers - 1,
          pictureId: this.pictureId, tid: slot.tid, u: slot.sync, sid, d: interLayer, tl0PicIdx: this.tl0PicIdx,
          pDiffs: this.flexible && !intra ? [Math.max(1, n - (temporalDeps.at(-1) ?? n - 1))] : [],
          ss: keyframe && sid === 0 && k === 0 ? {
            sizes: VP9_SIZES.slice(0, this.spatialLayers),
            group: this.flexible ? [] : T3_PATTERN.slice(0, this.temporalLayers > 1 ? 4 : 1).map((g, i) => ({
              tid: g.tid, u: g.sync, pDiffs: [i === 0 ? 4 : i === 3 ? 1 : i],
            })),
          } : undefined,
          ...(layerOverride?.(sid) ?? {}),
        });
        const body = frameBody({ stream: sid, frame: n, packet: k, size: this.size + 30 * sid });
        const rec = this.stream.send(Buffer.concat([descriptor, body]), { marker: last });
        Object.assign(rec, { sid, frame, k, descriptor, rest: body });
        frame.packets.push(rec);
        this.byTag.set(body.subarray(0, 8).toString('hex'), rec);
      }
      picture.layers.push(frame);
    }
    this.pictures.push(picture);
    if (keyframe) this.keyPending = false;
    if (slot.tid === 0) {
      this.lastTl0 = n;
      this.sinceTl0 = [n];
    } else {
      this.sinceTl0.push(n);
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    this.pos = this.temporalLayers > 1 ? (this.pos + 1) % T3_PATTERN.length : 0;
    this.tick++;
    this.stream.ts = u32(this.stream.ts + TS_STEP);
    return picture;
  }

  sendSenderReport(cname = 'svc-peer') {
    const { ntpSec, ntpFrac } = ntpOf(Date.now());
    this.peer.sendRtcp(compound(
      buildSr({ ssrc: this.stream.ssrc, ntpSec, ntpFrac, rtpTs: this.stream.ts, packetCount: this.stream.packetsSent,
        octetCount: this.stream.octetsSent }),
      buildSdesCname({ ssrc: this.stream.ssrc, cname }),
    ), this.port);
  }

  sourceOf(payload) {
    const d = parseVp9Descriptor(payload);
    if (!d) return null;
    return this.byTag.get(payload.subarray(d.size, d.size + 8).toString('hex')) ?? null;
  }
}

// ---------------------------------------------------------------------------
// Checks over what a layered consumer sent
// ---------------------------------------------------------------------------

// Maps each received packet to its source packet; throws on one that maps to
// nothing (a payload the producer never sent, or a broken descriptor).
export function mapToSource(received, sender) {
  return received.map((out, i) => {
    const src = sender.sourceOf(out.payload);
    if (!src) {
      throw new Error(`consumer packet ${i} (seq ${out.seq}) maps to no sent packet ` +
        `(${out.payload.length} bytes, starts ${out.payload.subarray(0, 16).toString('hex')})`);
    }
    return { out, src };
  });
}

// Groups mapped packets into forwarded frames (consecutive packets of one
// source frame), in arrival order.
export function forwardedFrames(pairs) {
  const frames = [];
  for (const pair of pairs) {
    const last = frames.at(-1);
    if (last && last.frame === pair.src.frame) last.pairs.push(pair);
    else frames.push({ frame: pair.src.frame, pairs: [pair] });
  }
  return frames;
}

// The VP8 simulcast invariants over everything one consumer peer received on
// the consumer's media SSRC (in arrival order), with no loss on the path:
//  - each packet maps to a sent packet; payload after the descriptor, marker,
//    N/S/PID/TID/Y/KEYIDX are the source's;
//  - seq +1 per packet; one ts per frame, increasing; within a run of one
//    encoding the ts step equals the source's, across a switch it is
//    positive and bounded by the wall time between the frames (`tsSlackMs`);
//  - PictureID always 15-bit, +1 per forwarded frame; TL0PICIDX +1 per
//    forwarded TID 0 frame and equal to the last one's on TID > 0 frames;
//  - frames whole; the first frame and the first of each new encoding is a
//    key frame; every forwarded frame's references were forwarded before it.
// Returns { pairs, frames, runs: [{ enc, from, to }] } (frame indexes).
export function checkVp8Simulcast(received, sender, { tsSlackMs = 250 } = {}) {
  assert.ok(received.length > 0, 'no packets received');
  const pairs = mapToSource(received, sender);
  const frames = forwardedFrames(pairs);
  const delivered = new Set(); // "enc:n" of frames forwarded
  const runs = [];
  let prevFrame = null;
  pairs.forEach(({ out, src }, i) => {
    const at = `packet ${i} (out seq ${out.seq}; enc ${src.enc} frame ${src.frame.n} packet ${src.k})`;
    const d = parseVp8Descriptor(out.payload);
    assert.ok(d, `${at}: descriptor parses`);
    const s = parseVp8Descriptor(src.payload);
    assert.ok(out.payload.subarray(d.size).equals(src.rest), `${at}: bytes after the descriptor`);
    assert.equal(out.marker, src.marker, `${at}: marker`);
    for (const f of ['x', 'n', 's', 'pid', 'i', 'l', 't', 'k', 'tid', 'y', 'keyIdx', 'keyframe'])
      assert.equal(d[f], s[f], `${at}: descriptor ${f}`);
    assert.equal(d.pictureIdBits, 15, `${at}: PictureID in the 15-bit form`);
    if (i > 0) assert.equal(u16(out.seq - pairs[i - 1].out.seq), 1, `${at}: seq follows ${pairs[i - 1].out.seq}`);
  });
  frames.forEach((f, j) => {
    const { frame } = f;
    const at = `forwarded frame ${j} (enc ${frame.enc} frame ${frame.n}, tid ${frame.tid}${frame.keyframe ? ', key' : ''})`;
    assert.equal(f.pairs.length, frame.packets.length, `${at}: whole (${f.pairs.length} of ${frame.packets.length} packets)`);
    f.pairs.forEach((p, k) => assert.equal(p.src.k, k, `${at}: packet order`));
    const outs = f.pairs.map((p) => parseVp8Descriptor(p.out.payload));
    assert.ok(f.pairs.every((p) => p.out.ts === f.pairs[0].out.ts), `${at}: one ts`);
    assert.ok(outs.every((d) => d.pictureId === outs[0].pictureId && d.tl0PicIdx === outs[0].tl0PicIdx),
      `${at}: one PictureID and TL0PICIDX`);
    f.pictureId = outs[0].pictureId;
    f.tl0PicIdx = outs[0].tl0PicIdx;
    f.ts = f.pairs[0].out.ts;
    f.at = f.pairs[0].out.at;
    const newRun = !prevFrame || prevFrame.frame.enc !== frame.enc;
    if (newRun) {
      assert.ok(frame.keyframe, `${at}: ${prevFrame ? `switch from enc ${prevFrame.frame.enc}` : 'first frame'} on a key frame`);
      runs.push({ enc: frame.enc, from: j, to: j });
    } else {
      runs.at(-1).to = j;
    }
    for (const dep of frame.deps)
      assert.ok(delivered.has(`${frame.enc}:${dep}`), `${at}: its reference (enc ${frame.enc} frame ${dep}) was forwarded`);
    delivered.add(`${frame.enc}:${frame.n}`);
    if (prevFrame) {
      assert.equal((f.pictureId - prevFrame.pictureId + 0x8000) % 0x8000, 1,
        `${at}: PictureID ${f.pictureId} follows ${prevFrame.pictureId}`);
      const tl0Step = (f.tl0PicIdx - prevFrame.tl0PicIdx + 256) % 256;
      assert.equal(tl0Step, frame.tid === 0 ? 1 : 0, `${at}: TL0PICIDX ${f.tl0PicIdx} after ${prevFrame.tl0PicIdx}`);
      const dts = tsDiff(prevFrame.ts, f.ts);
      if (newRun) {
        const wall = Math.max(0, f.at - prevFrame.at);
        assert.ok(dts > 0 && dts <= 90 * (wall + tsSlackMs),
          `${at}: ts step ${dts} across the switch (${wall} ms of wall time between the frames)`);
      } else {
        assert.equal(dts, tsDiff(prevFrame.frame.ts, frame.ts), `${at}: ts step within encoding ${frame.enc}`);
      }
    }
    prevFrame = f;
  });
  return { pairs, frames, runs };
}

// Every encoding starts with a key frame, lowest first, at one capture
// instant: a consumer may forward a lower one before the preferred one's
// arrives (each a switch at a key frame, so checkVp8Simulcast accepts it).
// Asserts the runs before the first run of `startEnc` are that start-up only
// (frames of the first two capture instants) and returns the runs from it on.
export function runsAfterStartup(runs, frames, startEnc) {
  const k = runs.findIndex((r) => r.enc === startEnc);
  assert.ok(k >= 0, `encoding ${startEnc} forwarded (runs: ${runs.map((r) => r.enc)})`);
  for (const r of runs.slice(0, k)) {
    for (let j = r.from; j <= r.to; ++j) {
      assert.ok(frames[j].frame.tick <= 1,
        `start-up run of encoding ${r.enc} before ${startEnc} lasts to capture instant ${frames[j].frame.tick}`);
    }
  }
  return runs.slice(k);
}

// Seq/ts/marker/payload checks for H264 simulcast: payloads forwarded as they
// are, seq +1 per packet, frames whole, a new encoding only from a key frame,
// references forwarded, one ts per frame, increasing.
export function checkH264Simulcast(received, sender, { tsSlackMs = 250 } = {}) {
  assert.ok(received.length > 0, 'no packets received');
  const pairs = mapToSource(received, sender);
  const frames = forwardedFrames(pairs);
  const delivered = new Set();
  const runs = [];
  pairs.forEach(({ out, src }, i) => {
    const at = `packet ${i} (out seq ${out.seq}; enc ${src.enc} frame ${src.frame.n})`;
    assert.equal(out.marker, src.marker, `${at}: marker`);
    if (i > 0) assert.equal(u16(out.seq - pairs[i - 1].out.seq), 1, `${at}: seq follows ${pairs[i - 1].out.seq}`);
  });
  let prev = null;
  frames.forEach((f, j) => {
    const { frame } = f;
    const at = `forwarded frame ${j} (enc ${frame.enc} frame ${frame.n}${frame.keyframe ? ', key' : ''})`;
    assert.equal(f.pairs.length, frame.packets.length, `${at}: whole`);
    assert.ok(f.pairs.every((p) => p.out.ts === f.pairs[0].out.ts), `${at}: one ts`);
    f.ts = f.pairs[0].out.ts;
    f.at = f.pairs[0].out.at;
    const newRun = !prev || prev.frame.enc !== frame.enc;
    if (newRun) {
      assert.ok(frame.keyframe, `${at}: ${prev ? `switch from enc ${prev.frame.enc}` : 'first frame'} on a key frame`);
      assert.ok(parseH264(f.pairs[0].out.payload).keyframe, `${at}: starts with SPS/IDR on the wire`);
      runs.push({ enc: frame.enc, from: j, to: j });
    } else {
      runs.at(-1).to = j;
    }
    for (const dep of frame.deps) assert.ok(delivered.has(`${frame.enc}:${dep}`), `${at}: reference ${dep} forwarded`);
    delivered.add(`${frame.enc}:${frame.n}`);
    if (prev) {
      const dts = tsDiff(prev.ts, f.ts);
      if (newRun) {
        const wall = Math.max(0, f.at - prev.at);
        assert.ok(dts > 0 && dts <= 90 * (wall + tsSlackMs), `${at}: ts step ${dts} across the switch (${wall} ms wall)`);
      } else {
        assert.equal(dts, tsDiff(prev.frame.ts, frame.ts), `${at}: ts step within encoding ${frame.enc}`);
      }
    }
    prev = f;
  });
  return { pairs, frames, runs };
}

// The VP9 SVC invariants over one consumer's packets: each maps to a sent
// packet with the bytes after the descriptor unchanged and the descriptor's
// layer fields the source's; seq +1 per packet; ts offset constant; per picture, the forwarded
// layer frames are 0..s (whole, in order, no gap), one ts, and the marker is
// set on exactly the last packet (the E packet of layer s); PictureID the same
// within a picture and increasing between pictures; every forwarded layer
// frame's references were forwarded (K-SVC: an upper layer starts on a key
// picture). Returns { pairs, pictures: [{ picture, top, tids, pairs }] }.
export function checkVp9Svc(received, sender) {
  assert.ok(received.length > 0, 'no packets received');
  const pairs = mapToSource(received, sender);
  const pictures = [];
  pairs.forEach(({ out, src }, i) => {
    const at = `packet ${i} (out seq ${out.seq}; picture ${src.frame.n} sid ${src.sid} packet ${src.k})`;
    const d = parseVp9Descriptor(out.payload);
    assert.ok(d, `${at}: descriptor parses`);
    const s = parseVp9Descriptor(src.payload);
    assert.ok(out.payload.subarray(d.size).equals(src.rest), `${at}: bytes after the descriptor`);
    for (const f of ['i', 'p', 'l', 'f', 'b', 'e', 'v', 'tid', 'u', 'sid', 'd', 'keyframe'])
      assert.equal(d[f], s[f], `${at}: descriptor ${f}`);
    if (i > 0) assert.equal(u16(out.seq - pairs[i - 1].out.seq), 1, `${at}: seq follows ${pairs[i - 1].out.seq}`);
    const last = pictures.at(-1);
    if (last && last.picture === src.frame.picture) last.pairs.push({ out, src, d });
    else pictures.push({ picture: src.frame.picture, pairs: [{ out, src, d }] });
  });
  const delivered = new Set();
  let prev = null;
  for (const [j, p] of pictures.entries()) {
    const at = `forwarded picture ${j} (source picture ${p.picture.n}, tid ${p.picture.tid}${p.picture.keyframe ? ', key' : ''})`;
    const sids = [...new Set(p.pairs.map((x) => x.src.sid))];
    p.top = sids.at(-1);
    assert.deepEqual(sids, [...Array(p.top + 1).keys()], `${at}: layers 0..${p.top} in order (got ${sids})`);
    for (const sid of sids) {
      const pk = p.pairs.filter((x) => x.src.sid === sid);
      const frame = p.picture.layers[sid];
      assert.deepEqual(pk.map((x) => x.src.k), frame.packets.map((_, k) => k), `${at}: layer ${sid} whole`);
      for (const [pic, s] of frame.deps)
        assert.ok(delivered.has(`${pic}:${s}`), `${at}: layer ${sid}'s reference (picture ${pic} layer ${s}) was forwarded`);
      delivered.add(`${p.picture.n}:${sid}`);
    }
    p.pairs.forEach((x, k) => {
      assert.equal(x.out.ts, p.pairs[0].out.ts, `${at}: one ts`);
      assert.equal(x.out.marker, k === p.pairs.length - 1, `${at}: marker on packet ${k} of ${p.pairs.length}`);
      assert.equal(x.d.pictureId, p.pairs[0].d.pictureId, `${at}: one PictureID`);
    });
    assert.ok(p.pairs.at(-1).d.e, `${at}: the marked packet ends its layer frame`);
    p.ts = p.pairs[0].out.ts;
    p.pictureId = p.pairs[0].d.pictureId;
    p.tl0PicIdx = p.pairs[0].d.tl0PicIdx;
    if (prev) {
      assert.ok(tsDiff(prev.ts, p.ts) > 0, `${at}: ts increases`);
      assert.equal(tsDiff(prev.ts, p.ts), tsDiff(prev.picture.ts, p.picture.ts), `${at}: ts step is the source's (one stream, one offset)`);
      const step = (p.pictureId - prev.pictureId + 0x8000) % 0x8000;
      assert.ok(step >= 1 && step < 0x4000, `${at}: PictureID ${p.pictureId} after ${prev.pictureId}`);
    }
    p.tids = p.picture.tid;
    prev = p;
  }
  return { pairs, pictures };
}

// layerschange events ([{ spatialLayer, temporalLayer } | null]) against the
// layers a test moved the consumer through: one event per change (never the
// same layers twice in a row), no null while media flows, and `milestones` in
// order among them (a worker may pass through intermediate layers, e.g. a
// temporal step on the way up).
export function assertLayerEvents(events, milestones, what = 'layerschange') {
  const key = (l) => (l ? `${l.spatialLayer}/${l.temporalLayer}` : 'null');
  const seen = events.map(key);
  for (let k = 1; k < seen.length; ++k)
    assert.notEqual(seen[k], seen[k - 1], `${what}: the same layers twice in a row (${seen.join(', ')})`);
  assert.ok(!seen.includes('null'), `${what}: no null layers while media flows (${seen.join(', ')})`);
  let at = 0;
  for (const m of milestones.map(key)) {
    const found = seen.indexOf(m, at);
    assert.ok(found >= 0, `${what}: ${m} after event ${at} (events: ${seen.join(', ')}; expected in order: ${milestones.map(key).join(', ')})`);
    at = found + 1;
  }
}

