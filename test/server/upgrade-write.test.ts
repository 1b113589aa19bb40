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
import { waitFor } from '../../tools/databases.ts';
import { openSocket } from '../helpers/security.ts';
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

test('an accepted socket gets its 101 response and the greeting in one write', async (ctx) => {
  const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  // Listened to from the start (openSocket): the greeting may arrive in the same read as the 101.
  const { ws, messages, closed } = openSocket(ctx.app.url, docName, { token: ctx.app.adminToken });
  const greeting = (await waitFor(() => messages[0]))!;
  assert.is(greeting[0], 0, 'a sync message');
  assert.is(greeting[1], 0, 'sync step 1');
  assert.equal(ctx.writes, [1]);
  ws.close();
  await closed;
  ctx.writes.length = 0;
});

test('a refused socket gets its 101 response and the close frame in one write', async (ctx) => {
  const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const { closed } = openSocket(ctx.app.url, docName, { token: 'not-a-token' });
  assert.is((await closed).code, CloseCode.unauthorized);
  assert.is(ctx.writes[0], 1, 'the 101 and the close frame together; ws ends the socket after the reply, with no write');
  ctx.writes.length = 0;
});

test.run();
