/**
 * How stored Yjs bytes cross between the database and this process: doc-store.ts and
 * stored-reads.ts read them, doc-store.ts and update-log.ts write them.
 *
 * Reading one column (`storedBytes(knex, column)` in the select list, `bytesOf` on the value):
 * - PGlite: the raw bytea. Its thread (pglite-thread.ts) decodes the hex text with Buffer's native
 *   codec and transfers the buffer, so the event loop does nothing.
 * - Postgres: `encode(column, 'base64')`. node-pg gets bytea as hex text and decodes it on the
 *   event loop; base64 text is a third shorter and Buffer decodes it faster.
 * `npm run bench:bytea` measures both ways on both databases. For a 4 MB snapshot, event-loop
 * time of a read: PGlite 0.7 ms raw against 20 ms base64 (and 51 against 68 ms wall); Postgres
 * 77 ms raw against 24 ms base64.
 *
 * Writing one value: the Uint8Array as the parameter. node-pg and PGlite's thread both bind it in
 * binary format, bytea's own wire form, with no text encoding at all. For the same snapshot:
 * PGlite 115 ms wall against 153 ms base64; Postgres 2 ms of event-loop time against 28 ms.
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

/** The bytes of a column read through `storedBytes`, as a plain Uint8Array (never a Buffer, whose `slice` shares memory). */
export const bytesOf = (value: string | Uint8Array): Uint8Array => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : value;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/** The bytes as a query parameter (a Buffer view, no copy: knex's types take Buffers). */
export const bytesParameter = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Base64 of the bytes, without copying them first (update-log.ts's batches). */
export const toBase64 = (bytes: Uint8Array): string => bytesParameter(bytes).toString('base64');
