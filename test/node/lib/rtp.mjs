// RTP / RTCP build and parse helpers for the node media tests (byte-level, no
// dependencies). Everything is big-endian per RFC 3550.

// ---------------------------------------------------------------------------
// Serial arithmetic
// ---------------------------------------------------------------------------

export const u16 = (v) => ((v % 0x10000) + 0x10000) % 0x10000;
export const u32 = (v) => ((v % 0x100000000) + 0x100000000) % 0x100000000;
// b - a as a signed 16-bit / 32-bit value.
export const seqDiff = (a, b) => ((u16(b - a) + 0x8000) % 0x10000) - 0x8000;
export const tsDiff = (a, b) => ((u32(b - a) + 0x80000000) % 0x100000000) - 0x80000000;

// ---------------------------------------------------------------------------
// RTP (RFC 3550 §5.1)
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//   |                           timestamp                           |
//   |           synchronization source (SSRC) identifier            |
//   |            contributing source (CSRC) identifiers  ...        |
// ---------------------------------------------------------------------------

export function buildRtp({ pt, seq, ts, ssrc, marker = false, payload = Buffer.alloc(0), csrcs = [], padding = 0 }) {
  const head = Buffer.alloc(12 + 4 * csrcs.length);
  head[0] = 0x80 | (padding ? 0x20 : 0) | csrcs.length;
  head[1] = (marker ? 0x80 : 0) | (pt & 0x7f);
  head.writeUInt16BE(u16(seq), 2);
  head.writeUInt32BE(u32(ts), 4);
  head.writeUInt32BE(ssrc >>> 0, 8);
  csrcs.forEach((c, i) => head.writeUInt32BE(c >>> 0, 12 + 4 * i));
  const parts = [head, payload];
  if (padding) {
    const pad = Buffer.alloc(padding);
    pad[padding - 1] = padding;
    parts.push(pad);
  }
  return Buffer.concat(parts);
}

// Returns null for anything that is not a well-formed RTP packet.
export function parseRtp(buf) {
  if (buf.length < 12 || (buf[0] >> 6) !== 2) return null;
  const cc = buf[0] & 0x0f;
  let off = 12 + 4 * cc;
  if (buf.length < off) return null;
  const csrcs = [];
  for (let i = 0; i < cc; ++i) csrcs.push(buf.readUInt32BE(12 + 4 * i));
  let extension = null;
  if (buf[0] & 0x10) {
    if (buf.length < off + 4) return null;
    const profile = buf.readUInt16BE(off);
    const words = buf.readUInt16BE(off + 2);
    if (buf.length < off + 4 + 4 * words) return null;
    extension = { profile, data: buf.subarray(off + 4, off + 4 + 4 * words) };
    off += 4 + 4 * words;
  }
  let end = buf.length;
  if (buf[0] & 0x20) {
    const pad = buf[buf.length - 1];
    if (pad === 0 || off + pad > buf.length) return null;
    end -= pad;
  }
  return {
    marker: (buf[1] & 0x80) !== 0,
    pt: buf[1] & 0x7f,
    seq: buf.readUInt16BE(2),
    ts: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    extension,
    headerLength: off,
    payload: buf.subarray(off, end),
    raw: buf,
  };
}

// RFC 5761 §4: RTCP packet types 192..223 in the second byte; RTP otherwise.
export function isRtcp(buf) {
  return buf.length >= 4 && (buf[0] >> 6) === 2 && buf[1] >= 192 && buf[1] <= 223;
}

// RFC 4588 §4: the RTX payload is the 2-byte original sequence number, then
// the original payload.
export function parseRtxPayload(payload) {
  return { osn: payload.readUInt16BE(0), payload: payload.subarray(2) };
}

// ---------------------------------------------------------------------------
// VP8 payloads (RFC 7741)
//
// Payload descriptor, first byte:  |X|R|N|S|R| PID |   S = start of partition
// With X: |I|L|T|K| RSV |, then the picture id (7 or 15 bits, M bit), TL0PICIDX,
// |TID|Y| KEYIDX|.
// Payload header (first 3 bytes of partition 0 when S=1 and PID=0):
//   |Size0|H| VER |P|   P (bit 0) = inverse key frame flag: 0 = key frame.
// A key frame continues with the start code 9d 01 2a and 14-bit width/height.
// ---------------------------------------------------------------------------

