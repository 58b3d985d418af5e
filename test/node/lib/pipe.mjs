// Pipes between two routers as an application builds them itself (mediasoup's
// docs: each side creates a PipeTransport, they connect to each other's
// tuple, then the source side's pipe consumer is replayed as a producer on
// the far side), with a UDP relay in the middle that sees, and may drop,
// what crosses the pipe.

import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRtp } from './rtp.mjs';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json'));

const openRelays = new Set();

export function closePipeRelays() {
  for (const relay of openRelays) relay.close();
}

function bindUdp(ip) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(0, ip, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

// Side A talks to `a`, side B to `b`; each datagram is handed on from the
// other socket. dropToB(parsedRtpOrNull, raw) → true drops a datagram A → B.
export class PipeRelay {
  static async open(ip = '127.0.0.1') {
    const relay = new PipeRelay();
    relay.ip = ip;
    relay.a = await bindUdp(ip);
    relay.b = await bindUdp(ip);
    openRelays.add(relay);
    return relay;
  }

  constructor() {
    this.toB = []; // every datagram A sent, as it arrived
    this.dropped = []; // parsed RTP dropped on the way to B
    this.dropToB = () => false;
    this.closed = false;
  }

  wire(aTuple, bTuple) {
    this.a.on('message', (msg) => {
      this.toB.push(msg);
      const rtp = msg[1] >= 192 && msg[1] <= 223 ? null : parseRtp(msg);
      if (this.dropToB(rtp, msg)) {
        this.dropped.push(rtp);
        return;
      }
      if (!this.closed) this.b.send(msg, bTuple.localPort, bTuple.localAddress);
    });
    this.b.on('message', (msg) => {
      if (!this.closed) this.a.send(msg, aTuple.localPort, aTuple.localAddress);
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    openRelays.delete(this);
    this.a.close();
    this.b.close();
  }
}

// Two connected PipeTransports, A on routerA and B on routerB, through a relay.
export async function relayedPipe(routerA, routerB, { enableRtx = false, enableSrtp = false, ip = '127.0.0.1' } = {}) {
  const listenInfo = { protocol: 'udp', ip };
  const a = await routerA.createPipeTransport({ listenInfo, enableRtx, enableSrtp });
  const b = await routerB.createPipeTransport({ listenInfo, enableRtx, enableSrtp });
  const relay = await PipeRelay.open(ip);
  relay.wire(a.tuple, b.tuple);
  await a.connect({ ip, port: relay.a.address().port, srtpParameters: b.srtpParameters });
  await b.connect({ ip, port: relay.b.address().port, srtpParameters: a.srtpParameters });
  return { a, b, relay };
}

// Two PipeTransports connected directly (no relay).
export async function connectedPipe(routerA, routerB, { enableRtx = false, enableSrtp = false, ip = '127.0.0.1' } = {}) {
  const listenInfo = { protocol: 'udp', ip };
  const a = await routerA.createPipeTransport({ listenInfo, enableRtx, enableSrtp });
  const b = await routerB.createPipeTransport({ listenInfo, enableRtx, enableSrtp });
  await a.connect({ ip: b.tuple.localAddress, port: b.tuple.localPort, srtpParameters: b.srtpParameters });
  await b.connect({ ip: a.tuple.localAddress, port: a.tuple.localPort, srtpParameters: a.srtpParameters });
  return { a, b };
}

// What pipeToRouter() does for one producer over an existing pair of
// connected PipeTransports: a pipe consumer on the source side, a producer
// with its parameters on the far side, with the original's id unless
// `newId` (needed when both routers are in one worker: a worker knows each
// entity id once, so pipeToRouter() itself cannot work there).
export async function pipeProducer(sourcePipe, farPipe, producer, { newId = false } = {}) {
  const pipeConsumer = await sourcePipe.consume({ producerId: producer.id });
  const pipeProducer = await farPipe.produce({
    ...(newId ? {} : { id: producer.id }),
    kind: pipeConsumer.kind,
    rtpParameters: pipeConsumer.rtpParameters,
    paused: pipeConsumer.producerPaused,
  });
  return { pipeConsumer, pipeProducer };
}

// TRANSPORT_DUMP of a PipeTransport, parsed by the library's own parser:
// mediasoup 3.14.16's PipeTransport has no dump() (Transport.dump() throws
// "method implemented in the subclass").
export async function pipeDump(transport) {
  const { parsePipeTransportDumpResponse } = require('mediasoup/node/lib/PipeTransport');
  const { DumpResponse } = require('mediasoup/node/lib/fbs/pipe-transport/dump-response');
  const { Method } = require('mediasoup/node/lib/fbs/request/method');
  const response = await transport.channelForTesting.request(Method.TRANSPORT_DUMP, undefined, undefined, transport.id);
  const data = new DumpResponse();
  response.body(data);
  return parsePipeTransportDumpResponse(data);
}
