// Interop: a GStreamer VP8 simulcast sender (three encoders at three resolutions, one SSRC
// each) → sluice PlainTransport producer with 3 encodings → simulcast consumer on a second
// PlainTransport → a GStreamer receiver that decodes every frame while the test moves the
// consumer's preferred layers down and up.
//
//   simsender.py ─RTP+RTCP (one socket)─► producer transport (comedia, rtcp-mux)
//   simsender.py ◄─RTCP (RR, PLI/FIR)──── producer transport
//                                         consumer transport (RTP port, RTCP port) ─► simreceiver.py
//                                         consumer transport ◄─RTCP (RR, PLI)──────── simreceiver.py
//
// The sender makes key frames only when asked (its key frame interval is longer than the
// run), so every layer switch proves the whole chain: the consumer asks its producer for a key
// frame of the target stream, the producer sends PLI/FIR for that SSRC, GStreamer's rtpsession
// forces a key unit on that encoder. Then the receiver asks for a key frame itself (an RTCP
// PLI from rtpbin) and the same chain must answer it.
//
// Encoding 1 sends 7-bit PictureIDs (rtpvp8pay's default, as older encoders do), the others
// 15-bit; the run ends on layer 1 for more than 128 frames, so the consumer's 15-bit output
// must carry on across the 7-bit wrap.
//
// Then, back on layer 2, the sender stops sending encoding 2 (as a browser pauses an
// encoding): the consumer must fall back to the best active one below it (layer 1) once
// the worker finds encoding 2 silent, and return to layer 2 when it is sent again.
//
// What must hold (the receiver checks the wire and the decoder, see simreceiver.py):
//  - the decoder's caps follow the layers: 1280x720 → 320x180 → 1280x720 → 640x360 →
//    1280x720 → (encoding 2 silent) 640x360 → (sent again) 1280x720; then a pause and a
//    resume of the consumer, then of the producer, restart at a key frame;
//  - after each switch frames keep being decoded, and a `layerschange` names the new layer;
//  - no decode error, every frame seen on the wire decoded; one SSRC, sequence numbers and
//    PictureIDs continuous, RTP timestamps forward across the stream switches and in step
//    with the wall clock (also over the freeze while encoding 2 is silent).
//
//   MEDIASOUP_WORKER_BIN=build/worker/sluice-worker node test/interop/vp8-simulcast.mjs [--verbose]
//     [--events FILE]   (the receiver's events, one JSON per line, for a post-mortem)
//
// Exit codes: 0 pass, 1 fail, 77 skipped (GStreamer, its Python bindings or a plugin missing).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Peer, findPython } from './peer.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    verbose: { type: 'boolean', default: false },
    fps: { type: 'string', default: '30' },
    events: { type: 'string' }, // write the receiver's events (JSON lines) here, for a post-mortem
  },
});
const FPS = Number(opts.fps);
const PT = 96;
const SSRCS = [0x51a10000, 0x51a10001, 0x51a10002];
// Spatial layer i is encoding i, at what simsender.py scales it to.
const SIZES = [[320, 180], [640, 360], [1280, 720]];
// Frames to decode at a layer before the next step (one second).
const SETTLE_FRAMES = FPS;
// A switch waits for a requested key frame: PLI round trip plus one encoded frame.
const SWITCH_MS = 4000;
const DEADLINE_MS = 40_000;
// The steps: where the preferred spatial layer goes. It starts at the top.
const STEPS = [0, 2, 1];
// The encoding with 7-bit PictureIDs, and the frames to stay on it at the end (> 128).
const PID7_LAYER = 1;
const WRAP_FRAMES = 140;
// How long an encoding may be silent before the worker leaves it (RecvStream's silence bound,
// 2.5 s, found on the 1 s score tick), with a margin.
const SILENCE_MS = 5000;

