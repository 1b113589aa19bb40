/**
 * The rows one update-log commit writes: each document's small updates of the batch merged into
 * one (`Y.mergeUpdates`, which keeps everything each of them says), where the database runs in
 * this process (the embedded PGlite, docs/architecture.md, "Durability"). There a row costs its
 * INSERT ~20 µs of the database thread (the heap tuple, the two B-tree entries, the WAL record),
 * a fan-out to 10 clients sends ~1 000 updates a second through one document, and the merge of a
 * commit's few dozen small updates costs the main thread less than the rows it saves.
 *
 *   const rows = mergedRows(batch, 64 * 1024);   // [{ docName, update }] in commit order
 *
 * A document whose updates of the batch add up to `maxMergeBytes` or more keeps one row per
 * update: merging re-encodes everything it is given, and an import's megabytes would hold the event
 * loop. Rows of different documents keep their order, and so do a document's rows; a merged row
 * stands where that document's first update stood.
 */
import * as Y from 'yjs';

export interface LogRow {
  docName: string;
  update: Uint8Array;
}

export function mergedRows(batch: readonly LogRow[], maxMergeBytes: number): LogRow[] {
  const byDoc = new Map<string, { updates: Uint8Array[]; bytes: number }>();
  for (const { docName, update } of batch) {
    const group = byDoc.get(docName);
    if (group === undefined) byDoc.set(docName, { updates: [update], bytes: update.byteLength });
    else {
      group.updates.push(update);
      group.bytes += update.byteLength;
    }
  }
  if (byDoc.size === batch.length) return [...batch];
  const rows: LogRow[] = [];
  const written = new Set<string>();
  for (const entry of batch) {
    const group = byDoc.get(entry.docName)!;
    if (group.updates.length === 1 || group.bytes >= maxMergeBytes) rows.push(entry);
    else if (!written.has(entry.docName)) {
      written.add(entry.docName);
      rows.push({ docName: entry.docName, update: Y.mergeUpdates(group.updates) });
    }
  }
  return rows;
}
