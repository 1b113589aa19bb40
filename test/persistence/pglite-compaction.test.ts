/**
 * Compaction on a database of one connection (PGlite, persistence/doc-store.ts): the merge runs
 * with no transaction open, so other statements go meanwhile; and what changed the document
 * during the merge (another compaction, a removal, new rows) is neither lost nor merged twice.
 * Each merge here waits on a gate the test opens, so the interleavings are forced, not hoped for.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { createDocStore, type MergeUpdates } from '../../persistence/doc-store.ts';
import { openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';
import { contentOf, editHistory, pickSeed, rebuild } from './edits.ts';
import { appendAll, snapshotRow } from './stored-rows.ts';

const seed = pickSeed();
const seedNote = `(SEED=${seed})`;
let docCounter = 0;
const freshDoc = () => `session:gated-${process.pid}-${++docCounter}`;

/** A merge that starts at once and finishes when `open()` is called; `started` resolves as it starts. */
function gatedMerge() {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let started: () => void = () => undefined;
  const starting = new Promise<void>((resolve) => (started = resolve));
  const merge: MergeUpdates = async (updates) => {
    started();
    await gate;
    return Y.mergeUpdates(updates);
  };
  return { merge, open, started: starting };
}

/**
 * Runs `op` while the gated merge waits, then opens the gate, whatever happens: where the merge
 * held the database (the code before), `op` cannot finish, and this fails instead of hanging.
 */
async function whileMerging<T>(gated: { open(): void }, op: () => Promise<T>): Promise<T> {
  let done: { value: T } | null = null;
  let failed: { err: unknown } | null = null;
  void op().then(
    (value) => (done = { value }),
    (err: unknown) => (failed = { err }),
  );
  try {
    await waitFor(() => done !== null || failed !== null, { message: 'it waited for the merge' });
  } finally {
    gated.open();
  }
  if (failed) throw (failed as { err: unknown }).err;
  return (done as unknown as { value: T }).value;
}

const test = suite<{ t: TestDatabase }>('compaction on one connection (pglite)');
test.before(async (ctx) => {
  ctx.t = await openTestDatabase('pglite');
});
test.after(async (ctx) => {
  await ctx.t.cleanup();
});

test('statements run while a compaction merges: no transaction is held open over the merge', async ({ t }) => {
  const history = editHistory(seed, 30);
  const doc = freshDoc();
  await appendAll(t.db.knex, doc, history.updates.slice(0, 20));
  const gated = gatedMerge();
  const compaction = createDocStore({ knex: t.db.knex, merge: gated.merge }).compact(doc);
  await gated.started;
  // Before, the compaction's transaction held PGlite's one connection until the merge ended.
  await whileMerging(gated, () => appendAll(t.db.knex, doc, history.updates.slice(20)));
  assert.is((await compaction).mergedRows, 20);
  assert.is((await snapshotRow(t.db.knex, doc))?.row_count, '20');
  const store = createDocStore({ knex: t.db.knex });
  assert.is(await store.logLength(doc), 10, 'the rows written during the merge are kept');
  assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc), seedNote);
});

test('a compaction that another one overtook during its merge merges again from what is stored, each row once', async ({ t }) => {
  const history = editHistory(seed + 1, 40);
  const doc = freshDoc();
  await appendAll(t.db.knex, doc, history.updates.slice(0, 30));
  const gated = gatedMerge();
  const slow = createDocStore({ knex: t.db.knex, merge: gated.merge }).compact(doc);
  await gated.started;
  const store = createDocStore({ knex: t.db.knex });
  const overtaking = await whileMerging(gated, async () => {
    const outcome = await store.compact(doc);
    await appendAll(t.db.knex, doc, history.updates.slice(30));
    return outcome;
  });
  assert.is(overtaking.mergedRows, 30, 'the other compaction took the rows meanwhile');
  assert.is((await slow).mergedRows, 10, 'its write refused, it merged what was there then');
  assert.is(await store.logLength(doc), 0);
  assert.is((await snapshotRow(t.db.knex, doc))?.row_count, '40', 'every row merged exactly once');
  assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc), seedNote);
});

test('a document removed during a compaction’s merge stays removed', async ({ t }) => {
  const history = editHistory(seed + 2, 10);
  const doc = freshDoc();
  await appendAll(t.db.knex, doc, history.updates);
  const gated = gatedMerge();
  const compaction = createDocStore({ knex: t.db.knex, merge: gated.merge }).compact(doc);
  await gated.started;
  const store = createDocStore({ knex: t.db.knex });
  await whileMerging(gated, () => store.remove(doc));
  assert.is((await compaction).mergedRows, 0);
  assert.equal(await store.load(doc), []);
  assert.is(await snapshotRow(t.db.knex, doc), undefined);
});

test.run();
