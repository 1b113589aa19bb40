/**
 * `npm start` on a fresh machine with no AUTH_SECRET: the server makes a secret, keeps it in
 * DATA_DIR, stays on loopback and prints an admin token that works; a restart reuses the secret,
 * so tokens survive it. And a 5xx answer carries the request id and nothing else.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../tools/databases.ts';
import { createTestStorage, startChildServer, startTestServer, type ChildServer, type TestStorage } from '../../tools/server.ts';

const test = suite<{ storage: TestStorage; children: ChildServer[] }>('first start and 5xx bodies');

test.before.each(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.children = [];
});

test.after.each(async (ctx) => {
  for (const child of ctx.children) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
    await child.exited;
  }
  await ctx.storage.cleanup();
});

test('with no AUTH_SECRET the server keeps a secret in DATA_DIR, binds to loopback and prints a working admin token', async (ctx) => {
  const env = { ...ctx.storage.env, AUTH_SECRET: '', HOST: '0.0.0.0' };
  const first = await startChildServer(env);
  ctx.children.push(first);
  assert.match(first.url, /^http:\/\/127\.0\.0\.1:/, 'bound to loopback despite HOST=0.0.0.0');
  const token = await waitFor(() => /admin token \(30 days\): (\S+)/.exec(first.output())?.[1], {
    message: 'the admin token is printed',
  });
  const secretFile = path.join(ctx.storage.env.DATA_DIR!, 'auth-secret');
  assert.ok(existsSync(secretFile));
  assert.is(statSync(secretFile).mode & 0o077, 0, 'the secret is readable by its owner only');
  const secret = readFileSync(secretFile, 'utf8');
  const listed = await fetch(`${first.url}/api/projects`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(listed.status, 200);
  first.process.kill('SIGTERM');
  assert.is((await first.exited).code, 0);

  const second = await startChildServer(env);
  ctx.children.push(second);
  assert.is(readFileSync(secretFile, 'utf8'), secret, 'the secret is reused');
  const again = await fetch(`${second.url}/api/projects`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(again.status, 200, 'a token from before the restart still works');
});

test('a 5xx answer carries the request id and nothing else of the failure', async (ctx) => {
  const app = await startTestServer(ctx.storage);
  try {
    await app.server.db.knex.destroy(); // the database goes away under the server
    const response = await fetch(`${app.url}/api/projects`, {
      headers: { authorization: `Bearer ${app.adminToken}`, 'x-request-id': 'req-42' },
    });
    assert.ok(response.status >= 500, `status ${response.status}`);
    const body = (await response.json()) as { error: Record<string, unknown> };
    assert.equal(body, { error: { code: 'internal', message: 'internal error', requestId: 'req-42' } });
  } finally {
    await app.stop().catch(() => undefined);
  }
});

test.run();
