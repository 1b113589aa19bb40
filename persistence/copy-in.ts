/**
 * Writes rows into a Postgres table through `COPY table (columns) FROM STDIN (FORMAT binary)`, so
 * bytea values travel as their raw bytes. An INSERT through node-pg can only bind them as text: the
 * update log's batch of base64 (`text[]`, decoded by the database) held the event loop 22-58 ms and
 * took ~200 ms for the one 4 MB update of a 10 000-annotation bulk create (`npm run bench:bytea`,
 * "log row"). copy-out.ts reads the same format back; the format is in its header comment.
 *
 * Small values are packed into chunks of about 64 kB; a large bytes value is handed to the stream
 * as it is, without a copy.
 *
 *   await copyIn(knex, 'yjs_updates', { doc_name: 'text', update: 'bytes' }, [['session:1', bytes]])
 */
import type { Knex } from 'knex';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import { bytesParameter } from './bytea.ts';
import { BINARY_COPY_SIGNATURE, type PgConnection } from './copy-out.ts';
import { onConnection } from './pooled-connection.ts';

/** How one column's value is written: `text` from a string (UTF-8), `bytes` from a Uint8Array; null is NULL in either. */
export type CopyInColumn = 'text' | 'bytes';
export type CopyInValue = string | Uint8Array | null;

const CHUNK_BYTES = 64 * 1024;
/** A bytes value at least this long is its own chunk (no copy); shorter ones are packed. */
const OWN_CHUNK = 16 * 1024;

/** The binary COPY stream of `rows` (every row one value per column, in the columns' order), as chunks. */
export function binaryCopyChunks(kinds: readonly CopyInColumn[], rows: readonly (readonly CopyInValue[])[]): Buffer[] {
  const chunks: Buffer[] = [];
  let current = Buffer.allocUnsafe(CHUNK_BYTES);
  let at = 0;
  const room = (n: number): void => {
    if (at + n <= current.length) return;
    if (at > 0) chunks.push(current.subarray(0, at));
    current = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
    at = 0;
  };
  room(BINARY_COPY_SIGNATURE.length + 8);
  at += BINARY_COPY_SIGNATURE.copy(current, at);
  at = current.writeUInt32BE(0, at); // flags
  at = current.writeUInt32BE(0, at); // header extension length
  for (const row of rows) {
    if (row.length !== kinds.length) throw new Error(`copyIn: a row of ${row.length} values for ${kinds.length} columns`);
    room(2);
    at = current.writeInt16BE(kinds.length, at);
    for (const [k, value] of row.entries()) {
      if (value === null) {
        room(4);
        at = current.writeInt32BE(-1, at);
        continue;
      }
      if (kinds[k] === 'text') {
        if (typeof value !== 'string') throw new TypeError(`copyIn: column ${k} takes text`);
        const length = Buffer.byteLength(value, 'utf8');
        room(4 + length);
        at = current.writeInt32BE(length, at);
        at += current.write(value, at, 'utf8');
        continue;
      }
      if (typeof value === 'string') throw new TypeError(`copyIn: column ${k} takes bytes`);
      const bytes = bytesParameter(value);
      room(4);
      at = current.writeInt32BE(bytes.length, at);
      if (bytes.length >= OWN_CHUNK) {
        chunks.push(current.subarray(0, at));
        chunks.push(bytes);
        current = current.subarray(at);
        at = 0;
      } else {
        room(bytes.length);
        at += bytes.copy(current, at);
      }
    }
  }
  room(2);
  at = current.writeInt16BE(-1, at); // the trailer
  chunks.push(current.subarray(0, at));
  return chunks;
}

/**
 * Writes `rows` into `table` (a trusted identifier; so are the column names) in one COPY, on a
 * pooled connection (pooled-connection.ts). All rows or none: a failed COPY writes
 * nothing. Resolves with the number of rows written.
 */
export async function copyIn(
  knex: Knex,
  table: string,
  columns: Readonly<Record<string, CopyInColumn>>,
  rows: readonly (readonly CopyInValue[])[],
): Promise<number> {
  const names = Object.keys(columns);
  const chunks = binaryCopyChunks(Object.values(columns), rows);
  const sql = `copy ${table} (${names.map((n) => `"${n}"`).join(', ')}) from stdin (format binary)`;
  return onConnection<PgConnection, number>(knex, sql, [], async (connection) => {
    const stream = connection.query(copyStreams.from(sql));
    await pipeline(chunks, stream);
    return stream.rowCount;
  });
}
