// A media end that runs in a network namespace as a child process
// (`ip netns exec NS node lib/netns-peer.mjs ...`), for pipe-netns.test.mjs.
//
//   send <port> <count> <pps> <ssrc>  VP8 at pps to 127.0.0.1:<port>, 3 packets
//                                     a frame, a key frame every 25 frames;
//                                     prints {"sent":count} when done
//   recv <ssrc>                       prints {"port":N} once bound, then on
//                                     SIGTERM/stdin end {"received":[i...],"bad":n}
//
// Every payload says which packet it is (its index in the 4 bytes after the
// VP8 descriptor, then a fill derived from it), so the receiver checks the
// bytes it got without knowing the rewritten sequence numbers.
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

export const PACKETS_PER_FRAME = 3;
export const KEY_EVERY_FRAMES = 25;

export function payloadFor(index) {
  const frame = Math.floor(index / PACKETS_PER_FRAME);
  const first = index % PACKETS_PER_FRAME === 0;
  const key = frame % KEY_EVERY_FRAMES === 0;
  const b = Buffer.alloc(2 + 4 + 200);
  b[0] = first ? 0x10 : 0x00; // VP8 descriptor: S on the frame's first packet, PID 0
  b[1] = first ? (key ? 0x00 : 0x01) : 0xff; // VP8 header P bit (0 = key frame); filler otherwise
  b.writeUInt32BE(index, 2);
  for (let i = 6; i < b.length; i++) b[i] = (index * 31 + i) & 0xff;
  return b;
}

export function indexOfPayload(payload) {
  if (payload.length !== 206) return -1;
  const index = payload.readUInt32BE(2);
  return payloadFor(index).equals(payload) ? index : -1;
}

function rtp(index, ssrc) {
  const head = Buffer.alloc(12);
  const frame = Math.floor(index / PACKETS_PER_FRAME);
  head[0] = 0x80;
  head[1] = 96 | (index % PACKETS_PER_FRAME === PACKETS_PER_FRAME - 1 ? 0x80 : 0);
  head.writeUInt16BE((60000 + index) & 0xffff, 2);
  head.writeUInt32BE((frame * 3000) >>> 0, 4);
  head.writeUInt32BE(ssrc, 8);
  return Buffer.concat([head, payloadFor(index)]);
}

async function send(port, count, pps, ssrc) {
  const socket = dgram.createSocket('udp4');
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    socket.send(rtp(i, ssrc), port, '127.0.0.1');
    const due = start + ((i + 1) * 1000) / pps;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  process.stdout.write(`${JSON.stringify({ sent: count })}\n`);
  socket.close();
}

function recv(ssrc) {
  const socket = dgram.createSocket('udp4');
  const received = [];
  let bad = 0;
  socket.on('message', (msg) => {
    if (msg.length < 12 || (msg[1] >= 192 && msg[1] <= 223) || msg.readUInt32BE(8) !== ssrc) return;
    // The consumer may add header extensions: skip CSRCs and the extension.
    let off = 12 + 4 * (msg[0] & 0x0f);
    if (msg[0] & 0x10 && msg.length >= off + 4) off += 4 + 4 * msg.readUInt16BE(off + 2);
    const index = indexOfPayload(msg.subarray(off));
    if (index < 0) bad++;
    else received.push(index);
  });
  const finish = () => {
    process.stdout.write(`${JSON.stringify({ received, bad })}\n`);
    socket.close();
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.stdin.on('end', finish);
  process.stdin.resume();
  socket.bind(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'send') await send(Number(args[0]), Number(args[1]), Number(args[2]), Number(args[3]));
  else if (mode === 'recv') recv(Number(args[0]));
  else throw new Error(`usage: netns-peer.mjs send|recv ...`);
}