export function vp8Descriptor({ start, pictureId, tl0PicIdx, tid }) {
  const hasX = pictureId !== undefined || tl0PicIdx !== undefined || tid !== undefined;
  const bytes = [(hasX ? 0x80 : 0) | (start ? 0x10 : 0)];
  if (hasX) {
    bytes.push((pictureId !== undefined ? 0x80 : 0) | (tl0PicIdx !== undefined ? 0x40 : 0) |
      (tid !== undefined ? 0x20 : 0));
    if (pictureId !== undefined) bytes.push(0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff);
    if (tl0PicIdx !== undefined) bytes.push(tl0PicIdx & 0xff);
    if (tid !== undefined) bytes.push((tid & 3) << 6);
  }
  return Buffer.from(bytes);
}

// One VP8 frame split into `packets` RTP payloads. `fill` makes payloads
// distinguishable (e.g. the frame number); sizes vary with it.
export function vp8FramePayloads({ keyframe, packets = 1, size = 120, fill = 0, descriptor = {} }) {
  const out = [];
  for (let i = 0; i < packets; ++i) {
    const parts = [vp8Descriptor({ ...descriptor, start: i === 0 })];
    if (i === 0) {
      if (keyframe) {
        // Frame tag: P=0, version 0, show_frame=1, first partition size 0x40.
        parts.push(Buffer.from([0x10, 0x04, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01])); // 640x480
      } else {
        parts.push(Buffer.from([0x11, 0x04, 0x00])); // P=1
      }
    }
    const body = Buffer.alloc(size + (fill % 7) + i);
    for (let j = 0; j < body.length; ++j) body[j] = (fill * 31 + i * 7 + j) & 0xff;
    parts.push(body);
    out.push(Buffer.concat(parts));
  }
  return out;
}

// The test's own view: does this VP8 payload start a key frame?
export function vp8IsKeyFrame(payload) {
  if (payload.length < 1) return false;
  let off = 1;
  const x = payload[0] & 0x80;
  if (!(payload[0] & 0x10) || (payload[0] & 0x07) !== 0) return false;
  if (x) {
    const ext = payload[1];
    off = 2;
    if (ext & 0x80) off += (payload[off] & 0x80) ? 2 : 1;
    if (ext & 0x40) off += 1;
    if (ext & 0x30) off += 1;
  }
  return payload.length > off && (payload[off] & 0x01) === 0;
}

// An Opus packet: a TOC byte (config 12 = hybrid SWB 20 ms, mono, code 0)
// followed by `size` bytes of pattern.
export function opusPayload({ size = 60, fill = 0 } = {}) {
  const b = Buffer.alloc(1 + size + (fill % 5));
  b[0] = 0x60;
  for (let j = 1; j < b.length; ++j) b[j] = (fill * 13 + j) & 0xff;
  return b;
}

// ---------------------------------------------------------------------------
// RTCP (RFC 3550 §6, RFC 4585 §6)
//
//   |V=2|P|  RC/FMT |      PT       |             length            |
// ---------------------------------------------------------------------------

export const RTCP = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204, RTPFB: 205, PSFB: 206, XR: 207 };

function rtcpHeader(countOrFmt, pt, totalLength) {
  const h = Buffer.alloc(4);
  h[0] = 0x80 | (countOrFmt & 0x1f);
  h[1] = pt;
  h.writeUInt16BE(totalLength / 4 - 1, 2);
  return h;
}

function reportBlocks(reports) {
  return reports.map((r) => {
    const b = Buffer.alloc(24);
    b.writeUInt32BE(r.ssrc >>> 0, 0);
    b[4] = r.fractionLost ?? 0;
    b.writeUIntBE((r.totalLost ?? 0) & 0xffffff, 5, 3);
    b.writeUInt32BE(u32(r.highestSeq ?? 0), 8);
    b.writeUInt32BE(u32(r.jitter ?? 0), 12);
    b.writeUInt32BE(u32(r.lsr ?? 0), 16);
    b.writeUInt32BE(u32(r.dlsr ?? 0), 20);
    return b;
  });
}

