/**
 * A statement run on the driver of a pooled connection (persistence/direct-statement.ts): the rows
 * it affected, told to knex's query listeners like any query, and on Postgres prepared once per
 * connection without ever running a plan the schema has moved away from.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { directStatement } from '../../persistence/direct-statement.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase }>(`direct statement (${kind})`);

  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    await ctx.t.db.knex.raw('create table direct_items (name text not null, size int)');
  });
  test.after(async (ctx) => {
    await ctx.t.cleanup();
  });

  const insert = directStatement('direct_items_insert', 'insert into direct_items (name, size) select * from unnest($1::text[], $2::int[])');

  test('resolves with the rows it inserted, each run with its own values', async ({ t }) => {
    assert.is(await insert.run(t.db.knex, [['a', 'b'], [1, 2]]), 2);
    assert.is(await insert.run(t.db.knex, [['c'], [3]]), 1);
    const rows = await t.db.knex('direct_items').select('name', 'size').orderBy('name');
    assert.equal(rows, [
      { name: 'a', size: 1 },
      { name: 'b', size: 2 },
      { name: 'c', size: 3 },
    ]);
  });

  test("is told to knex's query listeners with its text and values", async ({ t }) => {
    const told: Array<{ sql: string; bindings: unknown[] }> = [];
    const listen = (query: { sql: string; bindings: unknown[] }) => told.push(query);
    t.db.knex.on('query', listen);
    try {
      await insert.run(t.db.knex, [['d'], [4]]);
    } finally {
      t.db.knex.off('query', listen);
    }
    assert.equal(told.map((query) => [query.sql, query.bindings]), [[insert.text, [['d'], [4]]]]);
  });

  test('after its table was renamed it fails, then writes to the table of that name again', async ({ t }) => {
    // Prepared on Postgres by the runs above: the plan must not follow the old table to its new name.
    for (let i = 0; i < 6; i++) await insert.run(t.db.knex, [[`warm-${i}`], [i]]);
    await t.db.knex.raw('alter table direct_items rename to direct_items_away');
    await t.db.knex.raw('create table direct_items (name text not null, size int, note text)');
    assert.is(await insert.run(t.db.knex, [['fresh'], [9]]), 1);
    assert.equal(await t.db.knex('direct_items').select('name'), [{ name: 'fresh' }]);
    assert.is((await t.db.knex('direct_items_away').where({ name: 'fresh' })).length, 0);
    await t.db.knex.raw('drop table direct_items');
    let failed: unknown = null;
    await insert.run(t.db.knex, [['lost'], [0]]).catch((err: unknown) => (failed = err));
    assert.match(String(failed), /direct_items/);
    assert.is((await t.db.knex('direct_items_away').where({ name: 'lost' })).length, 0);
    await t.db.knex.raw('alter table direct_items_away rename to direct_items');
  });

  test('a bad value is refused by the database and the connection serves the next run', async ({ t }) => {
    let failed: unknown = null;
    await insert.run(t.db.knex, [['x'], ['not a number']]).catch((err: unknown) => (failed = err));
    assert.match(String(failed), /integer/);
    assert.is(await insert.run(t.db.knex, [['after'], [5]]), 1);
  });

  if (kind === 'postgres') {
    test('a pooled connection killed under it is replaced, and the statement prepared on the new one', async ({ t }) => {
      let killed: { rows: unknown[] } = { rows: [] };
      // The transaction holds one connection, so the run below takes another, which then sits idle
      // with the statement as its last query; the transaction's connection kills it.
      await t.db.knex.transaction(async (trx) => {
        await insert.run(t.db.knex, [['before-kill'], [1]]);
        killed = await trx.raw<{ rows: unknown[] }>(
          `select pg_terminate_backend(pid) from pg_stat_activity where query = ? and state = 'idle' and pid <> pg_backend_pid()`,
          [insert.text],
        );
      });
      assert.ok(killed.rows.length >= 1, 'no idle connection had run the statement');
      // The pool learns of the death from the socket's end; a run racing it may fail once, as any query would.
      let stored = 0;
      for (let attempt = 0; attempt < 3 && stored === 0; attempt++) stored = await insert.run(t.db.knex, [['after-kill'], [2]]).catch(() => 0);
      assert.is(stored, 1);
      assert.is((await t.db.knex('direct_items').where({ name: 'after-kill' })).length, 1);
    });
  }

  test("inside a transaction it runs on the transaction's connection, and is rolled back with it", async ({ t }) => {
    await t.db.knex
      .transaction(async (trx) => {
        assert.is(await insert.run(trx, [['in-trx'], [1]]), 1);
        assert.is((await trx('direct_items').where({ name: 'in-trx' })).length, 1);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    assert.is((await t.db.knex('direct_items').where({ name: 'in-trx' })).length, 0);
  });

  test.run();
}
