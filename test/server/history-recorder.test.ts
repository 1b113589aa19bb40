/**
 * The history recorder: a drag is one entry, two authors are two, a deletion closes what was
 * open, and what is recorded reaches the real table.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openTestDatabase, type TestDatabase } from '../../tools/databases.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createHistoryRepository, type HistoryRepository, type NewHistoryEntry } from '../../persistence/repositories/annotation-history.ts';
import { createHistoryRecorder, type HistoryRecorder } from '../../server/followers/history-recorder.ts';
import type { EntityChange } from '../../docs-model/field-changes.ts';

interface Ctx {
  t: TestDatabase;
  history: HistoryRepository;
  recorder: HistoryRecorder;
}

const move = (id: string, from: number, to: number): EntityChange => ({
  entity: 'annotation',
  id,
  kind: 'changed',
  fields: { bbox: { from: [from, 0, 5, 5], to: [to, 0, 5, 5] } },
  updatedBy: null,
});

/** A box created by a REST write or an import: one history entry each. */
const created = (id: string): EntityChange => ({ entity: 'annotation', id, kind: 'created', fields: { bbox: { from: null, to: [0, 0, 5, 5] } }, updatedBy: null });

/** A recorder whose repository writes `entriesPerAppend` per append, each after `before` resolves (it may throw). */
function recorderOver(history: HistoryRepository, entriesPerAppend: number, before: (entries: readonly NewHistoryEntry[]) => Promise<void> | void): HistoryRecorder {
  return createHistoryRecorder({
    logger: silentLogger,
    history: {
      ...history,
      entriesPerAppend,
      append: async (entries) => {
        await before(entries);
        await history.append(entries);
      },
    },
  });
}

/** The annotation ids of a session's stored history, in the order written. */
async function storedIds(t: TestDatabase, sessionId: string): Promise<string[]> {
  const rows = await t.db.knex('annotation_history').where({ session_id: sessionId }).orderBy('id').select('annotation_id');
  return rows.map((r: { annotation_id: string }) => r.annotation_id);
}

const test = suite<Ctx>('history recorder');
test.before.each(async (ctx) => {
  ctx.t = await openTestDatabase('pglite');
  ctx.history = createHistoryRepository({ knex: ctx.t.db.knex });
  ctx.recorder = createHistoryRecorder({ history: ctx.history, logger: silentLogger });
});
test.after.each(async (ctx) => {
  await ctx.recorder.close();
  await ctx.t.cleanup();
});

test('a drag of one box within a second is one entry from the first position to the last', async ({ recorder, history }) => {
  const t0 = 1_800_000_000_000;
  for (let i = 0; i < 30; i++) recorder.record('s1', [move('a1', i, i + 1)], { by: 'ada', origin: 'socket' }, t0 + i * 20);
  recorder.record('s1', [move('a1', 30, 31)], { by: 'ada', origin: 'socket' }, t0 + 1500);
  await recorder.flush();
  const entries = (await history.list('s1', { limit: 10 })).items;
  assert.equal(entries.map((e) => e.fields.bbox), [
    { from: [0, 0, 5, 5], to: [30, 0, 5, 5] },
    { from: [30, 0, 5, 5], to: [31, 0, 5, 5] },
  ]);
  assert.is(entries[0]!.at, new Date(t0).toISOString());
});

test('a move by one author and a relabel by another are two entries with their authors', async ({ recorder, history }) => {
  const t0 = 1_800_000_000_000;
  recorder.record('s1', [move('a1', 0, 3)], { by: 'ada', origin: 'socket' }, t0);
  recorder.record('s1', [{ entity: 'annotation', id: 'a1', kind: 'changed', fields: { label: { from: 'car', to: 'bus' } }, updatedBy: 'bob' }], { by: 'bob', origin: 'rest' }, t0 + 10);
  await recorder.flush();
  const entries = (await history.list('s1', { limit: 10, annotationId: 'a1' })).items;
  assert.equal(entries.map((e) => [e.by, e.origin, Object.keys(e.fields)]), [['ada', 'socket', ['bbox']], ['bob', 'rest', ['label']]]);
});

