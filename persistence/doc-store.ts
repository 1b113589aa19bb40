/**
 * Stored Yjs documents: a snapshot per document plus the update log rows not yet merged into it
 * (DESIGN.md "Persistence"). `load` returns both; `compact` folds the log into the snapshot.
 *
 *   const store = createDocStore({ knex })
 *   const updates = await store.load('session:1')   // apply each to a fresh Y.Doc
 *   await store.compact('session:1')
 *
 * Why `load` reads ALL remaining rows rather than `seq > snapshot.last_seq`: seq values come from
 * a sequence, and with several processes (or several pool connections) inserting, a transaction
 * holding a smaller seq can commit after one holding a larger seq. A compaction that ran in
 * between saw the larger row but not the smaller one; a high-water mark would then skip the
 * smaller row forever. So compaction deletes exactly the rows it merged (by seq list, never by
 * range), every row still in the table is by construction not yet in the snapshot, and `load`
 * returns the snapshot plus every row of the document. Should a row ever be both merged and
 * present, nothing breaks: applying a Yjs update twice is harmless.
 */
import type { Knex } from 'knex';
import * as Y from 'yjs';
import { silentLogger, type Logger } from './logger.ts';

export interface DocStore {
  /** Snapshot (if any) first, then every remaining log row in seq order. [] when nothing is stored. */
  load(docName: string): Promise<Uint8Array[]>;
  /**
   * Merge snapshot + the log rows it read into a new snapshot and delete exactly those rows, in ONE
   * transaction, under a per-document advisory lock, so several processes may compact safely.
   * Returns how many rows it merged.
   */
  compact(docName: string): Promise<{ mergedRows: number; snapshotBytes: number }>;
  logLength(docName: string): Promise<number>;
  /** Remove a document's snapshot and log (used when a session is deleted / archived). */
  remove(docName: string): Promise<void>;
}

export type MergeUpdates = (updates: Uint8Array[]) => Promise<Uint8Array>;

export interface DocStoreOptions {
  knex: Knex;
  logger?: Logger;
  /** Folds a snapshot and updates into one update (default Y.mergeUpdates). The seam for moving it off the event loop. */
  merge?: MergeUpdates;
  /**
   * Test seam: runs inside the compaction transaction after it read the rows and before it
   * merges, so a test can force an interleaving (e.g. insert a row the compaction did not see).
   */
  onAfterRead?: (ctx: { docName: string; trx: Knex.Transaction; rowsRead: number }) => Promise<void>;
}

/** Compaction deleted fewer rows than it merged: someone removed them without the lock. Rolled back. */
export class CompactionConflictError extends Error {
  readonly code = 'compaction_conflict';
  override readonly name = 'CompactionConflictError';
}

const defaultMerge: MergeUpdates = async (updates) => Y.mergeUpdates(updates);

/** pg gives Buffers (views into a shared pool for small ones), PGlite plain Uint8Arrays: hand out plain views. */
function toBytes(value: Uint8Array): Uint8Array {
  return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Serialises compactions and removals of one document across processes. On PGlite the function
 * exists too (verified with @electric-sql/pglite 0.5) and is simply uncontended: one process owns
 * the directory and its single connection already runs transactions one at a time.
 */
async function lockDocument(trx: Knex.Transaction, docName: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [docName]);
}

export function createDocStore(opts: DocStoreOptions): DocStore {
  const { knex } = opts;
  const merge = opts.merge ?? defaultMerge;
  const logger = opts.logger ?? silentLogger;

  return {
    async load(docName) {
      // One statement, so one MVCC snapshot: a compaction committing between a separate snapshot
      // read and log read could otherwise hide rows it merged into a snapshot we did not see.
      const result = await knex.raw<{ rows: Array<{ data: Uint8Array }> }>(
        `select data from (
           select 0 as part, null::bigint as seq, state as data from yjs_snapshots where doc_name = ?
           union all
           select 1, seq, "update" from yjs_updates where doc_name = ?
         ) parts order by part, seq`,
        [docName, docName],
      );
      return result.rows.map((row) => toBytes(row.data));
    },

    async compact(docName) {
      const started = performance.now();
      const outcome = await knex.transaction(async (trx) => {
        await lockDocument(trx, docName);
        const snapshot = await trx.raw<{ rows: Array<{ state: Uint8Array }> }>(
          'select state from yjs_snapshots where doc_name = ?',
          [docName],
        );
        const previous = snapshot.rows[0] ? toBytes(snapshot.rows[0].state) : null;
        const read = await trx.raw<{ rows: Array<{ seq: string; update: Uint8Array }> }>(
          // Order by the bigint column: the output alias `seq` is text, and ordering by it would put
          // row 10 before row 9 — Yjs then parks most updates as pending, and merging turns quadratic.
          'select seq::text as seq, "update" from yjs_updates where doc_name = ? order by yjs_updates.seq',
          [docName],
        );
        const rows = read.rows;
        await opts.onAfterRead?.({ docName, trx, rowsRead: rows.length });
        if (rows.length === 0) return { mergedRows: 0, snapshotBytes: previous?.byteLength ?? 0 };

        const updates = rows.map((row) => toBytes(row.update));
        const state = await merge(previous ? [previous, ...updates] : updates);
        const seqs = rows.map((row) => row.seq);
        const lastSeq = seqs.reduce((max, seq) => (BigInt(seq) > BigInt(max) ? seq : max));
        await trx.raw(
          `insert into yjs_snapshots (doc_name, state, last_seq, row_count, updated_at)
           values (?, ?, ?, ?, now())
           on conflict (doc_name) do update set
             state = excluded.state,
             last_seq = greatest(yjs_snapshots.last_seq, excluded.last_seq),
             row_count = yjs_snapshots.row_count + excluded.row_count,
             updated_at = excluded.updated_at`,
          [docName, asBuffer(state), lastSeq, rows.length],
        );
        // Exactly the rows read: never `seq <= lastSeq`, which would take rows committed late.
        const deleted = await trx.raw<{ rowCount: number }>(
          'delete from yjs_updates where doc_name = ? and seq = any(?::bigint[])',
          [docName, seqs],
        );
        if (deleted.rowCount !== rows.length) {
          throw new CompactionConflictError(
            `compaction of ${docName} merged ${rows.length} rows but deleted ${deleted.rowCount}`,
          );
        }
        return { mergedRows: rows.length, snapshotBytes: state.byteLength };
      });
      logger.debug({ doc: docName, ...outcome, ms: performance.now() - started }, 'document compacted');
      return outcome;
    },

    async logLength(docName) {
      const result = await knex.raw<{ rows: Array<{ n: string | number }> }>(
        'select count(*) as n from yjs_updates where doc_name = ?',
        [docName],
      );
      return Number(result.rows[0]?.n ?? 0);
    },

    async remove(docName) {
      // The caller unloads the document first and waits for UpdateLog.pending(docName) === 0;
      // an update appended after this commits would start the document afresh.
      await knex.transaction(async (trx) => {
        await lockDocument(trx, docName);
        await trx.raw('delete from yjs_snapshots where doc_name = ?', [docName]);
        await trx.raw('delete from yjs_updates where doc_name = ?', [docName]);
      });
    },
  };
}
