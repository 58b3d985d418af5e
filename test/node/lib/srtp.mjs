// SRTP / SRTCP (RFC 3711, RFC 7714) in plain JS on node:crypto, for the test
// peers that talk to the worker's PlainTransport with enableSrtp.
//
// Suites (names as in mediasoup's SrtpCryptoSuite):
//   AES_CM_128_HMAC_SHA1_80 / _32   master key 16 + salt 14 (keyBase64 = 30 bytes)
//   AEAD_AES_128_GCM                master key 16 + salt 12 (28 bytes)
//   AEAD_AES_256_GCM                master key 32 + salt 12 (44 bytes)
//
// Keys come from the master key with the RFC 3711 §4.3 AES-CM PRF, key
// derivation rate 0. A 12-byte GCM master salt is used as the first 12 bytes of
// the 14-byte PRF salt, the last two being zero (RFC 7714 §11 reuses the
// RFC 3711 KDF; libsrtp's test vectors agree).
//
// A context is one direction of one transport (one master key): it keeps the
// rollover counter per SSRC when protecting (from the sequence numbers it
// sends) and estimates it when unprotecting (RFC 3711 §3.3.1), and counts the
// SRTCP index per SSRC.

import crypto from 'node:crypto';

export const SUITES = {
  AES_CM_128_HMAC_SHA1_80: { kind: 'cm', keyLen: 16, saltLen: 14, tagLen: 10 },
  AES_CM_128_HMAC_SHA1_32: { kind: 'cm', keyLen: 16, saltLen: 14, tagLen: 4 },
  AEAD_AES_128_GCM: { kind: 'gcm', keyLen: 16, saltLen: 12, tagLen: 16 },
  AEAD_AES_256_GCM: { kind: 'gcm', keyLen: 32, saltLen: 12, tagLen: 16 },
};

// RFC 3711 §4.3.1 labels.
export const LABEL = {
  RTP_ENCRYPTION: 0, RTP_AUTH: 1, RTP_SALT: 2,
  RTCP_ENCRYPTION: 3, RTCP_AUTH: 4, RTCP_SALT: 5,
};

// SRTCP authentication tags are always 80 bits for the _32 suite too
// (RFC 3711 §5.2 and RFC 4568 §6.2.1: the _32 suite shortens the SRTP tag only).
const SRTCP_CM_TAG_LEN = 10;

function aesCtrName(key) {
  return `aes-${key.length * 8}-ctr`;
}

function aesGcmName(key) {
  return `aes-${key.length * 8}-gcm`;
}

