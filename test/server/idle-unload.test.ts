/**
 * When an unused document leaves memory (server/documents/doc-registry.ts): `idleUnloadMs` after
 * its last release or detach, however often it was held and released before, and never while held.
 * The registry keeps one timer running across holds and releases rather than re-arming it at each,
 * so these check that the timer waits out the rest of the idle time. Real database and update log.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { docName, type DocName } from '../../docs-model/protocol.ts';
import { createDocStore } from '../../persistence/doc-store.ts';
import { createMergePool, type MergePool } from '../../persistence/merge-worker.ts';
import { createUpdateLog, type UpdateLog } from '../../persistence/update-log.ts';
import { defaultLimits } from '../../server/config.ts';
import { DocRegistry } from '../../server/documents/doc-registry.ts';
import type { LiveDocument } from '../../server/documents/live-document.ts';
import { silentLogger } from '../../shared/logger.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

const IDLE_MS = 400;

interface Context {
  t: TestDatabase;
  log: UpdateLog;
  pool: MergePool;
  registry: DocRegistry;
}

let docs = 0;
const newName = (): DocName => docName('session', `idle-${process.pid}-${++docs}`)!;

/** When `name` leaves memory, by performance.now(). */
function unloadedAt(registry: DocRegistry, name: DocName): Promise<number> {
  return new Promise((resolve) => {
    const onUnload = (doc: LiveDocument): void => {
      if (doc.name !== name.name) return;
      registry.off('unload', onUnload);
      resolve(performance.now());
    };
    registry.on('unload', onUnload);
  });
}

const kind = databaseKinds()[0]!;
const test = suite<Context>(`idle unload (${kind})`);

test.before(async (ctx) => {
  ctx.t = await openTestDatabase(kind);
  ctx.log = createUpdateLog({ knex: ctx.t.db.knex });
  ctx.pool = createMergePool();
  ctx.registry = new DocRegistry({
    store: createDocStore({ knex: ctx.t.db.knex, merge: ctx.pool.merge }),
    log: ctx.log,
    limits: { ...defaultLimits, idleUnloadMs: IDLE_MS },
    compactAfterRows: 100_000,
    logger: silentLogger,
  });
});
test.after(async (ctx) => {
  await ctx.registry.close();
  await ctx.log.close();
  await ctx.pool.close();
  await ctx.t.cleanup();
});

test('a document used again leaves memory only idleUnloadMs after its last release', async ({ registry }) => {
  const name = newName();
  const unloaded = unloadedAt(registry, name);
  registry.release(await registry.acquire(name));
  await sleep(IDLE_MS / 2);
  for (let i = 0; i < 3; i++) registry.release(await registry.acquire(name));
  const lastRelease = performance.now();
  assert.ok(registry.get(name.name), 'still loaded');
  const at = await unloaded;
  assert.ok(at - lastRelease >= IDLE_MS - 1, `unloaded ${(at - lastRelease).toFixed(1)} ms after the last release, before ${IDLE_MS}`);
});

test('a held document stays loaded past idleUnloadMs, and leaves once released and idle', async ({ registry }) => {
  const name = newName();
  const unloaded = unloadedAt(registry, name);
  registry.release(await registry.acquire(name));
  const held = await registry.acquire(name);
  await sleep(IDLE_MS * 2);
  assert.ok(registry.get(name.name), 'held, so still loaded');
  registry.release(held);
  const released = performance.now();
  const at = await unloaded;
  assert.ok(at - released >= IDLE_MS - 1, `unloaded ${(at - released).toFixed(1)} ms after its release`);
});

test.run();