const log = (...args) => console.log('[simulcast]', ...args);
// Datagrams the kernel dropped on a local UDP port (its receive buffer was full), from /proc/net/udp.
function udpDrops(port) {
  for (const row of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f.length > 12 && parseInt(f[1].split(':')[1], 16) === port) return Number(f[f.length - 1]);
  }
  return null;
}
const failures = [];
function check(ok, what) {
  (ok ? log : console.error)(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

async function setUpWorker() {
  const workerBin = process.env.MEDIASOUP_WORKER_BIN;
  if (!workerBin) throw new Error('MEDIASOUP_WORKER_BIN must name the worker binary');
  const require = createRequire(join(HERE, '..', 'node', 'package.json'));
  const mediasoup = require('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  worker.on('died', (error) => failures.push(`worker died: ${error}`));
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }],
  });
  const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
  // Three encoders' key frames arrive as one burst (about 80 KB at the start): a receive buffer
  // of the kernel's default size can overflow while the worker shares the CPU with the peers.
  const producerTransport = await router.createPlainTransport({
    listenInfo: { ...listenInfo, recvBufferSize: 4 << 20 }, rtcpMux: true, comedia: true,
  });
  const producer = await producerTransport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{
        mimeType: 'video/VP8',
        payloadType: PT,
        clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
      }],
      encodings: SSRCS.map((ssrc) => ({ ssrc, scalabilityMode: 'L1T1' })),
      rtcp: { cname: 'gst-simsender' },
    },
  });
  // RTP and RTCP on two ports: rtpbin has no rtcp-mux demuxer.
  const consumerTransport = await router.createPlainTransport({ listenInfo, rtcpMux: false, comedia: false });
  return { worker, producer, producerTransport, consumerTransport, router };
}

