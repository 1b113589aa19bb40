/**
 * The rows one update-log commit writes: a document's small updates of the batch merged into one
 * (`Y.mergeUpdates`, which keeps everything each of them says), where the database runs in this
 * process (the embedded PGlite, docs/architecture.md, "Durability"). There a row costs its INSERT
 * ~20 µs of the database thread (the heap tuple, the two B-tree entries, the WAL record), a fan-out
 * to 10 clients sends ~1 000 updates a second through one document, and merging a commit's few
 * dozen small updates costs the main thread less than the rows it saves.
 *
 *   const rows = mergedRows(batch);   // [{ docName, update }]: each document's rows in its order
 *
 * Merging is bounded, since it runs on the event loop and `Y.mergeUpdates` grows faster than the
 * updates it is given (one client's map edits: 100 in ~0.4 ms, 400 in 2-3, 1 000 in 13-26, 2 000
 * in ~95): a row merges at most `updatesPerRow` updates and under `bytesPerRow` bytes (an update of
 * that size or more keeps its own row), and once `updatesPerBatch` updates went into merged rows,
 * the rest of the batch keeps a row per update (a backlog after a stall is written as it was
 * queued, not merged at once). A merged row stands where the first of its updates stood, so every
 * document's rows keep their order.
 */
import * as Y from 'yjs';

export interface LogRow {
  docName: string;
  update: Uint8Array;
}

export interface MergeLimits {
  /** Updates merged into one row at most (default 100). */
  updatesPerRow: number;
  /** A row merges updates adding up to under this many bytes (default 64 KiB). */
  bytesPerRow: number;
  /** Updates merged over the whole batch at most (default 2 000). */
  updatesPerBatch: number;
}

export const DEFAULT_MERGE_LIMITS: MergeLimits = { updatesPerRow: 100, bytesPerRow: 64 * 1024, updatesPerBatch: 2_000 };

/** A row being filled: it holds its place in the output while its document's updates come in. */
interface Group {
  docName: string;
  updates: Uint8Array[];
  bytes: number;
}

export function mergedRows(batch: readonly LogRow[], limits: MergeLimits = DEFAULT_MERGE_LIMITS): LogRow[] {
  const rows: Array<LogRow | Group> = [];
  const open = new Map<string, Group>();
  let grouped = 0;
  for (const entry of batch) {
    const size = entry.update.byteLength;
    const group = open.get(entry.docName);
    if (group !== undefined && group.updates.length < limits.updatesPerRow && group.bytes + size < limits.bytesPerRow && grouped < limits.updatesPerBatch) {
      group.updates.push(entry.update);
      group.bytes += size;
      grouped++;
      continue;
    }
    open.delete(entry.docName);
    if (size >= limits.bytesPerRow || grouped >= limits.updatesPerBatch) {
      rows.push(entry);
      continue;
    }
    const started: Group = { docName: entry.docName, updates: [entry.update], bytes: size };
    open.set(entry.docName, started);
    rows.push(started);
    grouped++;
  }
  return rows.flatMap((row) => {
    if (!('updates' in row)) return [row];
    if (row.updates.length === 1) return [{ docName: row.docName, update: row.updates[0]! }];
    try {
      return [{ docName: row.docName, update: Y.mergeUpdates(row.updates) }];
    } catch {
      // Bytes the merge cannot read are stored as they came, a row each: the log must never stall
      // on a batch it cannot merge (loading sets a row it cannot merge aside, doc-store.ts).
      return row.updates.map((update) => ({ docName: row.docName, update }));
    }
  });
}
