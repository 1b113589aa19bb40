/**
 * Stored Yjs documents: a snapshot per document plus the update log rows not yet merged into it
 * (docs/architecture.md, "Durability"). `load` returns both; `compact` folds the log into the snapshot.
 *
 *   const store = createDocStore({ knex })
 *   const updates = await store.load('session:1')   // apply each to a fresh Y.Doc
 *   await store.compact('session:1')
 *
 * `loadMerged` returns the same content as ONE update, merged by the injected `merge` (the server
 * passes persistence/merge-worker.ts: off the event loop, under a time budget). When a merge in
 * `loadMerged` or `compact` outlives that budget (Yjs can loop forever on crafted updates,
 * yjs#687), the rows to blame are found by bisection (persistence/quarantine.ts), moved to
 * `yjs_quarantine` in the same transaction, logged one error line each, and the rest is merged:
 * one bad row no longer blocks its document's loads and compactions forever.
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
import { silentLogger, type Logger } from '../shared/logger.ts';
import { MergeTimeoutError } from './merge-worker.ts';
import { bytesOf, bytesParameter, selectStored } from './bytea.ts';
import { createStoredReads } from './stored-reads.ts';
import { findCulprits, listQuarantined, moveToQuarantine, type QuarantinedRow } from './quarantine.ts';
import { singleConnection } from './statement-size.ts';

export type { QuarantinedRow } from './quarantine.ts';

/** A document as one update, for a registry to apply in one step. */
export interface MergedDocument {
  /** Snapshot and every remaining log row merged; null when nothing is stored. */
  update: Uint8Array | null;
  /** Log rows merged into `update` (the snapshot not counted). */
  logRows: number;
  /** Rows this load set aside in yjs_quarantine. */
  quarantinedRows: number;
}

export interface DocStore {
  /** Snapshot (if any) first, then every remaining log row in seq order. [] when nothing is stored. */
  load(docName: string): Promise<Uint8Array[]>;
  /**
   * Merge snapshot + the log rows it read into a new snapshot and delete exactly those rows, in ONE
   * transaction, under a per-document advisory lock, so several processes may compact safely.
   * On a database of one connection (PGlite) the merge runs between two short transactions, the
   * second writing only if nothing changed the document meanwhile (`compactOutsideTransaction`).
   * Returns how many rows it merged.
   */
  compact(docName: string): Promise<CompactOutcome>;
  /**
   * `state` (the document's whole content, which holds everything its log rows hold) becomes the
   * snapshot, and every log row of the document is deleted, in one transaction under the same lock:
   * no row is read back or merged. For a caller that knows no row holds anything `state` lacks
   * (server/documents/compactions.ts). With no log rows it writes nothing.
   */
  compactFrom(docName: string, state: Uint8Array): Promise<CompactOutcome>;
  /**
   * Snapshot + every remaining log row as ONE update, so the caller applies a Yjs-produced,
   * well-formed update. A snapshot with no log rows is returned as is, without a merge.
   */
  loadMerged(docName: string): Promise<MergedDocument>;
  /** The document's rows set aside because they could not be merged in time, in seq order. */
  quarantined(docName: string): Promise<QuarantinedRow[]>;
  logLength(docName: string): Promise<number>;
  /** Remove a document's snapshot and log (used when a session is deleted / archived). */
  remove(docName: string): Promise<void>;
}

export interface CompactOutcome {
  mergedRows: number;
  snapshotBytes: number;
  /** Present (and > 0) only when this compaction set rows aside. */
  quarantinedRows?: number;
}

/** `budgetMs`, when given, is the time the merge may take (a merge under the pool's budget otherwise). */
export type MergeUpdates = (updates: Uint8Array[], budgetMs?: number) => Promise<Uint8Array>;

