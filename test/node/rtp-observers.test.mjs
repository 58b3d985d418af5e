// RTP observers driven by the unmodified mediasoup Node library: audio
// producers on comedia PlainTransports are fed Opus RTP carrying the RFC 6464
// ssrc-audio-level extension (one- and two-byte forms) at levels the test
// chooses, and the AudioLevelObserver's `volumes` / `silence` and the
// ActiveSpeakerObserver's `dominantspeaker` events are checked: which
// producers, in which order, with which volumes, and when.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test rtp-observers.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startWorker, closeAll, nextEvent, openProducerSide, audioProducerOptions, videoProducerOptions,
  MEDIA_CODECS, PRODUCER_OPUS_PT,
} from './lib/media-peer.mjs';
import { buildRtp, opusPayload, u16, u32 } from './lib/rtp.mjs';
import { buildRtpWithExtensions } from './lib/layered.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const SILENT = 127;

// An RTP packet with one element in the two-byte header form (RFC 8285
// §4.3): profile 0x100 + appbits 0, then id, length, value.
function buildRtpTwoByte({ id, data, ...rtp }) {
  const plain = buildRtp(rtp);
  const body = Buffer.concat([Buffer.from([id, data.length]), data]);
  const words = Math.ceil(body.length / 4);
  const ext = Buffer.alloc(4 + 4 * words);
  ext.writeUInt16BE(0x1000, 0);
  ext.writeUInt16BE(words, 2);
  body.copy(ext, 4);
  const pkt = Buffer.concat([plain.subarray(0, 12), ext, plain.subarray(12)]);
  pkt[0] |= 0x10;
  return pkt;
}

// One audio producer on its own transport, sending a packet every 20 ms at
// `level` (-dBov: 0 loud .. 127 silent; null sends nothing) with the
// extension in the `form` ('one' or 'two' byte) under id `extId`.
class Talker {
  static async open(router, { ssrc, extId = 1, form = 'one' }) {
    const side = await openProducerSide(router);
    const options = audioProducerOptions(ssrc);
    options.rtpParameters.headerExtensions = [{ uri: AUDIO_LEVEL_URI, id: extId }];
    const producer = await side.transport.produce(options);
    return new Talker(side, producer, ssrc, extId, form);
  }

  constructor(side, producer, ssrc, extId, form) {
    Object.assign(this, { side, producer, ssrc, extId, form });
    this.seq = 1000;
    this.ts = 48000;
    this.level = null;
    this.voice = true;
  }

  send() {
    if (this.level === null) return;
    const rtp = { pt: PRODUCER_OPUS_PT, seq: this.seq, ts: this.ts, ssrc: this.ssrc, payload: opusPayload({ size: 40 }) };
    const data = Buffer.from([(this.voice ? 0x80 : 0) | this.level]);
    const pkt = this.form === 'two'
      ? buildRtpTwoByte({ ...rtp, id: this.extId, data: Buffer.concat([data, Buffer.alloc(1)]) })
      : buildRtpWithExtensions({ ...rtp, extensions: [{ id: this.extId, data }] });
    this.side.peer.sendRtp(pkt, this.side.port);
    this.seq = u16(this.seq + 1);
    this.ts = u32(this.ts + 960);
  }
}

// Sends every talker's packet each 20 ms until stopped.
function talk(talkers) {
  const timer = setInterval(() => talkers.forEach((t) => t.send()), 20);
  return { stop: () => clearInterval(timer) };
}

// Every emission of `event` with its arrival time (ms since the recorder started).
function record(emitter, event) {
  const start = Date.now();
  const events = [];
  const onEvent = (value) => events.push({ at: Date.now() - start, value });
  emitter.on(event, onEvent);
  events.stop = () => emitter.off(event, onEvent);
  return events;
}

const volumesOf = (volumes) => volumes.map((v) => [v.producer.id, v.volume]);

let worker;
let stopAll = [];
before(async () => {
  worker = await startWorker();
});
after(async () => {
  stopAll.forEach((s) => s.stop());
  await closeAll();
});

