// Known-answer tests for test/node/lib/srtp.mjs, the SRTP the media tests'
// peers use against the worker. Published vectors only:
//   RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation),
//   RFC 6188 §7.2 (AES-256 key derivation),
//   RFC 7714 §16 (SRTP AEAD_AES_128_GCM / AEAD_AES_256_GCM) and §17 (SRTCP),
//   libsrtp's srtp_driver full-packet vectors (AES_CM_128_HMAC_SHA1_80 and
//   AEAD_AES_128_GCM from a master key: they cover the KDF with a 12-byte salt).
//
//   cd test/node && node --test srtp-lib.test.mjs

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  SUITES, LABEL, aesCm, deriveKey, deriveSessionKeys, protectRtpWith, unprotectRtpWith,
  protectRtcpWith, unprotectRtcpWith, SrtpContext, generateKeyBase64,
} from './lib/srtp.mjs';

const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const keyB64 = (key, salt) => Buffer.concat([hex(key), hex(salt)]).toString('base64');

describe('RFC 3711 Appendix B', () => {
  test('B.2: AES-CM keystream, first and last blocks of the 65282-block segment', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const ks = aesCm(key, iv, Buffer.alloc(65282 * 16));
    assert.equal(ks.subarray(0, 48).toString('hex'), hex(
      'E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0')
      .toString('hex'));
    assert.equal(ks.subarray(ks.length - 48).toString('hex'), hex(
      'EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44')
      .toString('hex'));
  });

  test('B.3: key derivation (cipher key, salt, the full 94-byte auth keystream)', () => {
    const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
    assert.deepEqual(deriveKey(mk, ms, LABEL.RTP_ENCRYPTION, 16), hex('C61E7A93744F39EE10734AFE3FF7A087'));
    assert.deepEqual(deriveKey(mk, ms, LABEL.RTP_SALT, 14), hex('30CBBC08863D8C85D49DB34A9AE1'));
    assert.deepEqual(deriveKey(mk, ms, LABEL.RTP_AUTH, 94), hex(
      'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE' +
      'E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25' +
      '6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2'));
    const keys = deriveSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, ms);
    assert.deepEqual(keys.rtp.auth, hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'));
  });
});

test('RFC 6188 §7.2: AES-256 key derivation', () => {
  const mk = hex('f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6');
  const ms = hex('3b04803de51ee7c96423ab5b78d2');
  assert.deepEqual(deriveKey(mk, ms, LABEL.RTP_ENCRYPTION, 32),
    hex('5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4'));
  assert.deepEqual(deriveKey(mk, ms, LABEL.RTP_SALT, 14), hex('fa31791685ca444a9e07c6c64e93'));
  assert.deepEqual(deriveKey(mk, ms, LABEL.RTP_AUTH, 20), hex('fd9c32d39ed5fbb5a9dc96b30818454d1313dc05'));
});

describe('libsrtp srtp_driver vectors (from a master key)', () => {
  test('AES_CM_128_HMAC_SHA1_80: SRTP and SRTCP (index 1)', () => {
    const b64 = keyB64('e1f97a0d3e018be0d64fa32c06de4139', '0ec675ad498afeebb6960b3aabe6');
    const rtp = hex('800f1234decafbad cafebabe abababab abababababababab abababab');
    const srtp = hex('800f1234decafbad cafebabe 4e55dc4c e79978d88ca4d215 949d2402 b78d6acc99ea179b8dbb');
    const tx = new SrtpContext('AES_CM_128_HMAC_SHA1_80', b64);
    assert.deepEqual(tx.protectRtp(rtp), srtp);
    assert.deepEqual(new SrtpContext('AES_CM_128_HMAC_SHA1_80', b64).unprotectRtp(srtp), rtp);

    const rtcp = hex('81c8000bcafebabe abababababababab abababababababab');
    const srtcp = hex('81c8000bcafebabe 7128035be487b9bd bef89041f977a5a8 80000001 993e08cd54d6c1230798');
    tx.protectRtcp(rtcp); // index 0
    assert.deepEqual(tx.protectRtcp(rtcp), srtcp); // index 1
    assert.deepEqual(new SrtpContext('AES_CM_128_HMAC_SHA1_80', b64).unprotectRtcp(srtcp), rtcp);
  });

  test('AEAD_AES_128_GCM: SRTP and SRTCP (index 1), 12-byte master salt through the KDF', () => {
    const b64 = keyB64('000102030405060708090a0b0c0d0e0f', 'a0a1a2a3a4a5a6a7a8a9aaab');
    const rtp = hex('800f1234decafbad cafebabe abababab abababababababab abababab');
    const srtp = hex('800f1234decafbad cafebabe c5002ede 04cfdd2eb91159e0 880aa06e d2976826f796b201df3131a127e8a392');
    const tx = new SrtpContext('AEAD_AES_128_GCM', b64);
    assert.deepEqual(tx.protectRtp(rtp), srtp);
    assert.deepEqual(new SrtpContext('AEAD_AES_128_GCM', b64).unprotectRtp(srtp), rtp);

    const rtcp = hex('81c8000bcafebabe abababababababab abababababababab');
    const srtcp = hex('81c8000bcafebabe c98b8b5df0392a55 852b6c21ac8e7025 c52c6fbea2b3b446 ea31123ba88ce61e 80000001');
    tx.protectRtcp(rtcp);
    assert.deepEqual(tx.protectRtcp(rtcp), srtcp);
    assert.deepEqual(new SrtpContext('AEAD_AES_128_GCM', b64).unprotectRtcp(srtcp), rtcp);
  });
});

