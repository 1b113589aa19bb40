/**
 * Setting aside stored updates that cannot be merged in time (Yjs can loop forever on
 * some crafted updates, yjs#687). When merging a document's snapshot and log rows outlives the
 * budget (`MergeTimeoutError` from persistence/merge-worker.ts), `findCulprits` bisects for the
 * rows to blame, each probe a merge under the same budget, and `moveToQuarantine` moves them from
 * `yjs_updates` to `yjs_quarantine` in the caller's transaction.
 *
 *   const found = await findCulprits(merge, snapshot, updates)   // throws when it cannot isolate
 *   await moveToQuarantine(trx, docName, found.culprits.map((i) => seqs[i]), reason)
 *
 * Why prefix bisection: a culprit may be harmless alone and hang only after the rows before it
 * (an update is merged against the state built so far). So the search looks for the shortest
 * prefix, in seq order, that no longer merges in time and blames its last row — the row that
 * arrived when the trouble began — then goes on from there with that row left out. Each culprit
 * costs about log2(rows) probes.
 */
import type { Knex } from 'knex';
import { MergeTimeoutError } from './merge-worker.ts';

export type Merge = (updates: Uint8Array[]) => Promise<Uint8Array>;

export interface CulpritSearch {
  /** Indexes (into the `updates` given) of the rows to set aside, in the order found. */
  culprits: number[];
  /** The snapshot and every other row, merged. */
  merged: Uint8Array;
}

export interface FindCulpritsOptions {
  /** The caller already saw the whole set time out: do not spend a budget proving it again. */
  wholeTimedOut?: boolean;
  /**
   * More culprits than this means the budget is too small for honest data, not a few crafted
   * rows: give up (rethrow) rather than set aside a document's history.
   */
  maxCulprits?: number;
}

export class QuarantineConflictError extends Error {
  readonly code = 'quarantine_conflict';
  override readonly name = 'QuarantineConflictError';
}

/**
 * Finds the rows that keep `base` (the snapshot, if any) + `updates` from merging within the
 * budget, and merges the rest. Rethrows the MergeTimeoutError when the snapshot alone does not
 * merge in time or more than `maxCulprits` rows would be blamed; any other merge error propagates.
 */
export async function findCulprits(
  merge: Merge,
  base: Uint8Array | null,
  updates: Uint8Array[],
  opts: FindCulpritsOptions = {},
): Promise<CulpritSearch> {
  const maxCulprits = opts.maxCulprits ?? 8;
  let lastTimeout: MergeTimeoutError | null = null;
  const probe = async (indexes: number[]): Promise<Uint8Array | null> => {
    const rows = indexes.map((i) => updates[i]!);
    try {
      return await merge(base ? [base, ...rows] : rows);
    } catch (err) {
      if (!(err instanceof MergeTimeoutError)) throw err;
      lastTimeout = err;
      return null;
    }
  };

  const kept = updates.map((_, i) => i);
  const culprits: number[] = [];
  let goodPrefix = 0; // kept[0, goodPrefix) is known to merge in time
  let skipWhole = opts.wholeTimedOut === true;
  for (;;) {
    if (!skipWhole) {
      const merged = await probe(kept);
      if (merged) return { culprits, merged };
    }
    skipWhole = false;
    if (culprits.length >= maxCulprits) throw lastTimeout ?? new MergeTimeoutError(0, updates.length);
    let good = goodPrefix;
    let bad = kept.length;
    // Nothing left to blame, or timings that contradict an earlier probe: isolate nothing.
    if (bad <= good) throw lastTimeout ?? new MergeTimeoutError(0, updates.length);
    while (bad - good > 1) {
      const mid = (good + bad) >>> 1;
      if (await probe(kept.slice(0, mid))) good = mid;
      else bad = mid;
    }
    // The empty prefix is the snapshot alone: ours, but it must merge in time to blame anything.
    if (bad === 1 && base && !(await probe([]))) throw lastTimeout ?? new MergeTimeoutError(0, 0);
    culprits.push(kept[bad - 1]!);
    kept.splice(bad - 1, 1);
    goodPrefix = bad - 1;
  }
}

/** Moves exactly these rows of the document into yjs_quarantine, with a reason, in `trx`. */
export async function moveToQuarantine(
  trx: Knex.Transaction,
  docName: string,
  seqs: string[],
  reason: string,
): Promise<void> {
  if (seqs.length === 0) return;
  await trx.raw(
    `insert into yjs_quarantine (seq, doc_name, "update", reason)
     select seq, doc_name, "update", ? from yjs_updates where doc_name = ? and seq = any(?::bigint[])`,
    [reason, docName, seqs],
  );
  const deleted = await trx.raw<{ rowCount: number }>(
    'delete from yjs_updates where doc_name = ? and seq = any(?::bigint[])',
    [docName, seqs],
  );
  if (deleted.rowCount !== seqs.length) {
    throw new QuarantineConflictError(`set aside ${seqs.length} rows of ${docName} but found ${deleted.rowCount}`);
  }
}

export interface QuarantinedRow {
  seq: string;
  docName: string;
  update: Uint8Array;
  reason: string;
  createdAt: Date;
}

/** The rows of a document set aside so far, in seq order. */
export async function listQuarantined(knex: Knex, docName: string): Promise<QuarantinedRow[]> {
  const result = await knex.raw<{
    rows: Array<{ seq: string; doc_name: string; update: Uint8Array; reason: string; created_at: Date | string }>;
  }>(
    `select seq::text as seq, doc_name, "update", reason, created_at
     from yjs_quarantine where doc_name = ? order by yjs_quarantine.seq`,
    [docName],
  );
  return result.rows.map((row) => ({
    seq: row.seq,
    docName: row.doc_name,
    update: new Uint8Array(row.update.buffer, row.update.byteOffset, row.update.byteLength),
    reason: row.reason,
    createdAt: new Date(row.created_at),
  }));
}