test('changes right after a creation fold into it; a deletion is an entry of its own', async ({ recorder, history }) => {
  const t0 = 1_800_000_000_000;
  recorder.record('s1', [{ entity: 'annotation', id: 'a1', kind: 'created', fields: { bbox: { from: null, to: [0, 0, 5, 5] } }, updatedBy: 'ada' }], { by: 'ada', origin: 'socket' }, t0);
  recorder.record('s1', [move('a1', 0, 4)], { by: 'ada', origin: 'socket' }, t0 + 100);
  recorder.record('s1', [{ entity: 'annotation', id: 'a1', kind: 'deleted', fields: {}, updatedBy: null }], { by: 'ada', origin: 'socket' }, t0 + 200);
  recorder.record('s1', [{ entity: 'track', id: 't1', kind: 'created', fields: {}, updatedBy: null }], { by: 'ada', origin: 'import' }, t0 + 300);
  await recorder.flush();
  const entries = (await history.list('s1', { limit: 10 })).items;
  assert.equal(entries.map((e) => [e.kind, e.annotationId, e.trackId]), [['created', 'a1', null], ['deleted', 'a1', null], ['created', null, 't1']]);
  assert.equal(entries[0]!.fields.bbox, { from: null, to: [4, 0, 5, 5] });
});

test('entries whose window closed are written without a flush', async ({ recorder, history }) => {
  recorder.record('s1', [move('a1', 0, 1)], { by: 'ada', origin: 'socket' }, Date.now() - 5000);
  recorder.record('s1', [move('a2', 0, 1)], { by: 'ada', origin: 'socket' });
  for (;;) {
    const { items } = await history.list('s1', { limit: 10 });
    if (items.length === 2) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
});

test('many entries are written as many per transaction as the repository says; a failed one is written again with the rest, none twice', async ({ t, history }) => {
  const calls: number[] = [];
  let failNext = 3;
  const recorder = recorderOver(history, 500, (entries) => {
    calls.push(entries.length);
    if (--failNext === 0) throw new Error('connection lost');
  });
  recorder.record('s2', Array.from({ length: 1_700 }, (_, i) => created(`b${i}`)), { by: 'ada', origin: 'rest' });
  const failed = await recorder.flush().then(
    () => null,
    (err: Error) => err.message,
  );
  assert.is(failed, 'connection lost');
  await recorder.flush();
  await recorder.close();
  assert.equal(calls, [500, 500, 500, 500, 200], 'the third failed and was written again first');
  assert.equal(await storedIds(t, 's2'), Array.from({ length: 1_700 }, (_, i) => `b${i}`), 'each once, in the order recorded');
});

test('two flushes at once write each entry once', async ({ t, history }) => {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const recorder = recorderOver(history, 100, () => gate);
  recorder.record('s4', Array.from({ length: 300 }, (_, i) => created(`d${i}`)), { by: 'ada', origin: 'rest' });
  // The second starts while the first's write waits: it must take the next entries, not the same.
  const both = Promise.all([recorder.flush(), recorder.flush()]);
  open();
  await both;
  await recorder.close();
  const ids = await storedIds(t, 's4');
  assert.is(ids.length, 300);
  assert.is(new Set(ids).size, 300, 'none twice');
});

test('on PGlite, a statement asked for during a large write goes before the write ends', async ({ t, recorder }) => {
  recorder.record('s3', Array.from({ length: 3_000 }, (_, i) => created(`c${i}`)), { by: 'ada', origin: 'rest' });
  const order: string[] = [];
  // Asked for once the write's first INSERT is sent: in one transaction, the whole write then held
  // PGlite's one connection and the select waited for all of it.
  let probed: Promise<unknown> | null = null;
  const onQuery = (query: { sql: string }) => {
    if (probed === null && query.sql.includes('insert into annotation_history')) {
      probed = t.db.knex.raw('select 1').then(() => order.push('select answered'));
    }
  };
  t.db.knex.on('query', onQuery);
  try {
    await recorder.flush().then(() => order.push('history written'));
  } finally {
    t.db.knex.off('query', onQuery);
  }
  assert.ok(probed, 'the write sent its INSERT');
  await probed;
  assert.equal(order, ['select answered', 'history written']);
});

test.run();
