// transport.produce(): what mediasoup refuses is refused with the same error
// class (TypeError for malformed parameters, Error for a resource clash), the
// producer type is the one mediasoup reports, and a refused request leaves
// the worker and the transport as they were. Requests the Node library
// would itself refuse are sent raw, through the library's channel, to prove
// the worker refuses them too.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test produce-validation.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { startWorker, closeAll, openProducerSide, PRODUCER_VP8_PT, PRODUCER_OPUS_PT } from './lib/media-peer.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const require = createRequire(import.meta.url);
const { serializeRtpParameters } = require('mediasoup/node/lib/RtpParameters');
const ortc = require('mediasoup/node/lib/ortc');
const FbsTransport = require('mediasoup/node/lib/fbs/transport');
const FbsRequest = require('mediasoup/node/lib/fbs/request');
const FbsRtpParameters = require('mediasoup/node/lib/fbs/rtp-parameters');

const MEDIA_CODECS = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000 },
  {
    kind: 'video', mimeType: 'video/H264', clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];
const PRODUCER_RTX_PT = 97;
const PRODUCER_VP9_PT = 98;
const PRODUCER_H264_PT = 99;
const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

const vp8 = () => ({ mimeType: 'video/VP8', payloadType: PRODUCER_VP8_PT, clockRate: 90000, rtcpFeedback: FEEDBACK });
const rtx = (apt = PRODUCER_VP8_PT) => ({ mimeType: 'video/rtx', payloadType: PRODUCER_RTX_PT, clockRate: 90000, parameters: { apt } });
const vp9 = () => ({ mimeType: 'video/VP9', payloadType: PRODUCER_VP9_PT, clockRate: 90000, rtcpFeedback: FEEDBACK });
const h264 = () => ({
  mimeType: 'video/H264', payloadType: PRODUCER_H264_PT, clockRate: 90000, rtcpFeedback: FEEDBACK,
  parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
});

function video({ codecs = [vp8()], encodings, mid, headerExtensions } = {}) {
  return {
    kind: 'video',
    rtpParameters: { codecs, encodings, rtcp: { cname: 'validation' }, ...(mid !== undefined ? { mid } : {}), ...(headerExtensions ? { headerExtensions } : {}) },
  };
}

let worker;
before(async () => {
  worker = await startWorker();
});
after(closeAll);

async function freshTransport() {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const side = await openProducerSide(router);
  return { router, ...side };
}

// The worker and the transport carry on after a refusal: nothing was
// registered, and a valid producer with the same SSRCs is accepted.
async function assertUnharmed(transport, ssrc = 0x5a5a0001) {
  assert.equal(worker.died, false);
  const p = await transport.produce(video({ encodings: [{ ssrc }] }));
  assert.equal(p.type, 'simple');
  assert.ok((await transport.dump()).producerIds.includes(p.id));
  p.close();
}

