/**
 * The `annotations` table: the relational projection of the session documents (DESIGN.md
 * "Persistence"). Only server/api/projection.ts writes it; the documents stay the source of truth.
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

export interface AnnotationCounts {
  total: number;
  byStatus: Record<string, number>;
}

export interface AnnotationRepository {
  /** Upserts and deletes one session's rows in one transaction. */
  apply(sessionId: string, change: { upsert: AnnotationProjectionRecord[]; remove: string[] }): Promise<void>;
  /** Makes the session's rows exactly `records` (a full re-projection), in one transaction. */
  replace(sessionId: string, records: AnnotationProjectionRecord[]): Promise<void>;
  list(sessionId: string, opts?: { frame?: number }): Promise<AnnotationProjectionRecord[]>;
  countsBySession(sessionIds: readonly string[]): Promise<Map<string, AnnotationCounts>>;
}

/** Postgres allows 65 535 bind parameters per statement; 12 columns a row. */
const UPSERT_CHUNK = 2_000;
const UPDATED_COLUMNS = ['frame', 'label', 'x', 'y', 'w', 'h', 'track_id', 'detection_id', 'status', 'updated_at'];

async function upsert(trx: Knex.Transaction, records: AnnotationProjectionRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += UPSERT_CHUNK) {
    const rows = records.slice(i, i + UPSERT_CHUNK).map(annotationProjectionToRow);
    await trx('annotations').insert(rows).onConflict(['session_id', 'annotation_id']).merge(UPDATED_COLUMNS);
  }
}

export function createAnnotationRepository({ knex }: { knex: Knex }): AnnotationRepository {
  return {
    async apply(sessionId, { upsert: records, remove }) {
      if (records.length === 0 && remove.length === 0) return;
      await knex.transaction(async (trx) => {
        for (let i = 0; i < remove.length; i += UPSERT_CHUNK) {
          await trx('annotations')
            .where({ session_id: sessionId })
            .whereIn('annotation_id', remove.slice(i, i + UPSERT_CHUNK))
            .delete();
        }
        await upsert(trx, records);
      });
    },
    async replace(sessionId, records) {
      await knex.transaction(async (trx) => {
        await trx('annotations').where({ session_id: sessionId }).delete();
        await upsert(trx, records);
      });
    },
    async list(sessionId, opts = {}) {
      const query = knex<AnnotationProjectionRow>('annotations').where({ session_id: sessionId }).orderBy(['frame', 'annotation_id']);
      if (opts.frame !== undefined) query.andWhere({ frame: opts.frame });
      const rows = (await query) as AnnotationProjectionRow[];
      return rows.map(annotationProjectionFromRow);
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
