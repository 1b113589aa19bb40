/**
 * Stored documents: load = snapshot + every remaining row rebuilds the document; compaction
 * merges exactly the rows it read and deletes exactly those — a row it did not see survives,
 * even one whose smaller seq commits late — and concurrent compactions leave a correct snapshot.
 * Edit histories are seeded (SEED=… replays a failure).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Knex } from 'knex';
import * as Y from 'yjs';
import { MergeTimeoutError } from '../../persistence/merge-worker.ts';
import { createDocStore, type DocStore } from '../../persistence/doc-store.ts';
import { MAX_BATCH } from '../../persistence/stored-reads.ts';
import { createUpdateLog } from '../../persistence/update-log.ts';
import { openDatabase } from '../../persistence/database.ts';
import { databaseKinds, openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';
import { contentOf, editHistory, pickSeed, rebuild } from './edits.ts';
import { appendAll, snapshotRow } from './stored-rows.ts';

const seed = pickSeed();
const seedNote = `(SEED=${seed})`;

async function seqs(knex: Knex, docName: string): Promise<string[]> {
  const rows = await knex('yjs_updates')
    .select(knex.raw('seq::text as seq'))
    .where({ doc_name: docName })
    .orderBy('seq');
  return rows.map((row: { seq: string }) => row.seq);
}

let docCounter = 0;
const freshDoc = () => `session:store-${process.pid}-${++docCounter}`;

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase; store: DocStore }>(`doc store (${kind})`);

  // One database per suite (a PGlite start takes seconds); every test uses its own document names.
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    ctx.store = createDocStore({ knex: ctx.t.db.knex });
  });
  test.after(async (ctx) => {
    await ctx.t.cleanup();
  });

  test('a document never stored loads as nothing', async ({ store }) => {
    const doc = freshDoc();
    assert.equal(await store.load(doc), []);
    assert.is(await store.logLength(doc), 0);
    assert.equal(await store.compact(doc), { mergedRows: 0, snapshotBytes: 0 });
  });

  test('load returns the snapshot, then every later row, and they rebuild the document', async ({ t, store }) => {
    const history = editHistory(seed, 120);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates.slice(0, 60));
    await store.compact(doc);
    await appendAll(t.db.knex, doc, history.updates.slice(60));

    const loaded = await store.load(doc);
    assert.is(loaded.length, 61, `snapshot + 60 rows ${seedNote}`);
    assert.equal(contentOf(rebuild(loaded)), contentOf(history.doc), `rebuilt document ${seedNote}`);
    assert.equal(contentOf(rebuild(loaded.slice(1))), contentOf(rebuild(history.updates.slice(60))), 'rows in seq order');
  });

  test('rows and snapshots come back byte for byte', async ({ t, store }) => {
    const history = editHistory(seed + 2, 30);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates.slice(0, 20));
    await store.compact(doc);
    await appendAll(t.db.knex, doc, history.updates.slice(20));
    const loaded = await store.load(doc);
    // The default merge is Y.mergeUpdates, so the snapshot is exactly its result.
    assert.equal([...loaded[0]!], [...Y.mergeUpdates(history.updates.slice(0, 20))], `snapshot bytes ${seedNote}`);
    assert.equal(
      loaded.slice(1).map((row) => [...row]),
      history.updates.slice(20).map((update) => [...update]),
      `row bytes ${seedNote}`,
    );
    assert.ok(loaded.every((bytes) => bytes.constructor === Uint8Array), 'plain Uint8Arrays');
  });

  test('200 documents loaded at once are read by a few statements, and each gets exactly its own state', async ({ t, store }) => {
    const docs = Array.from({ length: 200 }, () => freshDoc());
    const stored = docs.map((_, i) => {
      const doc = new Y.Doc();
      doc.getMap('m').set('i', i);
      return { doc, update: Y.encodeStateAsUpdate(doc) };
    });
    // Every third document compacted (a snapshot), every other one with a second row, some empty.
    await Promise.all(docs.map((name, i) => (i % 7 === 6 ? Promise.resolve() : appendAll(t.db.knex, name, [stored[i]!.update]))));
    for (let i = 0; i < docs.length; i += 3) if (i % 7 !== 6) await store.compact(docs[i]!);
    await Promise.all(docs.map((name, i) => {
      if (i % 2 === 0 || i % 7 === 6) return Promise.resolve();
      stored[i]!.doc.getMap('m').set('again', true);
      return appendAll(t.db.knex, name, [Y.encodeStateAsUpdate(stored[i]!.doc)]);
    }));

    const batches: number[] = [];
    const onQuery = (q: { sql: string; bindings?: unknown[] }) => {
      if (/yjs_snapshots/.test(q.sql)) batches.push((q.bindings?.[0] as string[]).length);
    };
    t.db.knex.on('query', onQuery);
    let loaded: Awaited<ReturnType<DocStore['loadMerged']>>[];
    try {
      loaded = await Promise.all(docs.map((name) => store.loadMerged(name)));
    } finally {
      t.db.knex.off('query', onQuery);
    }
    assert.ok(batches.length <= 16, `${batches.length} statements for 200 loads`);
    assert.is(Math.max(...batches), MAX_BATCH, `documents per statement: ${batches.join(' ')}`);
    loaded.forEach((merged, i) => {
      if (i % 7 === 6) return assert.is(merged.update, null, `document ${i} was never stored`);
      const doc = rebuild([merged.update!]);
      assert.is(doc.getMap('m').get('i'), i, `document ${i} has its own state`);
      assert.is(doc.getMap('m').get('again'), i % 2 === 1 ? true : undefined, `document ${i}'s later row`);
    });
  });

  test('compaction merges every row it read into the snapshot and deletes exactly those', async ({ t, store }) => {
    const history = editHistory(seed + 1, 40);
    const doc = freshDoc();
    const bystander = freshDoc();
    await appendAll(t.db.knex, doc, history.updates);
    await appendAll(t.db.knex, bystander, history.updates.slice(0, 3));
    const maxSeq = (await seqs(t.db.knex, doc)).at(-1);

    const result = await store.compact(doc);
    assert.is(result.mergedRows, 40);
    assert.is(await store.logLength(doc), 0);
    assert.is(await store.logLength(bystander), 3, 'other documents keep their rows');
    assert.equal(await snapshotRow(t.db.knex, doc), { last_seq: maxSeq, row_count: '40' });

    const loaded = await store.load(doc);
    assert.is(loaded.length, 1);
    assert.is(loaded[0]!.byteLength, result.snapshotBytes);
    assert.equal(contentOf(rebuild(loaded)), contentOf(history.doc), `snapshot content ${seedNote}`);
    const again = await store.compact(doc);
    assert.equal(again, { mergedRows: 0, snapshotBytes: result.snapshotBytes }, 'nothing left to merge');
  });

  test('a row written inside the compaction after its read is kept, not deleted', async ({ t }) => {
    const history = editHistory(seed + 2, 30);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates.slice(0, 29));
    const late = history.updates[29]!;
    const store = createDocStore({
      knex: t.db.knex,
      onAfterRead: async ({ trx, rowsRead }) => {
        assert.is(rowsRead, 29);
        await trx('yjs_updates').insert({ doc_name: doc, update: Buffer.from(late) });
      },
    });
    assert.is((await store.compact(doc)).mergedRows, 29);
    assert.is(await store.logLength(doc), 1, 'the unseen row is still in the log');
    const loaded = await store.load(doc);
    assert.equal([...loaded[1]!], [...late]);
    assert.equal(contentOf(rebuild(loaded)), contentOf(history.doc), seedNote);
  });

  test('concurrent compactions of one document leave a correct snapshot and an empty log', async ({ t, store }) => {
    const history = editHistory(seed + 3, 90);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates.slice(0, 30));
    const log = createUpdateLog({ knex: t.db.knex });
    const writes = Promise.all(history.updates.slice(30).map((update) => log.append(doc, update)));
    const [first, second] = await Promise.all([store.compact(doc), store.compact(doc), writes]);
    await log.close();
    assert.ok(Math.max(first.mergedRows, second.mergedRows) >= 30, 'the first to lock merged the stored rows');
    await store.compact(doc); // whatever the log committed after both read
    assert.is(await store.logLength(doc), 0);
    const row = await snapshotRow(t.db.knex, doc);
    assert.is(row?.row_count, '90', 'every row merged exactly once');
    assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc), seedNote);
  });

  test('compactFrom writes the given state as the snapshot and deletes every row, reading none back', async ({ t, store }) => {
    const history = editHistory(seed + 5, 20);
    const [doc, bystander] = [freshDoc(), freshDoc()];
    await appendAll(t.db.knex, doc, history.updates);
    await appendAll(t.db.knex, bystander, history.updates.slice(0, 2));
    const maxSeq = (await seqs(t.db.knex, doc)).at(-1);
    const state = Y.encodeStateAsUpdate(history.doc);
    assert.equal(await store.compactFrom(doc, state), { mergedRows: 20, snapshotBytes: state.byteLength });
    assert.is(await store.logLength(doc), 0);
    assert.is(await store.logLength(bystander), 2, 'other documents keep their rows');
    assert.equal(await snapshotRow(t.db.knex, doc), { last_seq: maxSeq, row_count: '20' });
    const loaded = await store.load(doc);
    assert.equal([...loaded[0]!], [...state], 'the state given, byte for byte');
    assert.equal(contentOf(rebuild(loaded)), contentOf(history.doc), seedNote);
  });

  test('compactFrom with no rows writes nothing: a document removed meanwhile stays removed', async ({ t, store }) => {
    const history = editHistory(seed + 6, 5);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates);
    await store.remove(doc);
    const state = Y.encodeStateAsUpdate(history.doc);
    assert.equal(await store.compactFrom(doc, state), { mergedRows: 0, snapshotBytes: state.byteLength });
    assert.equal(await store.load(doc), []);
  });

  test('remove deletes one document’s snapshot and log, nothing else', async ({ t, store }) => {
    const history = editHistory(seed + 4, 10);
    const [doc, kept] = [freshDoc(), freshDoc()];
    for (const name of [doc, kept]) {
      await appendAll(t.db.knex, name, history.updates.slice(0, 5));
      await store.compact(name);
      await appendAll(t.db.knex, name, history.updates.slice(5));
    }
    await store.remove(doc);
    assert.equal(await store.load(doc), []);
    assert.is(await store.logLength(doc), 0);
    assert.is((await store.load(kept)).length, 6);
  });

  test('compaction folds through the merge it was given', async ({ t }) => {
    const calls: number[] = [];
    const store = createDocStore({
      knex: t.db.knex,
      merge: async (updates) => {
        calls.push(updates.length);
        return Y.mergeUpdates(updates);
      },
    });
    const history = editHistory(seed + 5, 8);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates.slice(0, 4));
    await store.compact(doc);
    await appendAll(t.db.knex, doc, history.updates.slice(4));
    await store.compact(doc);
    assert.equal(calls, [4, 5], 'rows, then snapshot + rows');
    assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc));
  });

  test('a merge that outlives its budget only because the machine is slow sets nothing aside: it is tried again under a longer one', async ({ t }) => {
    const budgets: Array<number | undefined> = [];
    // Stands for a loaded machine: the first attempt under the pool's budget runs out of time.
    const store = createDocStore({
      knex: t.db.knex,
      merge: async (updates, budgetMs) => {
        budgets.push(budgetMs);
        if (budgetMs === undefined) throw new MergeTimeoutError(5000, updates.length);
        return Y.mergeUpdates(updates);
      },
    });
    const history = editHistory(seed + 7, 6);
    const doc = freshDoc();
    await appendAll(t.db.knex, doc, history.updates);
    const outcome = await store.compact(doc);
    assert.is(outcome.quarantinedRows ?? 0, 0);
    assert.equal(budgets, [undefined, 20_000]);
    assert.equal(await store.quarantined(doc), []);
    assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc));
  });

  if (kind === 'postgres') {
    test('a row whose smaller seq commits after the compaction read it survives (no high-water mark)', async ({ t, store }) => {
      const history = editHistory(seed + 6, 20);
      const doc = freshDoc();
      await appendAll(t.db.knex, doc, history.updates.slice(0, 18));
      // A writer takes its seq first but commits last, as concurrent writers on other connections can.
      const slow = await t.db.knex.transaction();
      const [taken] = await slow('yjs_updates')
        .insert({ doc_name: doc, update: Buffer.from(history.updates[18]!) })
        .returning<Array<{ seq: string }>>(t.db.knex.raw('seq::text as seq'));
      const lateSeq = taken!.seq;
      await appendAll(t.db.knex, doc, [history.updates[19]!]);

      const compacting = createDocStore({ knex: t.db.knex, onAfterRead: async () => void (await slow.commit()) });
      assert.is((await compacting.compact(doc)).mergedRows, 19);
      const row = await snapshotRow(t.db.knex, doc);
      assert.ok(BigInt(row!.last_seq) > BigInt(lateSeq), 'the snapshot covers a larger seq than the late row');
      assert.equal(await seqs(t.db.knex, doc), [lateSeq], 'the late row is kept');
      assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc), seedNote);
    });

    test('two processes compacting one document wait for each other and merge every row once', async ({ t, store }) => {
      const history = editHistory(seed + 7, 60);
      const doc = freshDoc();
      await appendAll(t.db.knex, doc, history.updates.slice(0, 40));
      const other = await openDatabase(t.config);
      try {
        const otherStore = createDocStore({ knex: other.knex });
        let second: Promise<{ mergedRows: number }> | undefined;
        const first = createDocStore({
          knex: t.db.knex,
          onAfterRead: async () => {
            // Rows the first compaction did not read, then a second process compacting meanwhile.
            await appendAll(other.knex, doc, history.updates.slice(40));
            second = otherStore.compact(doc);
            await waitFor(
              async () => {
                const waiting = await other.knex.raw<{ rows: Array<{ n: string }> }>(
                  `select count(*)::text as n from pg_locks where locktype = 'advisory' and not granted`,
                );
                return waiting.rows[0]!.n !== '0';
              },
              { message: 'the second compaction never waited for the advisory lock' },
            );
          },
        }).compact(doc);
        assert.is((await first).mergedRows, 40);
        assert.is((await second!).mergedRows, 20);
      } finally {
        await other.close();
      }
      assert.is(await store.logLength(doc), 0);
      assert.is((await snapshotRow(t.db.knex, doc))?.row_count, '60');
      assert.equal(contentOf(rebuild(await store.load(doc))), contentOf(history.doc), seedNote);
    });
  }

  test.run();
}
