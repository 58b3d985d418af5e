// The media tests' own helpers (lib/rtp.mjs, lib/media-peer.mjs), proved
// without a worker: byte layouts against the RFCs, and the forwarding checks
// against a JS relay that forwards correctly — and against ones that do not,
// so the checks cannot pass vacuously.
//
//   cd test/node && node --test media-helpers.test.mjs

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import {
  buildRtp, parseRtp, isRtcp, buildSr, buildRr, buildSdesCname, buildNack, buildPli, buildFir, parseRtcp,
  parseRtxPayload, vp8FramePayloads, vp8IsKeyFrame, vp8Descriptor, seqDiff, tsDiff, u16, u32, RTCP, isNack,
  isPli, isFir,
} from './lib/rtp.mjs';
import { UdpPeer, StreamSender, checkForwarded, assertContiguous, closeAll } from './lib/media-peer.mjs';
import { SrtpContext, generateKeyBase64 } from './lib/srtp.mjs';

const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

after(closeAll);

describe('RTP', () => {
  test('build and parse: fields, CSRCs, header extension, padding', () => {
    const pkt = buildRtp({ pt: 96, seq: 65535, ts: 0xfffffff0, ssrc: 0xdeadbeef, marker: true,
      payload: hex('0102030405'), csrcs: [7], padding: 3 });
    assert.deepEqual(pkt, hex('a1e0ffff fffffff0 deadbeef 00000007 0102030405 000003'));
    const p = parseRtp(pkt);
    assert.equal(p.marker, true);
    assert.equal(p.pt, 96);
    assert.equal(p.seq, 65535);
    assert.equal(p.ts, 0xfffffff0);
    assert.equal(p.ssrc, 0xdeadbeef);
    assert.deepEqual(p.csrcs, [7]);
    assert.deepEqual(p.payload, hex('0102030405'));

    // RFC 8285 one-byte extension block: profile 0xBEDE, one word.
    const ext = hex('90600001 00000002 00000003 bede0001 10aa0000 cafe');
    const e = parseRtp(ext);
    assert.equal(e.headerLength, 20);
    assert.equal(e.extension.profile, 0xbede);
    assert.deepEqual(e.payload, hex('cafe'));
    assert.equal(parseRtp(hex('90600001 00000002 00000003 bede0004 10aa')), null, 'truncated extension');
    assert.equal(parseRtp(hex('4060000100000002')), null, 'version 1, short');
  });

  test('RTP/RTCP demux on the second byte (RFC 5761)', () => {
    assert.equal(isRtcp(buildPli({ senderSsrc: 1, mediaSsrc: 2 })), true);
    assert.equal(isRtcp(buildRtp({ pt: 96, seq: 1, ts: 1, ssrc: 1 })), false);
    assert.equal(isRtcp(buildRtp({ pt: 72, seq: 1, ts: 1, ssrc: 1, marker: true })), true, 'PT 72 + M = 200');
  });

  test('serial arithmetic', () => {
    assert.equal(seqDiff(65535, 0), 1);
    assert.equal(seqDiff(0, 65535), -1);
    assert.equal(tsDiff(0xffffff00, 0x100), 0x200);
    assert.equal(u16(-1), 65535);
    assert.equal(u32(-1), 0xffffffff);
    assert.equal(u32(0xffffffff + 3000), 2999);
  });

  test('RTX payload: OSN then the original payload (RFC 4588 §4)', () => {
    assert.deepEqual(parseRtxPayload(hex('fffe 0102')), { osn: 0xfffe, payload: hex('0102') });
  });
});

