import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { binaryFrame } from '../../server/documents/frames.ts';
import { Outbox } from '../../server/sync/outbox.ts';

interface Pair {
  server: WebSocket;
  client: WebSocket;
  /** Socket writes the server side made since the pair opened. */
  writes(): number;
  /** Resolves with the first `count` messages the client receives. */
  receive(count: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

/** A real ws server on port 0 and a real client, with the server socket's writes counted. */
async function openPair(): Promise<Pair> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const received: Buffer[] = [];
  const waiting: Array<{ count: number; resolve: (m: Buffer[]) => void }> = [];
  client.on('message', (data) => {
    received.push(data as Buffer);
    for (const w of waiting.filter((x) => received.length >= x.count)) w.resolve(received.slice(0, w.count));
  });
  await new Promise<void>((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const server = await accepted;
  const socket = (server as unknown as { _socket: { write: (...args: unknown[]) => boolean } })._socket;
  let writes = 0;
  const write = socket.write.bind(socket);
  socket.write = (...args: unknown[]) => {
    writes++;
    return write(...args);
  };
  return {
    server,
    client,
    writes: () => writes,
    receive: (count) =>
      received.length >= count ? Promise.resolve(received.slice(0, count)) : new Promise((resolve) => waiting.push({ count, resolve })),
    close: async () => {
      client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const payload = (length: number, seed: number): Uint8Array => new Uint8Array(length).map((_, i) => (i * 7 + seed) % 251);

const outbox = suite('outbox');
let pair: Pair;
outbox.before.each(async () => {
  pair = await openPair();
});
outbox.after.each(async () => {
  await pair.close();
});

outbox('messages of one turn arrive in order, in one socket write, shared frames and plain messages mixed', async () => {
  const box = new Outbox(pair.server);
  const messages = [payload(3, 1), payload(200, 2), payload(7000, 3), payload(0, 4), payload(126, 5)];
  const before = pair.writes();
  messages.forEach((m, i) => box.add(m, i % 2 === 0 ? binaryFrame(m) : undefined));
  assert.is(pair.writes(), before, 'nothing written before the turn ends');
  const got = await pair.receive(messages.length);
  assert.is(pair.writes() - before, 1);
  got.forEach((m, i) => assert.equal(new Uint8Array(m), messages[i], `message ${i}`));
});

outbox('a large turn goes through ws.send, still in order', async () => {
  const box = new Outbox(pair.server);
  const messages = [payload(10, 1), payload(100_000, 2), payload(10, 3)];
  messages.forEach((m) => box.add(m));
  const got = await pair.receive(messages.length);
  got.forEach((m, i) => assert.equal(new Uint8Array(m), messages[i], `message ${i}`));
});

outbox('flush() writes now, so a close frame sent after it comes last', async () => {
  const box = new Outbox(pair.server);
  const closed = new Promise<number>((resolve) => pair.client.once('close', (code) => resolve(code)));
  const messages = [payload(5, 1), payload(6, 2)];
  messages.forEach((m) => box.add(m));
  box.flush();
  pair.server.close(4000, 'bye');
  const got = await pair.receive(messages.length);
  got.forEach((m, i) => assert.equal(new Uint8Array(m), messages[i], `message ${i}`));
  assert.is(await closed, 4000);
});

outbox('nothing is written to a socket that closed before the turn ended', async () => {
  const box = new Outbox(pair.server);
  const closed = new Promise<void>((resolve) => pair.server.once('close', () => resolve()));
  pair.client.close(1000);
  await closed;
  const before = pair.writes();
  box.add(payload(5, 1));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.is(pair.writes(), before);
});

outbox.run();
