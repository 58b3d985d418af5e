// Interop: a GStreamer VP8 sender (with RTX) → sluice PlainTransport producer → SimpleConsumer
// on a second PlainTransport → a relay dropping 5% of media packets → a GStreamer receiver
// with NACK/RTX. Every frame must decode, and the worker's stats must show retransmissions.
//
//   sender.py ─RTP+RTCP─► producer transport (comedia, rtcp-mux)
//                         consumer transport (rtcp-mux) ─► relay.mjs (drops 5%) ─► receiver.py
//   sender.py ◄─RTCP───── producer transport                consumer transport ◄─RTCP (RR, NACK)
//
// --direct leaves the worker out (sender → relay → receiver) to prove the harness: GStreamer
// repairs the same loss with its own NACK/RTX, so a failure of the worker run is the worker's.
//
//   MEDIASOUP_WORKER_BIN=build/worker/sluice-worker node test/interop/vp8-rtx.mjs
//   node test/interop/vp8-rtx.mjs --direct [--frames 300] [--loss 0.05] [--seed N] [--verbose]
//   node test/interop/vp8-rtx.mjs --mock-sfu    (mock-sfu.mjs in the worker's place: a reference)
//
// Exit codes: 0 pass, 1 fail, 77 skipped (GStreamer, its Python bindings or a plugin missing).

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MockSfu } from './mock-sfu.mjs';
import { Peer, findPython } from './peer.mjs';
import { Relay } from './relay.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

const { values: opts } = parseArgs({
  options: {
    direct: { type: 'boolean', default: false },
    'mock-sfu': { type: 'boolean', default: false },
    frames: { type: 'string', default: '300' },
    fps: { type: 'string', default: '30' },
    loss: { type: 'string', default: '0.05' },
    seed: { type: 'string', default: String(0x5eed) },
    verbose: { type: 'boolean', default: false },
  },
});
const FRAMES = Number(opts.frames);
const FPS = Number(opts.fps);
const LOSS = Number(opts.loss);
const SEED = Number(opts.seed);
// What the sender puts on the wire (the producer's rtpParameters say the same).
const SENDER = { pt: 96, rtxPt: 97, ssrc: 0x11112222, rtxSsrc: 0x33334444 };
// Whole run: the frames in real time plus start-up, NACK tail and teardown.
const DEADLINE_MS = (FRAMES / FPS) * 1000 + 25_000;

const log = (...args) => console.log('[interop]', ...args);
const failures = [];
function check(ok, what) {
  (ok ? log : console.error)(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

// The worker side: router, producer transport (comedia), producer, consumer transport
// connected to the relay, consumer. Returns what the peers and the relay need to know.
async function setUpWorker(relayUpstreamPort) {
  const workerBin = process.env.MEDIASOUP_WORKER_BIN;
  if (!workerBin) throw new Error('MEDIASOUP_WORKER_BIN must name the worker binary (or use --direct)');
  const require = createRequire(join(HERE, '..', 'node', 'package.json'));
  const mediasoup = require('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  worker.on('died', (error) => failures.push(`worker died: ${error}`));
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }],
  });
  const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };
  const producerTransport = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
  const producer = await producerTransport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [
        {
          mimeType: 'video/VP8',
          payloadType: SENDER.pt,
          clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
        },
        { mimeType: 'video/rtx', payloadType: SENDER.rtxPt, clockRate: 90000, parameters: { apt: SENDER.pt } },
      ],
      encodings: [{ ssrc: SENDER.ssrc, rtx: { ssrc: SENDER.rtxSsrc } }],
      rtcp: { cname: 'gst-sender' },
    },
  });
  const consumerTransport = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
  await consumerTransport.connect({ ip: '127.0.0.1', port: relayUpstreamPort });
  // The receiver is a plain RTP endpoint: it takes the router's codecs (VP8 + its RTX) and
  // negotiates no header extension.
  const consumer = await consumerTransport.consume({
    producerId: producer.id,
    rtpCapabilities: { codecs: router.rtpCapabilities.codecs, headerExtensions: [] },
  });
  const { codecs, encodings } = consumer.rtpParameters;
  const vp8 = codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
  const rtx = codecs.find((c) => c.mimeType.toLowerCase() === 'video/rtx' && c.parameters?.apt === vp8.payloadType);
  if (!vp8 || !rtx || !encodings[0]?.ssrc || !encodings[0]?.rtx?.ssrc) {
    throw new Error(`consumer.rtpParameters lack VP8 + RTX: ${JSON.stringify(consumer.rtpParameters)}`);
  }
  const consumed = { pt: vp8.payloadType, rtxPt: rtx.payloadType, ssrc: encodings[0].ssrc, rtxSsrc: encodings[0].rtx.ssrc };
  const tuple = (t) => ({ address: t.localAddress ?? t.localIp, port: t.localPort });
  return {
    worker,
    producer,
    consumer,
    consumed,
    producerTuple: tuple(producerTransport.tuple),
    consumerTuple: tuple(consumerTransport.tuple),
  };
}

