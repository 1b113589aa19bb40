/**
 * The `annotations` table: the relational projection of the session documents (docs/architecture.md, "The annotations projection"). Only server/followers/projection.ts writes it; the documents stay the source of truth.
 *
 *   const rows = createAnnotationRepository({ knex })
 *   await rows.apply('s1', { upsert: [record], remove: ['a7'] })
 *   await rows.countsBySession(['s1'])  // → Map { 's1' => { total: 1, byStatus: { draft: 1 } } }
 */
import type { Knex } from 'knex';
import {
  annotationProjectionFromRow,
  annotationProjectionToRow,
  type AnnotationProjectionRecord,
  type AnnotationProjectionRow,
} from '../rows.ts';
import { jsonChunkBytes, jsonChunks, rowsPerTransaction } from '../statement-size.ts';

export interface AnnotationCounts {
  total: number;
  byStatus: Record<string, number>;
}

export interface AnnotationRepository {
  /** Upserts and deletes one session's rows in one transaction. */
  apply(sessionId: string, change: { upsert: AnnotationProjectionRecord[]; remove: string[] }): Promise<void>;
  list(sessionId: string, opts?: { frame?: number }): Promise<AnnotationProjectionRecord[]>;
  /** `list` of several sessions in one query: every id is a key, with [] for a session without rows. */
  listMany(sessionIds: readonly string[]): Promise<Map<string, AnnotationProjectionRecord[]>>;
  countsBySession(sessionIds: readonly string[]): Promise<Map<string, AnnotationCounts>>;
}

/**
 * Rows travel as ONE json parameter expanded by json_populate_recordset: 10 000 rows as 120 000
 * bind parameters cost knex and the driver far more CPU (and PGlite about twice the time) than
 * one JSON text, and block the event loop while they are built.
 */
const UPSERT_SQL = `
  insert into annotations
  select * from json_populate_recordset(null::annotations, ?::json)
  on conflict (session_id, annotation_id) do update set
    frame = excluded.frame, label = excluded.label, x = excluded.x, y = excluded.y, w = excluded.w, h = excluded.h,
    track_id = excluded.track_id, detection_id = excluded.detection_id, status = excluded.status, updated_at = excluded.updated_at`;

/**
 * One statement per chunk of JSON (statement-size.ts: on PGlite its size sets the thread's memory).
 * Each chunk is built between the awaits: one JSON text of 10 000 rows took ~30-100 ms of the
 * event loop, while in chunks other work (socket frames) runs in between.
 */
async function upsert(trx: Knex.Transaction, records: AnnotationProjectionRecord[]): Promise<void> {
  for (const json of jsonChunks(records, annotationProjectionToRow, jsonChunkBytes(trx))) await trx.raw(UPSERT_SQL, [json]);
}

async function removeRows(trx: Knex.Transaction, sessionId: string, annotationIds: string[]): Promise<void> {
  await trx.raw('delete from annotations where session_id = ? and annotation_id = any(?::text[])', [sessionId, annotationIds]);
}

export function createAnnotationRepository({ knex }: { knex: Knex }): AnnotationRepository {
  return {
    async apply(sessionId, { upsert: records, remove }) {
      if (records.length === 0 && remove.length === 0) return;
      const perTransaction = rowsPerTransaction(knex);
      if (records.length + remove.length <= perTransaction) {
        await knex.transaction(async (trx) => {
          if (remove.length > 0) await removeRows(trx, sessionId, remove);
          await upsert(trx, records);
        });
        return;
      }
      // Where a transaction holds the only connection (PGlite), a few hundred rows per transaction:
      // 10 000 in one held it ~1 s, every other statement waiting. Removals and upserts are
      // idempotent, and the projection retries a failed batch whole (server/followers/projection.ts),
      // so one cut short leaves nothing a retry does not mend; a reader meanwhile sees part of the
      // batch, as it sees the projection's lag.
      for (let i = 0; i < remove.length; i += perTransaction) {
        const part = remove.slice(i, i + perTransaction);
        await knex.transaction((trx) => removeRows(trx, sessionId, part));
      }
      for (let i = 0; i < records.length; i += perTransaction) {
        const part = records.slice(i, i + perTransaction);
        await knex.transaction((trx) => upsert(trx, part));
      }
    },
    async list(sessionId, opts = {}) {
      const query = knex<AnnotationProjectionRow>('annotations').where({ session_id: sessionId }).orderBy(['frame', 'annotation_id']);
      if (opts.frame !== undefined) query.andWhere({ frame: opts.frame });
      const rows = (await query) as AnnotationProjectionRow[];
      return rows.map(annotationProjectionFromRow);
    },
    async listMany(sessionIds) {
      const out = new Map<string, AnnotationProjectionRecord[]>(sessionIds.map((id) => [id, []]));
      if (sessionIds.length === 0) return out;
      const rows = (await knex<AnnotationProjectionRow>('annotations')
        .whereIn('session_id', [...sessionIds])
        .orderBy(['session_id', 'frame', 'annotation_id'])) as AnnotationProjectionRow[];
      for (const row of rows) out.get(row.session_id)?.push(annotationProjectionFromRow(row));
      return out;
    },
    async countsBySession(sessionIds) {
      const out = new Map<string, AnnotationCounts>();
      for (const id of sessionIds) out.set(id, { total: 0, byStatus: {} });
      if (sessionIds.length === 0) return out;
      const rows = (await knex('annotations')
        .whereIn('session_id', [...sessionIds])
        .groupBy('session_id', 'status')
        .select('session_id', 'status', knex.raw('count(*)::int as n'))) as Array<{ session_id: string; status: string; n: number | string }>;
      for (const row of rows) {
        const counts = out.get(row.session_id);
        if (!counts) continue;
        counts.byStatus[row.status] = Number(row.n);
        counts.total += Number(row.n);
      }
      return out;
    },
  };
}
