/**
 * How much one batch statement carries, by database.
 *
 * On PGlite the database's working memory is this process's: Postgres's heap inside a WebAssembly
 * memory, which only grows (WebAssembly has no way to give memory back), and whose pages stay
 * resident once a statement has touched them. So the largest statement ever run sets the PGlite
 * thread's memory for the life of the process. What a statement touches is a multiple of its
 * parameters, measured (the touched pages of PGlite's memory, /proc/self/smaps, before and after
 * 3 × 10 000 rows; `docs/architecture.md`, "Memory"):
 * - `json_populate_recordset` into `annotation_history` (a jsonb column per row): ~22 × the JSON
 *   text (1 000 entries, 445 kB of JSON: +10 MB; 100 entries: +1 MB);
 * - into `detections`: ~6 × (20 000 detections, 4 MB of JSON: +24 MB; 200 000 detections, 40 MB
 *   of JSON, in one statement grew the memory from 128 to 241 MB);
 * - a `bytea[]` of log rows: ~2 × (1.2 MB of updates: +2.5 MB);
 * - and a read's result too: a run's 100 000 detections as arrays in one statement, +37.5 MB.
 * Smaller statements cost PGlite no time that shows (the 30 000 history entries above took
 * 1.1-1.3 s in chunks of 2 000, 1 000, 250, 100 or 50), while on Postgres each statement is a
 * round trip and ~0.4 ms of node-pg's CPU on the event loop, and the memory is the database
 * server's, given back after each statement: there, chunks stay large, bounded only so that
 * building one does not hold the event loop.
 *
 *   for (const json of jsonChunks(rows, toRow, jsonChunkBytes(knex))) await trx.raw(SQL, [json]);
 */
import type { Knex } from 'knex';

/** Set on the PGlite knex client (pglite-knex-client.ts): its database's memory keeps its peak. */
export interface GrowOnlyMemoryClient {
  readonly growOnlyMemory?: boolean;
}

const growOnlyMemory = (knex: Knex): boolean => (knex.client as GrowOnlyMemoryClient).growOnlyMemory === true;

/** Set on the PGlite knex client (pglite-knex-client.ts): one connection, so an open transaction holds every statement. */
export interface SingleConnectionClient {
  readonly singleConnection?: boolean;
}

export const singleConnection = (knex: Knex): boolean => (knex.client as SingleConnectionClient).singleConnection === true;

/**
 * Rows one background write (its own transaction) should carry where a transaction holds the only
 * connection: 30 000 history entries in one transaction held PGlite for 2.4-2.9 s, a `select 1`
 * waiting all that time; 250 per transaction, at most 59-77 ms (docs/architecture.md, "Reading over
 * REST"); the projection's 10 000 rows ~1 s, and 22-42 ms ("The annotations projection").
 * Elsewhere no bound: the pool's other connections go on.
 */
export const rowsPerTransaction = (knex: Knex): number => (singleConnection(knex) ? 250 : Infinity);

/** JSON text per `json_populate_recordset` statement: ~1.4 MB of PGlite's memory at most (22 ×). */
const PGLITE_JSON_BYTES = 64 * 1024;
/** About what the chunks of 2 000 annotations or 1 000 history entries were before (~0.4-0.6 MB). */
const POSTGRES_JSON_BYTES = 512 * 1024;
/** Update bytes per log INSERT on PGlite: ~1 MB of its memory at most (2 ×). */
const PGLITE_LOG_BATCH_BYTES = 512 * 1024;

/**
 * Rows per page of a large read (detections.ts): its result is built inside PGlite's memory, ~0.5 kB
 * a detection as parallel arrays (20 000 at once: +9.8 MB). On Postgres the bound is the event loop,
 * where node-pg parses each array.
 */
export const readPageRows = (knex: Knex): number => (growOnlyMemory(knex) ? 2000 : 20_000);

export const jsonChunkBytes = (knex: Knex): number => (growOnlyMemory(knex) ? PGLITE_JSON_BYTES : POSTGRES_JSON_BYTES);

/** The update log's batch bound (update-log.ts); undefined: its own default. */
export const logBatchBytes = (knex: Knex): number | undefined => (growOnlyMemory(knex) ? PGLITE_LOG_BATCH_BYTES : undefined);

/**
 * `items` as JSON array texts of `toRow(item)`, each closed once it reaches `maxBytes` (counted in
 * UTF-16 units, bytes for ASCII): a chunk is at most `maxBytes` plus its last row. Lazy: each text
 * is built when asked for, between the caller's awaits.
 */
export function* jsonChunks<T>(items: readonly T[], toRow: (item: T) => unknown, maxBytes: number): Generator<string> {
  let i = 0;
  while (i < items.length) {
    let text = `[${JSON.stringify(toRow(items[i] as T))}`;
    i++;
    while (i < items.length && text.length < maxBytes) {
      text += `,${JSON.stringify(toRow(items[i] as T))}`;
      i++;
    }
    yield `${text}]`;
  }
}
