// WebRtcTransport and WebRtcServer through the mediasoup Node library, with a
// hand-made ICE peer (lib/stun.mjs) on raw UDP/TCP sockets: parameters and
// candidates, STUN answers (success, 400, 401, 487), ICE states and tuples,
// consent expiry, ICE restart, the DTLS role and the first DTLS flight,
// WebRtcServer demultiplexing and close.
//
//   cd test/node && MEDIASOUP_WORKER_BIN=/path/to/sluice-worker \
//     node --test webrtc-control.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { startWorker, closeAll, waitUntil, MEDIA_CODECS } from './lib/media-peer.mjs';
import { bindingRequest, parseStun, isStun, frame, Deframer } from './lib/stun.mjs';
import { dropsOf } from './lib/sluice-drops.mjs';

assert.ok(process.env.MEDIASOUP_WORKER_BIN, 'MEDIASOUP_WORKER_BIN must name the worker binary');

const FINGERPRINT = {
  algorithm: 'sha-256',
  value: Array.from({ length: 32 }, (_, i) => (i * 7 % 256).toString(16).padStart(2, '0').toUpperCase()).join(':'),
};

let worker;
let router;
const sockets = [];
before(async () => {
  worker = await startWorker();
  router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
});
after(async () => {
  for (const s of sockets) s.destroy ? s.destroy() : s.close();
  await closeAll();
});

// A UDP "browser": sends STUN to the worker and collects what comes back.
async function udpPeer() {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const received = [];
  socket.on('message', (msg) => received.push(msg));
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    received,
    port: socket.address().port,
    send: (bytes, port) => socket.send(bytes, port, '127.0.0.1'),
    async stunAnswer(request, port) {
      socket.send(request.bytes, port, '127.0.0.1');
      const reply = await waitUntil(() => received.map(parseStun)
        .find((m) => m && m.transactionId.equals(request.transactionId)), 'a STUN answer');
      return reply;
    },
  };
}

async function tcpPeer(port) {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const deframer = new Deframer();
  const received = [];
  socket.on('data', (chunk) => received.push(...deframer.push(chunk)));
  return {
    socket,
    received,
    localPort: socket.localPort,
    async stunAnswer(request) {
      socket.write(frame(request.bytes));
      return waitUntil(() => received.map(parseStun)
        .find((m) => m && m.transactionId.equals(request.transactionId)), 'a STUN answer over TCP');
    },
  };
}

function creds(transport, password = transport.iceParameters.password) {
  return { username: `${transport.iceParameters.usernameFragment}:peer`, password };
}

function candidate(transport, protocol) {
  return transport.iceCandidates.find((c) => c.protocol === protocol);
}