export function buildSr({ ssrc, ntpSec = 0, ntpFrac = 0, rtpTs = 0, packetCount = 0, octetCount = 0, reports = [] }) {
  const body = Buffer.alloc(24);
  body.writeUInt32BE(ssrc >>> 0, 0);
  body.writeUInt32BE(u32(ntpSec), 4);
  body.writeUInt32BE(u32(ntpFrac), 8);
  body.writeUInt32BE(u32(rtpTs), 12);
  body.writeUInt32BE(u32(packetCount), 16);
  body.writeUInt32BE(u32(octetCount), 20);
  const blocks = reportBlocks(reports);
  const len = 4 + 24 + 24 * blocks.length;
  return Buffer.concat([rtcpHeader(blocks.length, RTCP.SR, len), body, ...blocks]);
}

export function buildRr({ ssrc, reports = [] }) {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(ssrc >>> 0, 0);
  const blocks = reportBlocks(reports);
  return Buffer.concat([rtcpHeader(blocks.length, RTCP.RR, 8 + 24 * blocks.length), body, ...blocks]);
}

// SDES with one CNAME chunk.
export function buildSdesCname({ ssrc, cname }) {
  const text = Buffer.from(cname, 'utf8');
  let chunkLen = 4 + 2 + text.length + 1; // ssrc, type+len, text, END
  chunkLen = Math.ceil(chunkLen / 4) * 4;
  const chunk = Buffer.alloc(chunkLen);
  chunk.writeUInt32BE(ssrc >>> 0, 0);
  chunk[4] = 1;
  chunk[5] = text.length;
  text.copy(chunk, 6);
  return Buffer.concat([rtcpHeader(1, RTCP.SDES, 4 + chunkLen), chunk]);
}

// Generic NACK (RFC 4585 §6.2.1): PT 205, FMT 1; FCI = PID + BLP per 17 seqs.
export function buildNack({ senderSsrc, mediaSsrc, seqs }) {
  const sorted = [...new Set(seqs.map(u16))];
  // Group in order of first appearance relative to the first seq (serial order).
  const base = sorted[0];
  sorted.sort((a, b) => seqDiff(base, a) - seqDiff(base, b));
  const fci = [];
  for (const s of sorted) {
    const last = fci[fci.length - 1];
    const d = last ? seqDiff(last.pid, s) : -1;
    if (last && d >= 1 && d <= 16) last.blp |= 1 << (d - 1);
    else fci.push({ pid: s, blp: 0 });
  }
  const body = Buffer.alloc(8 + 4 * fci.length);
  body.writeUInt32BE(senderSsrc >>> 0, 0);
  body.writeUInt32BE(mediaSsrc >>> 0, 4);
  fci.forEach((f, i) => {
    body.writeUInt16BE(f.pid, 8 + 4 * i);
    body.writeUInt16BE(f.blp, 10 + 4 * i);
  });
  return Buffer.concat([rtcpHeader(1, RTCP.RTPFB, 4 + body.length), body]);
}

// PLI (RFC 4585 §6.3.1): PT 206, FMT 1, no FCI.
export function buildPli({ senderSsrc, mediaSsrc }) {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(senderSsrc >>> 0, 0);
  body.writeUInt32BE(mediaSsrc >>> 0, 4);
  return Buffer.concat([rtcpHeader(1, RTCP.PSFB, 12), body]);
}

// FIR (RFC 5104 §4.3.1): PT 206, FMT 4; FCI = SSRC + seq nr + 3 reserved bytes.
export function buildFir({ senderSsrc, mediaSsrc, seqNr }) {
  const body = Buffer.alloc(16);
  body.writeUInt32BE(senderSsrc >>> 0, 0);
  body.writeUInt32BE(0, 4);
  body.writeUInt32BE(mediaSsrc >>> 0, 8);
  body[12] = seqNr & 0xff;
  return Buffer.concat([rtcpHeader(4, RTCP.PSFB, 20), body]);
}

export function compound(...packets) {
  return Buffer.concat(packets);
}