// A router with three talkers at -20, -40 and -70 dBov (the second in the
// two-byte form under another id), all sending.
async function room() {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const a = await Talker.open(router, { ssrc: 0x1111 });
  const b = await Talker.open(router, { ssrc: 0x2222, extId: 7, form: 'two' });
  const c = await Talker.open(router, { ssrc: 0x3333, extId: 3 });
  a.level = 20;
  b.level = 40;
  c.level = 70;
  const pump = talk([a, b, c]);
  stopAll.push(pump);
  return { router, a, b, c, pump };
}

describe('AudioLevelObserver', () => {
  test('volumes: loudest first, threshold and maxEntries honoured, one report per interval', async () => {
    const { router, a, b, c, pump } = await room();
    const observer = await router.createAudioLevelObserver({ maxEntries: 2, threshold: -60, interval: 300 });
    const all = await router.createAudioLevelObserver({ maxEntries: 10, threshold: -127, interval: 300 });
    for (const t of [a, b, c]) {
      await observer.addProducer({ producerId: t.producer.id });
      await all.addProducer({ producerId: t.producer.id });
    }
    const events = record(observer, 'volumes');
    const allEvents = record(all, 'volumes');
    await sleep(1400);
    events.stop();
    allEvents.stop();
    // The first interval may have started before the producers were added.
    const steady = events.slice(1);
    assert.ok(steady.length >= 3, `reports: ${events.length}`);
    for (const e of steady)
      assert.deepEqual(volumesOf(e.value), [[a.producer.id, -20], [b.producer.id, -40]]);
    for (const e of allEvents.slice(1))
      assert.deepEqual(volumesOf(e.value), [[a.producer.id, -20], [b.producer.id, -40], [c.producer.id, -70]]);
    // One report per interval: consecutive ones 300 ms apart (within scheduling jitter).
    for (let i = 1; i < events.length; ++i) {
      const gap = events[i].at - events[i - 1].at;
      assert.ok(gap > 200 && gap < 400, `gap ${gap} ms`);
    }
    // The average over the interval: -30 and -50 alternating gives -40.
    let flip = false;
    const alternate = setInterval(() => { c.level = (flip = !flip) ? 30 : 50; }, 20);
    await sleep(350);
    const next = await nextEvent(all, 'volumes', 1000);
    clearInterval(alternate);
    const cVolume = next.find((v) => v.producer.id === c.producer.id).volume;
    assert.ok(cVolume >= -42 && cVolume <= -38, `averaged volume ${cVolume}`);
    pump.stop();
    router.close();
  });

  test('silence once when everyone goes quiet or stops, volumes again when they speak', async () => {
    const { router, a, b, c, pump } = await room();
    const observer = await router.createAudioLevelObserver({ maxEntries: 3, threshold: -60, interval: 250 });
    for (const t of [a, b, c]) await observer.addProducer({ producerId: t.producer.id });
    await nextEvent(observer, 'volumes', 1000);
    const silences = record(observer, 'silence');
    const volumes = record(observer, 'volumes');
    // a goes below the threshold, b stops sending, c was already below.
    const quietAt = Date.now();
    a.level = 90;
    b.level = null;
    await nextEvent(observer, 'silence', 1000);
    const silenceAfter = Date.now() - quietAt;
    assert.ok(silenceAfter <= 2 * 250 + 100, `silence after ${silenceAfter} ms`);
    await sleep(800);
    assert.equal(silences.length, 1, 'silence is reported once');
    // Digital silence counts as quiet too.
    a.level = SILENT;
    await sleep(300);
    assert.equal(silences.length, 1);
    const volumesBefore = volumes.length;
    b.level = 10;
    const back = await nextEvent(observer, 'volumes', 1000);
    assert.deepEqual(volumesOf(back), [[b.producer.id, -10]]);
    assert.ok(volumes.length > volumesBefore);
    b.level = null;
    await nextEvent(observer, 'silence', 1000);
    assert.equal(silences.length, 2, 'silence again after volumes in between');
    silences.stop();
    volumes.stop();
    pump.stop();
    router.close();
  });

  test('pause stops reports, resume restarts them; producer pause leaves it out', async () => {
    const { router, a, b, c, pump } = await room();
    const observer = await router.createAudioLevelObserver({ maxEntries: 3, threshold: -60, interval: 250 });
    for (const t of [a, b, c]) await observer.addProducer({ producerId: t.producer.id });
    await nextEvent(observer, 'volumes', 1000);
    await observer.pause();
    assert.equal(observer.paused, true);
    const events = record(observer, 'volumes');
    const silences = record(observer, 'silence');
    await sleep(700);
    assert.equal(events.length, 0, 'no volumes while paused');
    assert.equal(silences.length, 0, 'no silence while paused');
    const resumedAt = Date.now();
    await observer.resume();
    const first = await nextEvent(observer, 'volumes', 1000);
    assert.ok(Date.now() - resumedAt <= 250 + 150, 'a report one interval after resume');
    assert.deepEqual(volumesOf(first), [[a.producer.id, -20], [b.producer.id, -40]]);
    // A paused producer is muted for the observer.
    await a.producer.pause();
    await nextEvent(observer, 'volumes', 1000); // may cover the pause
    const muted = await nextEvent(observer, 'volumes', 1000);
    assert.deepEqual(volumesOf(muted), [[b.producer.id, -40]]);
    await a.producer.resume();
    await nextEvent(observer, 'volumes', 1000);
    const back = await nextEvent(observer, 'volumes', 1000);
    assert.deepEqual(volumesOf(back), [[a.producer.id, -20], [b.producer.id, -40]]);
    events.stop();
    silences.stop();
    pump.stop();
    router.close();
  });

  test('addProducer / removeProducer, their errors, producer close, router dump', async () => {
    const { router, a, b, c, pump } = await room();
    const observer = await router.createAudioLevelObserver({ maxEntries: 3, threshold: -127, interval: 250 });
    await observer.addProducer({ producerId: a.producer.id });
    await observer.addProducer({ producerId: b.producer.id });
    await assert.rejects(observer.addProducer({ producerId: a.producer.id }),
      { name: 'Error', message: /Producer already in map/ });
    await assert.rejects(observer.removeProducer({ producerId: c.producer.id }),
      { name: 'Error', message: /Producer not found/ });
    // Only audio producers have levels to observe.
    const video = await a.side.transport.produce(videoProducerOptions(0x4444));
    await assert.rejects(observer.addProducer({ producerId: video.id }),
      { name: 'TypeError', message: /not an audio Producer/ });
    await nextEvent(observer, 'volumes', 1000);
    const two = await nextEvent(observer, 'volumes', 1000);
    assert.deepEqual(volumesOf(two), [[a.producer.id, -20], [b.producer.id, -40]], 'c was not added');

    let dump = await router.dump();
    assert.deepEqual(dump.rtpObserverIds, [observer.id]);
    const observersOf = (d, id) => d.mapProducerIdObserverIds.find((e) => e.key === id)?.values ?? [];
    assert.deepEqual(observersOf(dump, a.producer.id), [observer.id]);
    assert.deepEqual(observersOf(dump, c.producer.id), []);

    await observer.removeProducer({ producerId: a.producer.id });
    await observer.addProducer({ producerId: c.producer.id });
    await nextEvent(observer, 'volumes', 1000);
    const swapped = await nextEvent(observer, 'volumes', 1000);
    assert.deepEqual(volumesOf(swapped), [[b.producer.id, -40], [c.producer.id, -70]]);

    // Closing a producer removes it from the observer (and from the dump).
    b.producer.close();
    await nextEvent(observer, 'volumes', 1000);
    const after = await nextEvent(observer, 'volumes', 1000);
    assert.deepEqual(volumesOf(after), [[c.producer.id, -70]]);
    dump = await router.dump();
    assert.deepEqual(observersOf(dump, c.producer.id), [observer.id]);
    assert.equal(dump.mapProducerIdObserverIds.some((e) => e.key === b.producer.id), false);

    // Closing the observer: gone from the dump, no more events.
    const events = record(observer, 'volumes');
    observer.close();
    await sleep(600);
    assert.equal(events.length, 0);
    dump = await router.dump();
    assert.deepEqual(dump.rtpObserverIds, []);
    assert.deepEqual(observersOf(dump, c.producer.id), []);
    pump.stop();
    router.close();
  });

  test('closing the router with observers and producers linked leaves the worker sound', async () => {
    const { router, a, b, pump } = await room();
    const alo = await router.createAudioLevelObserver({ interval: 250 });
    const aso = await router.createActiveSpeakerObserver({ interval: 100 });
    for (const t of [a, b]) {
      await alo.addProducer({ producerId: t.producer.id });
      await aso.addProducer({ producerId: t.producer.id });
    }
    await nextEvent(alo, 'volumes', 1000);
    const closed = nextEvent(alo, 'routerclose', 1000);
    router.close();
    await closed;
    assert.equal(aso.closed, true);
    pump.stop();
    const dump = await worker.dump();
    assert.equal(dump.routerIds.includes(router.id), false);
    // The worker goes on answering, and a new router's observer works.
    const again = await room();
    const obs = await again.router.createAudioLevelObserver({ interval: 250 });
    await obs.addProducer({ producerId: again.a.producer.id });
    await nextEvent(obs, 'volumes', 1000);
    again.pump.stop();
    again.router.close();
  });
});

