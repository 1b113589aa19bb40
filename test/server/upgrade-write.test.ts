/**
 * The upgrade's 101 response and the first frames leave the server in one socket write: a crowd
 * reconnecting at once costs one write per socket less (docs/architecture.md, "Who hears a change").
 * Counted on the real server socket, below Node's cork: `_write` and `_writev` are what reach libuv.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../../docs-model/protocol.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { WebSocket } from 'ws';
import { startTestServer } from '../../tools/server.ts';
import { withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';

const test = suite<SocketSuiteContext & { writes: number[] }>('upgrade writes');
withServerAndClients(test, 'pglite', async (storage, ctx) => {
  const app = await startTestServer(storage);
  ctx.writes = [];
  // Runs before the server's own upgrade listener: counts each socket's writes from its first byte on.
  app.server.http.prependListener('upgrade', (_request: unknown, socket: Duplex) => {
    const index = ctx.writes.push(0) - 1;
    const internals = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    for (const method of ['_write', '_writev'] as const) {
      const original = internals[method].bind(socket);
      internals[method] = (...args: unknown[]) => {
        ctx.writes[index]!++;
        return original(...args);
      };
    }
  });
  return app;
});

/** A raw socket whose first message and close are listened for from the start: both may arrive with the 101. */
function connect(ctx: SocketSuiteContext, docName: string, token: string) {
  const ws = new WebSocket(`${ctx.app.url.replace(/^http/, 'ws')}/sync/${docName}?token=${token}`);
  const first = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return { ws, first, closed };
}

test('an accepted socket gets its 101 response and the greeting in one write', async (ctx) => {
  const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const { ws, first, closed } = connect(ctx, docName, ctx.app.adminToken);
  const greeting = await first;
  assert.is(greeting[0], 0, 'a sync message');
  assert.is(greeting[1], 0, 'sync step 1');
  assert.equal(ctx.writes, [1]);
  ws.close();
  await closed;
  ctx.writes.length = 0;
});

test('a refused socket gets its 101 response and the close frame in one write', async (ctx) => {
  const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const { closed } = connect(ctx, docName, 'not-a-token');
  assert.is(await closed, CloseCode.unauthorized);
  assert.is(ctx.writes[0], 1, 'the 101 and the close frame together; ws ends the socket after the reply, with no write');
  ctx.writes.length = 0;
});

test.run();