describe('WebRtcTransport parameters', () => {
  test('ICE-lite parameters, host candidates, DTLS fingerprints, initial states', async () => {
    const t = await router.createWebRtcTransport({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'tcp', ip: '127.0.0.1', announcedAddress: '192.0.2.7' }],
      enableTcp: true,
    });
    assert.equal(t.iceRole, 'controlled');
    assert.equal(t.iceParameters.iceLite, true);
    assert.match(t.iceParameters.usernameFragment, /^[a-z0-9]{16}$/);
    assert.match(t.iceParameters.password, /^[a-z0-9]{32}$/);
    assert.equal(t.iceCandidates.length, 2);
    const [udp, tcp] = t.iceCandidates;
    assert.deepEqual([udp.protocol, udp.type, udp.ip, udp.tcpType], ['udp', 'host', '127.0.0.1', undefined]);
    assert.deepEqual([tcp.protocol, tcp.type, tcp.ip, tcp.tcpType], ['tcp', 'host', '192.0.2.7', 'passive']);
    assert.ok(udp.port >= 10000 && udp.port <= 59999 && tcp.port >= 10000 && tcp.port <= 59999);
    assert.ok(udp.priority > tcp.priority, 'listen order is the order of preference');
    assert.notEqual(udp.foundation, tcp.foundation);
    // RFC 8445 §5.1.2.1 formula: host type preference, component 1.
    assert.equal(udp.priority & 0xff, 255);
    assert.deepEqual(t.dtlsParameters.fingerprints.map((f) => f.algorithm),
      ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
    for (const f of t.dtlsParameters.fingerprints) assert.match(f.value, /^([0-9A-F]{2}:)+[0-9A-F]{2}$/);
    assert.equal(t.dtlsParameters.role, 'auto');
    assert.equal(t.iceState, 'new');
    assert.equal(t.dtlsState, 'new');
    assert.equal(t.iceSelectedTuple, undefined);
    const stats = (await t.getStats())[0];
    assert.deepEqual([stats.type, stats.iceRole, stats.iceState, stats.dtlsState], ['webrtc-transport', 'controlled', 'new', 'new']);
    const dump = await t.dump();
    assert.equal(dump.iceParameters.usernameFragment, t.iceParameters.usernameFragment);
    assert.equal(dump.iceCandidates.length, 2);
    t.close();
  });

  test('priorities follow the listen order; preferTcp; enableUdp:false; clear errors', async () => {
    const infos = [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'tcp', ip: '127.0.0.1' },
      { protocol: 'udp', ip: '127.0.0.1', announcedAddress: 'a.example' }, { protocol: 'tcp', ip: '127.0.0.1', announcedAddress: 'b.example' }];
    const four = await router.createWebRtcTransport({ listenInfos: infos, enableTcp: true, preferUdp: true });
    assert.deepEqual(four.iceCandidates.map((c) => [c.protocol, c.ip]),
      [['udp', '127.0.0.1'], ['tcp', '127.0.0.1'], ['udp', 'a.example'], ['tcp', 'b.example']]);
    for (let i = 1; i < 4; ++i) assert.ok(four.iceCandidates[i - 1].priority > four.iceCandidates[i].priority);
    four.close();
    // listenIps: the library orders UDP/TCP by preferUdp/preferTcp.
    const both = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableTcp: true, preferTcp: true });
    assert.ok(candidate(both, 'tcp').priority > candidate(both, 'udp').priority);
    const tcpOnly = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableUdp: false, enableTcp: true });
    assert.deepEqual(tcpOnly.iceCandidates.map((c) => c.protocol), ['tcp']);
    await assert.rejects(router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableSctp: true }),
      /enableSctp is not supported/);
    await assert.rejects(router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: 'not-an-ip' }] }),
      (e) => e.constructor === TypeError && /invalid listenInfo.ip/.test(e.message));
    await assert.rejects(router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', portRange: { min: 4000, max: 3000 } }] }),
      (e) => e.constructor === TypeError && /portRange.max < min/.test(e.message));
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [{ protocol: 'tcp', ip: '1.2.3' }] }),
      (e) => e.constructor === TypeError);
    await assert.rejects(router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '8.8.8.8' }] }),
      (e) => e.constructor === Error && /bind\(\) failed/.test(e.message), 'a non-local ip is an Error');
    await assert.rejects(router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableUdp: false, enableTcp: false }),
      /enableUdp and enableTcp cannot both be false|no ICE candidates/);
    both.close();
    tcpOnly.close();
  });
});

describe('listen infos and the enableUdp/enableTcp defaults', () => {
  test('a TCP-only listenInfos works with the library defaults (enableUdp true, enableTcp false)', async () => {
    const t = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'tcp', ip: '127.0.0.1' }] });
    assert.deepEqual(t.iceCandidates.map((c) => [c.protocol, c.tcpType]), [['tcp', 'passive']]);
    // The candidate is real: ICE completes on it.
    const peer = await tcpPeer(candidate(t, 'tcp').port);
    const ok = await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }));
    assert.equal(ok.cls, 'success');
    await waitUntil(() => t.iceState === 'completed', 'completed over TCP');
    assert.equal(t.iceSelectedTuple.protocol, 'tcp');
    t.close();
  });

  test('every own listen info is a candidate, whatever enableUdp/enableTcp say', async () => {
    const infos = [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'tcp', ip: '127.0.0.1' }];
    const defaults = await router.createWebRtcTransport({ listenInfos: infos });
    assert.deepEqual(defaults.iceCandidates.map((c) => c.protocol), ['udp', 'tcp']);
    const udpOff = await router.createWebRtcTransport({ listenInfos: [infos[0]], enableUdp: false, enableTcp: true });
    assert.deepEqual(udpOff.iceCandidates.map((c) => c.protocol), ['udp']);
    defaults.close();
    udpOff.close();
    // listenIps: the library applies the flags itself; none left is an error.
    await assert.rejects(router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableUdp: false, enableTcp: false }),
      (e) => e.constructor === TypeError && /no ICE candidates/.test(e.message));
  });

  test('on a WebRtcServer the flags select among its listen infos; none left is an error', async () => {
    const tcpServer = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'tcp', ip: '127.0.0.1' }] });
    const t = await router.createWebRtcTransport({ webRtcServer: tcpServer });
    assert.deepEqual(t.iceCandidates.map((c) => c.protocol), ['tcp']);
    await assert.rejects(router.createWebRtcTransport({ webRtcServer: tcpServer, enableTcp: false }),
      /no ICE candidates/);
    const both = await worker.createWebRtcServer({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'tcp', ip: '127.0.0.1' }],
    });
    const udpOnly = await router.createWebRtcTransport({ webRtcServer: both, enableTcp: false });
    assert.deepEqual(udpOnly.iceCandidates.map((c) => c.protocol), ['udp']);
    tcpServer.close();
    both.close();
  });
});

