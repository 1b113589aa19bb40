/**
 * Keyset cursors (persistence/page.ts): what `encodeCursor` writes comes back unchanged, and a
 * cursor whose timestamp the database would refuse is "not one of ours" (the API's 400), never
 * text handed to SQL (which answered 500).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCursor, encodeCursor, toPage } from '../../persistence/page.ts';

const forge = (key: unknown): string => Buffer.from(JSON.stringify(key)).toString('base64url');

test('every cursor a page hands out decodes to the key of its last row', () => {
  const rows = [0, 1, 2].map((k) => ({ id: `r${k}`, createdAt: new Date(Date.UTC(2026, 11, 4, 12, 0, k, 7)).toISOString() }));
  const page = toPage(rows, 2, (r) => [r.createdAt, r.id]);
  assert.equal(page.items.map((r) => r.id), ['r0', 'r1']);
  assert.equal(decodeCursor(page.nextCursor!), ['2026-12-04T12:00:01.007Z', 'r1']);
  assert.is(toPage(rows, 3, (r) => [r.createdAt, r.id]).nextCursor, null, 'no cursor after the last page');
  assert.equal(decodeCursor(encodeCursor([120, 'a1'])), [120, 'a1'], 'a frame number as key (in-memory lists)');
});

test('a timestamp other than the exact form toISOString writes is refused', () => {
  for (const text of ['yesterday', 'not a date', '2020', '2026-02-30T00:00:00.000Z', '2026-12-04 12:00:00', '2026-12-04T12:00:00Z', '']) {
    assert.is(decodeCursor(forge([text, 'x'])), null, JSON.stringify(text));
  }
});

test('a cursor that is not base64 JSON of [key, id] is refused', () => {
  for (const cursor of ['not-a-cursor', forge({ at: 1 }), forge(['2026-12-04T12:00:00.000Z']), forge(['2026-12-04T12:00:00.000Z', 7]), forge([Number.MAX_VALUE * 2, 'x']), forge([true, 'x'])]) {
    assert.is(decodeCursor(cursor), null, Buffer.from(cursor, 'base64url').toString());
  }
});

test.run();