export interface DocStoreOptions {
  knex: Knex;
  logger?: Logger;
  /** Folds a snapshot and updates into one update (default Y.mergeUpdates). The seam for moving it off the event loop. */
  merge?: MergeUpdates;
  /** At most this many rows are set aside per merge; more means the budget is too small. Default 8. */
  maxQuarantinePerMerge?: number;
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

/** How much longer than the first budget a merge that outlived it is given before rows are set aside. */
const SLOW_MERGE = 4;

/**
 * Serialises compactions and removals of one document across processes. On PGlite the function
 * exists too (verified with @electric-sql/pglite 0.5) and is simply uncontended: one process owns
 * the directory and its single connection already runs transactions one at a time.
 */
interface SetAside {
  seq: string;
  bytes: number;
  reason: string;
}

/** Stored rows as read inside a transaction: seq as text (bigint-safe), bytes as plain views. */
interface LogRow {
  seq: string;
  update: Uint8Array;
}

async function readDocument(
  trx: Knex.Transaction,
  docName: string,
): Promise<{ previous: Uint8Array | null; rows: LogRow[] }> {
  const snapshot = await selectStored<{ state: Uint8Array }>(trx, `select state from yjs_snapshots where doc_name = ?`, [docName], {
    state: 'bytes',
  });
  const rows = await selectStored<{ seq: string; update: Uint8Array }>(
    trx,
    // Order by the bigint column: the output alias `seq` is text, and ordering by it would put
    // row 10 before row 9 — Yjs then parks most updates as pending, and merging turns quadratic.
    `select seq::text as seq, "update" from yjs_updates where doc_name = ? order by yjs_updates.seq`,
    [docName],
    { seq: 'text', update: 'bytes' },
  );
  return {
    previous: snapshot[0] ? bytesOf(snapshot[0].state) : null,
    rows: rows.map((row) => ({ seq: row.seq, update: bytesOf(row.update) })),
  };
}

/** Which snapshot is stored: its row_count, raised by every compaction; null when there is none. */
async function snapshotVersion(trx: Knex.Transaction, docName: string): Promise<string | null> {
  const result = await trx.raw<{ rows: Array<{ n: string }> }>('select row_count::text as n from yjs_snapshots where doc_name = ?', [docName]);
  return result.rows[0]?.n ?? null;
}

async function lockDocument(trx: Knex.Transaction, docName: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [docName]);
}

/** Writes `state` as the snapshot and deletes exactly the rows `seqs` (the caller holds the lock). */
async function replaceRows(trx: Knex.Transaction, docName: string, state: Uint8Array, seqs: string[]): Promise<void> {
  const lastSeq = seqs.reduce((max, seq) => (BigInt(seq) > BigInt(max) ? seq : max));
  await trx.raw(
    `insert into yjs_snapshots (doc_name, state, last_seq, row_count, updated_at)
     values (?, ?, ?, ?, now())
     on conflict (doc_name) do update set
       state = excluded.state,
       last_seq = greatest(yjs_snapshots.last_seq, excluded.last_seq),
       row_count = yjs_snapshots.row_count + excluded.row_count,
       updated_at = excluded.updated_at`,
    [docName, bytesParameter(state), lastSeq, seqs.length],
  );
  // Exactly the rows read: never `seq <= lastSeq`, which would take rows committed late.
  const deleted = await trx.raw<{ rowCount: number }>('delete from yjs_updates where doc_name = ? and seq = any(?::bigint[])', [
    docName,
    seqs,
  ]);
  if (deleted.rowCount !== seqs.length) {
    throw new CompactionConflictError(`compaction of ${docName} merged ${seqs.length} rows but deleted ${deleted.rowCount}`);
  }
}

