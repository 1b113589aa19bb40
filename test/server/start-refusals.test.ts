/**
 * `npm start` (server/main.ts as a child process) that cannot start says why and exits 1: every
 * bad setting named before anything is opened, REDIS_URL without a shared Postgres refused, REDIS_URL
 * with a Redis client that cannot be loaded refused (it is loaded only then), and a
 * port already taken reported with its cause instead of a process left running half-started.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { TEST_AUTH_SECRET, createTestStorage, type TestStorage } from '../../tools/server.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Runs server/main.ts as `npm start` does; resolves with its exit code and output once it ended. */
function runMain(env: Record<string, string>, nodeArgs: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', AUTH_SECRET: TEST_AUTH_SECRET, DATABASE_URL: '', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A guard, not a timing assumption: a server that starts anyway must not hang the suite.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    }),
  );
}

const test = suite<{ storage: TestStorage }>('npm start refusals');
test.before.each(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
});
test.after.each(async (ctx) => {
  await ctx.storage.cleanup();
});

test('invalid settings: exit 1 naming every bad variable, before any database is opened', async (ctx) => {
  const dataDir = path.join(ctx.storage.env.DATA_DIR!, 'fresh');
  const res = await runMain({ DATA_DIR: dataDir, PORT: '70000', IDLE_UNLOAD_MS: '-1', AUTH_SECRET: 'short' });
  assert.is(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stderr, /^invalid configuration:/);
  for (const name of ['PORT', 'IDLE_UNLOAD_MS', 'AUTH_SECRET']) assert.match(res.stderr, new RegExp(`^  ${name}: `, 'm'), name);
  assert.not.match(res.stdout, /listening/);
  assert.not.ok(existsSync(dataDir), 'DATA_DIR was not created');
});

test('REDIS_URL without DATABASE_URL: exit 1, because documents shared through Redis need one Postgres', async (ctx) => {
  const res = await runMain({ DATA_DIR: ctx.storage.env.DATA_DIR!, REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.is(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stderr, /REDIS_URL: REDIS_URL needs DATABASE_URL/);
});

test('REDIS_URL set but the Redis client cannot be loaded: exit 1 naming it, before any database is opened', async (ctx) => {
  // ioredis is loaded only when REDIS_URL is set; its failure must still stop the start, not the first publish.
  const hideIoredis = ['--import', path.join(root, 'test/fixtures/unresolvable-ioredis.mjs')];
  const res = await runMain(
    { DATA_DIR: ctx.storage.env.DATA_DIR!, REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://127.0.0.1:1/never-opened' },
    hideIoredis,
  );
  assert.is(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stderr, /annosync failed to start: RedisClientLoadError: REDIS_URL is set, but the Redis client \(ioredis\) could not be loaded: Cannot find package 'ioredis'/);
  assert.not.match(res.stdout, /listening/);
});

test('a port already taken: exit 1 with "failed to start" and the cause', async (ctx) => {
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const res = await runMain({ DATA_DIR: ctx.storage.env.DATA_DIR!, PORT: String(port) });
    assert.is(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /annosync failed to start: .*EADDRINUSE/);
    assert.not.match(res.stdout, /listening/);
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});

test.run();
