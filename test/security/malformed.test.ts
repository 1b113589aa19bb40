/**
 * Malformed messages beyond those of test/server/malformed.test.ts: each closes the one
 * connection that sent it with 1007 (not y-websocket) and the connection next to it keeps working.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as encoding from 'lib0/encoding';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { alive, awarenessMessage, encode, openSocket, syncMessage, type RecordedSocket } from '../helpers/security.ts';

const test = suite<{ storage: TestStorage; app: TestServer; docName: string; bystander: RecordedSocket }>('malformed messages (security)');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage);
  ctx.docName = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
  ctx.bystander = openSocket(ctx.app.url, ctx.docName, { token: ctx.app.adminToken });
  await ctx.bystander.opened;
});

test.after(async (ctx) => {
  ctx.bystander.ws.close();
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

const cases: Array<[string, string | Uint8Array, number]> = [
  ['a text frame', 'hello', 1007],
  ['a text frame holding a valid sync step 1', String.fromCharCode(0, 0, 0), 1007],
  ['an empty binary message', new Uint8Array(0), 1007],
  ['an unknown sync sub-type', syncMessage(7, new Uint8Array([0])), 1007],
  ['a sync message without its payload', new Uint8Array([0, 2]), 1007],
  ['a sync step 1 whose state vector is garbage', syncMessage(0, new Uint8Array([5, 0xff, 0xff])), 1007],
  ['an update that is one byte', syncMessage(2, new Uint8Array([1])), 1007],
  ['an awareness state that is not JSON', awarenessMessage([[11, 1, '{not json']]), 1007],
  ['an awareness message cut short', encode((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, new Uint8Array([3, 11]));
  }), 1007],
  ['an awareness payload longer than the message', new Uint8Array([1, 100, 1, 2]), 1007],
];

for (const [label, data, expected] of cases) {
  test(`${label} closes with ${expected}; the connection next to it is unaffected`, async (ctx) => {
    const s = openSocket(ctx.app.url, ctx.docName, { token: ctx.app.adminToken });
    await s.opened;
    s.ws.send(data);
    assert.is((await s.closed).code, expected);
    assert.ok(await alive(ctx.bystander));
  });
}

test('an auth message from a client is ignored, not fatal (y-protocols clients never mean anything by it)', async (ctx) => {
  const s = openSocket(ctx.app.url, ctx.docName, { token: ctx.app.adminToken });
  await s.opened;
  s.ws.send(new Uint8Array([2, 0]));
  assert.ok(await alive(s));
  s.ws.close();
});

test.run();
