/**
 * Batch writers' JSON chunks (persistence/statement-size.ts): the rows come back whole and in
 * order, each chunk closes once it reaches its size (a longer row closes its own), and each chunk is
 * built only when asked for.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonChunks } from '../../persistence/statement-size.ts';

const test = suite('JSON chunks for batch statements');

const rows = Array.from({ length: 1000 }, (_, i) => ({ id: `row-${i}`, note: 'é"\\'.repeat(i % 7), n: i }));

test('the chunks parse back to every row, in order, each one closed once it reaches the size', () => {
  const chunks = [...jsonChunks(rows, (row) => row, 1000)];
  assert.ok(chunks.length > 10, `${chunks.length} chunks`);
  assert.equal(chunks.flatMap((chunk) => JSON.parse(chunk) as unknown[]), rows);
  for (const chunk of chunks) {
    const parsed = JSON.parse(chunk) as unknown[];
    const withoutLast = JSON.stringify(parsed.slice(0, -1));
    assert.ok(withoutLast.length < 1000, `a chunk went on past its size: ${withoutLast.length} before its last row`);
  }
});

test('a row longer than the size closes its chunk; no rows, no chunks', () => {
  const long = { id: 'long', note: 'x'.repeat(5000) };
  const chunks = [...jsonChunks([{ id: 'a' }, long, { id: 'b' }], (row) => row, 100)];
  assert.equal(chunks.map((chunk) => JSON.parse(chunk)), [[{ id: 'a' }, long], [{ id: 'b' }]]);
  assert.equal([...jsonChunks([], (row) => row, 100)], []);
});

test('each chunk is built only when asked for, through toRow', () => {
  const seen: number[] = [];
  const chunks = jsonChunks(rows, (row) => (seen.push(row.n), { id: row.id }), 200);
  assert.equal(seen, []);
  const first = chunks.next();
  assert.is(first.done, false);
  assert.equal(seen, (JSON.parse(first.value as string) as unknown[]).map((_, i) => i));
});

test.run();
