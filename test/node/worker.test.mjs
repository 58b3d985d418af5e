// The worker's control plane driven through the unmodified mediasoup Node
// library: the library spawns the binary named in MEDIASOUP_WORKER_BIN.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test worker.test.mjs

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as mediasoup from 'mediasoup';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

// Every log line the library emits (its own and the worker's, which the
// Channel re-emits as '[pid:N] text' under the 'mediasoup:Channel' namespaces).
const libLogs = [];
mediasoup.setLogEventListeners({
  ondebug: (namespace, text) => libLogs.push({ level: 'debug', namespace, text }),
  onwarn: (namespace, text) => libLogs.push({ level: 'warn', namespace, text }),
  onerror: (namespace, text) => libLogs.push({ level: 'error', namespace, text }),
});

// Log lines that came from the worker process with this pid.
function workerLogs(pid, level) {
  const prefix = `[pid:${pid}] `;
  return libLogs.filter(
    (l) => l.namespace.endsWith(':Channel') && l.text.startsWith(prefix) && (!level || l.level === level));
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (error.code === 'ESRCH') return false;
    throw error;
  }
}

async function waitUntil(predicate, what, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// Every worker created here is closed (and, if it lingers, SIGKILLed) at the end.
const spawned = new Set();

async function startWorker(settings = {}) {
  const worker = await mediasoup.createWorker(settings);
  spawned.add(worker);
  return worker;
}

after(async () => {
  for (const worker of spawned) {
    if (!worker.closed) worker.close();
  }
  for (const worker of spawned) {
    try {
      await waitUntil(() => !isAlive(worker.pid), `pid ${worker.pid} to exit`, 2000);
    } catch {
      process.kill(worker.pid, 'SIGKILL');
    }
  }
});

// createWorker() with extra environment variables visible to the spawned
// process only: the library copies process.env synchronously when spawning.
function createWorkerWithEnv(env, settings = {}) {
  const saved = {};
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  try {
    const promise = mediasoup.createWorker(settings);
    promise.then((worker) => spawned.add(worker), () => {});
    return promise;
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

// The library logs "worker subprocess closed [pid:N, code:C, signal:S]" when
// the child's stdio closes: the only place it exposes the exit status.
function subprocessExit(pid) {
  const re = new RegExp(`^worker subprocess closed \\[pid:${pid}, code:(\\w+), signal:(\\w+)\\]$`);
  for (const l of libLogs) {
    const m = l.namespace === 'mediasoup:Worker' && re.exec(l.text);
    if (m) return { code: m[1] === 'null' ? null : Number(m[1]), signal: m[2] === 'null' ? null : m[2] };
  }
  return undefined;
}

function procStat(pid) {
  // Fields after the parenthesised command name; minflt is field 10, utime 14, stime 15.
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { minflt: Number(f[7]), utimeTicks: Number(f[11]), stimeTicks: Number(f[12]) };
}

function procStatusKb(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `${key} in /proc/${pid}/status`);
  return Number(m[1]);
}

const RESOURCE_USAGE_KEYS = [
  'ru_utime', 'ru_stime', 'ru_maxrss', 'ru_ixrss', 'ru_idrss', 'ru_isrss', 'ru_minflt', 'ru_majflt',
  'ru_nswap', 'ru_inblock', 'ru_oublock', 'ru_msgsnd', 'ru_msgrcv', 'ru_nsignals', 'ru_nvcsw', 'ru_nivcsw',
];

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('worker lifecycle', () => {
  test('createWorker() resolves with a live process and dump() describes it', async () => {
    const worker = await startWorker();
    assert.equal(typeof worker.pid, 'number');
    assert.ok(isAlive(worker.pid));
    assert.equal(worker.closed, false);
    assert.equal(worker.died, false);
    const dump = await worker.dump();
    // Sends go through io_uring where the kernel has it (as with mediasoup-worker,
    // the dump then carries its counters); nothing was sent yet.
    const { liburing, ...rest } = dump;
    if (liburing !== undefined) assert.deepEqual(liburing, { sqeProcessCount: 0, sqeMissCount: 0, userDataMissCount: 0 });
    assert.deepEqual(rest, {
      pid: worker.pid,
      webRtcServerIds: [],
      routerIds: [],
      channelMessageHandlers: { channelRequestHandlers: [], channelNotificationHandlers: [] },
    });
    const plain = await startWorker({ disableLiburing: true });
    assert.equal((await plain.dump()).liburing, undefined, 'disableLiburing: sendmmsg, no io_uring counters');
  });

  test('several workers run side by side, each answering for itself', async () => {
    const workers = await Promise.all([startWorker(), startWorker(), startWorker()]);
    assert.equal(new Set(workers.map((w) => w.pid)).size, 3);
    const dumps = await Promise.all(workers.map((w) => w.dump()));
    assert.deepEqual(dumps.map((d) => d.pid), workers.map((w) => w.pid));
  });

  test('worker.close() makes the process exit with code 0', async () => {
    const worker = await startWorker();
    const router = await worker.createRouter();
    const pid = worker.pid;
    const closed = new Promise((resolve) => worker.once('subprocessclose', resolve));
    worker.close();
    assert.equal(worker.closed, true);
    assert.equal(router.closed, true);
    await closed;
    assert.equal(worker.subprocessClosed, true);
    assert.deepEqual(subprocessExit(pid), { code: 0, signal: null });
    await waitUntil(() => !isAlive(pid), `pid ${pid} to be gone`);
    assert.equal(worker.died, false);
  });

  test("SIGKILL makes the worker emit 'died'", async () => {
    const worker = await startWorker();
    const router = await worker.createRouter();
    const died = new Promise((resolve) => worker.once('died', resolve));
    process.kill(worker.pid, 'SIGKILL');
    const error = await died;
    assert.ok(error instanceof Error);
    assert.equal(error.message, `[pid:${worker.pid}, code:null, signal:SIGKILL]`);
    assert.equal(worker.died, true);
    assert.equal(worker.closed, true);
    assert.equal(router.closed, true);
  });

  test('ignored signals (SIGPIPE, SIGHUP, SIGALRM, SIGUSR1, SIGUSR2) leave it running', async () => {
    const worker = await startWorker();
    let died = false;
    worker.on('died', () => { died = true; });
    for (const signal of ['SIGPIPE', 'SIGHUP', 'SIGALRM', 'SIGUSR1', 'SIGUSR2']) {
      process.kill(worker.pid, signal);
      await sleep(20);
      assert.ok(isAlive(worker.pid), `alive after ${signal}`);
      assert.equal((await worker.dump()).pid, worker.pid, `dump after ${signal}`);
    }
    assert.equal(died, false);
    assert.equal(worker.died, false);
  });
});

describe('wrong settings reject createWorker() with TypeError', () => {
  const cases = [
    ['an unknown logLevel', { logLevel: 'verbose' }, {}],
    ['rtcMinPort > rtcMaxPort', { rtcMinPort: 5000, rtcMaxPort: 4000 }, {}],
    ['rtcMaxPort 0 (no port left: rtcMinPort 0 means from 1)', { rtcMinPort: 0, rtcMaxPort: 0 }, {}],
    ['an rtcMaxPort above 65535', { rtcMaxPort: 70000 }, {}],
    ['a dtlsCertificateFile without dtlsPrivateKeyFile', { dtlsCertificateFile: '/nonexistent/cert.pem' }, {}],
    ['a dtlsPrivateKeyFile without dtlsCertificateFile', { dtlsPrivateKeyFile: '/nonexistent/key.pem' }, {}],
    ['a non-numeric SLUICE_CHANNEL_OUT_LIMIT', {}, { SLUICE_CHANNEL_OUT_LIMIT: 'lots' }],
    ['a SLUICE_CHANNEL_OUT_LIMIT below 65536', {}, { SLUICE_CHANNEL_OUT_LIMIT: '65535' }],
    ['a SLUICE_CHANNEL_OUT_LIMIT above 2^30', {}, { SLUICE_CHANNEL_OUT_LIMIT: String(2 ** 30 + 1) }],
  ];
  for (const [what, settings, env] of cases) {
    test(what, async () => {
      await assert.rejects(createWorkerWithEnv(env, settings), (error) => {
        assert.equal(error.constructor, TypeError);
        assert.equal(error.message, 'wrong settings');
        return true;
      });
    });
  }

  test('boundary values are accepted (rtcMinPort == rtcMaxPort, SLUICE_CHANNEL_OUT_LIMIT 65536 and 2^30)', async () => {
    const a = await createWorkerWithEnv({}, { rtcMinPort: 40000, rtcMaxPort: 40000 });
    const b = await createWorkerWithEnv({ SLUICE_CHANNEL_OUT_LIMIT: '65536' });
    const c = await createWorkerWithEnv({ SLUICE_CHANNEL_OUT_LIMIT: String(2 ** 30) });
    for (const w of [a, b, c]) assert.equal((await w.dump()).pid, w.pid);
  });
});

describe('rtcMinPort 0', () => {
  test('is accepted as mediasoup-worker accepts it: ports come from [1, rtcMaxPort]', async () => {
    const worker = await startWorker({ rtcMinPort: 0, rtcMaxPort: 9999 });
    const router = await worker.createRouter({ mediaCodecs: [] });
    const ports = [];
    for (let i = 0; i < 8; ++i) {
      const t = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
      ports.push(t.tuple.localPort);
    }
    const w = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'tcp', ip: '127.0.0.1' }] });
    ports.push(w.iceCandidates[0].port);
    for (const port of ports) assert.ok(port >= 1 && port <= 9999, `port ${port} in [1, 9999]`);
    assert.equal(new Set(ports).size, ports.length, 'each transport its own port');
  });
});

