/**
 * Stored bytes read raw: `selectStored` gives the same rows on PGlite (binary result columns) and on
 * Postgres (a binary COPY parsed by copy-out.ts), whatever the text, NULLs, empty and large values;
 * the parser gives the same rows however the stream is cut into chunks, and refuses a stream that
 * ends midway; bound strings reach the database as literals, quotes and all.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import createKnex, { type Knex } from 'knex';
import copyStreams from 'pg-copy-streams';
import { selectStored } from '../../persistence/bytea.ts';
import { BinaryCopyParser, copyOut, withLiterals, type CopyColumns, type PgConnection } from '../../persistence/copy-out.ts';
import { onConnection } from '../../persistence/pooled-connection.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

const names = ['session:plain', "session:it's a \\ ? name", 'session:ünïcødé ✓', 'session:small'];
const large = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
const values: (Uint8Array | null)[] = [large, null, new Uint8Array(0), new Uint8Array(randomBytes(40))];
const columns: CopyColumns = { doc_name: 'text', part: 'int4', data: 'bytes' };
type Row = { doc_name: string; part: number; data: Uint8Array | null };

async function seed(knex: Knex): Promise<void> {
  await knex.raw('create table copy_probe (doc_name text primary key, part int4 not null, data bytea)');
  for (const [i, name] of names.entries()) {
    await knex.raw('insert into copy_probe values (?, ?, ?)', [name, i - 1, values[i] ? Buffer.from(values[i]!) : null]);
  }
}

const read = (knex: Knex, wanted: readonly string[]): Promise<Row[]> =>
  selectStored<Row>(knex, 'select doc_name, part, data from copy_probe where doc_name = any(?::text[]) order by part', [wanted], columns);

function assertRows(rows: Row[], wanted: number[]): void {
  assert.equal(rows.map((r) => r.doc_name), wanted.map((i) => names[i]));
  assert.equal(rows.map((r) => r.part), wanted.map((i) => i - 1));
  rows.forEach((row, k) => {
    const expected = values[wanted[k]!]!;
    if (expected === null) return assert.is(row.data, null);
    assert.ok(row.data instanceof Uint8Array, 'bytes as a Uint8Array');
    assert.ok(Buffer.from(row.data).equals(Buffer.from(expected)), `the bytes of ${names[wanted[k]!]}`);
  });
}

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase }>(`reading stored bytes (${kind})`, {} as { t: TestDatabase });
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    await seed(ctx.t.db.knex);
  });
  test.after(async ({ t }) => t.cleanup());

  test('text, int4, a large value, NULL and an empty value come back as stored', async ({ t }) => {
    assertRows(await read(t.db.knex, names), [0, 1, 2, 3]);
  });

  test('a bound name with a quote, a backslash and a question mark matches itself only', async ({ t }) => {
    assertRows(await read(t.db.knex, [names[1]!]), [1]);
    assertRows(await read(t.db.knex, []), []);
  });

  test('inside a transaction it reads on the transaction\'s connection and sees its own writes', async ({ t }) => {
    const rolledBack = new Error('rolled back');
    const outcome = await t.db.knex
      .transaction(async (trx) => {
        await trx.raw('update copy_probe set part = 7 where doc_name = ?', [names[0]!]);
        const rows = await selectStored<{ part: number }>(trx, 'select part from copy_probe where doc_name = ?', [names[0]!], { part: 'int4' });
        assert.equal(rows, [{ part: 7 }]);
        throw rolledBack;
      })
      .catch((err: unknown) => err);
    assert.is(outcome, rolledBack);
    assertRows(await read(t.db.knex, [names[0]!]), [0]);
  });

  if (kind === 'postgres') {
    test('the parser gives the same rows however the stream is cut into chunks', async ({ t }) => {
      const small = "select doc_name, part, data from copy_probe where doc_name <> 'session:plain' order by part";
      const stream = await rawCopy(t.db.knex, small);
      const whole = new BinaryCopyParser(columns);
      whole.push(stream);
      const expected = whole.end();
      assert.is(expected.length, 3);
      for (let size = 1; size <= stream.length; size++) {
        const parser = new BinaryCopyParser(columns);
        for (let at = 0; at < stream.length; at += size) parser.push(stream.subarray(at, at + size));
        assert.equal(parser.end(), expected, `chunks of ${size} bytes`);
      }
    });

    test('a read given the wrong columns is refused midway, and its connection is not handed out again', async ({ t }) => {
      // One connection: were the half-read COPY left on it, the next query would never be answered.
      const single = createKnex({ client: 'pg', connection: process.env.DATABASE_URL, searchPath: [t.config.schema!], pool: { min: 1, max: 1 } });
      try {
        const refused = await copyOut(single, "select repeat('x', 1000) as a, 1 as b from generate_series(1, 20000)", [], { a: 'text' }).catch((e: unknown) => e);
        assert.match(String(refused), /a row of 2 fields for 1 columns/);
        let guard: NodeJS.Timeout | undefined;
        const answered = await Promise.race([
          single.raw('select 41 + 1 as n').then((r: { rows: { n: number }[] }) => r.rows[0]!.n),
          new Promise((resolve) => (guard = setTimeout(() => resolve('no answer within 10 s'), 10_000))),
        ]);
        clearTimeout(guard);
        assert.is(answered, 42);
      } finally {
        await single.destroy();
      }
    });

    test('a stream that ends midway, or whose rows do not match the columns, is refused', async ({ t }) => {
      const stream = await rawCopy(t.db.knex, 'select doc_name, part, data from copy_probe order by part');
      const cut = new BinaryCopyParser(columns);
      cut.push(stream.subarray(0, stream.length - 3));
      assert.throws(() => cut.end(), /ended midway/);
      assert.throws(() => new BinaryCopyParser({ doc_name: 'text' }).push(stream), /3 fields for 1 columns/);
      assert.throws(() => new BinaryCopyParser(columns).push(Buffer.from('not a copy stream at all')), /not a binary COPY/);
    });
  }
  test.run();
}

const literals = suite('COPY literals');
literals('placeholders become escaped literals, arrays become ARRAY[…], and counts must match', () => {
  assert.is(withLiterals('a = ? and b = any(?::text[]) and c = any(?::text[])', ["it's", ['x', "y'"], []]), "a = 'it''s' and b = any(ARRAY['x','y''']::text[]) and c = any('{}'::text[])");
  // node-pg writes a literal holding a backslash as E'…', with a leading space.
  assert.is(withLiterals('a = ?', ['back\\slash']), "a =  E'back\\\\slash'");
  assert.throws(() => withLiterals('a = ? and b = ?', ['x']), /more placeholders/);
  assert.throws(() => withLiterals('a = ?', ['x', 'y']), /2 bindings for 1 placeholders/);
});
literals.run();

/** The raw binary COPY stream of `sql`, as Postgres sends it. */
async function rawCopy(knex: Knex, sql: string): Promise<Buffer> {
  const text = `copy (${sql}) to stdout (format binary)`;
  return onConnection<PgConnection, Buffer>(knex, text, [], async (connection) => {
    const chunks: Buffer[] = [];
    for await (const chunk of connection.query(copyStreams.to(text))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  });
}
