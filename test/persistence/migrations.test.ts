/**
 * The migrations run up, all the way down (every `down` leaves nothing behind) and up again, on
 * each database kind; and processes starting together on one Postgres both end up migrated.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Knex } from 'knex';
import { migrateLatest, migrateRollbackAll } from '../../persistence/migrate.ts';
import { openDatabase } from '../../persistence/database.ts';
import { migrations } from '../../migrations/index.ts';
import * as updateLogKey from '../../migrations/20261206_0009_update_log_key.ts';
import * as detectionsRunTrigger from '../../migrations/20261207_0010_detections_run_trigger.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

/** knex's own bookkeeping, which rolling back does not remove. */
const bookkeeping = ['knex_migrations', 'knex_migrations_lock'];

async function tables(knex: Knex): Promise<string[]> {
  const result = await knex.raw<{ rows: Array<{ name: string }> }>(
    `select table_name as name from information_schema.tables
     where table_schema = current_schema() order by table_name`,
  );
  return result.rows.map((row) => row.name).filter((name) => !bookkeeping.includes(name));
}

/** The update log's indexes, as Postgres would recreate them. */
async function logIndexes(knex: Knex): Promise<string[]> {
  const result = await knex.raw<{ rows: Array<{ def: string }> }>(
    `select indexdef as def from pg_indexes where schemaname = current_schema() and tablename = 'yjs_updates' order by indexname`,
  );
  return result.rows.map((row) => row.def.replace(/ ON \S+yjs_updates /, ' ON yjs_updates '));
}

/** The foreign keys on `detections`, and the triggers on `test_runs`. */
async function detectionLinks(knex: Knex): Promise<{ keys: string[]; triggers: string[] }> {
  const keys = await knex.raw<{ rows: Array<{ name: string }> }>(
    `select conname as name from pg_constraint where contype = 'f' and conrelid = 'detections'::regclass order by conname`,
  );
  const triggers = await knex.raw<{ rows: Array<{ name: string }> }>(
    `select tgname as name from pg_trigger where not tgisinternal and tgrelid = 'test_runs'::regclass order by tgname`,
  );
  return { keys: keys.rows.map((row) => row.name), triggers: triggers.rows.map((row) => row.name) };
}

