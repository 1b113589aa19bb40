/**
 * The group-committed update log: one statement per tick for every document (an INSERT, or a
 * binary COPY for a large batch on Postgres), a caller's promise
 * resolving only once its row is readable, arrival order kept, real failures retried without
 * losing anything, and close() flushing — or, when it cannot, rejecting instead of lying.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Knex } from 'knex';
import { createUpdateLog, UpdateLogClosedError, type CommitInfo } from '../../persistence/update-log.ts';
import type { Logger } from '../../shared/logger.ts';
import { databaseKinds, openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';

/** A logger that keeps what it is told, to wait for "commit failed" without sleeping. */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const keep = () => {};
  return { debug: keep, info: keep, warn: keep, error: (_obj, msg) => errors.push(msg ?? ''), errors };
}

async function storedRows(knex: Knex, docName: string): Promise<number[][]> {
  const rows = await knex('yjs_updates').select('update').where({ doc_name: docName }).orderBy('seq');
  return rows.map((row: { update: Uint8Array }) => [...row.update]);
}

/** Makes every INSERT fail for real until `restore()`: the table is not where the log looks. */
async function breakTable(knex: Knex): Promise<{ restore(): Promise<void> }> {
  await knex.raw('alter table yjs_updates rename to yjs_updates_away');
  return { restore: () => knex.raw('alter table yjs_updates_away rename to yjs_updates').then(() => {}) };
}

/** Tracks whether a promise settled yet, synchronously readable. */
function track(promise: Promise<void>): { settled: () => boolean } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled };
}