// AES in counter mode from a 16-byte initial counter block: XORs the keystream
// into data (so a zero buffer yields the keystream). node's CTR increments the
// whole 128-bit block; SRTP's counter is the low 16 bits only, which is the same
// as long as fewer than 2^16 blocks are asked for from an IV with zero low bits
// (always true in SRTP: the low 16 bits of the IV are zero).
export function aesCm(key, iv, data) {
  const c = crypto.createCipheriv(aesCtrName(key), key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

// RFC 3711 §4.3.1 / §4.3.3: the AES-CM PRF, kdr 0 (r = 0).
export function deriveKey(masterKey, masterSalt, label, length) {
  const x = Buffer.alloc(16);
  masterSalt.copy(x, 0, 0, Math.min(14, masterSalt.length));
  x[7] ^= label; // key_id = label || r(48 bits), right-aligned against the 112-bit salt
  return aesCm(masterKey, x, Buffer.alloc(length));
}

export function deriveSessionKeys(suiteName, masterKey, masterSalt) {
  const suite = SUITES[suiteName];
  if (!suite) throw new TypeError(`unknown SRTP suite ${suiteName}`);
  const authLen = suite.kind === 'cm' ? 20 : 0;
  const saltLen = suite.kind === 'cm' ? 14 : 12;
  return {
    rtp: {
      key: deriveKey(masterKey, masterSalt, LABEL.RTP_ENCRYPTION, suite.keyLen),
      auth: deriveKey(masterKey, masterSalt, LABEL.RTP_AUTH, authLen),
      salt: deriveKey(masterKey, masterSalt, LABEL.RTP_SALT, saltLen),
    },
    rtcp: {
      key: deriveKey(masterKey, masterSalt, LABEL.RTCP_ENCRYPTION, suite.keyLen),
      auth: deriveKey(masterKey, masterSalt, LABEL.RTCP_AUTH, authLen),
      salt: deriveKey(masterKey, masterSalt, LABEL.RTCP_SALT, saltLen),
    },
  };
}

// Random key material of the right size for the suite, as mediasoup expects in
// srtpParameters.keyBase64 (master key || master salt).
export function generateKeyBase64(suiteName) {
  const suite = SUITES[suiteName];
  return crypto.randomBytes(suite.keyLen + suite.saltLen).toString('base64');
}

export function splitKeyBase64(suiteName, keyBase64) {
  const suite = SUITES[suiteName];
  const raw = Buffer.from(keyBase64, 'base64');
  if (raw.length !== suite.keyLen + suite.saltLen) {
    throw new TypeError(`${suiteName} wants ${suite.keyLen + suite.saltLen} key bytes, got ${raw.length}`);
  }
  return { masterKey: raw.subarray(0, suite.keyLen), masterSalt: raw.subarray(suite.keyLen) };
}

// ---------------------------------------------------------------------------
// Per-packet transforms on session keys (exported for the known-answer tests)
// ---------------------------------------------------------------------------

// Length of the RTP header including CSRCs and the extension (RFC 3550 §5.3.1).
export function rtpHeaderLength(pkt) {
  if (pkt.length < 12) throw new RangeError('RTP packet shorter than 12 bytes');
  let len = 12 + 4 * (pkt[0] & 0x0f);
  if (pkt[0] & 0x10) {
    if (pkt.length < len + 4) throw new RangeError('truncated RTP header extension');
    len += 4 + 4 * pkt.readUInt16BE(len + 2);
  }
  if (pkt.length < len) throw new RangeError('truncated RTP header');
  return len;
}

// RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16).
function cmIv(salt, ssrc, index) {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, 14);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const hi = Math.floor(index / 2 ** 32) & 0xffff; // index is 48 bits
  const lo = index >>> 0;
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ hi, 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ lo) >>> 0, 10);
  return iv;
}

// RFC 7714 §8.1 (SRTP) and §9.1 (SRTCP): a 12-byte IV
//   SRTP:  00 00 || SSRC || ROC || SEQ   XOR salt
//   SRTCP: 00 00 || SSRC || 00 00 || 0 || SRTCP index (31 bits)   XOR salt
function gcmIv(salt, ssrc, hi32, lo16) {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc >>> 0, 2);
  iv.writeUInt32BE(hi32 >>> 0, 6);
  iv.writeUInt16BE(lo16 & 0xffff, 10);
  for (let i = 0; i < 12; ++i) iv[i] ^= salt[i];
  return iv;
}

