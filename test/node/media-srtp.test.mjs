// SRTP on PlainTransport (enableSrtp): the producer peer encrypts with the key
// it gave connect(); the worker encrypts what it sends with the transport's
// own srtpParameters. Checked with the JS SRTP in lib/srtp.mjs (proved by
// srtp-lib.test.mjs against published vectors).
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test media-srtp.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorker, closeAll, videoSession, openConsumer, checkForwarded, assertContiguous,
} from './lib/media-peer.mjs';
import { buildPli, isPli, RTCP, vp8FramePayloads } from './lib/rtp.mjs';
import { SUITES, generateKeyBase64 } from './lib/srtp.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

describe('SRTP on PlainTransport', () => {
  for (const suite of Object.keys(SUITES)) {
    test(`${suite}: SRTP in, SRTP out, SRTCP both ways, forged packets dropped`, async () => {
      const s = await videoSession(worker, { srtp: suite, seq: 65500 });
      const c = await openConsumer(s.router, s.producer, { srtp: suite });
      for (const t of [s.transport, c.transport]) {
        assert.equal(t.srtpParameters.cryptoSuite, suite);
        assert.equal(Buffer.from(t.srtpParameters.keyBase64, 'base64').length,
          SUITES[suite].keyLen + SUITES[suite].saltLen, 'the worker key has the suite length');
      }
      assert.notEqual(s.transport.srtpParameters.keyBase64, c.transport.srtpParameters.keyBase64);

      // Through the producer seq wrap (65500 + 60 packets), so both ROCs move.
      s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
      for (let i = 0; i < 29; ++i) s.sender.sendVp8Frame({ packets: 2 });
      const n = s.sender.sent.length;
      await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} decrypted packets`);
      assert.deepEqual(c.peer.rejected, [], 'everything the consumer peer got authenticates with the transport key');
      const received = c.peer.rtpOf(c.wire.ssrc);
      checkForwarded(received, s.sender, c.wire);
      assertContiguous(received);

      // A forged packet (right header, wrong tag) is dropped; the real one with
      // the same seq, sent right after it on the same socket, goes through.
      const forgedPayload = vp8FramePayloads({ keyframe: false, fill: 999 })[0];
      const forgedSeq = s.sender.seq;
      const forged = s.peer.srtpTx.protectRtp(
        Buffer.concat([s.sender.sent[0].raw.subarray(0, 12), forgedPayload]));
      forged.writeUInt16BE(forgedSeq, 2); // header is authenticated: now the tag is wrong
      s.peer.send(forged, s.port);
      const [real] = s.sender.sendVp8Frame();
      assert.equal(real.seq, forgedSeq);
      await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n + 1, 'the real packet');
      const last = c.peer.rtpOf(c.wire.ssrc);
      assert.equal(last.length, n + 1);
      assert.ok(last[n].payload.equals(real.payload), 'the forged payload never reached the consumer');

      // SRTCP from the worker to the consumer peer: an SR for the consumer SSRC.
      await c.peer.waitRtcp((p) => p.pt === RTCP.SR && p.ssrc === c.wire.ssrc, 'an SRTCP SR', 4000);
      // SRTCP from the consumer peer (its key) → key frame request → SRTCP PLI
      // to the producer peer (the producer transport's key).
      const mark = s.peer.arrivals;
      c.peer.sendRtcp(buildPli({ senderSsrc: 0x0c0ffee0, mediaSsrc: c.wire.ssrc }), c.port);
      await s.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === s.sender.ssrc, 'an SRTCP PLI upstream', 3000, mark);
      assert.deepEqual(s.peer.rejected, [], 'all RTCP to the producer peer authenticates');

      // Transport byte counters count what crossed the socket (mediasoup counts
      // each datagram's length before SRTP processing): tags, and the forged
      // packet, included.
      const [st] = await s.transport.getStats();
      assert.equal(st.bytesReceived, s.peer.bytesSent, 'producer transport bytesReceived = wire bytes the peer sent');
    });
  }
});

describe('connect() with another suite than the one offered', () => {
  // Offered -> given to connect(): every suite is reached both ways.
  const pairs = [
    ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_256_GCM'],
    ['AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_32'],
    ['AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM'],
    ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'],
  ];
  for (const [offered, used] of pairs) {
    test(`offered ${offered}, connected with ${used}: the transport switches and reports ${used}`, async () => {
      const s = await videoSession(worker, { srtp: offered, srtpConnect: used });
      const c = await openConsumer(s.router, s.producer, { srtp: offered, srtpConnect: used });
      for (const t of [s.transport, c.transport]) {
        assert.equal(t.srtpParameters.cryptoSuite, used, 'srtpParameters after connect()');
        assert.equal(Buffer.from(t.srtpParameters.keyBase64, 'base64').length,
          SUITES[used].keyLen + SUITES[used].saltLen, 'a key of the suite in use');
        const dump = await t.dump();
        assert.deepEqual(dump.srtpParameters, t.srtpParameters, 'dump() reports the same pair');
      }
      // The consumer peer decrypts with the reported parameters (used suite,
      // new key): SRTP out really is in the new suite.
      s.sender.sendVp8Frame({ keyframe: true, packets: 2 });
      for (let i = 0; i < 4; ++i) s.sender.sendVp8Frame({ packets: 2 });
      const n = s.sender.sent.length;
      await c.peer.until((p) => p.rtpOf(c.wire.ssrc).length >= n, `${n} packets decrypted in ${used}`);
      assert.deepEqual(c.peer.rejected, []);
      checkForwarded(c.peer.rtpOf(c.wire.ssrc), s.sender, c.wire);
      // SRTCP toward the producer peer too (a PLI it decrypts in the new suite).
      const mark = s.peer.arrivals;
      c.peer.sendRtcp(buildPli({ senderSsrc: 0x0c0ffee0, mediaSsrc: c.wire.ssrc }), c.port);
      await s.peer.waitRtcp((p) => isPli(p) && p.mediaSsrc === s.sender.ssrc, 'an SRTCP PLI upstream', 3000, mark);
      assert.deepEqual(s.peer.rejected, []);
    });
  }

  test('a bad key for the new suite is refused and the offered pair stays', async () => {
    const router = await worker.createRouter({ mediaCodecs: [] });
    const t = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true, enableSrtp: true,
    });
    const before = t.srtpParameters;
    assert.equal(before.cryptoSuite, 'AES_CM_128_HMAC_SHA1_80');
    // A 30-byte key (AES_CM's length) is wrong for AEAD_AES_256_GCM (44 bytes).
    await assert.rejects(t.connect({
      srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: generateKeyBase64('AES_CM_128_HMAC_SHA1_80') },
    }), (e) => e.constructor === TypeError && /invalid srtpParameters/.test(e.message));
    assert.deepEqual((await t.dump()).srtpParameters, before);
    router.close();
  });
});