describe('RFC 7714 §16/§17 (session keys)', () => {
  const salt = hex('517569642070726f2071756f');
  const rtp = hex('8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976' +
    '69736120 696e2070 61727465 73207472 6573'); // "Gallia est omnis divisa in partes tres"
  const rtcp = hex('81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61' +
    'deadbeef deadbeef deadbeef deadbeef deadbeef');
  const cases = [
    ['AEAD_AES_128_GCM', '000102030405060708090a0b0c0d0e0f',
      '8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a' +
      '51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce',
      '81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda' +
      '4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4'],
    ['AEAD_AES_256_GCM', '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      '8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02' +
      '76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13',
      '81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be' +
      '8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4'],
  ];
  for (const [suite, key, srtp, srtcp] of cases) {
    const keys = { key: hex(key), salt };
    test(`${suite}: §16 SRTP encrypt and decrypt, tampering rejected`, () => {
      assert.deepEqual(protectRtpWith(suite, keys, rtp, 0), hex(srtp));
      assert.deepEqual(unprotectRtpWith(suite, keys, hex(srtp), 0), rtp);
      const bad = hex(srtp);
      bad[20] ^= 1;
      assert.equal(unprotectRtpWith(suite, keys, bad, 0), null);
      assert.equal(unprotectRtpWith(suite, keys, hex(srtp), 1), null, 'wrong ROC');
    });
    test(`${suite}: §17 SRTCP encrypt and decrypt (index 0x5d4), tampering rejected`, () => {
      assert.deepEqual(protectRtcpWith(suite, keys, rtcp, 0x5d4), hex(srtcp));
      assert.deepEqual(unprotectRtcpWith(suite, keys, hex(srtcp)), { packet: rtcp, index: 0x5d4 });
      const bad = hex(srtcp);
      bad[30] ^= 8;
      assert.equal(unprotectRtcpWith(suite, keys, bad), null);
    });
  }
});

describe('contexts', () => {
  for (const suite of Object.keys(SUITES)) {
    test(`${suite}: round trip across a sequence-number wrap, sizes, tamper and wrong key`, () => {
      const b64 = generateKeyBase64(suite);
      assert.equal(Buffer.from(b64, 'base64').length, SUITES[suite].keyLen + SUITES[suite].saltLen);
      const tx = new SrtpContext(suite, b64);
      const rx = new SrtpContext(suite, b64);
      const other = new SrtpContext(suite, generateKeyBase64(suite));
      for (let i = 0; i < 12; ++i) {
        const seq = (65530 + i) & 0xffff;
        const pkt = Buffer.alloc(12 + 30 + i, i);
        pkt[0] = 0x80;
        pkt[1] = 96;
        pkt.writeUInt16BE(seq, 2);
        pkt.writeUInt32BE(0x12345678 + i * 3000 >>> 0, 4);
        pkt.writeUInt32BE(0xdeadbeef, 8);
        const s = tx.protectRtp(pkt);
        assert.equal(s.length, pkt.length + SUITES[suite].tagLen);
        assert.notDeepEqual(s.subarray(12, pkt.length), pkt.subarray(12));
        assert.deepEqual(rx.unprotectRtp(s), pkt, `seq ${seq}`);
        assert.equal(other.unprotectRtp(s), null);
        const bad = Buffer.from(s);
        bad[bad.length - 1] ^= 0x40;
        assert.equal(rx.unprotectRtp(bad), null);
      }
      // The wrap moved both sides to ROC 1: a late packet from before the wrap
      // still uses ROC 0 on both sides.
      assert.equal(tx.tx.get(0xdeadbeef).roc, 1);
      assert.equal(rx.rx.get(0xdeadbeef).roc, 1);
      const late = Buffer.alloc(40, 9);
      late[0] = 0x80;
      late.writeUInt16BE(65533, 2);
      late.writeUInt32BE(0xdeadbeef, 8);
      const lateSrtp = tx.protectRtp(late);
      assert.deepEqual(unprotectRtpWith(suite, rx.keys.rtp, lateSrtp, 0), late);
      assert.deepEqual(rx.unprotectRtp(lateSrtp), late);
      assert.equal(rx.rx.get(0xdeadbeef).roc, 1);

      const sr = Buffer.alloc(28, 7);
      sr[0] = 0x80;
      sr[1] = 200;
      sr.writeUInt16BE(6, 2);
      sr.writeUInt32BE(0xdeadbeef, 4);
      for (let i = 0; i < 3; ++i) {
        const s = tx.protectRtcp(sr);
        assert.equal(s.length, sr.length + 4 + (SUITES[suite].kind === 'cm' ? 10 : 16));
        assert.equal(s.readUInt32BE(SUITES[suite].kind === 'cm' ? s.length - 14 : s.length - 4), 0x80000000 + i);
        assert.deepEqual(rx.unprotectRtcp(s), sr);
        assert.equal(other.unprotectRtcp(s), null);
      }
    });
  }
});
