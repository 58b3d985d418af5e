// The worker's channel driven byte by byte: this file spawns the binary named
// in MEDIASOUP_WORKER_BIN itself, writes frames to fd 3 and reads fd 4.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test raw-channel.test.mjs

import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const flatbuffers = require('flatbuffers');
const FbsMessage = require('mediasoup/node/lib/fbs/message');
const FbsRequest = require('mediasoup/node/lib/fbs/request');
const FbsResponse = require('mediasoup/node/lib/fbs/response');
const FbsNotification = require('mediasoup/node/lib/fbs/notification');
const FbsLog = require('mediasoup/node/lib/fbs/log');
const FbsWorker = require('mediasoup/node/lib/fbs/worker');
const FbsRouter = require('mediasoup/node/lib/fbs/router');
const FbsAudioLevelObserver = require('mediasoup/node/lib/fbs/audio-level-observer');
const FbsRtpObserver = require('mediasoup/node/lib/fbs/rtp-observer');
const MEDIASOUP_VERSION = require('mediasoup/package.json').version;

const WORKER_BIN = process.env.MEDIASOUP_WORKER_BIN;
assert.ok(WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const Method = FbsRequest.Method;
const ReqBody = FbsRequest.Body;
const RespBody = FbsResponse.Body;
const PAYLOAD_MAX = 4194304; // 4 MiB
const METHOD_COUNT = 69; // FBS.Request.Method has 69 values: 0..68

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

// One frame: 4-byte little-endian length + FBS.Message.Message.
function messageFrame(bodyType, buildBody) {
  const builder = new flatbuffers.Builder(256);
  const body = buildBody(builder);
  builder.finishSizePrefixed(FbsMessage.Message.createMessage(builder, bodyType, body));
  return Buffer.from(builder.asUint8Array());
}

function requestFrame({ id, method, handlerId = '', bodyType = ReqBody.NONE, body }) {
  return messageFrame(FbsMessage.Body.Request, (b) => {
    const bodyOffset = body ? body(b) : 0;
    const handlerIdOffset = b.createString(handlerId);
    return FbsRequest.Request.createRequest(b, id, method, handlerIdOffset, bodyType, bodyOffset);
  });
}

// Request bodies.
const createRouterBody = (routerId) => ({
  bodyType: ReqBody.Worker_CreateRouterRequest,
  body: (b) => FbsWorker.CreateRouterRequest.createCreateRouterRequest(b, b.createString(routerId)),
});
const closeRouterBody = (routerId) => ({
  bodyType: ReqBody.Worker_CloseRouterRequest,
  body: (b) => FbsWorker.CloseRouterRequest.createCloseRouterRequest(b, b.createString(routerId)),
});
const closeTransportBody = (transportId) => ({
  bodyType: ReqBody.Router_CloseTransportRequest,
  body: (b) => FbsRouter.CloseTransportRequest.createCloseTransportRequest(b, b.createString(transportId)),
});
const closeRtpObserverBody = (observerId) => ({
  bodyType: ReqBody.Router_CloseRtpObserverRequest,
  body: (b) => FbsRouter.CloseRtpObserverRequest.createCloseRtpObserverRequest(b, b.createString(observerId)),
});

function lengthPrefix(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

// A Request frame whose payload is exactly `size` bytes (padded through handler_id).
function requestFrameOfPayloadSize(size, id, method) {
  let pad = size - 64;
  for (let i = 0; i < 8; ++i) {
    const frame = requestFrame({ id, method, handlerId: 'x'.repeat(pad) });
    if (frame.length - 4 === size) return frame;
    pad += size - (frame.length - 4);
  }
  throw new Error(`cannot build a ${size}-byte payload`);
}

function decodeMessage(payload) {
  const bb = new flatbuffers.ByteBuffer(new Uint8Array(payload));
  const message = FbsMessage.Message.getRootAsMessage(bb);
  switch (message.dataType()) {
    case FbsMessage.Body.Response: {
      const r = message.data(new FbsResponse.Response());
      return {
        kind: 'response', id: r.id(), accepted: r.accepted(), error: r.error(), reason: r.reason(),
        bodyType: r.bodyType(), response: r,
      };
    }
    case FbsMessage.Body.Notification: {
      const n = message.data(new FbsNotification.Notification());
      return { kind: 'notification', handlerId: n.handlerId(), event: n.event(), bodyType: n.bodyType() };
    }
    case FbsMessage.Body.Log:
      return { kind: 'log', data: message.data(new FbsLog.Log()).data() };
    default:
      return { kind: 'unexpected', type: message.dataType() };
  }
}

// Reads a uint64 field (by field index) of the table at `pos`; absent = default 0.
function u64Field(bb, pos, index) {
  const o = bb.__offset(pos, 4 + 2 * index);
  return o ? bb.readUint64(pos + o) : 0n;
}

// Position of the sub-table at field `index` of the table at `pos`, or null.
function tableField(bb, pos, index) {
  const o = bb.__offset(pos, 4 + 2 * index);
  return o ? bb.__indirect(pos + o) : null;
}

const CHANNEL_DUMP_FIELDS = [
  'out_queued_bytes', 'out_queue_high_water_bytes', 'out_queue_limit_bytes', 'dropped_notifications',
  'dropped_logs', 'rejected_frames', 'error_responses',
];

// sluice's extension of FBS.Worker.DumpResponse: field 5 `memory` (MemoryDump
// { pool, rings, channel: ChannelDump, rss_bytes }).
function readMemoryDump(dumpResponse) {
  const bb = dumpResponse.bb;
  const memory = tableField(bb, dumpResponse.bb_pos, 5);
  assert.ok(memory !== null, 'DumpResponse has a memory table (field 5)');
  const channelPos = tableField(bb, memory, 2);
  assert.ok(channelPos !== null, 'MemoryDump has a channel table (field 2)');
  const channel = {};
  CHANNEL_DUMP_FIELDS.forEach((name, i) => { channel[name] = u64Field(bb, channelPos, i); });
  return {
    hasPool: tableField(bb, memory, 0) !== null,
    hasRings: tableField(bb, memory, 1) !== null,
    channel,
    rssBytes: u64Field(bb, memory, 3),
  };
}

// ---------------------------------------------------------------------------
// A worker process spoken to directly
// ---------------------------------------------------------------------------

const running = new Set();

class RawWorker {
  constructor({ args = [], env = {}, withVersion = true } = {}) {
    const fullEnv = { ...process.env, MEDIASOUP_VERSION, ...env };
    if (!withVersion) delete fullEnv.MEDIASOUP_VERSION;
    this.child = spawn(WORKER_BIN, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.messages = [];
    this.stderr = '';
    this.nextId = 1;
    this.sentIds = new Set();
    this.waiters = [];
    this.pending = Buffer.alloc(0);
    // 'close' comes after 'exit' and after fd 4 is drained: every frame is in.
    this.exit = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
    this.child.stdout.resume();
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.child.stdio[3].on('error', () => {});
    this.child.stdio[4].on('data', (d) => this.onData(d));
    running.add(this);
  }

  get exited() {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  onData(data) {
    this.pending = Buffer.concat([this.pending, data]);
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + len) break;
      this.messages.push(decodeMessage(this.pending.subarray(4, 4 + len)));
      this.pending = this.pending.subarray(4 + len);
    }
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  // Resolves with the first received message matching `predicate`.
  waitFor(predicate, what, timeoutMs = 2000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const waiter = {
        check: () => {
          const m = this.messages.find(predicate);
          if (m) { clearTimeout(timer); resolve(m); }
          return Boolean(m);
        },
      };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  async ready() {
    return this.waitFor((m) => m.kind === 'notification', 'WORKER_RUNNING');
  }

  write(bytes) {
    this.child.stdio[3].write(bytes);
  }

  newId() {
    const id = this.nextId++;
    this.sentIds.add(id);
    return id;
  }

  responseTo(id, timeoutMs = 2000) {
    return this.waitFor((m) => m.kind === 'response' && m.id === id, `the response to request ${id}`, timeoutMs);
  }

  // Sends one request (fields as requestFrame) and resolves with its response.
  async request(fields) {
    const id = this.newId();
    this.write(requestFrame({ id, ...fields }));
    return this.responseTo(id);
  }

  async dump() {
    const r = await this.request({ method: Method.WORKER_DUMP });
    assert.equal(r.accepted, true, `WORKER_DUMP accepted (${r.reason})`);
    assert.equal(r.bodyType, RespBody.Worker_DumpResponse);
    return r.response.body(new FbsWorker.DumpResponse());
  }

  // The worker still answers, exactly once per request, nothing unasked.
  async assertHealthy() {
    const dump = await this.dump();
    assert.equal(dump.pid(), this.pid);
    const responses = this.messages.filter((m) => m.kind === 'response');
    for (const r of responses) assert.ok(this.sentIds.has(r.id), `unexpected response id ${r.id}`);
    const ids = responses.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate responses: ${ids}`);
    assert.ok(!this.exited);
  }

  logs(level) {
    return this.messages.filter((m) => m.kind === 'log' && (!level || m.data[0] === level)).map((m) => m.data);
  }

  // Asserts nothing but log frames arrives within `ms`; returns those logs.
  async expectSilence(ms = 150) {
    const before = this.messages.length;
    await sleep(ms);
    const fresh = this.messages.slice(before);
    assert.deepEqual(fresh.filter((m) => m.kind !== 'log'), [], 'no response or notification expected');
    return fresh.map((m) => m.data);
  }

  async waitExit(timeoutMs = 3000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pid ${this.pid} did not exit in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill() {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

async function startWorker(options) {
  const worker = new RawWorker(options);
  await worker.ready();
  return worker;
}

afterEach(async () => {
  for (const worker of running) {
    worker.kill();
    await worker.exit;
    running.delete(worker);
  }
});

function assertError(response, id, error, reason) {
  assert.equal(response.id, id);
  assert.equal(response.accepted, false);
  assert.equal(response.error, error);
  if (reason instanceof RegExp) assert.match(response.reason, reason);
  else assert.equal(response.reason, reason);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('start-up', () => {
  test('without MEDIASOUP_VERSION the worker exits with 41 and writes no frame', async () => {
    const worker = new RawWorker({ withVersion: false });
    assert.deepEqual(await worker.waitExit(), { code: 41, signal: null });
    assert.deepEqual(worker.messages, []);
  });

  // Started by hand (a terminal, a service file): no channel on fds 3/4.
  // MEDIASOUP_VERSION is checked first (41), then the fds (40), then the
  // settings (42): each a line on stderr saying what the worker expects.
  function spawnByHand(stdio, { withVersion = true, args = [] } = {}) {
    const env = { ...process.env, MEDIASOUP_VERSION };
    if (!withVersion) delete env.MEDIASOUP_VERSION;
    const child = spawn(WORKER_BIN, args, { env, stdio });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  }
  const EXPECTS = /spawned by the mediasoup Node library.*fds 3 .*and 4 /;

  test('started by hand: fds 3/4 closed, /dev/null, or only one of them: exit 40 with what it expects', async () => {
    const devNullIn = openSync('/dev/null', 'r');
    const devNullOut = openSync('/dev/null', 'w');
    try {
      const cases = [
        ['fds 3 and 4 closed', ['ignore', 'pipe', 'pipe'], /fd 3 is not open/],
        ['fd 3 and 4 on /dev/null', ['ignore', 'pipe', 'pipe', devNullIn, devNullOut], /fd 3 is a regular file or device/],
        ['fd 3 a pipe, fd 4 closed', ['ignore', 'pipe', 'pipe', 'pipe'], /fd 4 is not open/],
        ['fd 3 a pipe, fd 4 on /dev/null', ['ignore', 'pipe', 'pipe', 'pipe', devNullOut], /fd 4 is a regular file or device/],
      ];
      for (const [what, stdio, why] of cases) {
        const r = await spawnByHand(stdio);
        assert.deepEqual([r.code, r.signal], [40, null], `${what}: exit 40, no crash (stderr: ${r.stderr})`);
        assert.match(r.stderr, why, what);
        assert.match(r.stderr, EXPECTS, what);
        assert.match(r.stderr, /MEDIASOUP_VERSION/, what);
      }
      // Wrong settings with no channel: the channel is reported first.
      const r = await spawnByHand(['ignore', 'pipe', 'pipe'], { args: ['--logLevel=nope'] });
      assert.deepEqual([r.code, r.signal], [40, null]);
    } finally {
      closeSync(devNullIn);
      closeSync(devNullOut);
    }
  });

  test('started by hand without MEDIASOUP_VERSION either: exit 41 first, saying what it expects', async () => {
    const r = await spawnByHand(['ignore', 'pipe', 'pipe'], { withVersion: false });
    assert.deepEqual([r.code, r.signal], [41, null]);
    assert.match(r.stderr, /MEDIASOUP_VERSION is not set/);
    assert.match(r.stderr, EXPECTS);
  });

  test('the first frame is WORKER_RUNNING with handler_id = pid', async () => {
    const worker = new RawWorker();
    const first = await worker.waitFor(() => true, 'a first frame');
    assert.deepEqual(first, {
      kind: 'notification',
      handlerId: String(worker.pid),
      event: FbsNotification.Event.WORKER_RUNNING,
      bodyType: FbsNotification.Body.NONE,
    });
    await worker.assertHealthy();
  });

  const rejected = [
    ['--logLevel=bogus'],
    ['--foo=1'],
    ['--rtc=5'], // ambiguous: rtcMinPort / rtcMaxPort
    ['--rtcMinPort=5000', '--rtcMaxPort=4000'],
    ['--rtcMaxPort=70000'],
    ['--rtcMinPort=abc'],
    ['--dtlsCertificateFile=/nonexistent/cert.pem'],
    ['--dtlsPrivateKeyFile=/nonexistent/key.pem'],
    ['--logLevel'],
    ['logLevel=debug'],
  ];
  for (const args of rejected) {
    test(`${args.join(' ')} → exit 42`, async () => {
      const worker = new RawWorker({ args });
      assert.deepEqual(await worker.waitExit(), { code: 42, signal: null });
      assert.equal(worker.messages.filter((m) => m.kind === 'notification').length, 0);
    });
  }

  for (const value of ['abc', '', '65535', '1073741825', '70000x', '-70000']) {
    test(`SLUICE_CHANNEL_OUT_LIMIT='${value}' → exit 42, naming the variable`, async () => {
      const worker = new RawWorker({ env: { SLUICE_CHANNEL_OUT_LIMIT: value } });
      assert.deepEqual(await worker.waitExit(), { code: 42, signal: null });
      assert.match(worker.stderr, /SLUICE_CHANNEL_OUT_LIMIT/);
    });
  }

  test('accepted options: unique prefixes (--logTag, --logL), equal ports, dtls-free defaults', async () => {
    for (const args of [
      ['--logTag=info', '--logTag=rtp'],
      ['--rtcMinPort=40000', '--rtcMaxPort=40000'],
      ['--disableLiburing=true'],
      ['--libwebrtcFieldTrials=WebRTC-Bwe-AlrLimitedBackoff/Enabled/'],
    ]) {
      const worker = await startWorker({ args });
      await worker.assertHealthy();
    }
  });

  test("--logL=debug (a unique prefix of --logLevel) turns on 'D' log frames; the default does not", async () => {
    const quiet = await startWorker();
    const loud = await startWorker({ args: ['--logL=debug'] });
    for (const worker of [quiet, loud]) {
      const r = await worker.request({ method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('r-log') });
      assert.equal(r.accepted, true);
    }
    await loud.waitFor((m) => m.kind === 'log' && m.data[0] === 'D', "a 'D' log frame");
    await quiet.assertHealthy();
    assert.deepEqual(quiet.logs(), []);
  });
});

describe('framing', () => {
  test('WORKER_DUMP is answered with a Worker_DumpResponse', async () => {
    const worker = await startWorker();
    const dump = await worker.dump();
    assert.equal(dump.pid(), worker.pid);
    assert.equal(dump.routerIdsLength(), 0);
    assert.equal(dump.webRtcServerIdsLength(), 0);
  });

  test('a frame written in 3 pieces is answered once complete', async () => {
    const worker = await startWorker();
    const id = worker.newId();
    const frame = requestFrame({ id, method: Method.WORKER_DUMP });
    worker.write(frame.subarray(0, 2)); // half the length prefix
    await worker.expectSilence(60);
    worker.write(frame.subarray(2, 11)); // rest of prefix + part of the payload
    await worker.expectSilence(60);
    worker.write(frame.subarray(11));
    const r = await worker.responseTo(id);
    assert.equal(r.accepted, true);
    assert.equal(r.bodyType, RespBody.Worker_DumpResponse);
    await worker.assertHealthy();
  });

  test('two frames in one write are both answered, in order', async () => {
    const worker = await startWorker();
    const a = worker.newId();
    const b = worker.newId();
    worker.write(Buffer.concat([
      requestFrame({ id: a, method: Method.WORKER_DUMP }),
      requestFrame({ id: b, method: Method.WORKER_GET_RESOURCE_USAGE }),
    ]));
    await worker.responseTo(b);
    const responses = worker.messages.filter((m) => m.kind === 'response');
    assert.deepEqual(responses.map((r) => [r.id, r.accepted, r.bodyType]), [
      [a, true, RespBody.Worker_DumpResponse],
      [b, true, RespBody.Worker_ResourceUsageResponse],
    ]);
  });

  test('a write ending inside a second frame: the first is answered, the second when completed', async () => {
    const worker = await startWorker();
    const a = worker.newId();
    const b = worker.newId();
    const fa = requestFrame({ id: a, method: Method.WORKER_DUMP });
    const fb = requestFrame({ id: b, method: Method.WORKER_DUMP });
    worker.write(Buffer.concat([fa, fb.subarray(0, 7)]));
    assert.equal((await worker.responseTo(a)).accepted, true);
    await worker.expectSilence(60);
    worker.write(fb.subarray(7));
    assert.equal((await worker.responseTo(b)).accepted, true);
    await worker.assertHealthy();
  });

  test('a payload of exactly 4 MiB is accepted', async () => {
    const worker = await startWorker();
    const id = worker.newId();
    const frame = requestFrameOfPayloadSize(PAYLOAD_MAX, id, Method.WORKER_GET_RESOURCE_USAGE);
    assert.equal(frame.readUInt32LE(0), PAYLOAD_MAX);
    worker.write(frame);
    const r = await worker.responseTo(id, 5000);
    assert.equal(r.accepted, true);
    assert.equal(r.bodyType, RespBody.Worker_ResourceUsageResponse);
    await worker.assertHealthy();
  });
});

describe('robustness: bad frames are answered or dropped, and the worker keeps going', () => {
  const garbage = [
    ['16 bytes of 0xAB', Buffer.alloc(16, 0xab)],
    ['an empty payload', Buffer.alloc(0)],
    ['3 bytes', Buffer.from([1, 2, 3])],
  ];
  for (const [what, payload] of garbage) {
    test(`garbage (${what}) gets no answer but a warning log`, async () => {
      const worker = await startWorker({ args: ['--logLevel=warn'] });
      worker.write(Buffer.concat([lengthPrefix(payload.length), payload]));
      await worker.waitFor((m) => m.kind === 'log' && m.data[0] === 'W', "a 'W' log frame");
      await worker.expectSilence(100);
      await worker.assertHealthy();
    });
  }

  test('a frame failing verification whose id is readable gets Error mentioning verification', async () => {
    const worker = await startWorker();
    const id = worker.newId();
    const frame = requestFrame({ id, method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('corrupt-me') });
    const at = frame.indexOf('corrupt-me');
    frame.writeUInt32LE(0x7fffffff, at - 4); // the string's length now runs past the buffer
    worker.write(frame);
    assertError(await worker.responseTo(id), id, 'Error', /verification/);
    const dump = await worker.dump();
    assert.equal(dump.routerIdsLength(), 0);
    await worker.assertHealthy();
  });

  test('a Request missing its required handler_id gets Error mentioning verification', async () => {
    const worker = await startWorker();
    const id = worker.newId();
    worker.write(messageFrame(FbsMessage.Body.Request, (b) => {
      FbsRequest.Request.startRequest(b);
      FbsRequest.Request.addId(b, id);
      FbsRequest.Request.addMethod(b, Method.WORKER_DUMP);
      return b.endObject(); // skips the generated requiredField() check
    }));
    assertError(await worker.responseTo(id), id, 'Error', /verification/);
    await worker.assertHealthy();
  });

  test('a body type that does not match the method gets TypeError', async () => {
    const worker = await startWorker();
    let id = worker.newId();
    worker.write(requestFrame({ id, method: Method.WORKER_CREATE_ROUTER, ...closeRouterBody('r1') }));
    assertError(await worker.responseTo(id), id, 'TypeError',
      'wrong body for WORKER_CREATE_ROUTER: expected Worker_CreateRouterRequest, got Worker_CloseRouterRequest');
    id = worker.newId();
    worker.write(requestFrame({ id, method: Method.WORKER_CREATE_ROUTER }));
    assertError(await worker.responseTo(id), id, 'TypeError',
      'wrong body for WORKER_CREATE_ROUTER: expected Worker_CreateRouterRequest, got NONE');
    assert.equal((await worker.dump()).routerIdsLength(), 0);
    await worker.assertHealthy();
  });

  test('an unknown handler id gets Error', async () => {
    const worker = await startWorker();
    const id = worker.newId();
    worker.write(requestFrame({ id, method: Method.ROUTER_DUMP, handlerId: 'no-such-router' }));
    assertError(await worker.responseTo(id), id, 'Error', 'Channel request handler with ID no-such-router not found');
    await worker.assertHealthy();
  });

  for (const method of [METHOD_COUNT, 200, 255]) {
    test(`method number ${method} (out of range) gets 'unknown method ${method}'`, async () => {
      const worker = await startWorker();
      const id = worker.newId();
      worker.write(requestFrame({ id, method }));
      assertError(await worker.responseTo(id), id, 'Error', `unknown method ${method}`);
      await worker.assertHealthy();
    });
  }

  const notForTheWorker = [
    ['a Response', FbsMessage.Body.Response,
      (b) => FbsResponse.Response.createResponse(b, 77, true, RespBody.NONE, 0, 0, 0)],
    ['a Log', FbsMessage.Body.Log, (b) => FbsLog.Log.createLog(b, b.createString('Dhello worker'))],
    ['an unknown message type (9)', 9, (b) => { b.startObject(1); b.addFieldInt32(0, 5, 0); return b.endObject(); }],
  ];
  for (const [what, type, build] of notForTheWorker) {
    test(`${what} sent to the worker gets no answer`, async () => {
      const worker = await startWorker({ args: ['--logLevel=warn'] });
      worker.write(messageFrame(type, build));
      await worker.waitFor((m) => m.kind === 'log' && m.data[0] === 'W', "a 'W' log frame");
      await worker.expectSilence(100);
      await worker.assertHealthy();
    });
  }

  test('a notification to an unknown handler gets no answer', async () => {
    const worker = await startWorker();
    worker.write(messageFrame(FbsMessage.Body.Notification, (b) => FbsNotification.Notification.createNotification(
      b, b.createString('nobody'), FbsNotification.Event.TRANSPORT_SEND_RTCP, FbsNotification.Body.NONE, 0)));
    await worker.expectSilence(100);
    await worker.assertHealthy();
  });
});

describe('worker and router requests', () => {
  test('CREATE_ROUTER, ROUTER_DUMP, duplicate id, CLOSE_ROUTER', async () => {
    const worker = await startWorker();
    let r = await worker.request({ method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('router-1') });
    assert.equal(r.accepted, true);
    assert.equal(r.bodyType, RespBody.NONE);

    r = await worker.request({ method: Method.ROUTER_DUMP, handlerId: 'router-1' });
    assert.equal(r.accepted, true);
    assert.equal(r.bodyType, RespBody.Router_DumpResponse);
    assert.equal(r.response.body(new FbsRouter.DumpResponse()).id(), 'router-1');

    const id = worker.newId();
    worker.write(requestFrame({ id, method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('router-1') }));
    assertError(await worker.responseTo(id), id, 'Error', /already exists/);

    let dump = await worker.dump();
    assert.equal(dump.routerIdsLength(), 1);
    assert.equal(dump.routerIds(0), 'router-1');
    assert.equal(dump.channelMessageHandlers().channelRequestHandlersLength(), 1);
    assert.equal(dump.channelMessageHandlers().channelRequestHandlers(0), 'router-1');

    r = await worker.request({ method: Method.WORKER_CLOSE_ROUTER, ...closeRouterBody('router-1') });
    assert.equal(r.accepted, true);
    dump = await worker.dump();
    assert.equal(dump.routerIdsLength(), 0);
    assert.equal(dump.channelMessageHandlers().channelRequestHandlersLength(), 0);

    const gone = worker.newId();
    worker.write(requestFrame({ id: gone, method: Method.ROUTER_DUMP, handlerId: 'router-1' }));
    assertError(await worker.responseTo(gone), gone, 'Error', 'Channel request handler with ID router-1 not found');
    await worker.assertHealthy();
  });

  test('router errors: unknown transport / observer, foreign method family, unimplemented method', async () => {
    const worker = await startWorker();
    assert.equal((await worker.request({ method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('r') })).accepted, true);
    const cases = [
      [{ method: Method.ROUTER_CLOSE_TRANSPORT, handlerId: 'r', ...closeTransportBody('t-none') }, 'Error', /not found/],
      [{ method: Method.ROUTER_CLOSE_RTPOBSERVER, handlerId: 'r', ...closeRtpObserverBody('o-none') }, 'Error', /not found/],
      [{ method: Method.TRANSPORT_DUMP, handlerId: 'r' }, 'Error', /not handled by a Router/],
      [{ method: Method.CONSUMER_PAUSE, handlerId: 'r' }, 'Error', /not handled by a Router/],
      [{ method: Method.ROUTER_CREATE_PIPETRANSPORT, handlerId: 'r' }, 'TypeError', /wrong body for ROUTER_CREATE_PIPETRANSPORT/],
      [{ method: Method.ROUTER_CREATE_DIRECTTRANSPORT, handlerId: 'r' }, 'TypeError', /wrong body for ROUTER_CREATE_DIRECTTRANSPORT/],
      [{ method: Method.WORKER_CREATE_WEBRTCSERVER }, 'TypeError', /wrong body for WORKER_CREATE_WEBRTCSERVER/],
      [{ method: Method.WORKER_CLOSE_ROUTER, ...closeRouterBody('nope') }, 'Error', /not found/],
    ];
    for (const [fields, error, reason] of cases) {
      const id = worker.newId();
      worker.write(requestFrame({ id, ...fields }));
      assertError(await worker.responseTo(id), id, error, reason);
    }
    assert.equal((await worker.request({ method: Method.ROUTER_DUMP, handlerId: 'r' })).accepted, true);
    await worker.assertHealthy();
  });
});

describe('RTP observers on the raw channel', () => {
  const createAloBody = (observerId, maxEntries, threshold, interval) => ({
    bodyType: ReqBody.Router_CreateAudioLevelObserverRequest,
    body: (b) => {
      const options = FbsAudioLevelObserver.AudioLevelObserverOptions.createAudioLevelObserverOptions(
        b, maxEntries, threshold, interval);
      const idOffset = b.createString(observerId);
      const R = FbsRouter.CreateAudioLevelObserverRequest;
      R.startCreateAudioLevelObserverRequest(b);
      R.addRtpObserverId(b, idOffset);
      R.addOptions(b, options);
      return R.endCreateAudioLevelObserverRequest(b);
    },
  });
  const producerBody = (bodyType, Table, producerId) => ({
    bodyType,
    body: (b) => Table[`create${Table.name}`](b, b.createString(producerId)),
  });

  test('options the Node library would refuse are TypeErrors; unknown producers and observers are Errors', async () => {
    const worker = await startWorker();
    assert.equal((await worker.request({ method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('r') })).accepted, true);
    const create = (id, ...options) => ({ method: Method.ROUTER_CREATE_AUDIOLEVELOBSERVER, handlerId: 'r', ...createAloBody(id, ...options) });
    const add = (id) => ({ method: Method.RTPOBSERVER_ADD_PRODUCER, handlerId: 'alo',
      ...producerBody(ReqBody.RtpObserver_AddProducerRequest, FbsRtpObserver.AddProducerRequest, id) });
    const remove = (id) => ({ method: Method.RTPOBSERVER_REMOVE_PRODUCER, handlerId: 'alo',
      ...producerBody(ReqBody.RtpObserver_RemoveProducerRequest, FbsRtpObserver.RemoveProducerRequest, id) });
    const cases = [
      [create('bad', 0, -80, 1000), 'TypeError', 'invalid maxEntries value 0'],
      [create('bad', 1, 5, 1000), 'TypeError', 'invalid threshold value 5'],
      [create('bad', 1, -128, 1000), 'TypeError', 'invalid threshold value -128'],
      [create('alo', 1, -80, 10), null],
      [create('alo', 1, -80, 1000), 'Error', /already exists/],
      [add('p-none'), 'Error', 'Producer not found'],
      [remove('p-none'), 'Error', 'Producer not found'],
      [{ method: Method.RTPOBSERVER_ADD_PRODUCER, handlerId: 'alo' }, 'TypeError', /wrong body/],
      [{ method: Method.RTPOBSERVER_PAUSE, handlerId: 'alo' }, null],
      [{ method: Method.RTPOBSERVER_RESUME, handlerId: 'alo' }, null],
      [{ method: Method.ROUTER_CLOSE_RTPOBSERVER, handlerId: 'r', ...closeRtpObserverBody('alo') }, null],
      [{ method: Method.ROUTER_CLOSE_RTPOBSERVER, handlerId: 'r', ...closeRtpObserverBody('alo') }, 'Error', 'RtpObserver with ID alo not found'],
      [{ method: Method.RTPOBSERVER_PAUSE, handlerId: 'alo' }, 'Error', 'Channel request handler with ID alo not found'],
    ];
    for (const [fields, error, reason] of cases) {
      const id = worker.newId();
      worker.write(requestFrame({ id, ...fields }));
      const response = await worker.responseTo(id);
      if (error === null) assert.equal(response.accepted, true, `method ${fields.method}`);
      else assertError(response, id, error, reason);
    }
    await worker.assertHealthy();
  });
});

describe('memory section of the worker dump', () => {
  test('channel counters: out_queue_limit_bytes = SLUICE_CHANNEL_OUT_LIMIT, error_responses, rejected_frames', async () => {
    const worker = await startWorker({ env: { SLUICE_CHANNEL_OUT_LIMIT: '131072' } });
    let mem = readMemoryDump(await worker.dump());
    assert.equal(mem.hasPool, true);
    assert.equal(mem.hasRings, true);
    assert.equal(mem.channel.out_queue_limit_bytes, 131072n);
    assert.equal(mem.channel.error_responses, 0n);
    assert.equal(mem.channel.rejected_frames, 0n);
    assert.equal(mem.channel.dropped_notifications, 0n);
    assert.equal(mem.channel.dropped_logs, 0n);

    // Five requests answered with an error...
    const failing = [
      { method: Method.ROUTER_DUMP, handlerId: 'nobody' },
      { method: Method.WORKER_CREATE_ROUTER, ...closeRouterBody('x') },
      { method: 200 },
      { method: Method.ROUTER_CREATE_PLAINTRANSPORT, handlerId: 'nobody' },
    ];
    for (const fields of failing) assert.equal((await worker.request(fields)).accepted, false);
    const corruptId = worker.newId();
    const corrupt = requestFrame({ id: corruptId, method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('corrupt-me') });
    corrupt.writeUInt32LE(0x7fffffff, corrupt.indexOf('corrupt-me') - 4);
    worker.write(corrupt);
    assertError(await worker.responseTo(corruptId), corruptId, 'Error', /verification/);
    // ...and three frames dropped without an answer.
    worker.write(Buffer.concat([lengthPrefix(16), Buffer.alloc(16, 0xab)]));
    worker.write(messageFrame(FbsMessage.Body.Response, (b) => FbsResponse.Response.createResponse(b, 1, true, 0, 0, 0, 0)));
    worker.write(messageFrame(FbsMessage.Body.Log, (b) => FbsLog.Log.createLog(b, b.createString('Dx'))));
    await worker.expectSilence(100);

    mem = readMemoryDump(await worker.dump());
    assert.equal(mem.channel.error_responses, 5n);
    // Refused before dispatch: the corrupt request, the garbage, the Response and the Log.
    assert.equal(mem.channel.rejected_frames, 4n);
    assert.equal(mem.channel.out_queue_limit_bytes, 131072n);
    assert.equal(mem.channel.out_queued_bytes, 0n);
    assert.ok(mem.channel.out_queue_high_water_bytes > 0n);
    assert.ok(mem.channel.out_queue_high_water_bytes <= 131072n);
    assert.equal(mem.channel.dropped_notifications, 0n);
    assert.equal(mem.channel.dropped_logs, 0n);
  });

  test('pool section: slot size, byte cap from SLUICE_POOL_BYTE_CAP (whole slabs), nothing held at idle', async () => {
    const cap = 32n << 20n;
    const worker = await startWorker({ env: { SLUICE_POOL_BYTE_CAP: String(cap) } });
    const dump = await worker.dump();
    const bb = dump.bb;
    const memory = tableField(bb, dump.bb_pos, 5);
    const pool = tableField(bb, memory, 0);
    assert.ok(pool !== null, 'MemoryDump has a pool table (field 0)');
    const o = bb.__offset(pool, 4);
    assert.equal(o ? bb.readUint32(pool + o) : 0, 1600, 'slot_size');
    const [slotsInUse, , slabsHeld, , bytesHeld, , , dropsAtCap, byteCap] =
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => u64Field(bb, pool, i));
    assert.equal(slotsInUse, 0n);
    assert.equal(slabsHeld, 0n);
    assert.equal(bytesHeld, 0n);
    assert.equal(dropsAtCap, 0n);
    const slabBytes = 1664n * 64n;
    assert.ok(byteCap <= cap && byteCap > cap - slabBytes && byteCap % slabBytes === 0n, `byte_cap ${byteCap}`);
  });

  test('malloc section (mallinfo2) and the pool\'s cold/touched figures are present and sane at idle', async () => {
    const worker = await startWorker();
    const dump = await worker.dump();
    const bb = dump.bb;
    const memory = tableField(bb, dump.bb_pos, 5);
    const malloc = tableField(bb, memory, 4);
    assert.ok(malloc !== null, 'MemoryDump has a malloc table (field 4)');
    const [arena, inUse, free, mmap, releasable] = [0, 1, 2, 3, 4].map((i) => u64Field(bb, malloc, i));
    if (process.env.SLUICE_SANITIZED === '1') {
      // ASan's allocator replaces glibc's: mallinfo2 reports zeros, and so does the dump.
      assert.deepEqual([arena, inUse, free, mmap, releasable], [0n, 0n, 0n, 0n, 0n]);
    } else {
      // The worker has allocated something (settings, certificate, loop) from a heap it took from the OS.
      assert.ok(inUse > 0n && arena >= inUse, `arena ${arena}, in use ${inUse}`);
      assert.ok(free <= arena && releasable <= free, `free ${free}, releasable ${releasable}`);
      assert.ok(mmap < 64n << 20n, `mmap ${mmap}`);
      const rss = BigInt(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'))[1]) * 1024n;
      assert.ok(inUse < rss, `malloc in use ${inUse} < RSS ${rss}`);
    }
    const pool = tableField(bb, memory, 0);
    const [coldSlabs, slabsCooled, bytesTouched, slabsMapped] = [10, 11, 12, 13].map((i) => u64Field(bb, pool, i));
    assert.deepEqual([coldSlabs, slabsCooled, bytesTouched, slabsMapped], [0n, 0n, 0n, 0n]);
  });

  test('rss_bytes matches the kernel RSS; the default out_queue_limit_bytes lies in 64 KiB..1 GiB', async () => {
    const worker = await startWorker();
    const mem = readMemoryDump(await worker.dump());
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'));
    const rssKernel = BigInt(m[1]) * 1024n;
    assert.ok(mem.rssBytes > rssKernel / 2n && mem.rssBytes < rssKernel * 2n,
      `rss_bytes ${mem.rssBytes} vs VmRSS ${rssKernel}`);
    assert.ok(mem.channel.out_queue_limit_bytes >= 65536n && mem.channel.out_queue_limit_bytes <= 1073741824n,
      `out_queue_limit_bytes ${mem.channel.out_queue_limit_bytes}`);
  });
});

describe('a controller that stops reading', () => {
  test('responses are never dropped; the worker stops reading requests instead, so its queue stays near the limit', async () => {
    const limit = 65536n;
    const worker = await startWorker({ env: { SLUICE_CHANNEL_OUT_LIMIT: String(limit) } });
    const count = 5000;
    const ids = [];
    const frames = [];
    for (let i = 0; i < count; ++i) {
      const id = worker.newId();
      ids.push(id);
      frames.push(requestFrame({ id, method: Method.WORKER_DUMP }));
    }
    worker.child.stdio[4].pause();
    worker.write(Buffer.concat(frames));
    await sleep(300);
    worker.child.stdio[4].resume();
    await worker.responseTo(ids.at(-1), 10000);
    const responses = worker.messages.filter((m) => m.kind === 'response');
    assert.deepEqual(responses.map((r) => r.id), ids, 'every response, once, in order');
    assert.ok(responses.every((r) => r.accepted));
    const mem = readMemoryDump(await worker.dump());
    // The queue filled up to the limit (the kernel's socket buffer alone
    // cannot hold ~5000 dumps) and then stopped growing: requests waited in
    // the pipe instead. One frame may cross the limit.
    assert.ok(mem.channel.out_queue_high_water_bytes >= limit, `high water ${mem.channel.out_queue_high_water_bytes}`);
    assert.ok(mem.channel.out_queue_high_water_bytes <= limit + 4096n, `high water ${mem.channel.out_queue_high_water_bytes}`);
    await worker.assertHealthy();
  });
});

describe('shutdown', () => {
  for (const prefix of [0xfffffff0, PAYLOAD_MAX + 1]) {
    test(`a length prefix of ${prefix} (> 4 MiB): error log frame naming the limit, then exit code 1`, async () => {
      const worker = await startWorker();
      const id = worker.newId();
      // A valid request first, in the same write: still answered.
      worker.write(Buffer.concat([requestFrame({ id, method: Method.WORKER_DUMP }), lengthPrefix(prefix)]));
      const result = await worker.waitExit(3000);
      assert.deepEqual(result, { code: 1, signal: null });
      assert.equal((await worker.responseTo(id, 0)).accepted, true);
      const errors = worker.logs('E');
      assert.equal(errors.length, 1, `E logs: ${JSON.stringify(worker.logs())}`);
      assert.match(errors[0], new RegExp(String(PAYLOAD_MAX)));
      assert.match(errors[0], new RegExp(String(prefix)));
    });
  }

  test('WORKER_CLOSE is accepted, then the process exits 0', async () => {
    const worker = await startWorker();
    const r = await worker.request({ method: Method.WORKER_CLOSE });
    assert.equal(r.accepted, true);
    assert.deepEqual(await worker.waitExit(), { code: 0, signal: null });
  });

  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal} → exit 0`, async () => {
      const worker = await startWorker();
      assert.equal((await worker.request({ method: Method.WORKER_CREATE_ROUTER, ...createRouterBody('r') })).accepted, true);
      worker.child.kill(signal);
      assert.deepEqual(await worker.waitExit(), { code: 0, signal: null });
    });
  }

  test('SIGPIPE, SIGHUP, SIGALRM, SIGUSR1, SIGUSR2 are ignored', async () => {
    const worker = await startWorker();
    for (const signal of ['SIGPIPE', 'SIGHUP', 'SIGALRM', 'SIGUSR1', 'SIGUSR2']) {
      worker.child.kill(signal);
      await worker.assertHealthy();
    }
    await sleep(50);
    assert.equal(worker.exited, false);
    await worker.assertHealthy();
  });

  test('end of the channel (fd 3 closed) → exit 0', async () => {
    const worker = await startWorker();
    await worker.assertHealthy();
    worker.child.stdio[3].end();
    assert.deepEqual(await worker.waitExit(), { code: 0, signal: null });
  });

  test('end of the channel in the middle of a frame → exit 0', async () => {
    const worker = await startWorker();
    worker.child.stdio[3].end(requestFrame({ id: worker.newId(), method: Method.WORKER_DUMP }).subarray(0, 9));
    assert.deepEqual(await worker.waitExit(), { code: 0, signal: null });
    assert.deepEqual(worker.messages.filter((m) => m.kind === 'response'), []);
  });
});
