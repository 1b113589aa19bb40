/**
 * What the database holds of a document, read straight from `yjs_updates` and `yjs_snapshots`
 * (the client's search_path names the schema), and what the servers say they stored for each
 * other (their /metrics), for benchmarks that check the servers' storage.
 */
import * as Y from 'yjs';
import type pg from 'pg';
import { BENCH_MAP } from './stamps.ts';
import type { ServerAddress } from './clients.ts';
import type { StoresInPlace } from './fanout-report.ts';

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

/**
 * How many updates of another process a server stored in its place (no "stored" notice in time),
 * and how many keyed rows its log found stored already; null on a server without these metrics.
 */
export async function storedInPlace(server: ServerAddress): Promise<StoresInPlace | null> {
  const text = await (await fetch(`http://${server.host}:${server.port}/metrics`)).text();
  const read = (name: string) => new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1];
  const inPlace = read('annosync_redis_stored_in_place_total');
  const skipped = read('annosync_commit_skipped_rows_total');
  return inPlace === undefined || skipped === undefined ? null : { inPlace: Number(inPlace), skipped: Number(skipped) };
}