describe('ActiveSpeakerObserver', () => {
  test('dominant speaker: the first talker, not a cough, then the one who takes the floor', async () => {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const a = await Talker.open(router, { ssrc: 0x5555 });
    const b = await Talker.open(router, { ssrc: 0x6666, extId: 4, form: 'two' });
    const observer = await router.createActiveSpeakerObserver({ interval: 100 });
    await observer.addProducer({ producerId: a.producer.id });
    await observer.addProducer({ producerId: b.producer.id });
    const events = record(observer, 'dominantspeaker');
    a.level = SILENT;
    b.level = SILENT;
    const pump = talk([a, b]);
    stopAll.push(pump);
    await sleep(500);
    assert.equal(events.length, 0, 'nobody speaks: no dominant speaker');

    a.level = 30;
    const first = await nextEvent(observer, 'dominantspeaker', 1000);
    assert.equal(first.producer.id, a.producer.id);
    await sleep(1200);
    // B coughs loudly for 200 ms while A goes on talking.
    b.level = 5;
    await sleep(200);
    b.level = SILENT;
    await sleep(1000);
    assert.equal(events.length, 1, `no switch on a cough: ${events.map((e) => e.value.producer.id)}`);

    // A stops and B talks: after a while B has the floor.
    const switchAt = Date.now();
    a.level = SILENT;
    b.level = 20;
    const second = await nextEvent(observer, 'dominantspeaker', 2000);
    const after = Date.now() - switchAt;
    assert.equal(second.producer.id, b.producer.id);
    assert.ok(after >= 200 && after <= 1500, `switched after ${after} ms`);
    assert.equal(events.length, 2);

    // Pause: no decisions. B stops and A talks, but the observer is paused.
    await observer.pause();
    a.level = 20;
    b.level = SILENT;
    await sleep(1200);
    assert.equal(events.length, 2, 'no dominantspeaker while paused');
    await observer.resume();
    const resumed = await nextEvent(observer, 'dominantspeaker', 2000);
    assert.equal(resumed.producer.id, a.producer.id);

    // Removing the dominant speaker: the next one found is reported.
    await observer.removeProducer({ producerId: a.producer.id });
    b.level = 20;
    const third = await nextEvent(observer, 'dominantspeaker', 2000);
    assert.equal(third.producer.id, b.producer.id);
    events.stop();
    pump.stop();
    router.close();
  });
});