async function applied(knex: Knex): Promise<string[]> {
  const rows = await knex('knex_migrations').select('name').orderBy('id');
  return rows.map((row: { name: string }) => row.name);
}

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase }>(`migrations (${kind})`);

  // One database per suite (a PGlite start takes seconds); the tests run in order on it.
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind, { fresh: true });
  });
  test.after(async (ctx) => {
    await ctx.t.cleanup();
  });

  test('opening a database applies every migration, in the listed order', async ({ t }) => {
    assert.equal(await applied(t.db.knex), migrations.map((m) => m.name));
    const present = await tables(t.db.knex);
    assert.ok(present.includes('yjs_updates') && present.includes('yjs_snapshots'), present.join());
  });

  test('migrating again when up to date changes nothing', async ({ t }) => {
    await migrateLatest(t.db.knex);
    assert.equal(await applied(t.db.knex), migrations.map((m) => m.name));
  });

  test('rolling everything back leaves no table but knex bookkeeping, and up works again', async ({ t }) => {
    const migrated = await tables(t.db.knex);
    await migrateRollbackAll(t.db.knex);
    assert.equal(await tables(t.db.knex), []);
    assert.equal(await applied(t.db.knex), []);

    await migrateLatest(t.db.knex);
    assert.equal(await tables(t.db.knex), migrated);
    await t.db.knex.raw(`insert into yjs_updates (doc_name, "update") values ('d', '\\x01')`);
    const rows = await t.db.knex('yjs_updates').select('doc_name');
    assert.equal(rows, [{ doc_name: 'd' }]);
  });

  test('the update log is keyed by (doc_name, seq) alone, and rows stored under the old key are kept', async ({ t }) => {
    const { knex } = t.db;
    const keyed = await logIndexes(knex);
    assert.equal(keyed.length, 2, keyed.join('\n'));
    assert.match(keyed[0] ?? '', /UNIQUE INDEX yjs_updates_pkey ON yjs_updates USING btree \(doc_name, seq\)/);
    assert.match(keyed[1] ?? '', /UNIQUE INDEX yjs_updates_update_key .* WHERE \(update_key IS NOT NULL\)/);

    await updateLogKey.down(knex);
    const before = await logIndexes(knex);
    assert.ok(before.some((def) => /yjs_updates_doc_name_seq ON yjs_updates USING btree \(doc_name, seq\)/.test(def)), before.join('\n'));
    assert.ok(before.some((def) => /yjs_updates_pkey ON yjs_updates USING btree \(seq\)/.test(def)), before.join('\n'));
    await knex.raw(`delete from yjs_updates`);
    await knex.raw(`insert into yjs_updates (doc_name, "update") values ('a', '\\x01'), ('b', '\\x02'), ('a', '\\x03')`);
    await updateLogKey.up(knex);
    assert.equal(await logIndexes(knex), keyed);
    const rows = await knex('yjs_updates').select('doc_name').orderBy([{ column: 'doc_name' }, { column: 'seq' }]);
    assert.equal(rows, [{ doc_name: 'a' }, { doc_name: 'a' }, { doc_name: 'b' }]);
  });

  test('detections leave with their run by a trigger, not a foreign key; down puts the key back and keeps the rows', async ({ t }) => {
    const { knex } = t.db;
    assert.equal(await detectionLinks(knex), { keys: [], triggers: ['test_runs_delete_detections'] });
    await knex.raw(`insert into projects (id, name) values ('mp', 'p')`);
    await knex.raw(`insert into videos (id, name, uri, width, height, fps, frame_count, duration_sec) values ('mv', 'v', 's3://v', 10, 10, 25, 10, 0.4)`);
    await knex.raw(`insert into sessions (id, project_id, video_id, name, doc_name, created_by) values ('ms', 'mp', 'mv', 's', 'session:ms', 'a')`);
    await knex.raw(`insert into test_runs (id, project_id, video_id, session_id, model_name, model_version, created_by) values ('mr', 'mp', 'mv', 'ms', 'm', '1', 'a')`);
    const insert = (run: string) => knex.raw(`insert into detections (run_id, frame, x, y, w, h, label, score) values (?, 0, 0, 0, 1, 1, 'car', 0.5)`, [run]);
    await insert('mr');

    await detectionsRunTrigger.down(knex);
    assert.equal(await detectionLinks(knex), { keys: ['detections_run_id_fkey'], triggers: [] });
    assert.equal((await knex('detections').where({ run_id: 'mr' }).count({ n: '*' }))[0]?.n, kind === 'postgres' ? '1' : 1);
    await insert('no-such-run').then(
      () => assert.unreachable('the key refuses a detection of no run'),
      (err: { code?: string }) => assert.is(err.code, '23503'),
    );

    await detectionsRunTrigger.up(knex);
    assert.equal(await detectionLinks(knex), { keys: [], triggers: ['test_runs_delete_detections'] });
    await knex('projects').where({ id: 'mp' }).del();
    assert.equal(await knex('detections').where({ run_id: 'mr' }).select('run_id'), []);
    await knex('videos').where({ id: 'mv' }).del();
  });

  if (kind === 'postgres') {
    test('processes starting together on one fresh schema all end up migrated', async ({ t }) => {
      // A schema nobody migrated yet: every process races to create knex's tables and take its lock.
      const schema = `${t.config.schema}_race`;
      const config = { ...t.config, schema };
      const opened = await Promise.all([1, 2, 3, 4, 5, 6].map(() => openDatabase(config)));
      try {
        for (const db of opened) assert.equal(await applied(db.knex), migrations.map((m) => m.name));
      } finally {
        await Promise.all(opened.map((db) => db.close()));
        await t.db.knex.raw('drop schema if exists ?? cascade', [schema]);
      }
    });

    test('a schema whose migration lock table holds two rows (an old start race) is repaired and migrated', async ({ t }) => {
      const schema = `${t.config.schema}_twolocks`;
      const config = { ...t.config, schema };
      await t.db.knex.raw('create schema ??', [schema]);
      try {
        await t.db.knex.raw('create table ??.knex_migrations_lock ("index" serial primary key, is_locked integer)', [schema]);
        await t.db.knex.raw('insert into ??.knex_migrations_lock (is_locked) values (0), (0)', [schema]);
        const db = await openDatabase(config);
        try {
          assert.equal(await applied(db.knex), migrations.map((m) => m.name));
          const locks = await db.knex('knex_migrations_lock').select('is_locked');
          assert.equal(locks, [{ is_locked: 0 }]);
        } finally {
          await db.close();
        }
      } finally {
        await t.db.knex.raw('drop schema if exists ?? cascade', [schema]);
      }
    });
  }

  test.run();
}