describe('start failures other than settings', () => {
  test('unreadable DTLS certificate/key files: the worker exits 40 and createWorker() rejects with Error', async () => {
    await assert.rejects(
      createWorkerWithEnv({}, { dtlsCertificateFile: '/nonexistent/cert.pem', dtlsPrivateKeyFile: '/nonexistent/key.pem' }),
      (error) => {
        assert.equal(error.constructor, Error);
        assert.match(error.message, /code:40\b/);
        return true;
      });
  });
});

describe('worker requests', () => {
  test('getResourceUsage() reports this process in the documented units', async () => {
    const worker = await startWorker();
    for (let i = 0; i < 200; ++i) await worker.dump(); // some CPU time and faults
    const before = procStat(worker.pid);
    const usage = await worker.getResourceUsage();
    const afterStat = procStat(worker.pid);
    const hwmKb = procStatusKb(worker.pid, 'VmHWM');

    assert.deepEqual(Object.keys(usage).sort(), [...RESOURCE_USAGE_KEYS].sort());
    for (const key of RESOURCE_USAGE_KEYS) {
      assert.ok(Number.isInteger(usage[key]) && usage[key] >= 0, `${key} = ${usage[key]}`);
    }
    // ru_maxrss is in kB (like getrusage): the kernel's high-water mark.
    assert.ok(usage.ru_maxrss > 0);
    assert.ok(Math.abs(usage.ru_maxrss - hwmKb) <= Math.max(1024, hwmKb / 4),
      `ru_maxrss ${usage.ru_maxrss} kB vs VmHWM ${hwmKb} kB`);
    // Page faults: sampled between two reads of /proc.
    assert.ok(usage.ru_minflt >= before.minflt && usage.ru_minflt <= afterStat.minflt,
      `ru_minflt ${usage.ru_minflt} not within [${before.minflt}, ${afterStat.minflt}]`);
    // CPU time in milliseconds; /proc counts 10 ms ticks.
    const cpuMs = usage.ru_utime + usage.ru_stime;
    const lowMs = (before.utimeTicks + before.stimeTicks) * 10 - 20;
    const highMs = (afterStat.utimeTicks + afterStat.stimeTicks) * 10 + 30;
    assert.ok(cpuMs >= lowMs && cpuMs <= highMs, `cpu ${cpuMs} ms not within [${lowMs}, ${highMs}]`);
    // A loop-driven single thread sleeps in the kernel between requests.
    assert.ok(usage.ru_nvcsw > 0);
  });

  test('updateSettings() accepts valid settings and they take effect', async () => {
    const worker = await startWorker(); // logLevel 'error'
    await worker.createRouter();
    assert.equal(workerLogs(worker.pid, 'debug').length, 0);

    assert.equal(await worker.updateSettings({ logLevel: 'debug', logTags: ['info', 'rtp'] }), undefined);
    const router = await worker.createRouter();
    await waitUntil(() => workerLogs(worker.pid, 'debug').some((l) => l.text.includes(router.id)),
      'a debug log line naming the new router');

    await worker.updateSettings({ logLevel: 'none' });
    const count = workerLogs(worker.pid).length;
    const quiet = await worker.createRouter();
    await worker.dump();
    await sleep(50);
    assert.equal(workerLogs(worker.pid).length, count);
    assert.ok(!libLogs.some((l) => l.text.includes(quiet.id) && l.text.startsWith('[pid:')));
  });

  test('updateSettings() with an invalid logLevel rejects with TypeError', async () => {
    const worker = await startWorker();
    await assert.rejects(worker.updateSettings({ logLevel: 'chatty' }), (error) => {
      assert.equal(error.constructor, TypeError);
      assert.match(error.message, /logLevel/);
      return true;
    });
    assert.equal((await worker.dump()).pid, worker.pid);
  });

  test('createRouter() / router.dump() / router.close()', async () => {
    const worker = await startWorker();
    const r1 = await worker.createRouter();
    const r2 = await worker.createRouter({ appData: { n: 2 } });
    assert.notEqual(r1.id, r2.id);
    assert.deepEqual(r2.appData, { n: 2 });

    let dump = await worker.dump();
    assert.deepEqual([...dump.routerIds].sort(), [r1.id, r2.id].sort());
    assert.deepEqual([...dump.channelMessageHandlers.channelRequestHandlers].sort(), [r1.id, r2.id].sort());
    assert.deepEqual(dump.channelMessageHandlers.channelNotificationHandlers, []);
    assert.deepEqual(dump.webRtcServerIds, []);

    assert.deepEqual(await r1.dump(), {
      id: r1.id,
      transportIds: [],
      rtpObserverIds: [],
      mapProducerIdConsumerIds: [],
      mapConsumerIdProducerId: [],
      mapProducerIdObserverIds: [],
      mapDataProducerIdDataConsumerIds: [],
      mapDataConsumerIdDataProducerId: [],
    });

    r1.close();
    assert.equal(r1.closed, true);
    dump = await worker.dump(); // sent after WORKER_CLOSE_ROUTER on the same channel
    assert.deepEqual(dump.routerIds, [r2.id]);
    assert.deepEqual(dump.channelMessageHandlers.channelRequestHandlers, [r2.id]);
    assert.equal((await r2.dump()).id, r2.id);
  });

  test('unimplemented features reject with a clear Error and the worker keeps going', async () => {
    const worker = await startWorker();
    const router = await worker.createRouter();
    await assert.rejects(
      router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, enableSctp: true }),
      (error) => {
        assert.equal(error.constructor, Error);
        assert.match(error.message, /enableSctp is not supported: data channels are not implemented/);
        return true;
      });
    const dump = await worker.dump();
    assert.deepEqual(dump.webRtcServerIds, []);
    assert.deepEqual(dump.routerIds, [router.id]);
    assert.deepEqual((await router.dump()).transportIds, []);
  });
});

describe('worker logs', () => {
  test("logLevel 'debug' log lines reach the library as '[pid:N] ...'", async () => {
    const worker = await startWorker({ logLevel: 'debug', logTags: ['info'] });
    const router = await worker.createRouter();
    await waitUntil(() => workerLogs(worker.pid, 'debug').some((l) => l.text.includes(router.id)),
      'a debug line naming the router');
    for (const l of workerLogs(worker.pid)) {
      assert.equal(l.namespace, l.level === 'debug' ? 'mediasoup:Channel' : `mediasoup:${l.level.toUpperCase()}:Channel`);
    }
  });

  test("the default logLevel 'error' sends no debug lines", async () => {
    const worker = await startWorker();
    await worker.createRouter();
    await worker.dump();
    await sleep(50);
    assert.deepEqual(workerLogs(worker.pid), []);
  });
});