function hmacSha1(key, ...parts) {
  const h = crypto.createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

// SRTP protect with session keys (one packet, given ROC).
export function protectRtpWith(suiteName, keys, pkt, roc) {
  const suite = SUITES[suiteName];
  const hlen = rtpHeaderLength(pkt);
  const ssrc = pkt.readUInt32BE(8);
  const seq = pkt.readUInt16BE(2);
  const header = pkt.subarray(0, hlen);
  const payload = pkt.subarray(hlen);
  if (suite.kind === 'cm') {
    const enc = aesCm(keys.key, cmIv(keys.salt, ssrc, roc * 65536 + seq), payload);
    const body = Buffer.concat([header, enc]);
    const tag = hmacSha1(keys.auth, body, u32(roc)).subarray(0, suite.tagLen);
    return Buffer.concat([body, tag]);
  }
  const c = crypto.createCipheriv(aesGcmName(keys.key), keys.key, gcmIv(keys.salt, ssrc, roc, seq),
    { authTagLength: 16 });
  c.setAAD(header);
  const enc = Buffer.concat([c.update(payload), c.final()]);
  return Buffer.concat([header, enc, c.getAuthTag()]);
}

// SRTP unprotect with session keys; returns the RTP packet or null when the
// tag does not verify.
export function unprotectRtpWith(suiteName, keys, srtp, roc) {
  const suite = SUITES[suiteName];
  if (srtp.length < 12 + suite.tagLen) return null;
  const body = srtp.subarray(0, srtp.length - suite.tagLen);
  const tag = srtp.subarray(srtp.length - suite.tagLen);
  let hlen;
  try {
    hlen = rtpHeaderLength(body);
  } catch {
    return null;
  }
  const ssrc = body.readUInt32BE(8);
  const seq = body.readUInt16BE(2);
  const header = body.subarray(0, hlen);
  if (suite.kind === 'cm') {
    const want = hmacSha1(keys.auth, body, u32(roc)).subarray(0, suite.tagLen);
    if (!crypto.timingSafeEqual(want, tag)) return null;
    return Buffer.concat([header, aesCm(keys.key, cmIv(keys.salt, ssrc, roc * 65536 + seq), body.subarray(hlen))]);
  }
  try {
    const d = crypto.createDecipheriv(aesGcmName(keys.key), keys.key, gcmIv(keys.salt, ssrc, roc, seq),
      { authTagLength: 16 });
    d.setAAD(header);
    d.setAuthTag(tag);
    return Buffer.concat([header, d.update(body.subarray(hlen)), d.final()]);
  } catch {
    return null;
  }
}

// SRTCP protect with session keys (RFC 3711 §3.4, RFC 7714 §9): the first 8
// bytes (header + sender SSRC) stay clear, the rest is encrypted, then
//   AES-CM: E||index (4 bytes), then HMAC-SHA1-80 over everything before it;
//   GCM:    AAD = first 8 bytes || E||index; the tag, then E||index.
export function protectRtcpWith(suiteName, keys, pkt, index) {
  const suite = SUITES[suiteName];
  if (pkt.length < 8) throw new RangeError('RTCP packet shorter than 8 bytes');
  const ssrc = pkt.readUInt32BE(4);
  const eIndex = u32((0x80000000 | index) >>> 0);
  const head = pkt.subarray(0, 8);
  if (suite.kind === 'cm') {
    const enc = aesCm(keys.key, cmIv(keys.salt, ssrc, index), pkt.subarray(8));
    const body = Buffer.concat([head, enc, eIndex]);
    return Buffer.concat([body, hmacSha1(keys.auth, body).subarray(0, SRTCP_CM_TAG_LEN)]);
  }
  const c = crypto.createCipheriv(aesGcmName(keys.key), keys.key,
    gcmIv(keys.salt, ssrc, (index >>> 16) & 0x7fff, index & 0xffff), { authTagLength: 16 });
  c.setAAD(Buffer.concat([head, eIndex]));
  const enc = Buffer.concat([c.update(pkt.subarray(8)), c.final()]);
  return Buffer.concat([head, enc, c.getAuthTag(), eIndex]);
}

// SRTCP unprotect with session keys; returns { packet, index } or null.
export function unprotectRtcpWith(suiteName, keys, srtcp) {
  const suite = SUITES[suiteName];
  if (suite.kind === 'cm') {
    if (srtcp.length < 8 + 4 + SRTCP_CM_TAG_LEN) return null;
    const body = srtcp.subarray(0, srtcp.length - SRTCP_CM_TAG_LEN);
    const tag = srtcp.subarray(srtcp.length - SRTCP_CM_TAG_LEN);
    const want = hmacSha1(keys.auth, body).subarray(0, SRTCP_CM_TAG_LEN);
    if (!crypto.timingSafeEqual(want, tag)) return null;
    const eIndex = body.readUInt32BE(body.length - 4);
    const index = eIndex & 0x7fffffff;
    const enc = body.subarray(8, body.length - 4);
    const plain = (eIndex & 0x80000000) ? aesCm(keys.key, cmIv(keys.salt, body.readUInt32BE(4), index), enc) : enc;
    return { packet: Buffer.concat([body.subarray(0, 8), plain]), index };
  }
  if (srtcp.length < 8 + 16 + 4) return null;
  const eIndexBuf = srtcp.subarray(srtcp.length - 4);
  const eIndex = eIndexBuf.readUInt32BE(0);
  const index = eIndex & 0x7fffffff;
  const tag = srtcp.subarray(srtcp.length - 20, srtcp.length - 4);
  const head = srtcp.subarray(0, 8);
  const enc = srtcp.subarray(8, srtcp.length - 20);
  if (!(eIndex & 0x80000000)) return null; // unencrypted SRTCP: not used by the worker
  try {
    const d = crypto.createDecipheriv(aesGcmName(keys.key), keys.key,
      gcmIv(keys.salt, head.readUInt32BE(4), (index >>> 16) & 0x7fff, index & 0xffff), { authTagLength: 16 });
    d.setAAD(Buffer.concat([head, eIndexBuf]));
    d.setAuthTag(tag);
    return { packet: Buffer.concat([head, d.update(enc), d.final()]), index };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Stateful context: one direction, one master key
// ---------------------------------------------------------------------------

export class SrtpContext {
  // keyBase64: master key || master salt, as in mediasoup's SrtpParameters.
  constructor(suiteName, keyBase64) {
    if (!SUITES[suiteName]) throw new TypeError(`unknown SRTP suite ${suiteName}`);
    this.suite = suiteName;
    const { masterKey, masterSalt } = splitKeyBase64(suiteName, keyBase64);
    this.keys = deriveSessionKeys(suiteName, masterKey, masterSalt);
    this.tx = new Map(); // ssrc -> { roc, lastSeq }
    this.rx = new Map(); // ssrc -> { roc, sl } (highest seq and its roc)
    this.rtcpIndex = new Map(); // ssrc -> next SRTCP index
    this.authFailures = 0;
  }

  static fromParameters({ cryptoSuite, keyBase64 }) {
    return new SrtpContext(cryptoSuite, keyBase64);
  }

  // The sender's ROC: bumped when its sequence number wraps (assumes the
  // caller sends in order or close to it, like the test peers do).
  protectRtp(pkt) {
    const ssrc = pkt.readUInt32BE(8);
    const seq = pkt.readUInt16BE(2);
    let st = this.tx.get(ssrc);
    if (!st) {
      st = { roc: 0, lastSeq: seq };
      this.tx.set(ssrc, st);
    } else {
      const fwd = (seq - st.lastSeq) & 0xffff;
      if (fwd !== 0 && fwd < 0x8000) {
        if (seq < st.lastSeq) st.roc = (st.roc + 1) >>> 0;
        st.lastSeq = seq;
      }
    }
    // A packet behind the highest one that crossed a wrap belongs to the previous ROC.
    const roc = (seq > st.lastSeq && seq - st.lastSeq >= 0x8000) ? (st.roc - 1) >>> 0 : st.roc;
    return protectRtpWith(this.suite, this.keys.rtp, pkt, roc);
  }

  // RFC 3711 §3.3.1 ROC estimate; returns the RTP packet, or null (counted in
  // authFailures) when it does not authenticate.
  unprotectRtp(srtp) {
    if (srtp.length < 12) return null;
    const ssrc = srtp.readUInt32BE(8);
    const seq = srtp.readUInt16BE(2);
    const st = this.rx.get(ssrc);
    let v;
    if (!st) {
      v = 0;
    } else if (st.sl < 0x8000) {
      v = (seq - st.sl > 0x8000) ? (st.roc - 1) >>> 0 : st.roc;
    } else {
      v = (st.sl - 0x8000 > seq) ? (st.roc + 1) >>> 0 : st.roc;
    }
    const out = unprotectRtpWith(this.suite, this.keys.rtp, srtp, v);
    if (!out) {
      this.authFailures++;
      return null;
    }
    if (!st) {
      this.rx.set(ssrc, { roc: v, sl: seq });
    } else if (v === st.roc ? seq > st.sl : v === ((st.roc + 1) >>> 0)) {
      st.roc = v;
      st.sl = seq;
    }
    return out;
  }

  protectRtcp(pkt) {
    const ssrc = pkt.readUInt32BE(4);
    const index = this.rtcpIndex.get(ssrc) ?? 0;
    this.rtcpIndex.set(ssrc, (index + 1) & 0x7fffffff);
    return protectRtcpWith(this.suite, this.keys.rtcp, pkt, index);
  }

  unprotectRtcp(srtcp) {
    const out = unprotectRtcpWith(this.suite, this.keys.rtcp, srtcp);
    if (!out) {
      this.authFailures++;
      return null;
    }
    return out.packet;
  }
}
