/**
 * An unloading document's compaction (server/documents/compactions.ts): when this process holds
 * everything stored for its documents (no Redis), a small one writes its own state as the snapshot
 * and deletes its rows without reading them back or merging; a large one, and any with Redis, merge
 * in the worker as before. A load of the same document waits for the first kind, whose deletion
 * would otherwise take the new instance's rows. Real databases, the real update log and merge worker.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, setLabel } from '../../docs-model/index.ts';
import { docName, type DocName } from '../../docs-model/protocol.ts';
import { createDocStore, type DocStore } from '../../persistence/doc-store.ts';
import { createMergePool, type MergePool } from '../../persistence/merge-worker.ts';
import { createUpdateLog, type UpdateLog } from '../../persistence/update-log.ts';
import { defaultLimits } from '../../server/config.ts';
import { DocRegistry } from '../../server/documents/doc-registry.ts';
import type { LiveDocument } from '../../server/documents/live-document.ts';
import { serverOrigin } from '../../server/documents/origins.ts';
import { silentLogger } from '../../shared/logger.ts';
import { databaseKinds, openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';

interface Context {
  t: TestDatabase;
  log: UpdateLog;
  pool: MergePool;
  store: DocStore;
  /** What reached the store, in order: 'load' when a load reads, 'compacted' when a compaction from state committed. */
  events: string[];
  /** While set, a compaction from state waits for it before it starts. */
  gate: Promise<void> | null;
  registry: DocRegistry | null;
}

let sessions = 0;
const newName = (): DocName => docName('session', `unload-${process.pid}-${++sessions}`)!;

function registry(ctx: Context, answerFromStored: boolean): DocRegistry {
  ctx.registry = new DocRegistry({
    store: ctx.store,
    log: ctx.log,
    limits: { ...defaultLimits, idleUnloadMs: 0 },
    compactAfterRows: 100_000,
    logger: silentLogger,
    answerFromStored,
  });
  return ctx.registry;
}

/** `count` annotations, written by the server in one change, committed. */
async function fill(doc: LiveDocument, count: number, from = 0): Promise<void> {
  Y.transact(
    doc.ydoc,
    () => {
      setLabel(doc.ydoc, 'car', {});
      for (let i = from; i < from + count; i++) addAnnotation(doc.ydoc, { frame: i, bbox: [i, 0, 5, 5], label: 'car' }, { by: 'test' });
    },
    serverOrigin('test'),
  );
  await doc.lastCommit;
}

/** `fill`, then the document is let go. */
async function write(reg: DocRegistry, name: DocName, count: number, from = 0): Promise<void> {
  const doc = await reg.acquire(name);
  await fill(doc, count, from);
  reg.release(doc);
}

async function unloaded(reg: DocRegistry, name: DocName): Promise<void> {
  await waitFor(() => reg.get(name.name) === undefined, { message: `${name.name} unloads` });
  await reg.settled();
}

async function storedAnnotations(store: DocStore, name: DocName): Promise<number> {
  const { update } = await store.loadMerged(name.name);
  const doc = new Y.Doc();
  if (update) Y.applyUpdate(doc, update);
  return doc.getMap('annotations').size;
}