describe('VP8 payloads (RFC 7741)', () => {
  test('descriptor layout and key frame flag', () => {
    assert.deepEqual(vp8Descriptor({ start: true }), hex('10'));
    assert.deepEqual(vp8Descriptor({ start: false, pictureId: 0x1234, tl0PicIdx: 5, tid: 1 }), hex('80 e0 9234 05 40'));
    const [key, cont] = vp8FramePayloads({ keyframe: true, packets: 2 });
    assert.equal(key[0], 0x10, 'S=1, PID=0');
    assert.equal(key[1] & 0x01, 0, 'P=0: key frame');
    assert.deepEqual(key.subarray(4, 7), hex('9d012a'), 'key frame start code');
    assert.equal(vp8IsKeyFrame(key), true);
    assert.equal(cont[0], 0x00, 'continuation: S=0');
    assert.equal(vp8IsKeyFrame(cont), false);
    const [delta] = vp8FramePayloads({ keyframe: false });
    assert.equal(delta[1] & 0x01, 1, 'P=1: inter frame');
    assert.equal(vp8IsKeyFrame(delta), false);
    const withPid = Buffer.concat([vp8Descriptor({ start: true, pictureId: 300, tl0PicIdx: 1 }), hex('1004009d012a')]);
    assert.equal(vp8IsKeyFrame(withPid), true);
  });

  test('payloads differ between frames and packets (the tests match packets by payload)', () => {
    const seen = new Set();
    for (let f = 0; f < 50; ++f) {
      for (const p of vp8FramePayloads({ keyframe: f % 10 === 0, packets: 3, fill: f })) seen.add(p.toString('hex'));
    }
    assert.equal(seen.size, 150);
  });
});

describe('RTCP', () => {
  test('SR, RR and SDES round trip (RFC 3550 §6.4, §6.5)', () => {
    const block = { ssrc: 9, fractionLost: 12, totalLost: -2, highestSeq: 0x1fffe, jitter: 33, lsr: 0x12345678, dlsr: 655 };
    const sr = buildSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTs: 4, packetCount: 5, octetCount: 6, reports: [block] });
    assert.equal(sr.length, 52);
    assert.deepEqual(sr.subarray(0, 4), hex('81c8000c'));
    const rr = buildRr({ ssrc: 7, reports: [block] });
    assert.deepEqual(rr.subarray(0, 4), hex('81c90007'));
    const sdes = buildSdesCname({ ssrc: 7, cname: 'abc' });
    assert.deepEqual(sdes, hex('81ca0003 00000007 0103616263 000000'));
    const [a, b, c] = parseRtcp(Buffer.concat([sr, rr, sdes]));
    assert.equal(a.pt, RTCP.SR);
    assert.deepEqual([a.ssrc, a.ntpSec, a.ntpFrac, a.rtpTs, a.packetCount, a.octetCount], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(a.reports, [block]);
    assert.equal(b.pt, RTCP.RR);
    assert.deepEqual(b.reports, [block]);
    assert.deepEqual(c.chunks, [{ ssrc: 7, items: [{ type: 1, text: 'abc' }] }]);
    assert.throws(() => parseRtcp(Buffer.concat([sr, hex('81c9')])), /trailing/);
  });

  test('generic NACK: PID + BLP (RFC 4585 §6.2.1), across the seq wrap', () => {
    const nack = buildNack({ senderSsrc: 1, mediaSsrc: 2, seqs: [100, 101, 116, 117] });
    assert.deepEqual(nack, hex('81cd0004 00000001 00000002 0064 8001 0075 0000'));
    const [p] = parseRtcp(nack);
    assert.ok(isNack(p));
    assert.deepEqual(p.seqs, [100, 101, 116, 117]);
    const wrap = buildNack({ senderSsrc: 1, mediaSsrc: 2, seqs: [65535, 0, 1] });
    assert.deepEqual(wrap.subarray(12), hex('ffff 0003'));
    assert.deepEqual(parseRtcp(wrap)[0].seqs, [65535, 0, 1]);
  });

  test('PLI and FIR layouts (RFC 4585 §6.3.1, RFC 5104 §4.3.1)', () => {
    assert.deepEqual(buildPli({ senderSsrc: 1, mediaSsrc: 2 }), hex('81ce0002 00000001 00000002'));
    const fir = buildFir({ senderSsrc: 1, mediaSsrc: 2, seqNr: 9 });
    assert.deepEqual(fir, hex('84ce0004 00000001 00000000 00000002 09000000'));
    const [p, f] = parseRtcp(Buffer.concat([buildPli({ senderSsrc: 1, mediaSsrc: 2 }), fir]));
    assert.ok(isPli(p) && !isFir(p));
    assert.ok(isFir(f));
    assert.deepEqual(f.firs, [{ ssrc: 2, seqNr: 9 }]);
  });
});

