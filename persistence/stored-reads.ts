/**
 * Reads documents' stored state (snapshot + remaining log rows), batching concurrent reads
 * (shared/batched-reads.ts): the reads asked for in one turn of the event loop, and those asked for
 * while two are in flight, are read by ONE statement. A crowd opening many documents at once (a
 * reconnect storm after a restart, a dashboard over a project) then costs a few queries instead of
 * one per document; on PGlite, where each query is ~1 ms of CPU on its one connection, that was
 * most of what opening 1 000 documents cost. A lone read waits only for the end of its turn, so a
 * single cold join waits for nothing.
 *
 * One statement per batch is also one MVCC snapshot per document, which `load` relies on
 * (persistence/doc-store.ts): a compaction committing between a separate snapshot read and log
 * read could otherwise hide rows it merged into a snapshot the reader did not see.
 *
 *   const read = createStoredReads(knex)
 *   const { previous, rows } = await read('session:abc')
 */
import type { Knex } from 'knex';
import { batchedReads } from '../shared/batched-reads.ts';
import { bytesOf, selectStored } from './bytea.ts';

export interface StoredState {
  /** The snapshot, or null when the document has none. */
  previous: Uint8Array | null;
  /** Every log row of the document, in seq order. */
  rows: Uint8Array[];
}

/** At most this many documents per statement: their states all arrive in one result (a 10 000-annotation session is ~5 MB of it). */
export const MAX_BATCH = 16;

/**
 * Statements in flight at once: one pool connection keeps reading while the other's result is
 * decoded, and writers (the update log, compactions) still find free connections.
 */
const MAX_IN_FLIGHT = 2;

export function createStoredReads(knex: Knex): (docName: string) => Promise<StoredState> {
  const readBatch = async (names: string[]): Promise<Map<string, StoredState>> => {
    const rows = await selectStored<{ doc_name: string; part: number; data: Uint8Array }>(
      knex,
      `select doc_name, part, data from (
         select doc_name, 0 as part, null::bigint as seq, state as data from yjs_snapshots where doc_name = any(?::text[])
         union all
         select doc_name, 1, seq, "update" from yjs_updates where doc_name = any(?::text[])
       ) parts order by doc_name, part, seq`,
      [names, names],
      { doc_name: 'text', part: 'int4', data: 'bytes' },
    );
    const states = new Map<string, StoredState>(names.map((name) => [name, { previous: null, rows: [] }]));
    for (const row of rows) {
      const state = states.get(row.doc_name);
      if (!state) continue;
      const bytes = bytesOf(row.data);
      if (Number(row.part) === 0) state.previous = bytes;
      else state.rows.push(bytes);
    }
    return states;
  };
  return batchedReads(readBatch, { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT });
}