export function createDocStore(opts: DocStoreOptions): DocStore {
  const { knex } = opts;
  const merge = opts.merge ?? defaultMerge;
  const logger = opts.logger ?? silentLogger;

  /** Snapshot and rows in one statement (see `load`), batched with concurrent reads: no lock, no transaction. */
  const readStored = createStoredReads(knex);

  /**
   * Merges `previous` + `rows`; when that outlives the budget, moves the culprits to
   * yjs_quarantine in `trx` (the caller holds the document lock) and merges the rest.
   */
  async function mergeOrSetAside(
    trx: Knex.Transaction,
    docName: string,
    previous: Uint8Array | null,
    rows: LogRow[],
    timedOut?: MergeTimeoutError,
  ): Promise<{ state: Uint8Array; rows: LogRow[]; aside: SetAside[] }> {
    const updates = rows.map((row) => row.update);
    const all = previous ? [previous, ...updates] : updates;
    let timeout: MergeTimeoutError;
    if (timedOut) timeout = timedOut;
    else {
      try {
        return { state: await merge(all), rows, aside: [] };
      } catch (err) {
        if (!(err instanceof MergeTimeoutError)) throw err;
        timeout = err;
      }
    }
    // Where the budget is wall-clock time (no thread CPU clock, merge-worker.ts), an honest merge
    // of a large document can outlive it on a machine starved of CPU (a 10 000-annotation
    // compaction did at load 15-20, and a row was set aside); under a CPU-time budget, so can one
    // on a machine much slower than this one.
    // So the merge is tried again, and the culprits searched, under a budget SLOW_MERGE times
    // longer: a merge that loops forever (yjs#687) still ends there, an honest one does not.
    const slowBudget = timeout.budgetMs * SLOW_MERGE;
    const slow: MergeUpdates = (list) => merge(list, slowBudget);
    try {
      return { state: await slow(all), rows, aside: [] };
    } catch (err) {
      if (!(err instanceof MergeTimeoutError)) throw err;
    }
    const found = await findCulprits(slow, previous, updates, {
      wholeTimedOut: true,
      maxCulprits: opts.maxQuarantinePerMerge ?? 8,
    });
    const culprits = new Set(found.culprits);
    const reason = `merge exceeded the ${timeout.budgetMs} ms budget, and ${slowBudget} ms when tried again (${timeout.message}); see yjs#687`;
    const aside = found.culprits.map((i) => ({ seq: rows[i]!.seq, bytes: rows[i]!.update.byteLength, reason }));
    await moveToQuarantine(
      trx,
      docName,
      aside.map((row) => row.seq),
      reason,
    );
    return { state: found.merged, rows: rows.filter((_, i) => !culprits.has(i)), aside };
  }

  /** One error line per row set aside, once its transaction committed. */
  function reportSetAside(docName: string, aside: SetAside[]): void {
    for (const row of aside) {
      logger.error(
        { doc: docName, seq: row.seq, bytes: row.bytes, reason: row.reason },
        'stored update set aside in yjs_quarantine: it could not be merged in time',
      );
    }
  }

  /**
   * `compact` where the database has one connection (PGlite): a transaction held open there holds
   * every other statement, and a compaction's merge of a 10 000-annotation document took ~1 s in
   * the worker, so the projection, the update log and every REST read waited that long
   * (bench:rest's projection lag on PGlite: 1.5-1.9 s, on Postgres 0.4). So the rows are read in
   * one short transaction, merged with none open, and written in another, if nothing changed the
   * document meanwhile: the snapshot is the one read (its row_count, which every compaction
   * raises) and every row read is still there (a compaction or a removal deletes the rows it
   * takes). Null when something did: the caller compacts under the lock as before.
   */
  async function compactOutsideTransaction(docName: string): Promise<CompactOutcome | null> {
    const read = await knex.transaction(async (trx) => {
      await lockDocument(trx, docName);
      const stored = await readDocument(trx, docName);
      await opts.onAfterRead?.({ docName, trx, rowsRead: stored.rows.length });
      return { ...stored, version: await snapshotVersion(trx, docName) };
    });
    if (read.rows.length === 0) return { mergedRows: 0, snapshotBytes: read.previous?.byteLength ?? 0 };
    const updates = read.rows.map((row) => row.update);
    const state = await merge(read.previous ? [read.previous, ...updates] : updates);
    const seqs = read.rows.map((row) => row.seq);
    const written = await knex.transaction(async (trx) => {
      await lockDocument(trx, docName);
      if ((await snapshotVersion(trx, docName)) !== read.version) return false;
      const present = await trx.raw<{ rows: Array<{ n: string | number }> }>(
        'select count(*) as n from yjs_updates where doc_name = ? and seq = any(?::bigint[])',
        [docName, seqs],
      );
      if (Number(present.rows[0]?.n ?? 0) !== seqs.length) return false;
      await replaceRows(trx, docName, state, seqs);
      return true;
    });
    return written ? { mergedRows: seqs.length, snapshotBytes: state.byteLength } : null;
  }

  return {
    async load(docName) {
      const { previous, rows } = await readStored(docName);
      return previous ? [previous, ...rows] : rows;
    },

    async loadMerged(docName) {
      const { previous, rows } = await readStored(docName);
      // Our own compaction wrote the snapshot: it needs no merge.
      if (rows.length === 0) return { update: previous, logRows: 0, quarantinedRows: 0 };
      try {
        return { update: await merge(previous ? [previous, ...rows] : rows), logRows: rows.length, quarantinedRows: 0 };
      } catch (err) {
        if (!(err instanceof MergeTimeoutError)) throw err;
      }
      // Rare path: under the document lock, read again (a compaction may have committed since)
      // and set the culprits aside. Nothing is written back but the move to yjs_quarantine.
      const { state, kept, aside } = await knex.transaction(async (trx) => {
        await lockDocument(trx, docName);
        const stored = await readDocument(trx, docName);
        if (stored.rows.length === 0) return { state: stored.previous, kept: 0, aside: [] };
        const merged = await mergeOrSetAside(trx, docName, stored.previous, stored.rows);
        return { state: merged.state, kept: merged.rows.length, aside: merged.aside };
      });
      reportSetAside(docName, aside);
      return { update: state, logRows: kept, quarantinedRows: aside.length };
    },

    quarantined: (docName) => listQuarantined(knex, docName),

    async compact(docName) {
      const started = performance.now();
      let timedOut: MergeTimeoutError | undefined;
      if (singleConnection(knex)) {
        const done = await compactOutsideTransaction(docName).catch((err: unknown) => {
          if (!(err instanceof MergeTimeoutError)) throw err;
          timedOut = err;
          return null;
        });
        if (done) {
          logger.debug({ doc: docName, ...done, ms: performance.now() - started }, 'document compacted');
          return done;
        }
      }
      const { outcome, aside } = await knex.transaction(async (trx) => {
        await lockDocument(trx, docName);
        const { previous, rows: read } = await readDocument(trx, docName);
        await opts.onAfterRead?.({ docName, trx, rowsRead: read.length });
        if (read.length === 0) return { outcome: { mergedRows: 0, snapshotBytes: previous?.byteLength ?? 0 }, aside: [] };

        // A merge that already ran out of time outside a transaction (compactOutsideTransaction) is
        // not tried again under the same budget.
        const { state, rows, aside } = await mergeOrSetAside(trx, docName, previous, read, timedOut);
        if (rows.length === 0) {
          // Every row was set aside: nothing new to write, the snapshot (if any) stays as it is.
          return { outcome: { mergedRows: 0, snapshotBytes: state.byteLength, quarantinedRows: aside.length }, aside };
        }
        await replaceRows(trx, docName, state, rows.map((row) => row.seq));
        const outcome: CompactOutcome = { mergedRows: rows.length, snapshotBytes: state.byteLength };
        if (aside.length > 0) outcome.quarantinedRows = aside.length;
        return { outcome, aside };
      });
      reportSetAside(docName, aside);
      logger.debug({ doc: docName, ...outcome, ms: performance.now() - started }, 'document compacted');
      return outcome;
    },

    async compactFrom(docName, state) {
      const outcome = await knex.transaction(async (trx) => {
        await lockDocument(trx, docName);
        const result = await trx.raw<{ rows: Array<{ seq: string }> }>('select seq::text as seq from yjs_updates where doc_name = ?', [docName]);
        const seqs = result.rows.map((row) => row.seq);
        // No rows: nothing to fold in, and a document removed meanwhile must stay removed.
        if (seqs.length > 0) await replaceRows(trx, docName, state, seqs);
        return { mergedRows: seqs.length, snapshotBytes: state.byteLength };
      });
      logger.debug({ doc: docName, ...outcome }, 'document compacted from its own state');
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
