/**
 * Rows written by binary COPY (copy-in.ts) read back as written: text of any script, bytes small,
 * empty and large (a large value is passed on without a copy); a COPY that fails writes nothing and
 * leaves the connection usable; a row of the wrong shape is refused before anything is sent. The
 * stream's bytes are the ones copy-out.ts parses, however the chunks fall.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import createKnex from 'knex';
import { binaryCopyChunks, copyIn } from '../../persistence/copy-in.ts';
import { BinaryCopyParser, copyOut } from '../../persistence/copy-out.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

const rows: [string, Uint8Array][] = [
  ['session:a', new Uint8Array(randomBytes(40))],
  ['session:ünïcødé ✓', new Uint8Array(0)],
  ["session:it's \\ big", new Uint8Array(randomBytes(5 * 1024 * 1024 + 3))],
  ['session:b', new Uint8Array(randomBytes(16 * 1024))],
  ['session:c', new Uint8Array(randomBytes(100_000)).subarray(17, 70_017)],
];

const chunks = suite('binary COPY chunks');
chunks('the stream parses back to the rows, and a large value is its own chunk, not a copy', () => {
  const written = binaryCopyChunks(['text', 'bytes'], rows);
  const parser = new BinaryCopyParser({ doc_name: 'text', data: 'bytes' });
  for (const chunk of written) parser.push(chunk);
  const parsed = parser.end() as { doc_name: string; data: Uint8Array }[];
  assert.equal(parsed.map((r) => r.doc_name), rows.map(([name]) => name));
  parsed.forEach((row, i) => assert.ok(Buffer.from(row.data).equals(Buffer.from(rows[i]![1])), `row ${i}`));
  const large = rows[2]![1];
  assert.ok(written.some((chunk) => chunk.buffer === large.buffer && chunk.byteOffset === large.byteOffset), 'the 5 MB value passed on as it is');
  assert.throws(() => binaryCopyChunks(['text', 'bytes'], [['session:x']]), /a row of 1 values for 2 columns/);
  assert.throws(() => binaryCopyChunks(['text', 'bytes'], [[new Uint8Array(1), 'x']]), /column 0 takes text/);
});
chunks.run();

if (databaseKinds().includes('postgres')) {
  const test = suite<{ t: TestDatabase }>('writing rows by binary COPY (postgres)', {} as { t: TestDatabase });
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase('postgres');
    await ctx.t.db.knex.raw('create table copy_in_probe (id serial primary key, doc_name text not null, data bytea not null)');
  });
  test.after(async ({ t }) => t.cleanup());

  test('rows come back as written, in order', async ({ t }) => {
    const { knex } = t.db;
    assert.is(await copyIn(knex, 'copy_in_probe', { doc_name: 'text', data: 'bytes' }, rows), rows.length);
    const back = await copyOut<{ doc_name: string; data: Uint8Array }>(knex, 'select doc_name, data from copy_in_probe order by id', [], { doc_name: 'text', data: 'bytes' });
    assert.equal(back.map((r) => r.doc_name), rows.map(([name]) => name));
    back.forEach((row, i) => assert.ok(Buffer.from(row.data).equals(Buffer.from(rows[i]![1])), `row ${i}`));
  });

  test('a COPY that fails writes nothing, and its connection goes on working', async ({ t }) => {
    // One connection only: whatever the failed COPYs left on it, the last COPY and read meet it.
    const single = createKnex({ client: 'pg', connection: process.env.DATABASE_URL, searchPath: [t.config.schema!], pool: { min: 1, max: 1 } });
    const count = async (): Promise<number> => Number((await single.raw('select count(*)::int as n from copy_in_probe')).rows[0].n);
    try {
      const before = await count();
      const unknownColumn = await copyIn(single, 'copy_in_probe', { doc_name: 'text', nope: 'bytes' }, [['session:z', new Uint8Array(3)]]).catch((e: unknown) => e);
      assert.instance(unknownColumn, Error);
      assert.match((unknownColumn as Error).message, /nope/);
      await single.raw('alter table copy_in_probe add constraint short_names check (length(doc_name) < 10) not valid');
      const secondRowRefused = await copyIn(single, 'copy_in_probe', { doc_name: 'text', data: 'bytes' }, [
        ['s:ok', new Uint8Array(1)],
        ['x'.repeat(10), new Uint8Array(1)],
      ]).catch((e: unknown) => e);
      assert.instance(secondRowRefused, Error);
      assert.match((secondRowRefused as Error).message, /short_names/);
      assert.is(await count(), before, 'no row of a failed COPY was kept');
      assert.is(await copyIn(single, 'copy_in_probe', { doc_name: 'text', data: 'bytes' }, [['s:after', new Uint8Array(2)]]), 1);
      assert.is(await count(), before + 1);
    } finally {
      await single.destroy();
    }
  });

  test.run();
}
