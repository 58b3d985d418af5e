// The load shared by scripts/bench.mjs and scripts/soak.mjs: test/bench/rtpgen (a C
// generator and N receivers that count, detect gaps and NACK) against one VP8 producer on a
// comedia PlainTransport and N PlainTransport consumers that send to rtpgen's receive sockets.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = process.env.SLUICE_BENCH_BUILD ?? path.join(root, 'build');
export const RTPGEN = path.join(BUILD_DIR, 'test/bench/rtpgen');
export const WEBRTCPEER = path.join(BUILD_DIR, 'test/bench/webrtcpeer');
export const SSRC = 0x5eed0001;
// What the consumers send: the Node library gives VP8 and its RTX these payload types in the
// router's capabilities (checked when consuming).
export const CONSUMER_PT = 100;
export const CONSUMER_RTX_PT = 101;
export const VP8_ROUTER_CODECS = [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }];

// rtpgen under control: one command per stdin line, one JSON line per answer. `args` are extra
// rtpgen options (e.g. ['--seq', '65000']).
export class RtpGen {
  constructor({ recv, nack, args = [] }) {
    this.proc = spawn(RTPGEN, ['--recv', String(recv), '--nack', String(nack), '--ssrc', String(SSRC),
      '--sink-pt', String(CONSUMER_PT), '--sink-rtx-pt', String(CONSUMER_RTX_PT), ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiters = [];
    readline.createInterface({ input: this.proc.stdout }).on('line', (l) => this.waiters.shift()?.(JSON.parse(l)));
    // An rtpgen that dies (killed, crashed) fails what waits for it instead of hanging it.
    this.proc.on('exit', (code, signal) => {
      this.exited = `rtpgen exited (${signal ?? code})`;
      for (const w of this.waiters.splice(0)) w(null);
    });
    this.ports = new Promise((r, reject) => this.waiters.push((j) => {
      if (!j) return reject(new Error(this.exited));
      this.portList = j.ports;
      r(j.ports);
    }));
  }

  cmd(line) { if (!this.exited) this.proc.stdin.write(`${line}\n`); }
  stats() {
    return new Promise((r, reject) => {
      if (this.exited) return reject(new Error(this.exited));
      this.waiters.push((j) => (j ? r(j) : reject(new Error(this.exited))));
      this.cmd('stats');
    });
  }
  close() { this.cmd('quit'); this.proc.stdin.end(); }
}

// test/bench/webrtcpeer under control, same protocol as RtpGen: WebRTC receivers (ICE + DTLS
// 1.2 clients decrypting SRTP), added one by one; suite 'gcm' or 'cm'.
export class WebRtcPeers {
  constructor({ suite, nack }) {
    this.proc = spawn(WEBRTCPEER, ['--suite', suite, '--nack', String(nack),
      '--sink-pt', String(CONSUMER_PT), '--sink-rtx-pt', String(CONSUMER_RTX_PT)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiters = [];
    readline.createInterface({ input: this.proc.stdout }).on('line', (l) => this.waiters.shift()?.(JSON.parse(l)));
    this.fingerprint = new Promise((r) => this.waiters.push((j) => r(j.fingerprint)));
  }

  ask(line) { return new Promise((r) => { this.waiters.push(r); this.proc.stdin.write(`${line}\n`); }); }
  add(ip, port, ufrag, pwd) { return this.ask(`add ${ip} ${port} ${ufrag} ${pwd}`); }
  stats() { return this.ask('stats'); }
  close() { this.proc.stdin.write('quit\n'); this.proc.stdin.end(); }
}

// A WebRtcTransport connected by the index-th webrtcpeer peer (ICE, then DTLS with the worker
// as server; fingerprint = [algorithm, value] of the peers' certificate); resolves once DTLS
// is connected.
export async function connectWebRtcPeer(router, peers, fingerprint, index) {
  const t = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const connected = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`transport ${index}: DTLS ${t.dtlsState}, ICE ${t.iceState}`)), 10000);
    t.on('dtlsstatechange', (s) => {
      if (s === 'connected') { clearTimeout(timer); resolve(); }
      if (s === 'failed' || s === 'closed') { clearTimeout(timer); reject(new Error(`DTLS ${s}`)); }
    });
  });
  await t.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fingerprint[0], value: fingerprint[1] }] } });
  const c = t.iceCandidates.find((x) => x.protocol === 'udp');
  const added = await peers.add(c.address ?? c.ip, c.port, t.iceParameters.usernameFragment, t.iceParameters.password);
  if (added.added !== index) throw new Error(`webrtcpeer add: ${JSON.stringify(added)}`);
  await connected;
  return t;
}

// The VP8 producer rtpgen sends to (comedia: the first packet fixes the remote address).
// streams > 1: a simulcast producer of rtpgen --streams (SSRC + i, each L1T3 as rtpgen
// --temporal sends it).
export async function produceRtpgenVp8(router, { streams = 1 } = {}) {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const encodings = streams === 1 ? [{ ssrc: SSRC, rtx: { ssrc: SSRC + 1 } }]
    : Array.from({ length: streams }, (_, i) => ({ ssrc: SSRC + i, rtx: { ssrc: SSRC + 0x100 + i }, scalabilityMode: 'L1T3' }));
  const producer = await transport.produce({ kind: 'video', rtpParameters: {
    codecs: [
      { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] },
      { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
    ],
    encodings,
  } });
  return { transport, producer };
}

// A consumer of the producer on `transport`, checked to send the payload types rtpgen's
// receivers expect. `options`: more consume() options (preferredLayers).
export async function consumeChecked(transport, router, producer, options = {}) {
  const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, ...options });
  if (consumer.rtpParameters.codecs[0].payloadType !== CONSUMER_PT || consumer.rtpParameters.codecs[1]?.payloadType !== CONSUMER_RTX_PT)
    throw new Error(`consumer payload types ${consumer.rtpParameters.codecs.map((x) => x.payloadType)}, expected ${CONSUMER_PT}, ${CONSUMER_RTX_PT}`);
  return consumer;
}

// One PlainTransport consumer sending to an rtpgen receive port.
export async function consumeToPort(router, producer, port, options = {}) {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await transport.connect({ ip: '127.0.0.1', port });
  return { transport, consumer: await consumeChecked(transport, router, producer, options) };
}
