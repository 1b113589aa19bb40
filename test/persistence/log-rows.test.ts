/**
 * Merged log rows (persistence/log-rows.ts): with `mergeRows`, one commit writes each document's
 * small updates as one row, which says everything they said; large groups and keyed batches keep a
 * row per update.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { DEFAULT_MERGE_LIMITS, mergedRows, type LogRow } from '../../persistence/log-rows.ts';
import { createUpdateLog, type CommitInfo } from '../../persistence/update-log.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

/** `count` edits of one Y.Doc, each update as Yjs emitted it, and the document's final state. */
function edits(count: number, clientID: number, valueBytes = 8): { updates: Uint8Array[]; state: unknown } {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  const map = doc.getMap('annotations');
  for (let i = 0; i < count; i++) {
    map.set(`a${i % 5}`, 'x'.repeat(valueBytes) + i);
    if (i % 7 === 6) map.delete(`a${i % 5}`);
  }
  return { updates, state: map.toJSON() };
}

function applied(updates: readonly Uint8Array[]): unknown {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc.getMap('annotations').toJSON();
}

const rows = suite('merged log rows');

rows('a document’s updates become one row where its first stood, saying what they all said', () => {
  const a = edits(12, 1);
  const b = edits(5, 2);
  const batch: LogRow[] = [
    { docName: 'a', update: a.updates[0]! },
    { docName: 'b', update: b.updates[0]! },
    ...a.updates.slice(1).map((update) => ({ docName: 'a', update })),
    ...b.updates.slice(1).map((update) => ({ docName: 'b', update })),
  ];
  const out = mergedRows(batch);
  assert.equal(
    out.map((row) => row.docName),
    ['a', 'b'],
  );
  assert.equal(applied([out[0]!.update]), a.state);
  assert.equal(applied([out[1]!.update]), b.state);
});

rows('an update of bytesPerRow or more keeps its own row; one update per document is left as it came', () => {
  const small = edits(3, 1);
  const large = edits(2, 2, 5000);
  const one = edits(1, 3);
  const limits = { ...DEFAULT_MERGE_LIMITS, bytesPerRow: 4096 };
  const batch: LogRow[] = [
    { docName: 'small', update: small.updates[0]! },
    ...large.updates.map((update) => ({ docName: 'large', update })),
    { docName: 'one', update: one.updates[0]! },
    ...small.updates.slice(1).map((update) => ({ docName: 'small', update })),
  ];
  const out = mergedRows(batch, limits);
  assert.equal(
    out.map((row) => row.docName),
    ['small', 'large', 'large', 'one'],
  );
  assert.equal(applied(out.filter((row) => row.docName === 'large').map((row) => row.update)), large.state);
  assert.equal(applied(out.filter((row) => row.docName === 'small').map((row) => row.update)), small.state);
  assert.is(out[3]!.update, one.updates[0], 'not re-encoded');
});

rows('merging is bounded: updatesPerRow per row, updatesPerBatch over the batch, the rest a row each, in order', () => {
  const { updates, state } = edits(40, 1);
  const batch = updates.map((update) => ({ docName: 'doc', update }));
  const out = mergedRows(batch, { updatesPerRow: 10, bytesPerRow: 64 * 1024, updatesPerBatch: 25 });
  // 10 + 10 + 5 merged (the budget ends inside the third row), then one row per update.
  assert.is(out.length, 3 + (updates.length - 25));
  assert.equal(applied(out.map((row) => row.update)), state);
  for (let i = 3; i < out.length; i++) assert.is(out[i]!.update, updates[22 + i], `row ${i} is update ${22 + i} as it came`);

  // bytesPerRow: two updates of ~1 500 bytes share a row under 4 096, a third starts the next.
  const wide = edits(6, 2, 1500);
  const byBytes = mergedRows(
    wide.updates.map((update) => ({ docName: 'wide', update })),
    { updatesPerRow: 100, bytesPerRow: 4096, updatesPerBatch: 2000 },
  );
  assert.is(byBytes.length, Math.ceil(wide.updates.length / 2));
  assert.equal(applied(byBytes.map((row) => row.update)), wide.state);
});

rows('updates the merge cannot read keep a row each, as they came, rather than failing the commit', () => {
  const good = edits(2, 1);
  const unreadable = [new Uint8Array([1, 2, 3]), new Uint8Array([5])];
  const batch: LogRow[] = [...unreadable.map((update) => ({ docName: 'odd', update })), ...good.updates.map((update) => ({ docName: 'good', update }))];
  const out = mergedRows(batch);
  assert.equal(
    out.map((row) => row.docName),
    ['odd', 'odd', 'good'],
  );
  assert.is(out[0]!.update, unreadable[0]);
  assert.is(out[1]!.update, unreadable[1]);
  assert.equal(applied([out[2]!.update]), good.state);
});

rows.run();

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase }>(`update log with merged rows (${kind})`);
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
  });
  test.after(async (ctx) => {
    await ctx.t.cleanup();
  });

  test('one commit writes a row per document, and the rows load as every update applied', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, mergeRows: true, onCommit: (info) => commits.push(info) });
    const a = edits(30, 11);
    const b = edits(9, 12);
    const names = [`session:merged-a-${process.pid}`, `session:merged-b-${process.pid}`] as const;
    const appends = [...a.updates.map((u) => log.append(names[0], u)), ...b.updates.map((u) => log.append(names[1], u))];
    assert.is(log.pending(names[0]), a.updates.length);
    await log.flush();
    await Promise.all(appends);
    assert.is(log.pending(names[0]), 0);
    assert.equal(
      commits.map((c) => c.rows),
      [2],
    );
    for (const [name, { state }] of [
      [names[0], a],
      [names[1], b],
    ] as const) {
      const stored = await t.db.knex('yjs_updates').select('update').where({ doc_name: name }).orderBy('seq');
      assert.is(stored.length, 1, `${name}: one row`);
      assert.equal(applied(stored.map((row: { update: Uint8Array }) => row.update)), state);
    }
    await log.close();
  });

  test('a batch with keys keeps one row per update, for every key to be found', async ({ t }) => {
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, mergeRows: true });
    const name = `session:merged-keyed-${process.pid}`;
    const { updates, state } = edits(6, 13);
    const appends = updates.map((u, i) => log.append(name, u, `writer-${process.pid}:${i}`));
    await log.flush();
    await Promise.all(appends);
    const stored = await t.db.knex('yjs_updates').select('update', 'update_key').where({ doc_name: name }).orderBy('seq');
    assert.is(stored.length, updates.length);
    assert.equal(applied(stored.map((row: { update: Uint8Array }) => row.update)), state);
    await log.close();
  });

  test.run();
}