// A stand-in for a worker's simple consumer, in JS: rewrites SSRC, PT, seq and
// ts by fixed offsets and sends on; `fault` breaks one thing on purpose.
async function relay({ to, ssrc, pt, seqOffset, tsOffset, fault, srtpIn, srtpOut }) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let n = 0;
  socket.on('message', (msg) => {
    const plain = srtpIn ? srtpIn.unprotectRtp(msg) : msg;
    const p = parseRtp(plain);
    n++;
    if (fault === 'drop-third' && n === 3) return;
    let payload = p.payload;
    if (fault === 'payload' && n === 4) payload = Buffer.concat([payload.subarray(0, 1), hex('ee'), payload.subarray(2)]);
    const out = buildRtp({ pt, ssrc, marker: fault === 'marker' && n === 2 ? !p.marker : p.marker, payload,
      seq: p.seq + seqOffset, ts: p.ts + tsOffset + (fault === 'ts' && n > 5 ? 1 : 0) });
    socket.send(srtpOut ? srtpOut.protectRtp(out) : out, to, '127.0.0.1');
  });
  return { port: socket.address().port, close: () => socket.close() };
}

describe('forwarding checks against a JS relay', () => {
  async function run(fault, { srtp } = {}) {
    const wire = { ssrc: 0x31323334, pt: 101 };
    const keyIn = srtp && generateKeyBase64(srtp);
    const keyOut = srtp && generateKeyBase64(srtp);
    const consumerPeer = await UdpPeer.open(srtp ? { srtpRx: new SrtpContext(srtp, keyOut) } : {});
    const r = await relay({
      to: consumerPeer.port, ...wire, seqOffset: 12345, tsOffset: 0x90000000, fault,
      srtpIn: srtp && new SrtpContext(srtp, keyIn), srtpOut: srtp && new SrtpContext(srtp, keyOut),
    });
    const producerPeer = await UdpPeer.open(srtp ? { srtpTx: new SrtpContext(srtp, keyIn) } : {});
    const sender = new StreamSender({ peer: producerPeer, port: r.port, ssrc: 0x11111111, pt: 96,
      seq: 65530, ts: 0xffffff00 });
    sender.sendVp8Frame({ keyframe: true, packets: 2 });
    for (let i = 0; i < 6; ++i) sender.sendVp8Frame({ packets: 2 });
    const expect = fault === 'drop-third' ? 13 : 14;
    await consumerPeer.until((p) => p.rtpOf(wire.ssrc).length >= expect, `${expect} relayed packets`);
    r.close();
    const received = consumerPeer.rtpOf(wire.ssrc);
    return () => {
      checkForwarded(received, sender, wire);
      assertContiguous(received);
      assert.deepEqual(consumerPeer.rejected, []);
    };
  }

  test('a correct relay passes, also with SRTP across the seq wrap', async () => {
    (await run(null))();
    (await run(null, { srtp: 'AES_CM_128_HMAC_SHA1_80' }))();
    (await run(null, { srtp: 'AEAD_AES_256_GCM' }))();
  });

  for (const [fault, re] of [
    ['payload', /payload/], ['marker', /marker/], ['ts', /timestamp offset/], ['drop-third', /seq/],
  ]) {
    test(`a relay that breaks the ${fault} is caught`, async () => {
      const check = await run(fault);
      assert.throws(check, re);
    });
  }
});