let docCounter = 0;
const freshDoc = () => `session:log-${process.pid}-${++docCounter}`;

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase }>(`update log (${kind})`);

  // One database per suite (a PGlite start takes seconds); every test uses its own document names.
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
  });
  test.after(async (ctx) => {
    await ctx.t.cleanup();
  });

  test('updates to many documents appended together are written by one INSERT', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, onCommit: (info) => commits.push(info) });
    const docs = [freshDoc(), freshDoc(), freshDoc()];
    const appends: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) appends.push(log.append(docs[i % 3]!, new Uint8Array([i % 3, i >> 8, i & 0xff])));
    await Promise.all(appends);
    assert.is(commits.length, 1, 'one commit');
    assert.is(commits[0]!.rows, 300);
    assert.is(commits[0]!.bytes, 900);
    for (const [d, docName] of docs.entries()) {
      const expected = Array.from({ length: 100 }, (_, k) => 3 * k + d).map((i) => [d, i >> 8, i & 0xff]);
      assert.equal(await storedRows(t.db.knex, docName), expected, `${docName} in append order`);
    }
    await log.close();
  });

  test('an append resolves only once its row is readable; pending counts it until then', async ({ t }) => {
    // An interval no test outlives: nothing commits until flush() asks.
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000 });
    const doc = freshDoc();
    const other = freshDoc();
    const append = log.append(doc, new Uint8Array([7]));
    const state = track(append);
    const otherAppend = log.append(other, new Uint8Array([8]));
    assert.is(log.pending(doc), 1);
    assert.is(log.pending(other), 1);
    assert.equal(await storedRows(t.db.knex, doc), [], 'not written yet');
    assert.is(state.settled(), false, 'not resolved before it is written');

    await log.flush();
    assert.is(state.settled(), true, 'flush resolved it');
    await Promise.all([append, otherAppend]);
    assert.equal(await storedRows(t.db.knex, doc), [[7]]);
    assert.is(log.pending(doc), 0);
    assert.is(log.pending(other), 0);
    await log.close();
  });

  test('a keyed update is stored once: the same key appended again, in the same INSERT or a later one, is skipped', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    const key = `${doc}-writer:1`;
    // Unkeyed rows share the INSERT and are never skipped, whatever their bytes.
    const first = [log.append(doc, new Uint8Array([1]), key), log.append(doc, new Uint8Array([1]), key), log.append(doc, new Uint8Array([2])), log.append(doc, new Uint8Array([2]))];
    await log.flush();
    await Promise.all(first);
    // The process that stores it in its sender's place, later: resolves as stored, writes nothing.
    const again = log.append(doc, new Uint8Array([1]), key);
    await log.flush();
    await again;
    assert.equal(await storedRows(t.db.knex, doc), [[1], [2], [2]]);
    assert.equal(
      commits.map((c) => [c.rows, c.skipped]),
      [
        [4, 1],
        [1, 1],
      ],
    );
    await log.close();
  });

  test('a keyed batch of 32 kB or more (by way of a COPY on Postgres) skips stored keys the same way, in order', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, hurryBytes: 1 << 30, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    const big = (fill: number): Uint8Array => new Uint8Array(20_000).fill(fill);
    const [k1, k2] = [`${doc}-writer:1`, `${doc}-writer:2`];
    // Stored first, on its own (flush: under hurryBytes, it would wait for the 60 s interval).
    await Promise.all([log.append(doc, big(1), k1), log.flush()]);
    const batch = [log.append(doc, big(1), k1), log.append(doc, big(2), k2), log.append(doc, big(2), k2), log.append(doc, big(3)), log.append(doc, new Uint8Array([4]))];
    await log.flush();
    await Promise.all(batch);
    assert.equal((await storedRows(t.db.knex, doc)).map((row) => [row.length, row[0]]), [[20_000, 1], [20_000, 2], [20_000, 3], [1, 4]]);
    assert.equal(commits.map((c) => [c.rows, c.skipped]), [[1, 0], [5, 2]]);
    await log.close();
  });

  test('a keyed update of 32 kB or more committed alone (binary on PGlite, a COPY on Postgres) is stored once too', async ({ t }) => {
    const commits: CommitInfo[] = [];
    // Committed at once, each: 40 kB is over hurryBytes here, and the interval is one no test outlives.
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, hurryBytes: 32 * 1024, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    const key = `${doc}-import:1`;
    const big = new Uint8Array(40_000).map((_, k) => k % 251);
    await log.append(doc, big, key);
    await log.append(doc, big, key);
    await log.append(doc, big);
    const rows = await storedRows(t.db.knex, doc);
    assert.equal(rows.map((row) => row.length), [40_000, 40_000]);
    assert.equal(rows[0]!.slice(0, 300), [...big.subarray(0, 300)]);
    assert.equal(commits.map((c) => [c.rows, c.skipped]), [[1, 0], [1, 1], [1, 0]]);
    await log.close();
  });

  test('a keyed row compacted away is stored again when its key comes back (harmless: Yjs applies an update twice as once)', async ({ t }) => {
    const log = createUpdateLog({ knex: t.db.knex });
    const doc = freshDoc();
    const key = `${doc}-writer:7`;
    await log.append(doc, new Uint8Array([7]), key);
    // What compaction does (persistence/doc-store.ts): the merged rows are deleted by seq.
    await t.db.knex('yjs_updates').where({ doc_name: doc }).delete();
    await log.append(doc, new Uint8Array([7]), key);
    assert.equal(await storedRows(t.db.knex, doc), [[7]]);
    await log.close();
  });

  test('every byte value, an empty update and a view into a larger buffer are stored exactly', async ({ t }) => {
    const log = createUpdateLog({ knex: t.db.knex });
    const doc = freshDoc();
    const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff);
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    await Promise.all([log.append(doc, all), log.append(doc, new Uint8Array(0)), log.append(doc, backing.subarray(2, 5))]);
    assert.equal(await storedRows(t.db.knex, doc), [[...all], [], [1, 2, 3]]);
    await log.close();
  });

  test('documents named in any script, with quotes, braces and backslashes, are stored under their own names in one INSERT', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, onCommit: (info) => commits.push(info) });
    const base = freshDoc();
    const names = [`${base}-ünïcødé ✓ 注釈`, `${base}-it's "quoted" {a,b} \\ NULL`, `${base}-`];
    const appended = Promise.all([...names.map((name, i) => log.append(name, new Uint8Array([i]))), log.append(names[1]!, new Uint8Array([7]), `${base}-key`)]);
    // Flushed, not awaited alone: with that interval the appends would resolve a minute later.
    await log.flush();
    await appended;
    assert.equal(commits.length, 1, 'one INSERT');
    assert.equal(await storedRows(t.db.knex, names[0]!), [[0]]);
    assert.equal(await storedRows(t.db.knex, names[1]!), [[1], [7]]);
    assert.equal(await storedRows(t.db.knex, names[2]!), [[2]]);
    const keys = await t.db.knex('yjs_updates').select('update_key').where({ doc_name: names[1] }).orderBy('seq');
    assert.equal(keys.map((row: { update_key: string | null }) => row.update_key), [null, `${base}-key`]);
    await log.close();
  });

  test('a batch of 32 kB or more (a binary COPY on Postgres) stores every update exactly, in append order', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, onCommit: (info) => commits.push(info) });
    const docs = [freshDoc(), freshDoc()];
    const backing = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff);
    const updates = [backing.subarray(5, 40_005), new Uint8Array(0), Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), backing.subarray(1, 20_001)];
    await Promise.all(updates.map((update, i) => log.append(docs[i % 2]!, update)));
    assert.equal(commits.map((c) => c.rows), [4], 'one commit');
    assert.equal(await storedRows(t.db.knex, docs[0]!), [[...updates[0]!], [...updates[2]!]]);
    assert.equal(await storedRows(t.db.knex, docs[1]!), [[...updates[1]!], [...updates[3]!]]);
    await log.close();
  });

  test('a lone update of 32 kB or more (bound as bytes on PGlite, a COPY on Postgres) is stored exactly, and retried after a failure', async ({ t }) => {
    const logger = recordingLogger();
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 5, maxRetryDelayMs: 20, logger });
    const doc = freshDoc();
    const backing = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 13) & 0xff);
    const lone = backing.subarray(3, 40_003);
    const broken = await breakTable(t.db.knex);
    let restored = false;
    try {
      const appended = log.append(doc, lone);
      await waitFor(() => logger.errors.length >= 2, { message: 'the failed commit was not retried' });
      assert.is(log.pending(doc), 1);
      await broken.restore();
      restored = true;
      await appended;
    } finally {
      if (!restored) await broken.restore();
    }
    await log.append(doc, new Uint8Array([8]));
    assert.equal(await storedRows(t.db.knex, doc), [[...lone], [8]]);
    await log.close();
  });

  test('a large update is committed without waiting for company, with what queued before it', async ({ t }) => {
    const commits: CommitInfo[] = [];
    // An interval no test outlives: only the large update's size can bring the commit forward.
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, hurryBytes: 1024, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    const small = track(log.append(doc, new Uint8Array([1])));
    const large = track(log.append(doc, new Uint8Array(1024).fill(2)));
    await waitFor(() => large.settled(), { message: 'the large update waited for the interval' });
    assert.ok(small.settled(), 'the update queued before it shared its INSERT');
    assert.equal(
      commits.map((c) => c.rows),
      [2],
    );
    const after = track(log.append(doc, new Uint8Array([3])));
    assert.is(after.settled(), false, 'a small update still waits for company');
    assert.is(log.pending(doc), 1);
    await log.close();
    assert.equal((await storedRows(t.db.knex, doc)).map((row) => row.length), [1, 1024, 1]);
  });

  test('an awaited update (a REST write) is committed without waiting for company, with what queued before it', async ({ t }) => {
    const commits: CommitInfo[] = [];
    // An interval no test outlives: only being awaited can bring the commit forward.
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    const socket = track(log.append(doc, new Uint8Array([1])));
    const rest = track(log.append(doc, new Uint8Array([2]), undefined, true));
    await waitFor(() => rest.settled(), { message: 'the awaited update waited for the interval' });
    assert.ok(socket.settled(), 'the update queued before it shared its INSERT');
    assert.equal(
      commits.map((c) => c.rows),
      [2],
    );
    const after = track(log.append(doc, new Uint8Array([3])));
    assert.is(after.settled(), false, 'an update nobody awaits still waits for company');
    assert.is(log.pending(doc), 1);
    await log.close();
    assert.equal(await storedRows(t.db.knex, doc), [[1], [2], [3]]);
  });

  test('awaited updates that keep coming share INSERTs at least awaitedGapMs apart', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, awaitedGapMs: 200, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    await log.append(doc, new Uint8Array([1]), undefined, true);
    // Within the gap of that INSERT, in turns of their own: they wait for its end, together.
    const second = log.append(doc, new Uint8Array([2]), undefined, true);
    await new Promise((resolve) => setImmediate(resolve));
    const third = log.append(doc, new Uint8Array([3]), undefined, true);
    await Promise.all([second, third]);
    assert.equal(
      commits.map((c) => c.rows),
      [1, 2],
    );
    await log.close();
  });

  test('a queue longer than maxBatchRows is written in consecutive INSERTs, in order', async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, maxBatchRows: 10, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    await Promise.all(Array.from({ length: 25 }, (_, i) => log.append(doc, new Uint8Array([i]))));
    assert.equal(
      commits.map((c) => c.rows),
      [10, 10, 5],
    );
    assert.equal(await storedRows(t.db.knex, doc), Array.from({ length: 25 }, (_, i) => [i]));
    await log.close();
  });

  test('a queue of more bytes than maxBatchBytes is written in consecutive INSERTs, back to back, a longer update alone', async ({ t }) => {
    const commits: CommitInfo[] = [];
    // An interval no test outlives: once the flush has taken the first batch, only what that batch
    // left behind can bring the next INSERT forward.
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000, maxBatchBytes: 2500, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    const sizes = [1000, 1000, 1000, 4000, 1000, 1000];
    const first = log.append(doc, new Uint8Array(sizes[0]!).fill(0));
    const flushed = log.flush();
    const rest = sizes.slice(1).map((size, i) => track(log.append(doc, new Uint8Array(size).fill(i + 1))));
    try {
      await Promise.all([first, flushed]);
      await waitFor(() => rest.every((r) => r.settled()), { message: 'the rest waited for the interval' });
    } finally {
      await log.close();
    }
    assert.equal(
      commits.map((c) => c.bytes),
      [2000, 1000, 4000, 2000],
    );
    assert.equal(
      (await storedRows(t.db.knex, doc)).map((row) => [row.length, row[0]]),
      sizes.map((size, i) => [size, i]),
    );
  });

  test(`a burst is written in INSERTs of ${kind === 'pglite' ? 'at most 512 KiB of updates (statement-size.ts)' : 'up to 32 MiB'}`, async ({ t }) => {
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({ knex: t.db.knex, onCommit: (info) => commits.push(info) });
    const doc = freshDoc();
    await Promise.all(Array.from({ length: 12 }, (_, i) => log.append(doc, new Uint8Array(100 * 1024).fill(i))));
    await log.close();
    assert.equal(
      commits.map((c) => c.rows),
      kind === 'pglite' ? [5, 5, 2] : [12],
    );
    assert.equal((await storedRows(t.db.knex, doc)).map((row) => row[0]), Array.from({ length: 12 }, (_, i) => i));
  });

  test('flush and close are idempotent; close flushes; appending after close is refused', async ({ t }) => {
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 60_000 });
    await log.flush(); // nothing queued
    const doc = freshDoc();
    const append = log.append(doc, new Uint8Array([1]));
    await Promise.all([log.flush(), log.flush()]);
    const late = log.append(doc, new Uint8Array([2]));
    const first = log.close();
    assert.is(log.close(), first, 'the same close');
    await first;
    await Promise.all([append, late]);
    assert.equal(await storedRows(t.db.knex, doc), [[1], [2]]);
    await log.flush();
    const refused = await log.append(doc, new Uint8Array([3])).then(
      () => null,
      (err: unknown) => err,
    );
    assert.instance(refused, UpdateLogClosedError);
  });

  test('a failing INSERT is retried until it commits, losing and reordering nothing', async ({ t }) => {
    const logger = recordingLogger();
    const commits: CommitInfo[] = [];
    const log = createUpdateLog({
      knex: t.db.knex,
      intervalMs: 5,
      maxRetryDelayMs: 20,
      logger,
      onCommit: (info) => commits.push(info),
    });
    const doc = freshDoc();
    const broken = await breakTable(t.db.knex);
    let restored = false;
    try {
      const first = [log.append(doc, new Uint8Array([1])), log.append(doc, new Uint8Array([2]))];
      const states = first.map(track);
      await waitFor(() => logger.errors.length >= 2, { message: 'the failed commit was not retried' });
      const later = log.append(doc, new Uint8Array([3]));
      assert.ok(
        states.every((s) => !s.settled()),
        'callers keep waiting while the commit fails',
      );
      assert.is(log.pending(doc), 3);
      await broken.restore();
      restored = true;
      await Promise.all([...first, later]);
    } finally {
      if (!restored) await broken.restore();
    }
    assert.equal(await storedRows(t.db.knex, doc), [[1], [2], [3]]);
    assert.is(
      commits.reduce((sum, c) => sum + c.rows, 0),
      3,
    );
    assert.is(log.pending(doc), 0);
    await log.close();
  });

  test('close gives up on a database that keeps failing: appends and close reject, typed', async ({ t }) => {
    const log = createUpdateLog({ knex: t.db.knex, intervalMs: 5, maxRetryDelayMs: 20, closeTimeoutMs: 200 });
    const doc = freshDoc();
    const broken = await breakTable(t.db.knex);
    try {
      const append = log.append(doc, new Uint8Array([1])).then(
        () => null,
        (err: unknown) => err,
      );
      const closeErr = await log.close().then(
        () => null,
        (err: unknown) => err,
      );
      assert.instance(closeErr, UpdateLogClosedError);
      assert.is((closeErr as UpdateLogClosedError).lostUpdates, 1);
      assert.instance(await append, UpdateLogClosedError);
      assert.is(log.pending(doc), 0);
    } finally {
      await broken.restore();
    }
  });

  test.run();
}
