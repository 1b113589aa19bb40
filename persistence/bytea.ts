/**
 * How stored Yjs bytes cross between the database and this process: doc-store.ts and
 * stored-reads.ts read them, doc-store.ts and update-log.ts write them.
 *
 * Reading one column (`storedBytes(knex, column)` in the select list, the statement run by
 * `selectStored`, `bytesOf` on the value):
 * - PGlite: the raw bytea, with the result columns in binary format (pglite-thread.ts,
 *   `binaryQueryMessages`), so no text form of the bytes is made at all; its thread transfers the
 *   buffer to the event loop.
 * - Postgres: `encode(column, 'base64')`. node-pg gets bytea as hex text and decodes it on the
 *   event loop; base64 text is a third shorter and Buffer decodes it faster.
 * `npm run bench:bytea` measures the ways on both databases. A 4 MB snapshot read, wall and
 * event-loop time: PGlite binary 54-57 / 1.1-1.3 ms, raw hex text 70-82 / 0.9, base64 74-91 / 29;
 * Postgres base64 125 / 30 ms, raw hex text 186 / 95.
 *
 * Writing one value: the Uint8Array as the parameter. node-pg and PGlite's thread both bind it in
 * binary format, bytea's own wire form, with no text encoding at all. For the same snapshot:
 * PGlite 125-130 ms wall against 218-252 ms base64; Postgres 2.4 ms of event-loop time against 29.
 *
 * Writing a batch of log rows (update-log.ts): one `text[]` of base64, decoded by the database.
 * A bytea[] parameter would travel as hex text on both databases.
 */
import type { Knex } from 'knex';

/** Set on the PGlite knex client (pglite-knex-client.ts): its bytea results arrive as bytes. */
export interface ByteaCapableClient {
  readonly byteaResultsAsBytes?: boolean;
}

const readsRawBytea = (knex: Knex): boolean => (knex.client as ByteaCapableClient).byteaResultsAsBytes === true;

/** The select-list expression that reads `column` (a trusted identifier) the fastest way for this database. */
export const storedBytes = (knex: Knex, column: string): string => (readsRawBytea(knex) ? column : `encode(${column}, 'base64')`);

/** Runs a select whose byte columns go through `storedBytes`: on PGlite with binary result columns. */
export function selectStored<Row>(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: Row[] }> {
  const query = knex.raw(sql, bindings);
  return (readsRawBytea(knex) ? query.options({ binaryResults: true }) : query) as unknown as Promise<{ rows: Row[] }>;
}

/** The bytes of a column read through `storedBytes`, as a plain Uint8Array (never a Buffer, whose `slice` shares memory). */
export const bytesOf = (value: string | Uint8Array): Uint8Array => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : value;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/** The bytes as a query parameter (a Buffer view, no copy: knex's types take Buffers). */
export const bytesParameter = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Base64 of the bytes, without copying them first (update-log.ts's batches). */
export const toBase64 = (bytes: Uint8Array): string => bytesParameter(bytes).toString('base64');