for (const kind of databaseKinds()) {
  const test = suite<Context>(`unload compaction (${kind})`);

  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    ctx.log = createUpdateLog({ knex: ctx.t.db.knex });
    ctx.pool = createMergePool();
    const real = createDocStore({ knex: ctx.t.db.knex, merge: ctx.pool.merge });
    ctx.events = [];
    ctx.gate = null;
    ctx.store = {
      ...real,
      loadMerged: (name) => {
        ctx.events.push('load');
        return real.loadMerged(name);
      },
      compactFrom: async (name, state) => {
        if (ctx.gate) await ctx.gate;
        const outcome = await real.compactFrom(name, state);
        ctx.events.push('compacted');
        return outcome;
      },
    };
  });
  test.after.each(async (ctx) => {
    await ctx.registry?.close();
    ctx.registry = null;
    ctx.events.length = 0;
    ctx.gate = null;
  });
  test.after(async (ctx) => {
    await ctx.log.close();
    await ctx.pool.close();
    await ctx.t.cleanup();
  });

  test('a small document that unloads writes its own state as the snapshot: no row read back, no merge', async (ctx) => {
    const reg = registry(ctx, true);
    const name = newName();
    await write(reg, name, 3);
    await write(reg, name, 2, 3);
    const merges = ctx.pool.stats().merged;
    await unloaded(reg, name);
    assert.equal(ctx.events, ['load', 'compacted']);
    assert.is(ctx.pool.stats().merged, merges, 'the merge worker was not asked');
    assert.is(await ctx.store.logLength(name.name), 0, 'every row is gone');
    assert.is(await storedAnnotations(ctx.store, name), 5, 'the snapshot holds every annotation');
  });

  test('a load of that document waits for the compaction, and what it writes then is kept', async (ctx) => {
    const reg = registry(ctx, true);
    const name = newName();
    await write(reg, name, 3);
    let open!: () => void;
    ctx.gate = new Promise<void>((resolve) => (open = resolve));
    ctx.events.length = 0;
    await waitFor(() => reg.get(name.name) === undefined, { message: 'it unloads' });
    const again = write(reg, name, 2, 3);
    // The compaction holds at the gate: the load must not have read the stored state meanwhile.
    await ctx.t.db.knex.raw('select 1');
    open();
    await again;
    assert.equal(ctx.events.slice(0, 2), ['compacted', 'load'], 'the load read only after the compaction');
    await unloaded(reg, name);
    assert.is(await ctx.store.logLength(name.name), 0);
    assert.is(await storedAnnotations(ctx.store, name), 5, 'the annotations written after the reload are stored');
  });

  test('documents unloading in the same turn encode their states for ~10 ms at most; the rest merge in the worker', async (ctx) => {
    const reg = registry(ctx, true);
    const names = Array.from({ length: 12 }, newName);
    const docs = await Promise.all(names.map((name) => reg.acquire(name)));
    // ~500 annotations each: several ms to encode, so twelve pass the turn's budget.
    for (const doc of docs) await fill(doc, 500);
    ctx.events.length = 0;
    const merges = ctx.pool.stats().merged;
    for (const doc of docs) reg.release(doc); // their unload timers expire together
    for (const name of names) await unloaded(reg, name);
    const fromState = ctx.events.filter((e) => e === 'compacted').length;
    assert.ok(fromState >= 1 && fromState < names.length, `${fromState} of ${names.length} from their state`);
    assert.is(ctx.pool.stats().merged - merges, names.length - fromState, 'the others merged in the worker');
    for (const name of names) {
      assert.is(await ctx.store.logLength(name.name), 0);
      assert.is(await storedAnnotations(ctx.store, name), 500);
    }
  });

  test('a document past the size limit, or any with Redis, merges its rows in the worker', async (ctx) => {
    const large = newName();
    const reg = registry(ctx, true);
    // ~16 structs per annotation: 700 of them pass the 10 000 structs encoded on the event loop.
    await write(reg, large, 700);
    let merges = ctx.pool.stats().merged;
    await unloaded(reg, large);
    assert.ok(ctx.pool.stats().merged > merges, 'merged in the worker');
    assert.not.ok(ctx.events.includes('compacted'));
    assert.is(await ctx.store.logLength(large.name), 0);
    assert.is(await storedAnnotations(ctx.store, large), 700);
    await reg.close();

    const shared = registry(ctx, false);
    const small = newName();
    await write(shared, small, 3);
    merges = ctx.pool.stats().merged;
    await unloaded(shared, small);
    assert.ok(ctx.pool.stats().merged > merges, 'merged in the worker');
    assert.not.ok(ctx.events.includes('compacted'));
    assert.is(await storedAnnotations(ctx.store, small), 3);
  });

  test.run();
}
