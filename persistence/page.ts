/**
 * Keyset pagination for the platform's lists: an opaque cursor carries the sort key of the last
 * row handed out, so rows inserted or deleted between pages never shift a page (unlike OFFSET) and
 * every row that exists throughout is seen exactly once.
 *
 *   const page = await repo.list({ limit: 50, cursor })   // → { items, nextCursor }
 */

import type { Knex } from 'knex';

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * The sort key of a row: a timestamp (an ISO string as `Date#toISOString` writes it, compared in
 * SQL as timestamptz) or a number, and the id that breaks ties.
 */
export type CursorKey = [string | number, string];

/**
 * Only the exact form `toISOString` writes: the database would refuse other text (`2020`,
 * `not a date`, `2026-02-30T…`) with an error, and a forged cursor must be a 400, not a 500.
 */
const isIsoTimestamp = (value: string): boolean => {
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
};

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key a cursor carries, or null when it is not one of ours. */
export function decodeCursor(cursor: string): CursorKey | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      ((typeof value[0] === 'string' && isIsoTimestamp(value[0])) || (typeof value[0] === 'number' && Number.isFinite(value[0]))) &&
      typeof value[1] === 'string'
    ) {
      return [value[0], value[1]];
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * The key of a cursor over SQL rows sorted by a timestamp: a number in its place (which in-memory
 * lists use) would reach `?::timestamptz` and fail there, so it is refused here; `id` checks the
 * tie-breaker too where SQL casts it (a bigint id).
 */
export function decodeTimeCursor(cursor: string, id: RegExp = /^[^]*$/): [string, string] | null {
  const key = decodeCursor(cursor);
  return key && typeof key[0] === 'string' && id.test(key[1]) ? [key[0], key[1]] : null;
}

/**
 * Narrows `query` to the rows after `cursor` (when one is given) with `sql`, a row comparison of the
 * sort columns against the cursor's key, e.g. `(created_at, id) > (?::timestamptz, ?)`; a cursor
 * this list did not make throws InvalidCursorError.
 */
// Any builder: knex types each by its row and result, and only whereRaw is used.
export function afterCursor(query: Knex.QueryBuilder<any, any>, cursor: string | undefined, sql: string, id?: RegExp): void {
  if (cursor === undefined) return;
  const key = decodeTimeCursor(cursor, id);
  if (!key) throw new InvalidCursorError();
  query.whereRaw(sql, [key[0], key[1]]);
}

/** Thrown by a repository handed a cursor it did not make (the API answers 400). */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not valid');
    this.name = 'InvalidCursorError';
  }
}

/** Splits `limit + 1` fetched rows into a page. */
export function toPage<T>(rows: T[], limit: number, keyOf: (item: T) => CursorKey): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