async function assertRefused(promise, Class, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.constructor, Class, `${Class.name} expected, got ${err.constructor.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('produce() through the Node library: refused by the worker', () => {
  test('one encoding with neither ssrc nor rid and no MID: TypeError (nothing could route it)', async () => {
    const { transport } = await freshTransport();
    await assertRefused(transport.produce(video({ encodings: [{}] })), TypeError, /without ssrc or rid and no mid/);
    // No encodings at all: the library adds one empty encoding, the same case.
    await assertRefused(transport.produce(video({})), TypeError, /without ssrc or rid and no mid/);
    assert.deepEqual((await transport.dump()).producerIds, []);
    await assertUnharmed(transport);
  });

  test('the same with a MID is accepted: the MID routes it', async () => {
    const { transport } = await freshTransport();
    const p = await transport.produce(video({ encodings: [{}], mid: '0' }));
    assert.equal(p.type, 'simple');
    assert.deepEqual((await transport.dump()).producerIds, [p.id]);
  });

  test('encodings that cannot be told apart: TypeError', async () => {
    const { transport } = await freshTransport();
    const cases = [
      [[{ ssrc: 1111 }, { ssrc: 1111 }], /duplicated ssrc 1111/],
      [[{ ssrc: 1111, rtx: { ssrc: 1111 } }], /duplicated ssrc 1111/],
      [[{ ssrc: 1111, rtx: { ssrc: 2222 } }, { ssrc: 2222 }], /duplicated ssrc 2222/],
      [[{ rid: 'r0' }, { rid: 'r0' }], /duplicated rid 'r0'/],
      [[{ rid: 'r0' }, { ssrc: 3333 }], /mixing rid and no rid/],
      [[{ ssrc: 1111 }, {}], /simulcast encoding without ssrc or rid/],
    ];
    for (const [encodings, pattern] of cases) {
      await assertRefused(transport.produce(video({ codecs: [vp8(), rtx()], encodings, mid: '0' })), TypeError, pattern);
    }
    assert.deepEqual((await transport.dump()).producerIds, []);
    await assertUnharmed(transport, 1111);
  });

  test('codecPayloadType naming the rtx codec or no codec: TypeError', async () => {
    const { transport } = await freshTransport();
    for (const pt of [PRODUCER_RTX_PT, 120]) {
      await assertRefused(
        transport.produce(video({ codecs: [vp8(), rtx()], encodings: [{ ssrc: 1111, codecPayloadType: pt }] })),
        TypeError, /unknown codecPayloadType/);
    }
    await assertUnharmed(transport, 1111);
  });

  test('an SSRC another producer of the transport has: Error, not TypeError', async () => {
    const { transport } = await freshTransport();
    const first = await transport.produce(video({ encodings: [{ ssrc: 4444 }] }));
    await assertRefused(transport.produce(video({ encodings: [{ ssrc: 4444 }] })), Error, /ssrc already exists/);
    const second = await transport.produce(video({ encodings: [{ rid: 'a' }], mid: '1' }));
    await assertRefused(transport.produce(video({ encodings: [{ rid: 'b' }], mid: '1' })), Error, /MID already exists/);
    assert.deepEqual((await transport.dump()).producerIds.sort(), [first.id, second.id].sort());
  });
});

describe('produce() sent raw: what the Node library would refuse first, the worker refuses too', () => {
  // A ProduceRequest built by hand on the library's own channel, skipping
  // its validation.
  function rawProduce(transport, { kind = 'video', rtpParameters, rtpMapping }) {
    const channel = transport.channelForTesting;
    const b = channel.bufferBuilder;
    const idOffset = b.createString(randomUUID());
    const rtpOffset = serializeRtpParameters(b, rtpParameters);
    const mappingOffset = ortc.serializeRtpMapping(b, rtpMapping);
    FbsTransport.ProduceRequest.startProduceRequest(b);
    FbsTransport.ProduceRequest.addProducerId(b, idOffset);
    FbsTransport.ProduceRequest.addKind(b, kind === 'audio' ? FbsRtpParameters.MediaKind.AUDIO : FbsRtpParameters.MediaKind.VIDEO);
    FbsTransport.ProduceRequest.addRtpParameters(b, rtpOffset);
    FbsTransport.ProduceRequest.addRtpMapping(b, mappingOffset);
    FbsTransport.ProduceRequest.addPaused(b, false);
    const offset = FbsTransport.ProduceRequest.endProduceRequest(b);
    return channel.request(FbsRequest.Method.TRANSPORT_PRODUCE, FbsRequest.Body.Transport_ProduceRequest, offset, transport.id);
  }

  const mapping = (encodings, codecs = [[PRODUCER_VP8_PT, 101], [PRODUCER_RTX_PT, 102]]) => ({
    codecs: codecs.map(([payloadType, mappedPayloadType]) => ({ payloadType, mappedPayloadType })),
    encodings: encodings.map((e, i) => ({ ...(e.ssrc ? { ssrc: e.ssrc } : {}), ...(e.rid ? { rid: e.rid } : {}), mappedSsrc: 0x70000000 + i })),
  });
  // The defaults the library's validation would have added (the serializer needs them).
  const params = (encodings, codecs = [vp8(), rtx()]) => ({
    codecs: codecs.map((c) => ({ parameters: {}, rtcpFeedback: [], ...c })),
    headerExtensions: [], encodings, rtcp: { cname: 'raw' },
  });

  test('the raw path itself works: a valid request is accepted with its type', async () => {
    const { transport } = await freshTransport();
    const encodings = [{ ssrc: 1111, rtx: { ssrc: 1112 } }, { ssrc: 2222, rtx: { ssrc: 2223 } }];
    const response = await rawProduce(transport, { rtpParameters: params(encodings), rtpMapping: mapping(encodings) });
    const body = new FbsTransport.ProduceResponse();
    response.body(body);
    assert.equal(body.type(), FbsRtpParameters.Type.SIMULCAST);
    assert.equal((await transport.dump()).producerIds.length, 1);
  });

  test('malformed requests: one TypeError each, and the worker carries on', async () => {
    const { transport } = await freshTransport();
    const enc = [{ ssrc: 1111 }];
    const cases = [
      ['rtx without ssrc', params([{ ssrc: 1111, rtx: {} }]), mapping(enc), /missing encoding.rtx.ssrc/],
      ['no encodings', params([]), mapping([]), /empty encodings/],
      ['fewer mapped encodings', params([{ ssrc: 1111 }, { ssrc: 2222 }]), mapping(enc), /rtpMapping.encodings does not match/],
      ['an rtx whose apt names no codec', params(enc, [vp8(), rtx(120)]), mapping(enc), /names no media codec|apt/],
      ['an rtx without apt', params(enc, [vp8(), { ...rtx(), parameters: {} }]), mapping(enc), /missing apt/],
      ['no media codec', params(enc, [rtx()]), mapping(enc, [[PRODUCER_RTX_PT, 102]]), /no media codecs/],
      ['a media codec with no mapping', params(enc), mapping(enc, [[PRODUCER_RTX_PT, 102]]), /no RTP mapping for codec payloadType 96/],
      ['a mapped ssrc of 0', params(enc), { ...mapping(enc), encodings: [{ ssrc: 1111, mappedSsrc: 0 }] }, /missing mappedSsrc/],
      ['an audio codec in a video producer', params(enc, [{ mimeType: 'audio/opus', payloadType: PRODUCER_OPUS_PT, clockRate: 48000, channels: 2 }]),
        mapping(enc, [[PRODUCER_OPUS_PT, 100]]), /invalid codec.mimeType/],
    ];
    for (const [what, rtpParameters, rtpMapping, pattern] of cases) {
      await assertRefused(rawProduce(transport, { rtpParameters, rtpMapping }), TypeError, pattern).catch((err) => {
        throw new Error(`${what}: ${err.message}`);
      });
    }
    assert.deepEqual((await transport.dump()).producerIds, []);
    assert.equal((await worker.dump()).pid, worker.pid);
    await assertUnharmed(transport, 1111);
  });
});

describe('producer type as mediasoup 3.14 reports it', () => {
  const rows = [
    ['VP8, no scalability mode', [vp8()], [{ ssrc: 1 }], 'simple'],
    ['VP8 L1T1', [vp8()], [{ ssrc: 1, scalabilityMode: 'L1T1' }], 'simple'],
    ['VP8 L1T3 (one stream, temporal layers)', [vp8()], [{ ssrc: 1, scalabilityMode: 'L1T3' }], 'simulcast'],
    ['H264 L1T3', [h264()], [{ ssrc: 1, scalabilityMode: 'L1T3' }], 'simulcast'],
    ['VP9 L1T1', [vp9()], [{ ssrc: 1, scalabilityMode: 'L1T1' }], 'simple'],
    ['VP9 L3T3', [vp9()], [{ ssrc: 1, scalabilityMode: 'L3T3' }], 'svc'],
    ['VP9 L3T3_KEY', [vp9()], [{ ssrc: 1, scalabilityMode: 'L3T3_KEY' }], 'svc'],
    ['VP9 L1T3', [vp9()], [{ ssrc: 1, scalabilityMode: 'L1T3' }], 'svc'],
    ['three VP8 encodings by rid', [vp8()], [{ rid: 'r0' }, { rid: 'r1' }, { rid: 'r2' }], 'simulcast'],
    ['three VP8 encodings by ssrc, L1T3 each', [vp8()], [1, 2, 3].map((ssrc) => ({ ssrc, scalabilityMode: 'L1T3' })), 'simulcast'],
  ];
  for (const [what, codecs, encodings, type] of rows) {
    test(`${what}: ${type}`, async () => {
      const { transport } = await freshTransport();
      const p = await transport.produce(video({ codecs, encodings, mid: '0' }));
      assert.equal(p.type, type);
      assert.equal((await p.dump()).type, type);
    });
  }
});

describe('producer dump: every field the library parses', () => {
  test("each encoding's codecPayloadType, and each stream's layers from its scalability mode", async () => {
    const { transport } = await freshTransport();
    const encodings = [
      { ssrc: 0x1001, rtx: { ssrc: 0x2001 }, scalabilityMode: 'L1T3' },
      { ssrc: 0x1002, rtx: { ssrc: 0x2002 }, scalabilityMode: 'L1T2' },
      { ssrc: 0x1003, rtx: { ssrc: 0x2003 } },
    ];
    const p = await transport.produce(video({ codecs: [vp8(), rtx()], encodings }));
    const dump = await p.dump();
    assert.equal(dump.type, 'simulcast');
    assert.equal(dump.kind, 'video');
    assert.equal(dump.rtpParameters.encodings.length, 3);
    for (const [i, e] of dump.rtpParameters.encodings.entries()) {
      assert.equal(e.codecPayloadType, PRODUCER_VP8_PT, `encoding ${i}: the first media codec`);
      assert.equal(e.ssrc, encodings[i].ssrc);
      assert.equal(e.rtx?.ssrc, encodings[i].rtx.ssrc);
      assert.equal(e.scalabilityMode, encodings[i].scalabilityMode);
    }
    assert.equal(dump.rtpMapping.encodings.length, 3);
    // Streams whose SSRC is signalled exist before media arrives.
    assert.equal(dump.rtpStreams.length, 3);
    const layers = [[1, 3], [1, 2], [1, 1]];
    for (const [i, st] of dump.rtpStreams.entries()) {
      assert.equal(st.params.encodingIdx, i);
      assert.equal(st.params.ssrc, encodings[i].ssrc);
      assert.equal(st.params.payloadType, PRODUCER_VP8_PT);
      assert.equal(st.params.mimeType, 'video/VP8');
      assert.equal(st.params.clockRate, 90000);
      assert.equal(st.params.rtxSsrc, encodings[i].rtx.ssrc);
      assert.equal(st.params.rtxPayloadType, PRODUCER_RTX_PT);
      assert.equal(st.params.cname, 'validation');
      assert.deepEqual([st.params.spatialLayers, st.params.temporalLayers], layers[i], `stream ${i} layers`);
      assert.equal(st.params.useNack, true);
      assert.equal(st.params.usePli, true);
      assert.equal(st.params.useFir, true);
      assert.equal(st.params.useDtx, false);
      assert.equal(st.rtxStream.params.ssrc, encodings[i].rtx.ssrc);
    }
  });

  test('an explicit codecPayloadType is kept; audio dtx and in-band FEC reach the stream params', async () => {
    const { transport } = await freshTransport();
    const v = await transport.produce(video({
      codecs: [vp8(), vp9()], encodings: [{ ssrc: 0x3001, codecPayloadType: PRODUCER_VP9_PT, scalabilityMode: 'L3T3' }],
    }));
    assert.equal(v.type, 'svc');
    const vd = await v.dump();
    assert.equal(vd.rtpParameters.encodings[0].codecPayloadType, PRODUCER_VP9_PT);
    assert.equal(vd.rtpStreams[0].params.mimeType, 'video/VP9');
    assert.deepEqual([vd.rtpStreams[0].params.spatialLayers, vd.rtpStreams[0].params.temporalLayers], [3, 3]);

    const a = await transport.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: PRODUCER_OPUS_PT, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }],
        encodings: [{ ssrc: 0x3002, dtx: true }],
        rtcp: { cname: 'validation' },
      },
    });
    const ad = await a.dump();
    assert.equal(ad.rtpParameters.encodings[0].codecPayloadType, PRODUCER_OPUS_PT);
    assert.equal(ad.rtpStreams[0].params.useDtx, true);
    assert.equal(ad.rtpStreams[0].params.useInBandFec, true);
  });
});
