// A small STUN (RFC 5389) codec for the tests: binding requests as an ICE
// controlling agent sends them (RFC 8445 §7.1.2), and a parser for what the
// worker answers. Written from the RFCs; node's crypto does HMAC-SHA1 and
// zlib.crc32 the FINGERPRINT CRC.
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export const MAGIC = 0x2112a442;
export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
};

function attr(type, value) {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function u32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

// A binding request. Options: username ("theirs:ours" as the worker expects:
// the worker's ufrag first), password (null: no MESSAGE-INTEGRITY),
// priority (null: omitted), useCandidate, controlling/controlled tie-breakers,
// fingerprint (default true), transactionId.
export function bindingRequest({
  username, password, priority = 0x6e7f00ff, useCandidate = false, controlling = 1n,
  controlled = null, fingerprint = true, transactionId = crypto.randomBytes(12),
} = {}) {
  const attrs = [];
  if (username !== undefined) attrs.push(attr(ATTR.USERNAME, Buffer.from(username)));
  if (priority !== null) attrs.push(attr(ATTR.PRIORITY, u32(priority)));
  if (useCandidate) attrs.push(attr(ATTR.USE_CANDIDATE, Buffer.alloc(0)));
  if (controlling !== null) {
    const v = Buffer.alloc(8);
    v.writeBigUInt64BE(BigInt(controlling));
    attrs.push(attr(ATTR.ICE_CONTROLLING, v));
  }
  if (controlled !== null) {
    const v = Buffer.alloc(8);
    v.writeBigUInt64BE(BigInt(controlled));
    attrs.push(attr(ATTR.ICE_CONTROLLED, v));
  }
  let body = Buffer.concat(attrs);
  const header = (extra) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(body.length + extra, 2);
    h.writeUInt32BE(MAGIC, 4);
    transactionId.copy(h, 8);
    return h;
  };
  if (password !== null && password !== undefined) {
    const mac = crypto.createHmac('sha1', password).update(Buffer.concat([header(24), body])).digest();
    body = Buffer.concat([body, attr(ATTR.MESSAGE_INTEGRITY, mac)]);
  }
  if (fingerprint) {
    const crc = (zlib.crc32(Buffer.concat([header(8), body])) ^ 0x5354554e) >>> 0;
    body = Buffer.concat([body, attr(ATTR.FINGERPRINT, u32(crc))]);
  }
  return { bytes: Buffer.concat([header(0), body]), transactionId };
}

export function isStun(buf) {
  return buf.length >= 20 && buf[0] < 4 && buf.readUInt32BE(4) === MAGIC;
}

// { type, cls: 'request'|'indication'|'success'|'error', transactionId,
//   attrs: Map(type → value), errorCode, xorMapped: {ip, port},
//   integrityOk(password), fingerprintOk }
export function parseStun(buf) {
  if (!isStun(buf)) return null;
  const type = buf.readUInt16BE(0);
  const cls = ['request', 'indication', 'success', 'error'][((type >> 4) & 1) | ((type >> 7) & 2)];
  const len = buf.readUInt16BE(2);
  const attrs = new Map();
  const offsets = new Map();
  for (let off = 20; off + 4 <= 20 + len;) {
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    attrs.set(t, buf.subarray(off + 4, off + 4 + l));
    offsets.set(t, off);
    off += 4 + Math.ceil(l / 4) * 4;
  }
  const out = { type, cls, transactionId: buf.subarray(8, 20), attrs };
  const ec = attrs.get(ATTR.ERROR_CODE);
  if (ec) out.errorCode = (ec[2] & 7) * 100 + ec[3];
  const xm = attrs.get(ATTR.XOR_MAPPED_ADDRESS);
  if (xm) {
    const port = xm.readUInt16BE(2) ^ (MAGIC >>> 16);
    if (xm[1] === 1) {
      const ip = [0, 1, 2, 3].map((i) => xm[4 + i] ^ ((MAGIC >>> (24 - 8 * i)) & 0xff)).join('.');
      out.xorMapped = { ip, port };
    } else {
      const key = Buffer.concat([u32(MAGIC), out.transactionId]);
      const raw = Buffer.from(xm.subarray(4, 20).map((b, i) => b ^ key[i]));
      out.xorMapped = { ip: raw.toString('hex').match(/.{4}/g).join(':'), port };
    }
  }
  out.integrityOk = (password) => {
    const at = offsets.get(ATTR.MESSAGE_INTEGRITY);
    if (at === undefined) return false;
    const head = Buffer.from(buf.subarray(0, at));
    head.writeUInt16BE(at - 20 + 24, 2);
    const mac = crypto.createHmac('sha1', password).update(head).digest();
    return mac.equals(attrs.get(ATTR.MESSAGE_INTEGRITY));
  };
  const fpAt = offsets.get(ATTR.FINGERPRINT);
  out.fingerprintOk = fpAt !== undefined &&
    ((zlib.crc32(buf.subarray(0, fpAt)) ^ 0x5354554e) >>> 0) === attrs.get(ATTR.FINGERPRINT).readUInt32BE(0);
  return out;
}

// RFC 4571: a 16-bit length before each packet on a TCP stream.
export function frame(buf) {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(buf.length);
  return Buffer.concat([h, buf]);
}

// Splits a TCP byte stream into RFC 4571 frames; keeps the partial tail.
export class Deframer {
  constructor() {
    this.pending = Buffer.alloc(0);
  }

  push(chunk) {
    this.pending = Buffer.concat([this.pending, chunk]);
    const frames = [];
    while (this.pending.length >= 2) {
      const len = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + len) break;
      frames.push(this.pending.subarray(2, 2 + len));
      this.pending = this.pending.subarray(2 + len);
    }
    return frames;
  }
}
