/**
 * The reader of binary-result answers (persistence/pglite-binary-results.ts, `BinaryResultReader`) takes the
 * backend's messages as PGlite hands them over: in chunks that are views into its WebAssembly
 * memory, split anywhere. Whatever the split, it gives the same rows, and no value still points
 * into a chunk once the chunk is reused. Errors are kept for `result()`, never thrown from `push`,
 * which runs inside PGlite's write callback.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BinaryResultReader } from '../../persistence/pglite-binary-results.ts';

const TEXT = 25;
const BYTEA = 17;
const INT4 = 23;

function message(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

/** In a fresh buffer of its own (Buffer.concat may give a view of Buffer's shared pool). */
const concat = (parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const utf8 = (s: string) => new TextEncoder().encode(s);

function rowDescription(fields: Array<[string, number]>): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0, fields.length])];
  for (const [name, type] of fields) {
    const tail = new Uint8Array(18);
    new DataView(tail.buffer).setInt32(6, type); // table oid 4, column 2, then the type oid
    parts.push(utf8(name), new Uint8Array([0]), tail);
  }
  return message('T', concat(parts));
}

function dataRow(values: Array<Uint8Array | null>): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0, values.length])];
  for (const value of values) {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setInt32(0, value === null ? -1 : value.length);
    parts.push(length);
    if (value) parts.push(value);
  }
  return message('D', concat(parts));
}

const int4 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
};

const answer = (rows: Uint8Array[]) =>
  concat([
    message('1', new Uint8Array(0)), // ParseComplete: an empty body
    message('2', new Uint8Array(0)), // BindComplete
    rowDescription([['name', TEXT], ['b', BYTEA], ['n', INT4]]),
    ...rows,
    message('C', utf8('SELECT 2\0')),
    message('Z', utf8('I')),
  ]);

/** Feeds `bytes` in chunks cut at `cuts`, each chunk a view that is zeroed once pushed, as PGlite reuses its memory. */
function read(bytes: Uint8Array, cuts: number[]) {
  const reader = new BinaryResultReader();
  const memory = bytes.slice();
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const chunk = memory.subarray(from, cut);
    reader.push(chunk);
    chunk.fill(0);
    from = cut;
  }
  return reader.result();
}

test('rows read alike wherever the chunks are cut, and no value points into a reused chunk', () => {
  const stream = answer([dataRow([utf8('first'), new Uint8Array([1, 2, 3]), int4(-7)]), dataRow([utf8('second'), new Uint8Array(0), null])]);
  const expected = [
    { name: 'first', b: [1, 2, 3], n: -7 },
    { name: 'second', b: [], n: null },
  ];
  const plain = (rows: Array<Record<string, unknown>>) => rows.map((r) => ({ ...r, b: [...(r.b as Uint8Array)] }));
  assert.equal(plain(read(stream, []).rows), expected, 'in one chunk');
  for (let cut = 1; cut < stream.length; cut++) assert.equal(plain(read(stream, [cut]).rows), expected, `cut at ${cut}`);
  assert.equal(plain(read(stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1)).rows), expected, 'one byte at a time');
  assert.equal(read(stream, [3]).fields, [
    { name: 'name', dataTypeID: TEXT },
    { name: 'b', dataTypeID: BYTEA },
    { name: 'n', dataTypeID: INT4 },
  ]);
});

test('a large row across chunks is copied once into a buffer of its own, its bytea a view of it', () => {
  const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
  const stream = answer([dataRow([utf8('big'), big, int4(1)])]);
  // As Postgres sends it: 8 kB, then the rest in one piece; and with the header itself cut.
  for (const cuts of [[8192], [40, 41, 42, 43], [100_000, 200_000]]) {
    const [row] = read(stream, cuts).rows;
    const b = row!.b as Uint8Array;
    assert.ok(Buffer.from(b).equals(Buffer.from(big)), `the same bytes, cut at ${cuts.join(', ')}`);
    assert.ok(b.buffer.byteLength < big.length + 64, 'in a buffer sized to its message, not a copy of the answer');
  }
});

test('an ErrorResponse and an unreadable column type are kept for result(), never thrown from push', () => {
  const error = message('E', utf8('SERROR\0C42703\0Mcolumn "nope" does not exist\0\0'));
  const reader = new BinaryResultReader();
  reader.push(concat([message('1', new Uint8Array(0)), error, message('Z', utf8('I'))]));
  assert.throws(() => reader.result(), (err: Error & { code?: string }) => err.code === '42703' && /nope/.test(err.message));

  const typed = new BinaryResultReader();
  const stream = concat([rowDescription([['t', 1184]]), dataRow([new Uint8Array(8)]), message('Z', utf8('I'))]);
  typed.push(stream); // does not throw
  assert.throws(() => typed.result(), /type 1184 is not read here/);

  const cutShort = new BinaryResultReader();
  const whole = answer([dataRow([utf8('x'), new Uint8Array([9]), int4(0)])]);
  cutShort.push(whole.subarray(0, whole.length - 3));
  assert.throws(() => cutShort.result(), /ended inside a message/, 'an answer that stops mid-message is an error');
});

test.run();
