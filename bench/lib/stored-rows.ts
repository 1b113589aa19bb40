/**
 * What the database holds of a document, read straight from `yjs_updates` and `yjs_snapshots`
 * (the client's search_path names the schema), for benchmarks that check the servers' storage.
 */
import * as Y from 'yjs';
import type pg from 'pg';
import { BENCH_MAP } from './stamps.ts';

/**
 * Log rows stored for `docName` over its life (compaction deletes rows but counts them in the
 * snapshot): one per update when each is stored once, more when processes store each other's.
 */
export async function storedRows(db: pg.Client, docName: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select (select count(*) from yjs_updates where doc_name = $1)
          + coalesce((select row_count from yjs_snapshots where doc_name = $1), 0) as n`,
    [docName],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Whether the stored snapshot and log of `docName` hold `bench.probe === token`. */
export async function storedHas(db: pg.Client, docName: string, token: string): Promise<boolean> {
  const { rows } = await db.query<{ data: Buffer }>(
    // Yjs applies updates in any order (out-of-order ones wait as pending structs).
    `select state as data from yjs_snapshots where doc_name = $1 union all select "update" from yjs_updates where doc_name = $1`,
    [docName],
  );
  const doc = new Y.Doc();
  for (const row of rows) Y.applyUpdate(doc, row.data);
  const found = doc.getMap(BENCH_MAP).get('probe') === token;
  doc.destroy();
  return found;
}
