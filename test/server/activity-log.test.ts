/**
 * The activity log's presence notes over the real events repository and migrations: written in
 * batches, oldest first; a leave taken back by the same client before it was written leaves no
 * note, while a real leave, a join after a written leave, or another client's join stays.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';
import { createEventRepository } from '../../persistence/repositories/events.ts';
import { createActivityLog, type ActivityLog } from '../../server/followers/activity-log.ts';
import { silentLogger } from '../../shared/logger.ts';

interface Ctx {
  t: TestDatabase;
  log: ActivityLog;
}

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`activity log presence notes (${kind})`);
  test.before.each(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    await ctx.t.db.knex('projects').insert({ id: 'p1', name: 'P', description: '', labels: '[]', criteria: '{}' });
    // An interval no test waits out: each batch is written by an explicit flush.
    ctx.log = createActivityLog({ events: createEventRepository({ knex: ctx.t.db.knex }), logger: silentLogger, flushMs: 60_000 });
  });
  test.after.each(async (ctx) => {
    await ctx.log.close();
    await ctx.t.cleanup();
  });

  const notes = async (log: ActivityLog) => (await log.recent('p1')).map((e) => `${e.type} ${e.user ?? '?'} ${(e.detail as { clientId: number }).clientId}`);

  test('a client that leaves and is back under its id before the leave is written leaves no note; the others stay', async ({ log }) => {
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Ada', clientId: 7 });
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Bob', clientId: 8 });
    await log.flush();
    // Ada reconnects (disconnect, connect); Bob leaves for good; Cy joins and leaves at once.
    log.presence('p1', { type: 'left', sessionId: 's1', user: 'Ada', clientId: 7 });
    log.presence('p1', { type: 'left', sessionId: 's1', user: 'Bob', clientId: 8 });
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Ada', clientId: 7 });
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Cy', clientId: 9 });
    log.presence('p1', { type: 'left', sessionId: 's1', user: 'Cy', clientId: 9 });
    // The same client id in another session is another presence: its leave is not taken back.
    log.presence('p1', { type: 'left', sessionId: 's2', user: 'Di', clientId: 7 });
    assert.equal(await notes(log), ['joined Ada 7', 'joined Bob 8', 'left Bob 8', 'joined Cy 9', 'left Cy 9', 'left Di 7']);
  });

  test('a leave already written stays, and the return is a join', async ({ log }) => {
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Ada', clientId: 7 });
    log.presence('p1', { type: 'left', sessionId: 's1', user: 'Ada', clientId: 7 });
    await log.flush();
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Ada', clientId: 7 });
    await log.flush();
    // A batch that is all taken back writes nothing and breaks nothing.
    log.presence('p1', { type: 'left', sessionId: 's1', user: 'Ada', clientId: 7 });
    log.presence('p1', { type: 'joined', sessionId: 's1', user: 'Ada', clientId: 7 });
    assert.equal(await notes(log), ['joined Ada 7', 'left Ada 7', 'joined Ada 7']);
  });

  test.run();
}