describe('ICE-lite over UDP', () => {
  test('STUN checks: 400, 401, 487, success with XOR-MAPPED-ADDRESS; states and selected tuple', async () => {
    const t = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'] });
    const port = candidate(t, 'udp').port;
    const peer = await udpPeer();
    const states = [];
    t.on('icestatechange', (s) => states.push(s));
    const tuples = [];
    t.on('iceselectedtuplechange', (tuple) => tuples.push(tuple));

    const noIntegrity = await peer.stunAnswer(bindingRequest({ username: creds(t).username, password: null }), port);
    assert.deepEqual([noIntegrity.cls, noIntegrity.errorCode], ['error', 400]);
    const wrongPwd = await peer.stunAnswer(bindingRequest({ ...creds(t, 'x'.repeat(32)) }), port);
    assert.deepEqual([wrongPwd.cls, wrongPwd.errorCode], ['error', 401]);
    const wrongUfrag = await peer.stunAnswer(bindingRequest({ username: 'nobody:peer', password: t.iceParameters.password }), port);
    assert.deepEqual([wrongUfrag.cls, wrongUfrag.errorCode], ['error', 401]);
    const conflict = await peer.stunAnswer(bindingRequest({ ...creds(t), controlling: null, controlled: 5n }), port);
    assert.deepEqual([conflict.cls, conflict.errorCode], ['error', 487]);
    assert.equal(t.iceState, 'new', 'no failed check changes the state');

    const ok = await peer.stunAnswer(bindingRequest(creds(t)), port);
    assert.equal(ok.cls, 'success');
    assert.deepEqual(ok.xorMapped, { ip: '127.0.0.1', port: peer.port });
    assert.ok(ok.integrityOk(t.iceParameters.password), 'answer signed with the transport password');
    assert.ok(ok.fingerprintOk);
    await waitUntil(() => t.iceState === 'connected', 'iceState connected');
    await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }), port);
    await waitUntil(() => t.iceState === 'completed', 'iceState completed');
    assert.deepEqual(states, ['connected', 'completed']);
    assert.equal(tuples.length, 1);
    assert.deepEqual([tuples[0].localAddress, tuples[0].localPort, tuples[0].remoteIp, tuples[0].remotePort, tuples[0].protocol],
      ['127.0.0.1', port, '127.0.0.1', peer.port, 'udp']);
    assert.deepEqual(t.iceSelectedTuple, tuples[0]);

    // A nominated check from a second tuple moves the selection.
    const peer2 = await udpPeer();
    await peer2.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }), port);
    await waitUntil(() => tuples.length === 2, 'a second selected tuple');
    assert.equal(tuples[1].remotePort, peer2.port);
    const stats = (await t.getStats())[0];
    assert.equal(stats.iceSelectedTuple.remotePort, peer2.port);
    assert.ok(stats.bytesReceived > 0 && stats.bytesSent > 0);
    t.close();
  });

  test('consent expires after iceConsentTimeout without checks: disconnected', async () => {
    const t = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'], iceConsentTimeout: 1 });
    const peer = await udpPeer();
    await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }), candidate(t, 'udp').port);
    await waitUntil(() => t.iceState === 'completed', 'completed');
    await waitUntil(() => t.iceState === 'disconnected', 'disconnected after 1 s', 4000);
    assert.equal((await t.getStats())[0].iceSelectedTuple, undefined);
    // A fresh check brings it back.
    await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }), candidate(t, 'udp').port);
    await waitUntil(() => t.iceState === 'completed', 'completed again');
    t.close();
  });

  test('restartIce: new credentials, the old ufrag is refused, the new one accepted', async () => {
    const t = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'] });
    const port = candidate(t, 'udp').port;
    const old = { ...t.iceParameters };
    const fresh = await t.restartIce();
    assert.notEqual(fresh.usernameFragment, old.usernameFragment);
    assert.notEqual(fresh.password, old.password);
    assert.equal(fresh.iceLite, true);
    const peer = await udpPeer();
    const refused = await peer.stunAnswer(bindingRequest({ username: `${old.usernameFragment}:p`, password: old.password }), port);
    assert.equal(refused.errorCode, 401);
    const ok = await peer.stunAnswer(bindingRequest({ username: `${fresh.usernameFragment}:p`, password: fresh.password }), port);
    assert.equal(ok.cls, 'success');
    assert.ok(ok.integrityOk(fresh.password));
    assert.equal((await t.dump()).iceParameters.usernameFragment, fresh.usernameFragment);
    t.close();
  });

  test('connect(): DTLS role from the remote role; as client the worker sends a ClientHello once ICE is up', async () => {
    const server = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'] });
    await server.connect({ dtlsParameters: { role: 'client', fingerprints: [FINGERPRINT] } });
    assert.equal(server.dtlsParameters.role, 'server');
    await assert.rejects(server.connect({ dtlsParameters: { role: 'client', fingerprints: [FINGERPRINT] } }),
      /connect\(\) already called/);

    const t = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'] });
    await t.connect({ dtlsParameters: { role: 'auto', fingerprints: [FINGERPRINT] } });
    assert.equal(t.dtlsParameters.role, 'client', 'remote auto: the ICE-lite side is the DTLS client');
    const peer = await udpPeer();
    const dtlsStates = [];
    t.on('dtlsstatechange', (s) => dtlsStates.push(s));
    await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }), candidate(t, 'udp').port);
    const hello = await waitUntil(() => peer.received.find((m) => m[0] === 22), 'a DTLS record');
    assert.equal(hello[13], 1, 'handshake type ClientHello');
    assert.equal(hello.readUInt16BE(1), 0xfeff, 'record version DTLS 1.0 on the first flight');
    await waitUntil(() => dtlsStates.includes('connecting'), 'dtlsstatechange connecting');
    assert.equal((await t.getStats())[0].dtlsState, 'connecting');
    server.close();
    t.close();
  });
});

