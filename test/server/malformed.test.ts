/**
 * Hostile or broken input closes the one connection that sent it, with a code that says why, and
 * the process keeps serving everyone else (the reference server dies on several of these).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import * as encoding from 'lib0/encoding';
import { connectClient, closed, rawSocket, synced, type TestClient } from '../../tools/clients.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { waitFor } from '../../tools/databases.ts';
import { seededRandom } from '../../tools/fuzz.ts';
import { newSessionDoc } from '../../tools/api.ts';

/** Seeded bytes, so a failing case can be replayed. */
function seededBytes(seed: number, length: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

const message = (write: (encoder: encoding.Encoder) => void) => {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
};

const test = suite<{ storage: TestStorage; app: TestServer; clients: TestClient[] }>('malformed messages');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage);
  ctx.clients = [];
});

test.after(async (ctx) => {
  for (const client of ctx.clients) client.destroy();
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

/** A stock client still joins, edits and is heard by another. */
async function assertStillServing(ctx: { app: TestServer; clients: TestClient[] }, name: string) {
  const params = { token: ctx.app.adminToken };
  const a = connectClient(ctx.app.url, name, { params });
  const b = connectClient(ctx.app.url, name, { params });
  ctx.clients.push(a, b);
  await Promise.all([synced(a.provider), synced(b.provider)]);
  const key = randomUUID();
  a.doc.getMap('probe').set(key, 1);
  await waitFor(() => b.doc.getMap('probe').get(key) === 1, { message: 'the server still relays updates' });
}

const cases: Array<[string, Uint8Array, number]> = [
  ['a truncated varint', new Uint8Array([0x80]), 1007],
  ['a varint above 2^53', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 1007],
  [
    'a 4 GiB length prefix',
    message((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 2 ** 32);
      encoding.writeUint8Array(e, new Uint8Array(16));
    }),
    1007,
  ],
  ['an unknown message type', new Uint8Array([42, 1, 2, 3]), 1007],
  [
    'an update of random bytes (seed 7)',
    message((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(e, seededBytes(7, 256));
    }),
    1007,
  ],
  [
    // Yjs integrated the first struct, then threw on the second, leaving the live document unable
    // to encode itself: every joiner after got 1011 (found by the fuzz test).
    'an update with a zero-length struct',
    message((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      const u = encoding.createEncoder();
      for (const v of [1, 2, 7, 0]) encoding.writeVarUint(u, v); // 1 client, 2 structs, client 7 from clock 0
      encoding.writeUint8(u, 0);
      encoding.writeVarUint(u, 1); // a GC struct of length 1
      encoding.writeUint8(u, 0);
      encoding.writeVarUint(u, 0); // a GC struct of length 0
      encoding.writeVarUint(u, 0); // empty delete set
      encoding.writeVarUint8Array(e, encoding.toUint8Array(u));
    }),
    1007,
  ],
];

for (const [label, bytes, expected] of cases) {
  test(`${label} closes that connection with ${expected} and the server keeps serving`, async (ctx) => {
    const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
    const ws = await rawSocket(ctx.app.url, name, `?token=${ctx.app.adminToken}`);
    const closing = closed(ws);
    ws.send(bytes);
    const { code } = await closing;
    assert.is(code, expected);
    await assertStillServing(ctx, name);
  });
}

test('a raw frame with the RSV1 bit set closes with 1002 and the server keeps serving', async (ctx) => {
  const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
  const { port } = new URL(ctx.app.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (chunk) => received.push(chunk));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET /sync/${name}?token=${ctx.app.adminToken} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await waitFor(() => Buffer.concat(received).includes('\r\n\r\n'), { message: 'upgrade answered' });
  // FIN + RSV1 + binary, masked, 1-byte payload; no extension was negotiated, so RSV1 is illegal.
  socket.write(Buffer.from([0xc2, 0x81, 1, 2, 3, 4, 0x00 ^ 1]));
  await ended;
  const all = Buffer.concat(received);
  const headerEnd = all.indexOf('\r\n\r\n') + 4;
  const frames = all.subarray(headerEnd);
  // Skip the greeting frames (sync step 1) and find the close frame (opcode 8).
  let offset = 0;
  let closeCode = -1;
  while (offset < frames.length) {
    const opcode = frames[offset]! & 0x0f;
    const length = frames[offset + 1]! & 0x7f;
    if (opcode === 8) closeCode = frames.readUInt16BE(offset + 2);
    offset += 2 + length;
  }
  assert.is(closeCode, 1002);
  await assertStillServing(ctx, name);
});

test('an awareness state nested 100 000 levels deep closes with 1008, and a new joiner is served', async (ctx) => {
  const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
  const ws = await rawSocket(ctx.app.url, name, `?token=${ctx.app.adminToken}`);
  const closing = closed(ws);
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const inner = message((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, 4242);
    encoding.writeVarUint(e, 1);
    encoding.writeVarString(e, deep);
  });
  ws.send(
    message((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, inner);
    }),
  );
  assert.is((await closing).code, 1008);
  await assertStillServing(ctx, name);
});

test('a document name that is not session:, test-run: or dashboard: is refused with 4400', async (ctx) => {
  const ws = await rawSocket(ctx.app.url, 'other:abc');
  assert.is((await closed(ws)).code, 4400);
  const traversal = await rawSocket(ctx.app.url, 'session:..%2F..%2Fetc');
  assert.is((await closed(traversal)).code, 4400);
});

test.run();
