/**
 * How stored Yjs bytes cross between the database and this process: doc-store.ts and
 * stored-reads.ts read them, doc-store.ts and update-log.ts write them.
 *
 * Reading (`selectStored`, the select list naming the bytea columns themselves): the raw bytes on
 * both databases, no text form of them made at all.
 * - PGlite: result columns in binary format (pglite-thread.ts, `binaryQueryMessages`); its thread
 *   transfers the buffer to the event loop.
 * - Postgres: the select runs as a binary COPY (copy-out.ts). node-pg can only give a bytea as hex
 *   text, or base64 through `encode`, which the event loop then decodes.
 * `npm run bench:bytea` measures the ways on both databases. A 4 MB snapshot read, wall and
 * event-loop time: PGlite binary 10 / 1-3 ms, base64 65-74 / 21-24; Postgres binary COPY 29-41 / 4-22
 * ms, base64 62-105 / 21-63, raw hex text 125-135 / 59-92.
 *
 * Writing one value: the Uint8Array as the parameter. node-pg and PGlite's thread both bind it in
 * binary format, bytea's own wire form, with no text encoding at all. For the same snapshot:
 * PGlite 125-130 ms wall against 218-252 ms base64; Postgres 2.4 ms of event-loop time against 29.
 *
 * Writing a batch of log rows (update-log.ts): one `bytea[]` parameter in binary array form
 * (binary-arrays.ts; as a JavaScript array it would travel as text, hex or base64, for the database
 * to parse). A large batch takes the raw bytes: on Postgres a
 * binary COPY (copy-in.ts), on PGlite, when it is one row, the binary parameter above. A 4 MB row,
 * wall and event-loop time: Postgres COPY 95 / 4 ms, base64 184 / 29 ms; PGlite binary parameter
 * about half of base64's 211 ms (its thread's time; 2 ms of event loop either way).
 */
import type { Knex } from 'knex';
import { copyOut, type CopyColumns } from './copy-out.ts';

/** Set on the PGlite knex client (pglite-knex-client.ts): its bytea results arrive as bytes. */
export interface ByteaCapableClient {
  readonly byteaResultsAsBytes?: boolean;
}

const readsRawBytea = (knex: Knex): boolean => (knex.client as ByteaCapableClient).byteaResultsAsBytes === true;

/** Whether rows of bytes are written by binary COPY (copy-in.ts): on Postgres, not on PGlite's thread. */
export const writesByCopy = (knex: Knex): boolean => !readsRawBytea(knex);

/**
 * The rows of a select that reads stored bytes. `columns` names the select list's columns in their
 * order and how Postgres's binary COPY decodes each; bindings are strings or arrays of strings.
 */
export async function selectStored<Row>(
  knex: Knex,
  sql: string,
  bindings: readonly (string | readonly string[])[],
  columns: CopyColumns,
): Promise<Row[]> {
  if (!readsRawBytea(knex)) return copyOut<Row>(knex, sql, bindings, columns);
  const result = (await knex.raw(sql, bindings as Knex.RawBinding[]).options({ binaryResults: true })) as unknown as { rows: Row[] };
  return result.rows;
}

/** A bytes value as read by `selectStored`, as a plain Uint8Array (never a Buffer, whose `slice` shares memory). */
export const bytesOf = (value: Uint8Array): Uint8Array => new Uint8Array(value.buffer, value.byteOffset, value.byteLength);

/** The bytes as a query parameter (a Buffer view, no copy: knex's types take Buffers). */
export const bytesParameter = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Base64 of the bytes, without copying them first: the text form `bench:bytea` compares the binary ways with. */
export const toBase64 = (bytes: Uint8Array): string => bytesParameter(bytes).toString('base64');