describe('ICE-TCP', () => {
  test('RFC 4571 framed STUN on the passive TCP candidate; the tuple is TCP', async () => {
    const t = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableUdp: false, enableTcp: true });
    const peer = await tcpPeer(candidate(t, 'tcp').port);
    const ok = await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }));
    assert.equal(ok.cls, 'success');
    assert.deepEqual(ok.xorMapped, { ip: '127.0.0.1', port: peer.localPort });
    await waitUntil(() => t.iceState === 'completed', 'completed over TCP');
    assert.equal(t.iceSelectedTuple.protocol, 'tcp');
    assert.equal(t.iceSelectedTuple.remotePort, peer.localPort);
    // The peer closes: the only tuple is gone.
    peer.socket.destroy();
    await waitUntil(() => t.iceState === 'disconnected', 'disconnected when the connection closes');
    t.close();
  });
});

describe('WebRtcServer', () => {
  test('shared ports: demux by ufrag then by tuple; dump; closing transports and the server', async () => {
    const server = await worker.createWebRtcServer({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port: 0 }, { protocol: 'tcp', ip: '127.0.0.1', port: 0 }],
    });
    const a = await router.createWebRtcTransport({ webRtcServer: server });
    const b = await router.createWebRtcTransport({ webRtcServer: server });
    assert.deepEqual(a.iceCandidates.map((c) => [c.protocol, c.port]), b.iceCandidates.map((c) => [c.protocol, c.port]),
      'both transports announce the server ports');
    let dump = await server.dump();
    assert.equal(dump.udpSockets.length, 1);
    assert.equal(dump.tcpServers.length, 1);
    assert.deepEqual(dump.udpSockets[0].port, candidate(a, 'udp').port);
    assert.deepEqual(new Set(dump.webRtcTransportIds), new Set([a.id, b.id]));
    assert.deepEqual(new Set(dump.localIceUsernameFragments.map((u) => u.localIceUsernameFragment)),
      new Set([a.iceParameters.usernameFragment, b.iceParameters.usernameFragment]));
    assert.equal(dump.tupleHashes.length, 0);
    assert.deepEqual((await worker.dump()).webRtcServerIds, [server.id]);

    const peerA = await udpPeer();
    const okA = await peerA.stunAnswer(bindingRequest({ ...creds(a), useCandidate: true }), candidate(a, 'udp').port);
    assert.ok(okA.integrityOk(a.iceParameters.password), 'answered by transport A');
    const peerB = await tcpPeer(candidate(b, 'tcp').port);
    const okB = await peerB.stunAnswer(bindingRequest({ ...creds(b), useCandidate: true }));
    assert.ok(okB.integrityOk(b.iceParameters.password), 'answered by transport B over TCP');
    await waitUntil(() => a.iceState === 'completed' && b.iceState === 'completed', 'both completed');
    assert.equal(b.iceSelectedTuple.protocol, 'tcp');
    const unknown = await udpPeer();
    unknown.send(bindingRequest({ username: 'nobody:x', password: 'y' }).bytes, candidate(a, 'udp').port);
    dump = await server.dump();
    assert.equal(dump.tupleHashes.length, 2);
    assert.deepEqual(new Set(dump.tupleHashes.map((h) => h.webRtcTransportId)), new Set([a.id, b.id]));

    // Closing B drops its tuple and ufrag and closes its TCP connection.
    const closed = new Promise((resolve) => peerB.socket.once('close', resolve));
    b.close();
    await closed;
    dump = await server.dump();
    assert.deepEqual(dump.webRtcTransportIds, [a.id]);
    assert.deepEqual(dump.tupleHashes.map((h) => h.webRtcTransportId), [a.id]);

    // Closing the server closes A (the controller sends no CLOSE_TRANSPORT).
    let serverClosed = false;
    a.on('listenserverclose', () => { serverClosed = true; });
    server.close();
    assert.ok(serverClosed);
    await waitUntil(async () => !(await router.dump()).transportIds.includes(a.id), 'A gone from the router');
    assert.deepEqual((await worker.dump()).webRtcServerIds, []);
    await assert.rejects(router.createWebRtcTransport({ webRtcServer: server }), /closed|not found/i);
  });

  test('localIceUsernameFragments: each transport from its creation, replaced on restartIce, gone on close', async () => {
    const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
    const ufrags = async () => (await server.dump()).localIceUsernameFragments
      .map((u) => [u.localIceUsernameFragment, u.webRtcTransportId]).sort();
    assert.deepEqual(await ufrags(), []);
    const a = await router.createWebRtcTransport({ webRtcServer: server });
    assert.deepEqual(await ufrags(), [[a.iceParameters.usernameFragment, a.id]], 'right after creation');
    const b = await router.createWebRtcTransport({ webRtcServer: server });
    assert.deepEqual(await ufrags(),
      [[a.iceParameters.usernameFragment, a.id], [b.iceParameters.usernameFragment, b.id]].sort());
    const oldA = a.iceParameters.usernameFragment;
    const { usernameFragment: newA } = await a.restartIce();
    assert.notEqual(newA, oldA);
    assert.deepEqual(await ufrags(), [[newA, a.id], [b.iceParameters.usernameFragment, b.id]].sort(),
      'the new ufrag replaces the old');
    // The old ufrag no longer reaches A; the new one does.
    const peer = await udpPeer();
    const port = candidate(a, 'udp').port;
    peer.send(bindingRequest({ username: `${oldA}:peer`, password: a.iceParameters.password }).bytes, port);
    const ok = await peer.stunAnswer(bindingRequest({ ...creds(a) }), port);
    assert.equal(ok.cls, 'success');
    assert.equal(peer.received.length, 1, 'no answer to the old ufrag');
    b.close();
    assert.deepEqual(await ufrags(), [[newA, a.id]], 'gone on transport close');
    a.close();
    assert.deepEqual(await ufrags(), []);
    server.close();
  });

  test('wrong arguments reject with TypeError where mediasoup does; unusable ports with Error', async () => {
    const isTypeError = (re) => (e) => e.constructor === TypeError && (!re || re.test(e.message));
    // Refused by the library before anything reaches the worker.
    await assert.rejects(worker.createWebRtcServer({}), isTypeError());
    await assert.rejects(worker.createWebRtcServer({ listenInfos: 'NOT-AN-ARRAY' }), isTypeError());
    await assert.rejects(worker.createWebRtcServer({ listenInfos: ['NOT-AN-OBJECT'] }), isTypeError());
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp' }] }), isTypeError());
    // Refused by the worker.
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [] }), isTypeError(/empty listenInfos/));
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '1.2.3' }] }),
      isTypeError(/invalid listenInfo.ip '1.2.3'/));
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [{ protocol: 'tcp', ip: '' }] }),
      isTypeError(/invalid listenInfo.ip/));
    await assert.rejects(worker.createWebRtcServer({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'udp', ip: '127.0.0.1', portRange: { min: 4000, max: 3000 } }],
    }), isTypeError(/portRange.max < min/));
    // A port the worker cannot have is an Error (as mediasoup): the same UDP
    // port twice, or an ip that is not local.
    const probe = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
    const port = (await probe.dump()).udpSockets[0].port;
    probe.close();
    await assert.rejects(worker.createWebRtcServer({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port }, { protocol: 'udp', ip: '127.0.0.1', announcedAddress: '1.2.3.4', port }],
    }), (e) => e.constructor === Error && /Address already in use/.test(e.message));
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '8.8.8.8' }] }),
      (e) => e.constructor === Error && /bind\(\) failed/.test(e.message));
    // Nothing half-made is left behind; the worker still serves.
    assert.deepEqual((await worker.dump()).webRtcServerIds, []);
    const ok = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port }] });
    ok.close();
  });

  test('a port already taken is a clear error', async () => {
    const s1 = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port: 0 }] });
    const port = (await s1.dump()).udpSockets[0].port;
    await assert.rejects(worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port }] }),
      /bind\(\) failed|in use/i);
    s1.close();
  });
});