function parseReportBlocks(buf, off, count) {
  const reports = [];
  for (let i = 0; i < count && off + 24 <= buf.length; ++i, off += 24) {
    const lost = buf.readUIntBE(off + 5, 3);
    reports.push({
      ssrc: buf.readUInt32BE(off),
      fractionLost: buf[off + 4],
      totalLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSeq: buf.readUInt32BE(off + 8),
      jitter: buf.readUInt32BE(off + 12),
      lsr: buf.readUInt32BE(off + 16),
      dlsr: buf.readUInt32BE(off + 20),
    });
  }
  return reports;
}

// Parses a compound RTCP packet into a list of
//   { pt, count|fmt, ... } per RFC 3550 / 4585 / 5104.
// Throws on a malformed compound (a test should fail loudly on that).
export function parseRtcp(buf) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) throw new Error(`RTCP: ${buf.length - off} trailing bytes`);
    if ((buf[off] >> 6) !== 2) throw new Error(`RTCP: version ${buf[off] >> 6} at ${off}`);
    const count = buf[off] & 0x1f;
    const pt = buf[off + 1];
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (off + len > buf.length) throw new Error(`RTCP: length ${len} past the end at ${off}`);
    let pkt = buf.subarray(off, off + len);
    if (pkt[0] & 0x20) pkt = pkt.subarray(0, len - pkt[len - 1]);
    const item = { pt, count, raw: pkt };
    switch (pt) {
      case RTCP.SR:
        item.ssrc = pkt.readUInt32BE(4);
        item.ntpSec = pkt.readUInt32BE(8);
        item.ntpFrac = pkt.readUInt32BE(12);
        item.rtpTs = pkt.readUInt32BE(16);
        item.packetCount = pkt.readUInt32BE(20);
        item.octetCount = pkt.readUInt32BE(24);
        item.reports = parseReportBlocks(pkt, 28, count);
        break;
      case RTCP.RR:
        item.ssrc = pkt.readUInt32BE(4);
        item.reports = parseReportBlocks(pkt, 8, count);
        break;
      case RTCP.SDES: {
        item.chunks = [];
        let o = 4;
        for (let c = 0; c < count && o + 4 <= pkt.length; ++c) {
          const chunk = { ssrc: pkt.readUInt32BE(o), items: [] };
          o += 4;
          while (o < pkt.length && pkt[o] !== 0) {
            const type = pkt[o];
            const l = pkt[o + 1];
            chunk.items.push({ type, text: pkt.subarray(o + 2, o + 2 + l).toString('utf8') });
            o += 2 + l;
          }
          o = Math.ceil((o + 1) / 4) * 4;
          item.chunks.push(chunk);
        }
        break;
      }
      case RTCP.BYE:
        item.ssrcs = [];
        for (let i = 0; i < count; ++i) item.ssrcs.push(pkt.readUInt32BE(4 + 4 * i));
        break;
      case RTCP.RTPFB:
      case RTCP.PSFB:
        item.fmt = count;
        item.senderSsrc = pkt.readUInt32BE(4);
        item.mediaSsrc = pkt.readUInt32BE(8);
        item.fci = pkt.subarray(12);
        if (pt === RTCP.RTPFB && count === 1) {
          item.seqs = [];
          for (let o = 0; o + 4 <= item.fci.length; o += 4) {
            const pid = item.fci.readUInt16BE(o);
            const blp = item.fci.readUInt16BE(o + 2);
            item.seqs.push(pid);
            for (let b = 0; b < 16; ++b) if (blp & (1 << b)) item.seqs.push(u16(pid + b + 1));
          }
        }
        if (pt === RTCP.PSFB && count === 4) {
          item.firs = [];
          for (let o = 0; o + 8 <= item.fci.length; o += 8) {
            item.firs.push({ ssrc: item.fci.readUInt32BE(o), seqNr: item.fci[o + 4] });
          }
        }
        break;
      default:
        break;
    }
    out.push(item);
    off += len;
  }
  return out;
}

// Convenience predicates over parsed RTCP items.
export const isNack = (p) => p.pt === RTCP.RTPFB && p.fmt === 1;
export const isPli = (p) => p.pt === RTCP.PSFB && p.fmt === 1;
export const isFir = (p) => p.pt === RTCP.PSFB && p.fmt === 4;