async function main() {
  const python = findPython(log);
  const peers = [];
  let side;
  const watchdog = setTimeout(() => {
    console.error(`FAIL: simulcast interop run exceeded ${DEADLINE_MS} ms`);
    for (const peer of peers) peer.kill();
    process.exit(1);
  }, DEADLINE_MS);

  try {
    side = await setUpWorker();
    const { producer, producerTransport, consumerTransport, router } = side;
    const rtcpIn = consumerTransport.rtcpTuple;
    // The receiver must know the consumer's SSRC before it starts, and the consumer's
    // transport the receiver's ports before it sends: consume paused, connect, resume.
    const consumer = await consumerTransport.consume({
      producerId: producer.id,
      rtpCapabilities: { codecs: router.rtpCapabilities.codecs, headerExtensions: [] },
      paused: true,
      preferredLayers: { spatialLayer: 2, temporalLayer: 0 },
    });
    const vp8 = consumer.rtpParameters.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
    const ssrc = consumer.rtpParameters.encodings[0].ssrc;
    check(consumer.type === 'simulcast', `consumer type is ${consumer.type}`);
    const layersChanges = [];
    consumer.on('layerschange', (layers) => layersChanges.push({ at: Date.now(), layers }));

    const rx = new Peer(python, 'receiver', 'simreceiver.py', opts.verbose, [
      `--rtcp-dest=${rtcpIn.localAddress ?? rtcpIn.localIp}:${rtcpIn.localPort}`,
      `--pt=${vp8.payloadType}`, `--ssrc=${ssrc}`, `--timeout=${DEADLINE_MS / 1000}`,
    ]);
    peers.push(rx);
    const ready = await rx.waitFor('ready', 10_000);
    await consumerTransport.connect({ ip: '127.0.0.1', port: ready.rtpPort, rtcpPort: ready.rtcpPort });
    await consumer.resume();

    const out = producerTransport.tuple;
    const tx = new Peer(python, 'sender', 'simsender.py', opts.verbose, [
      `--dest=${out.localAddress ?? out.localIp}:${out.localPort}`, `--pt=${PT}`,
      `--ssrcs=${SSRCS.join(',')}`, `--fps=${FPS}`, '--seconds=35', `--pid7=${PID7_LAYER}`,
    ]);
    peers.push(tx);
    await tx.waitFor('ready', 10_000);
    log(`worker pid ${side.worker.pid}; consumer ssrc ${ssrc} pt ${vp8.payloadType}`);

    // Waits until the decoder's caps are `layer`'s size (a caps event from `from` on) and
    // SETTLE_FRAMES more frames were decoded at it; returns the caps event.
    const settle = async (layer, from, timeoutMs) => {
      const [width, height] = SIZES[layer];
      const wantCaps = (e) => e.event === 'caps' && e.width === width && e.height === height;
      wantCaps.description = `caps ${width}x${height}`;
      const caps = await rx.waitFor(wantCaps, timeoutMs, from);
      const flowing = (e) => e.event === 'tick' && e.width === width && e.decoded >= caps.decoded + SETTLE_FRAMES;
      flowing.description = `${SETTLE_FRAMES} frames decoded at ${width}x${height}`;
      await rx.waitFor(flowing, 3000 + (SETTLE_FRAMES * 2000) / FPS, rx.events.indexOf(caps));
      return caps;
    };

    // At start the encodings become active one by one, and the consumer takes the best active
    // one up to its preferred layer: it may climb through the lower sizes first.
    const start = Date.now();
    const startCaps = await settle(2, 0, 10_000);
    const climb = rx.events.slice(0, rx.events.indexOf(startCaps) + 1).filter((e) => e.event === 'caps')
      .map((e) => SIZES.findIndex(([w, h]) => w === e.width && h === e.height));
    check(climb.every((l, i) => l >= 0 && (i === 0 || l > climb[i - 1])),
      `started at spatial layer 2 (1280x720) in ${Date.now() - start} ms, through layers ${climb.join(' → ')}`);
    let layer = 2;
    let lastCaps = null;
    const visited = [2]; // the layers the decoder settled on, in order
    for (const target of STEPS) {
      const from = rx.events.length;
      const changesBefore = layersChanges.length;
      const t0 = Date.now();
      await consumer.setPreferredLayers({ spatialLayer: target, temporalLayer: 0 });
      try {
        const caps = await settle(target, from, SWITCH_MS);
        lastCaps = caps;
        visited.push(target);
        const switchMs = Date.now() - t0;
        const change = layersChanges.slice(changesBefore).find((c) => c.layers?.spatialLayer === target);
        check(true, `layer ${layer} → ${target}: decoder caps ${caps.width}x${caps.height}, then `
          + `${SETTLE_FRAMES} frames decoded (${switchMs} ms in all)`);
        check(Boolean(change), `layerschange to spatial layer ${target} `
          + `(${JSON.stringify(layersChanges.slice(changesBefore).map((c) => c.layers))})`);
        check(consumer.currentLayers?.spatialLayer === target,
          `consumer.currentLayers ${JSON.stringify(consumer.currentLayers)}`);
      } catch (error) {
        check(false, `layer ${layer} → ${target}: ${error.message}`);
        break;
      }
      layer = target;
    }

    if (layer === PID7_LAYER && lastCaps) {
      const wrapped = (e) => e.event === 'tick' && e.decoded >= lastCaps.decoded + WRAP_FRAMES;
      wrapped.description = `${WRAP_FRAMES} frames decoded on layer ${PID7_LAYER}`;
      try {
        await rx.waitFor(wrapped, (WRAP_FRAMES * 1000) / FPS + 5000, rx.events.indexOf(lastCaps));
        check(true, `${WRAP_FRAMES} frames on layer ${PID7_LAYER}, across its 7-bit PictureID wrap`);
      } catch (error) {
        check(false, `staying on layer ${PID7_LAYER}: ${error.message}`);
      }
    }

    // The receiver asks for a key frame: RTCP PLI → consumer → producer → PLI/FIR for the
    // SSRC of the encoding being forwarded → GStreamer's encoder.
    const forced = (done) => done.encodings.map((e) => e.forcedKeyframes);
    const keysBefore = rx.events.filter((e) => e.event === 'wirekey').length;
    const pliFrom = rx.events.length;
    const statsBefore = (await consumer.getStats()).find((s) => s.type === 'outbound-rtp');
    rx.send('pli');
    try {
      const [width, height] = SIZES[layer];
      const key = (e) => e.event === 'wirekey' && e.width === width && e.height === height;
      key.description = `a ${width}x${height} key frame after the receiver's PLI`;
      await rx.waitFor(key, SWITCH_MS, pliFrom);
      const statsAfter = (await consumer.getStats()).find((s) => s.type === 'outbound-rtp');
      check(statsAfter.pliCount > (statsBefore?.pliCount ?? 0), `receiver PLI answered with a key `
        + `frame; consumer pliCount ${statsBefore?.pliCount} → ${statsAfter.pliCount}`);
    } catch (error) {
      check(false, `receiver PLI: ${error.message}`);
    }

    // Encoding 2 goes silent while it is the preferred layer, then comes back.
    const moveTo = async (target, what, timeoutMs, action) => {
      const from = rx.events.length;
      const changesBefore = layersChanges.length;
      const t0 = Date.now();
      await action();
      try {
        const caps = await settle(target, from, timeoutMs);
        visited.push(target);
        check(true, `${what}: decoder caps ${caps.width}x${caps.height}, then ${SETTLE_FRAMES} frames `
          + `decoded (${Date.now() - t0} ms in all)`);
        check(layersChanges.slice(changesBefore).some((c) => c.layers?.spatialLayer === target),
          `${what}: layerschange to spatial layer ${target}`);
        return true;
      } catch (error) {
        check(false, `${what}: ${error.message}`);
        return false;
      }
    };
    if (await moveTo(2, 'layer 1 → 2 again', SWITCH_MS, () => consumer.setPreferredLayers({ spatialLayer: 2, temporalLayer: 0 }))
      && await moveTo(1, 'encoding 2 silent → layer 1', SILENCE_MS + SWITCH_MS, () => tx.send('mute 2'))) {
      await moveTo(2, 'encoding 2 sent again → layer 2', SWITCH_MS, () => tx.send('unmute 2'));
    }

    // The consumer, then the producer, paused for half a second and resumed: forwarding starts
    // again at a key frame, and the output stays one stream (seq, PictureID, timestamps:
    // checked below on the whole run).
    for (const [what, entity] of [['consumer', consumer], ['producer', producer]]) {
      await entity.pause();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const resumeFrom = rx.events.length;
      await entity.resume();
      try {
        const key = (e) => e.event === 'wirekey';
        key.description = `a key frame after ${what}.resume()`;
        const first = await rx.waitFor(key, SWITCH_MS, resumeFrom);
        const flowing = (e) => e.event === 'tick' && e.decoded >= first.decoded + SETTLE_FRAMES;
        flowing.description = `${SETTLE_FRAMES} frames decoded after ${what}.resume()`;
        await rx.waitFor(flowing, 3000 + (SETTLE_FRAMES * 2000) / FPS, resumeFrom);
        check(true, `${what} pause + resume: a ${first.width}x${first.height} key frame first, then `
          + `${SETTLE_FRAMES} frames decoded`);
      } catch (error) {
        check(false, `${what} pause + resume: ${error.message}`);
      }
    }

    // Stop the media first, so that what is on its way is decoded before the receiver counts.
    tx.send('stop');
    const sent = await tx.waitFor('done', 5000);
    // The last frames are still in the jitter buffer and the decoder (slow on a busy machine):
    // give them up to 3 s to come out before the receiver counts.
    const drained = (e) => e.event === 'tick' && e.decoded >= e.frames;
    drained.description = 'every frame on the wire decoded';
    await rx.waitFor(drained, 3000, rx.events.length).catch(() => {});
    rx.send('stop');
    const got = await rx.waitFor('done', 5000);
    const producerStats = await producer.getStats();
    const consumerStats = await consumer.getStats();
    log('sender  ', JSON.stringify(sent.encodings));
    log('receiver', JSON.stringify({ ...got, session: undefined }));
    const inputDrops = udpDrops(producerTransport.tuple.localPort);
    const inputLost = producerStats.reduce((n, s) => n + (s.packetsLost ?? 0), 0);
    log('producer', JSON.stringify(producerStats.map((s) => ({
      ssrc: s.ssrc, packetCount: s.packetCount, packetsLost: s.packetsLost, pliCount: s.pliCount,
      firCount: s.firCount, score: s.score,
    }))), `kernel drops at its socket: ${inputDrops}`);
    log('consumer', JSON.stringify(consumerStats.filter((s) => s.type === 'outbound-rtp')));
    log('layerschange', JSON.stringify(layersChanges.map((c) => c.layers)));

    const sizes = rx.events.slice(rx.events.indexOf(startCaps)).filter((e) => e.event === 'caps')
      .map((e) => `${e.width}x${e.height}`);
    const expected = visited.map((l) => SIZES[l].join('x'));
    check(JSON.stringify(sizes) === JSON.stringify(expected),
      `decoder caps from then on went ${sizes.join(' → ')} (expected ${expected.join(' → ')})`);
    check(got.decodeErrors === 0, `decode errors: ${got.decodeErrors}`);
    check(got.decoded === got.frames && got.frames > 0,
      `decoded ${got.decoded} of ${got.frames} frames seen on the wire`);
    check(got.firstFrameKey === true, 'the first frame forwarded is a key frame');
    check(got.otherSsrc === 0 && got.otherPt === 0 && got.unexpectedPads.length === 0,
      `one SSRC and PT (other SSRC ${got.otherSsrc}, other PT ${got.otherPt}, pads ${got.unexpectedPads})`);
    check(got.seqGaps === 0, `sequence numbers continuous (${got.seqGaps} gaps in ${got.packets} packets: `
      + `${JSON.stringify(got.seqGapList)}; lost on the way in: ${inputLost} by the producer's count, `
      + `${inputDrops} kernel drops at its socket; kernel drops at the receiver: ${got.kernelDrops})`);
    check(got.pictureIdGaps === 0 && got.noPictureId === 0,
      `PictureID +1 per frame (${got.pictureIdGaps} gaps, ${got.noPictureId} frames without one)`);
    check(got.tsBackward === 0 && got.tsJumps === 0, `RTP timestamps forward and with the wall clock `
      + `between frames (${got.tsBackward} backward, ${got.tsJumps} off by > 1 s; worst ${got.worstTsSkewMs} ms)`);
    check(got.badDescriptor === 0, `every VP8 descriptor parsed (${got.badDescriptor} bad)`);
    const asked = forced(sent);
    check(asked[0] > 0 && asked[1] > 0 && asked[2] > 0,
      `the sender's encoders were asked for key frames ${JSON.stringify(asked)} (PLI/FIR by SSRC)`);
  } catch (error) {
    console.error(`FAIL: ${error.stack ?? error}`);
    failures.push(String(error));
  } finally {
    clearTimeout(watchdog);
    const rx = peers.find((p) => p.name === 'receiver');
    if (opts.events && rx) fs.writeFileSync(opts.events, rx.events.map((e) => JSON.stringify(e)).join('\n'));
    for (const peer of peers) {
      if (failures.length && peer.stderr && !opts.verbose) {
        console.error(`--- ${peer.name} stderr (last 3000 chars)\n${peer.stderr.slice(-3000)}`);
      }
      peer.kill();
    }
    side?.worker.close();
  }
  log(failures.length ? `${failures.length} check(s) failed` : 'all checks passed');
  process.exit(failures.length ? 1 : 0);
}

await main();