describe('robustness', () => {
  test('garbage on every port: no answer, counted, the transport still works', async () => {
    const t = await router.createWebRtcTransport({ listenIps: ['127.0.0.1'], enableTcp: true });
    assert.equal(t.iceCandidates.length, 2);
    const peer = await udpPeer();
    const port = candidate(t, 'udp').port;
    for (const bad of [Buffer.alloc(0), Buffer.from([0]), Buffer.alloc(20), Buffer.from('GET / HTTP/1.1\r\n'),
      Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), Buffer.from([0x80, 96, 0, 1])]) {
      peer.send(bad, port);
    }
    const tcp = await tcpPeer(candidate(t, 'tcp').port);
    tcp.socket.write(Buffer.from([0, 5, 1, 2]));
    tcp.socket.write(Buffer.from([3, 4, 5, 0, 0, 0xff]));
    const ok = await peer.stunAnswer(bindingRequest({ ...creds(t), useCandidate: true }), port);
    assert.equal(ok.cls, 'success');
    assert.ok(peer.received.filter((m) => !isStun(m)).length === 0, 'only STUN answers');

    // Each kind of garbage is counted where it stopped (sluice_drops in the stats):
    // the empty datagram, [0], 'GET ...', the 4-byte RTP stub and the TCP frame are
    // no protocol; 20 zero bytes are no valid STUN; the DTLS lookalike came before
    // the tuple was valid.
    assert.ok(await dropsOf(t), 'sluice_drops in the transport stats');
    let drops = await waitUntil(async () => { const d = await dropsOf(t); return d.notRtpOrRtcp >= 5 && d; },
      'the TCP frame counted');
    assert.equal(drops.notRtpOrRtcp, 5, JSON.stringify(drops));
    assert.equal(drops.badStun, 1, JSON.stringify(drops));
    assert.equal(drops.unknownTuple, 1, JSON.stringify(drops));
    // From the now valid tuple: DTLS before connect() (nothing to hand it to), RTP
    // before the SRTP keys.
    peer.send(Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), port);
    peer.send(Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), port);
    await waitUntil(async () => { drops = await dropsOf(t); return drops.badDtls === 1 && drops.notConnected === 1; },
      'badDtls and notConnected counted');
    t.close();
  });
});