async function main() {
  const python = findPython(log);
  const peers = [];
  let relay;
  let side;
  let mock;
  const watchdog = setTimeout(() => {
    console.error(`FAIL: interop run exceeded ${DEADLINE_MS} ms`);
    for (const peer of peers) peer.kill();
    process.exit(1);
  }, DEADLINE_MS);

  try {
    // The relay sits between the stream's source (worker or sender) and the receiver.
    relay = new Relay({ media: SENDER, lossRate: LOSS, seed: SEED });
    const { upstreamPort, downstreamPort } = await relay.bind();
    let media = SENDER;
    let senderDest = `127.0.0.1:${upstreamPort}`;
    if (opts['mock-sfu']) {
      // What mediasoup's ortc gives this router's consumer: PT 100/101, rtx SSRC = SSRC + 1.
      media = { pt: 100, rtxPt: 101, ssrc: 0x2bad1dea, rtxSsrc: 0x2bad1deb };
      mock = new MockSfu({ producer: SENDER, consumer: media });
      const { producerPort, consumerPort } = await mock.bind({ address: '127.0.0.1', port: upstreamPort });
      relay.media = media;
      relay.upstreamPeer = { address: '127.0.0.1', port: consumerPort };
      senderDest = `127.0.0.1:${producerPort}`;
    } else if (!opts.direct) {
      side = await setUpWorker(upstreamPort);
      media = side.consumed;
      relay.media = media;
      relay.upstreamPeer = side.consumerTuple;
      senderDest = `${side.producerTuple.address}:${side.producerTuple.port}`;
      log(`worker pid ${side.worker.pid}: producer transport ${senderDest}, consumer transport `
        + `${side.consumerTuple.address}:${side.consumerTuple.port} → relay ${upstreamPort}`);
    }
    // Frame k (0-based) carries RTP timestamp first + k·90000/fps: protect the last one.
    relay.protectFromTsDelta = Math.round(((FRAMES - 1) * 90000) / FPS) - Math.round(45000 / FPS);
    const mode = opts.direct ? 'direct (no worker)' : opts['mock-sfu'] ? 'mock SFU (no worker)' : 'worker';
    log(`mode ${mode}; receiver expects ${JSON.stringify(media)}; `
      + `${FRAMES} frames at ${FPS} fps, loss ${LOSS}, seed ${SEED}`);

    const receiver = new Peer(python, 'receiver', 'receiver.py', opts.verbose, [
      `--rtcp-dest=127.0.0.1:${downstreamPort}`,
      `--pt=${media.pt}`, `--rtx-pt=${media.rtxPt}`, `--ssrc=${media.ssrc}`, `--rtx-ssrc=${media.rtxSsrc}`,
      `--frames=${FRAMES}`, `--timeout=${DEADLINE_MS / 1000}`,
    ]);
    peers.push(receiver);
    const ready = await receiver.waitFor('ready', 10_000);
    relay.setReceiver('127.0.0.1', ready.rtpPort, ready.rtcpPort);

    const sender = new Peer(python, 'sender', 'sender.py', opts.verbose, [
      `--dest=${senderDest}`,
      `--pt=${SENDER.pt}`, `--rtx-pt=${SENDER.rtxPt}`, `--ssrc=${SENDER.ssrc}`, `--rtx-ssrc=${SENDER.rtxSsrc}`,
      `--frames=${FRAMES}`, `--fps=${FPS}`,
    ]);
    peers.push(sender);
    await sender.waitFor('ready', 10_000);
    const sent = await sender.waitFor('done', DEADLINE_MS);
    // The sender lingers after its last frame, so the receiver has had time to finish.
    let received;
    try {
      received = await receiver.waitFor('done', 2000);
    } catch {
      receiver.send('stop');
      received = await receiver.waitFor('done', 5000);
    }

    let consumerStats;
    let producerStats;
    if (side) {
      try {
        consumerStats = (await side.consumer.getStats()).find((s) => s.type === 'outbound-rtp');
        producerStats = (await side.producer.getStats()).find((s) => s.type === 'inbound-rtp');
      } catch (error) {
        check(false, `stats from the worker: ${error}`);
      }
    }
    const relayed = relay.summary();
    const jb = received.jitterbuffer ?? {};

    log('sender  ', JSON.stringify({ ...sent, session: undefined }));
    log('receiver', JSON.stringify({ ...received, session: undefined }));
    log('relay   ', JSON.stringify(relayed));
    if (mock) log('mock-sfu', JSON.stringify(mock.stats));
    if (side) {
      log('consumer', JSON.stringify(consumerStats));
      log('producer', JSON.stringify(producerStats));
    }

    check(sent.frames === FRAMES, `sender encoded and sent ${sent.frames}/${FRAMES} frames`);
    check(received.decoded === FRAMES, `receiver decoded ${received.decoded}/${FRAMES} frames`);
    check(relayed.mediaDropped > 0, `relay dropped ${relayed.mediaDropped} media packets of `
      + `${relayed.mediaDropped + relayed.mediaForwarded}`);
    check(relayed.rtcpUp.NACK > 0, `receiver sent ${relayed.rtcpUp.NACK ?? 0} NACK packets `
      + `(${relayed.nackItems} sequence numbers)`);
    check(relayed.unrepaired.length === 0, `every dropped packet was retransmitted `
      + `(${relayed.repaired}/${relayed.mediaDropped}, ${relayed.repairedByRtx} as RTX; missing: ${relayed.unrepaired})`);
    check((jb['num-lost'] ?? 0) === 0, `receiver jitterbuffer lost ${jb['num-lost']} packets`);
    check(relayed.otherRtp === 0, `no RTP with unexpected PT/SSRC reached the receiver `
      + `${JSON.stringify(relayed.otherRtpKeys)}`);
    if (opts.direct) {
      check(sent.rtxPackets > 0, `GStreamer sender answered ${sent.rtxRequests} NACKed packets with ${sent.rtxPackets} RTX`);
    } else if (side) {
      check(consumerStats?.packetsRetransmitted > 0,
        `consumer stats packetsRetransmitted = ${consumerStats?.packetsRetransmitted}`);
      check(consumerStats?.nackCount > 0, `consumer stats nackCount = ${consumerStats?.nackCount} `
        + `(nackPacketCount ${consumerStats?.nackPacketCount})`);
    }
  } catch (error) {
    console.error(`FAIL: ${error.stack ?? error}`);
    failures.push(String(error));
  } finally {
    clearTimeout(watchdog);
    for (const peer of peers) {
      if (failures.length && peer.stderr && !opts.verbose) {
        console.error(`--- ${peer.name} stderr (last 3000 chars)\n${peer.stderr.slice(-3000)}`);
      }
      peer.kill();
    }
    relay?.close();
    mock?.close();
    side?.worker.close();
  }
  log(failures.length ? `${failures.length} check(s) failed` : 'all checks passed');
  process.exit(failures.length ? 1 : 0);
}

await main();
