/**
 * PGlite in its worker thread behind the knex `Database` (persistence/pglite-connection.ts,
 * pglite-knex-client.ts): transactions on its one connection run one after the other, bytea comes
 * back as bytes (also through binary-result queries), parameters are serialized by their inferred
 * types (described once per statement text, forgotten after DDL), errors keep PGlite's fields, a
 * failure to start or an uncloneable parameter is an error and never a hang, and close() is idempotent.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { openDatabase, type Database } from '../../persistence/database.ts';
import { openPgliteConnection, PgliteThreadError } from '../../persistence/pglite-connection.ts';

const test = suite<{ db: Database; dir: string }>('PGlite worker thread');

test.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(path.join(tmpdir(), 'annosync-thread-'));
  ctx.db = await openDatabase({ dataDir: path.join(ctx.dir, 'pglite') });
});

test.after.each(async (ctx) => {
  await ctx.db.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

test('bytea parameters bind as binary and results decode natively: a 2 MB value, a hex-text parameter, a bytea column', async ({ db }) => {
  // Past PGlite's own codec, which walks bytes one at a time in JavaScript (persistence/pglite-thread.ts).
  const large = Uint8Array.from({ length: 2 << 20 }, (_, i) => (i * 7919 + (i >> 11)) & 0xff);
  await db.knex.raw('create table blobs (id int primary key, b bytea not null)');
  await db.knex.raw('insert into blobs (id, b) values (1, ?), (2, ?)', [Buffer.from(large.buffer), '\\x00ff10']);
  const { rows } = (await db.knex.raw('select id, b, length(b) as n, md5(b) as h from blobs order by id')) as {
    rows: Array<{ id: number; b: Uint8Array; n: number; h: string }>;
  };
  assert.is(rows[0]!.n, large.byteLength, 'the database holds every byte of the binary parameter');
  assert.is(rows[0]!.h, createHash('md5').update(large).digest('hex'), 'and the same bytes');
  assert.is(rows[0]!.b.constructor, Uint8Array);
  assert.ok(Buffer.from(rows[0]!.b).equals(Buffer.from(large)), 'the result decodes to the same bytes');
  assert.equal(Array.from(rows[1]!.b), [0x00, 0xff, 0x10], 'a hex-text parameter is still read as bytea text input');
});

test('binary-result queries read bytea, text, integers, booleans and nulls, take array parameters, and fail with the SQLSTATE', async ({ db }) => {
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff);
  await db.knex.raw('create table stored (name text primary key, b bytea, n int4, big int8, ok boolean)');
  const names = ['plain', 'with "quotes" and \\ backslash', 'comma, {brace}', 'NULL'];
  await db.knex.raw('insert into stored values (?, ?, 1, 9007199254740993, true), (?, null, null, null, false), (?, ?, -2, -1, null), (?, ?, 0, 0, true)', [
    names[0]!, Buffer.from(bytes), names[1]!, names[2]!, Buffer.from([0]), names[3]!, Buffer.alloc(0),
  ]);
  const binary = (sql: string, bindings: readonly Knex.RawBinding[]) =>
    db.knex.raw(sql, bindings).options({ binaryResults: true }) as unknown as Promise<{ rows: Array<Record<string, unknown>> }>;
  const { rows } = await binary('select name, b, n, big, ok from stored where name = any(?::text[]) order by n nulls last', [names]);
  assert.equal(rows.map((r) => r.name), [names[2], names[3], names[0], names[1]], 'every name, quotes, backslash and a literal NULL included, matched the array parameter');
  assert.ok(Buffer.from(rows[2]!.b as Uint8Array).equals(Buffer.from(bytes)), 'bytea comes back as the same bytes');
  assert.is((rows[2]!.b as Uint8Array).constructor, Uint8Array);
  assert.equal([...(rows[0]!.b as Uint8Array)], [0]);
  assert.equal([...(rows[1]!.b as Uint8Array)], [], 'an empty bytea is empty, not null');
  assert.equal(rows.map((r) => r.n), [-2, 0, 1, null]);
  assert.equal(rows.map((r) => r.big), ['-1', '0', '9007199254740993', null], 'int8 as a string, exact past 2^53');
  assert.equal(rows.map((r) => r.ok), [null, true, true, false]);
  const err = await binary('select nope from stored', []).then(() => null, (e: unknown) => e as { code?: string; message: string });
  assert.is(err?.code, '42703', 'an undefined column fails with its SQLSTATE');
  const typed = await binary('select now() as t', []).then(() => null, (e: unknown) => e as Error);
  assert.match(typed?.message ?? '', /type 1184 is not read here/, 'a column type it does not decode is refused by name');
  const dated = await binary('select ?::text as t', [new Date(0)]);
  assert.equal(dated.rows, [{ t: '1970-01-01T00:00:00.000Z' }], 'a parameter is serialized by its inferred type, as PGlite\'s query does');
  assert.equal(await db.knex.raw('select 1 as one').then((r: { rows: unknown[] }) => r.rows), [{ one: 1 }], 'the connection goes on');
});

test('a statement text keeps the parameter types it was described with until DDL can change them', async ({ db }) => {
  // Parameters are serialized by the type Postgres infers for them, described once per text
  // (persistence/pglite-statements.ts). A text column takes an object as its string; once the
  // column is jsonb, the same statement text must serialize it as JSON, or the insert fails.
  await db.knex.raw('create table notes (v text)');
  const insert = (value: unknown) => db.knex.raw('insert into notes (v) values (?)', [value as Knex.RawBinding]);
  await insert('plain');
  await insert({ a: 1 });
  await db.knex.raw('alter table notes alter column v type jsonb using to_jsonb(v)');
  await insert({ a: 2 });
  await insert([1, 'two']);
  const { rows } = (await db.knex.raw('select v from notes')) as { rows: Array<{ v: unknown }> };
  assert.equal(rows.map((r) => r.v), ['plain', '[object Object]', { a: 2 }, [1, 'two']]);
  const bad = await db.knex.raw('selec 1').then(() => null, (e: unknown) => e as { code?: string });
  assert.is(bad?.code, '42601', 'a statement that does not parse fails with its SQLSTATE');
  assert.equal((await db.knex.raw('select ?::int + 1 as n', [41])).rows, [{ n: 42 }], 'and the connection goes on');
});

test('parameter types are forgotten once DDL has run, not when it is sent, and after a rollback', async () => {
  // On the thread's connection itself (no pool): statements sent together run in order, so a text
  // described by one sent before the DDL must not be kept for one sent after it.
  const conn = await openPgliteConnection({ dataDir: null });
  try {
    await conn.query('create table notes (v text)');
    const insert = 'insert into notes (v) values ($1)';
    const results = await Promise.all([
      conn.query(insert, ['{"a":0}']),
      conn.query('alter table notes alter column v type jsonb using v::jsonb'),
      conn.query(insert, [{ a: 1 }]),
    ]);
    assert.is(results.length, 3);
    await conn.query('begin');
    await conn.query('alter table notes alter column v type text');
    await conn.query(insert, ['described inside the transaction, as text']);
    await conn.query('rollback');
    await conn.query(insert, [{ a: 2 }]);
    assert.equal((await conn.query('select v from notes')).rows, [{ v: { a: 0 } }, { v: { a: 1 } }, { v: { a: 2 } }]);
  } finally {
    await conn.close();
  }
});

test('statements with parameters run prepared: at most 100 kept, all closed after DDL, and a failed transaction still rolls back', async () => {
  const conn = await openPgliteConnection({ dataDir: null });
  const preparedCount = async () =>
    Number(((await conn.query("select count(*)::int as n from pg_prepared_statements where name like 'annosync_%'")).rows[0] as { n: number }).n);
  try {
    await conn.query('create table kv (k int primary key, v text not null)');
    for (let i = 0; i < 150; i++) await conn.query(`insert into kv (k, v) values ($1, $2) -- text ${i}`, [i, `v${i}`]);
    assert.ok((await preparedCount()) <= 101, 'the least recently used are closed past 100');
    assert.equal((await conn.query('insert into kv (k, v) values ($1, $2) -- text 0', [1000, 'again'])).affectedRows, 1, 'a closed one is prepared again');
    await conn.query('alter table kv add column extra int');
    assert.is(await preparedCount(), 0, 'after DDL none is left prepared');
    assert.equal((await conn.query('select * from kv where k = $1', [1000])).rows, [{ k: 1000, v: 'again', extra: null }], 'and it sees the new column');

    await conn.query('begin');
    const duplicate = await conn.query('insert into kv (k, v) values ($1, $2)', [1000, 'twice']).then(() => null, (e: unknown) => e as { code?: string });
    assert.is(duplicate?.code, '23505');
    const aborted = await conn.query('select v from kv where k = $1', [1]).then(() => null, (e: unknown) => e as { code?: string });
    assert.is(aborted?.code, '25P02', 'the failed transaction refuses statements until it ends');
    await conn.query('rollback');
    assert.equal((await conn.query('select v from kv where k = $1', [1])).rows, [{ v: 'v1' }], 'the rollback ran and the connection goes on');
  } finally {
    await conn.close();
  }
});

test('concurrent transactions on the one connection run one after the other', async ({ db }) => {
  await db.knex.raw('create table counter (n int not null)');
  await db.knex('counter').insert({ n: 0 });
  const increment = () =>
    db.knex.transaction(async (trx) => {
      const row = (await trx('counter').first('n')) as { n: number };
      await new Promise((resolve) => setImmediate(resolve));
      await trx('counter').update({ n: row.n + 1 });
    });
  await Promise.all(Array.from({ length: 20 }, increment));
  assert.equal(await db.knex('counter').first('n'), { n: 20 }, 'no increment lost: read-modify-write was never interleaved');
});

test('a rolled-back transaction leaves nothing and the connection goes on', async ({ db }) => {
  await db.knex.raw('create table items (id int primary key)');
  await db.knex.transaction(async (trx) => {
    await trx('items').insert({ id: 1 });
    throw new Error('changed my mind');
  }).catch(() => undefined);
  assert.equal(await db.knex('items').count('* as n').first(), { n: 0 });
  await db.knex('items').insert({ id: 2 });
  assert.equal(await db.knex('items').pluck('id'), [2]);
});

test('bytea comes back as the same bytes, and errors keep their SQLSTATE', async ({ db }) => {
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
  const { rows } = (await db.knex.raw('select ?::bytea as b', [Buffer.from(bytes)])) as { rows: Array<{ b: Uint8Array }> };
  assert.equal(Array.from(rows[0]!.b), Array.from(bytes));
  await db.knex.raw('create table uniq (id int primary key)');
  await db.knex('uniq').insert({ id: 1 });
  const err = await db.knex('uniq').insert({ id: 1 }).then(() => null, (e: unknown) => e as { code?: string });
  assert.is(err?.code, '23505');
});

test('close() is idempotent and a query after it is refused', async ({ db }) => {
  await Promise.all([db.close(), db.close()]);
  await db.close();
  const outcome = await db.knex.raw('select 1').then(() => 'answered', () => 'refused');
  assert.is(outcome, 'refused');
});

test('a PGlite that cannot open fails with PgliteThreadError, and an uncloneable parameter is an error', async ({ dir }) => {
  const notADirectory = path.join(dir, 'file');
  writeFileSync(notADirectory, 'not a database');
  const err = await openPgliteConnection({ dataDir: notADirectory }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof PgliteThreadError, String(err));

  const conn = await openPgliteConnection({ dataDir: null });
  try {
    const outcome = await conn.query('select $1 as x', [() => 1]).then(() => 'answered', (e: unknown) => (e as Error).name);
    assert.is(outcome, 'DataCloneError');
    assert.equal((await conn.query('select 1 as x')).rows, [{ x: 1 }], 'the connection goes on');
  } finally {
    await conn.close();
    await conn.close();
  }
  assert.not.ok(conn.alive);
  const after = await conn.query('select 1').then(() => null, (e: unknown) => e);
  assert.ok(after instanceof PgliteThreadError);
});

test.run();
