/**
 * The floor under `bench:sync`'s fan-out: a WebSocket relay that does the least any y-websocket
 * server must — answer a client's sync step 1 with an empty step 2, so the stock client counts
 * itself synced, and pass every other message on, as the bytes it arrived in, to the room's other
 * sockets. No document, no Yjs, no storage, no presence bookkeeping; each message framed once and
 * the one buffer written to every receiver, as annosync does (`server/sync/outbox.ts`). What it
 * measures is `ws`, Node's sockets and the stock clients sharing the machine with it: no server
 * can do better, so its ratio against the reference is the best a server can show on this machine.
 * It serves what needs no stored state: the fan-out, the throughput and the opening of new documents
 * (a joiner gets nothing of what was sent before it came).
 *
 * Started by `startServer({ kind: 'sync-floor' })`; prints the ready line annosync prints.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { Socket } from 'node:net';

// y-protocols: message type 0 (sync), sync step 1 is 0, step 2 is 1; an empty document's update
// (no structs, no deletes) is [0, 0], so step 2 reads [0 (sync), 1 (step 2), 2 (length), 0, 0].
const EMPTY_STEP_2 = Buffer.from([0, 1, 2, 0, 0]);

/** An unmasked binary frame (RFC 6455 §5.2), as a server sends it. */
function frame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x82;
  if (n < 126) out[1] = n;
  else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(out, head);
  return out;
}

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws, request) => {
  const name = (request.url ?? '/').split('?')[0] ?? '/';
  let room = rooms.get(name);
  if (room === undefined) rooms.set(name, (room = new Set()));
  const peers = room;
  peers.add(ws);
  // `ws` keeps its net.Socket here; writing the one frame to it skips framing per receiver.
  const socketOf = (peer: WebSocket): Socket => (peer as unknown as { _socket: Socket })._socket;
  ws.on('message', (data: Buffer) => {
    if (data[0] === 0 && data[1] === 0) {
      ws.send(EMPTY_STEP_2);
      return;
    }
    const out = frame(data);
    for (const peer of peers) if (peer !== ws && peer.readyState === peer.OPEN) socketOf(peer).write(out);
  });
  ws.on('close', () => {
    peers.delete(ws);
    if (peers.size === 0) rooms.delete(name);
  });
});
wss.on('listening', () => {
  const address = wss.address();
  if (address !== null && typeof address === 'object') console.log(`listening on http://${address.address}:${address.port}`);
});
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
