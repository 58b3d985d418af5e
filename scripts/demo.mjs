// Demo: a mediasoup application switched to sluice with one variable.
// Until the media path lands it creates a worker and a router, prints their
// dumps, the process's resource usage and the worker's memory figures (the
// debug log line sluice emits every SLUICE_MEMORY_LOG_INTERVAL_MS), and
// shows that unbuilt features answer "not implemented" instead of pretending.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'test/node/package.json'));
const mediasoup = require('mediasoup');

process.env.SLUICE_MEMORY_LOG_INTERVAL_MS ??= '1000';
const seconds = Number(process.argv[2] ?? 3);

const memoryLines = [];
mediasoup.setLogEventListeners({
  ondebug: (ns, log) => { if (log.includes('memory:')) memoryLines.push(log); },
  onwarn: (ns, log) => console.log(`warn  ${ns} ${log}`),
  onerror: (ns, log) => console.log(`error ${ns} ${log}`),
});

console.log(`worker binary: ${process.env.MEDIASOUP_WORKER_BIN}`);
const worker = await mediasoup.createWorker({ logLevel: 'debug', logTags: ['info'] });
console.log(`worker running, pid ${worker.pid}`);

const router = await worker.createRouter({
  mediaCodecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  ],
});
console.log('router.dump():', JSON.stringify(await router.dump()));
console.log('worker.dump():', JSON.stringify(await worker.dump()));

try {
  await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
} catch (error) {
  console.log(`createPlainTransport(): ${error.constructor.name}: ${error.message}`);
}

for (let s = 1; s <= seconds; ++s) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const usage = await worker.getResourceUsage();
  const memory = memoryLines.at(-1) ?? '(no memory line yet)';
  console.log(`t=${s}s maxrss=${usage.ru_maxrss} KiB cpu=${usage.ru_utime + usage.ru_stime} ms | ${memory.replace(/^.*memory:/, 'memory:')}`);
}

router.close();
const closed = new Promise((resolve) => worker.on('subprocessclose', resolve));
worker.close();
await closed;
console.log('worker closed');
