/**
 * The `annotation_history` table: who changed which annotation or track, when, from where, and
 * which fields from what to what (docs/history.md). Entries arrive in batches from the projection
 * follower; nothing here is written per keystroke.
 *
 *   await history.append([{ sessionId, annotationId, at, by, origin: 'socket', kind: 'changed',
 *     fields: { bbox: { from: [0, 0, 5, 5], to: [3, 0, 5, 5] } } }])
 */
import type { Knex } from 'knex';
import { afterCursor, toPage, type Page } from '../page.ts';
import { jsonChunkBytes, jsonChunks, rowsPerTransaction } from '../statement-size.ts';

export const historyOrigins = ['socket', 'rest', 'import', 'model'] as const;
export type HistoryOrigin = (typeof historyOrigins)[number];
export const historyKinds = ['created', 'changed', 'deleted'] as const;
export type HistoryKind = (typeof historyKinds)[number];

export interface FieldChange {
  from: unknown;
  to: unknown;
}

export interface NewHistoryEntry {
  sessionId: string;
  /** Exactly one of the two is set. */
  annotationId?: string | null;
  trackId?: string | null;
  at: Date;
  by: string;
  origin: HistoryOrigin;
  kind: HistoryKind;
  fields: Record<string, FieldChange>;
}

export interface HistoryEntry {
  id: string;
  sessionId: string;
  annotationId: string | null;
  trackId: string | null;
  at: string;
  by: string;
  origin: HistoryOrigin;
  kind: HistoryKind;
  fields: Record<string, FieldChange>;
}

export interface HistoryFilter {
  limit: number;
  cursor?: string;
  /** Only entries at or after this time. */
  since?: Date;
  by?: string;
  kind?: HistoryKind;
  annotationId?: string;
  trackId?: string;
}

export interface HistoryRepository {
  append(entries: readonly NewHistoryEntry[], trx?: Knex.Transaction): Promise<void>;
  /** How many entries one `append` of background writes should carry (statement-size.ts, `rowsPerTransaction`). */
  readonly entriesPerAppend: number;
  /** Oldest first: a history reads as it happened. */
  list(sessionId: string, filter: HistoryFilter): Promise<Page<HistoryEntry>>;
}

interface HistoryRow {
  id: string | number;
  session_id: string;
  annotation_id: string | null;
  track_id: string | null;
  at: Date | string;
  by: string;
  origin: HistoryOrigin;
  kind: HistoryKind;
  fields: Record<string, FieldChange> | string;
}

const entryFromRow = (row: HistoryRow): HistoryEntry => ({
  id: String(row.id),
  sessionId: row.session_id,
  annotationId: row.annotation_id,
  trackId: row.track_id,
  at: new Date(row.at).toISOString(),
  by: row.by,
  origin: row.origin,
  kind: row.kind,
  fields: typeof row.fields === 'string' ? (JSON.parse(row.fields) as Record<string, FieldChange>) : row.fields,
});

/**
 * Rows travel as ONE json parameter expanded by json_populate_recordset, as the annotations
 * projection writes them (annotations.ts), instead of knex's multi-row insert (500 entries, 4 000
 * bind parameters, each compiled by knex and serialised by the driver on the event loop). An
 * append of 10 000 entries, four alternated rounds each through the real knex: this
 * process's CPU on Postgres 34-81 → 21-31 ms; on PGlite, its thread included, 275-337 → 204-265 ms.
 * What is left on PGlite is Postgres's own work per row: ~21 µs in a lone loop, of which the two
 * indexes ~9 and jsonb's parse ~6.
 */
const INSERT_SQL = `
  insert into annotation_history (session_id, annotation_id, track_id, at, by, origin, kind, fields)
  select session_id, annotation_id, track_id, at, by, origin, kind, fields
  from json_populate_recordset(null::annotation_history, ?::json)`;

export function createHistoryRepository({ knex }: { knex: Knex }): HistoryRepository {
  return {
    entriesPerAppend: rowsPerTransaction(knex),
    async append(entries, trx) {
      if (entries.length === 0) return;
      const row = (e: NewHistoryEntry) => ({
        session_id: e.sessionId,
        annotation_id: e.annotationId ?? null,
        track_id: e.trackId ?? null,
        at: e.at,
        by: e.by,
        origin: e.origin,
        kind: e.kind,
        fields: e.fields,
      });
      const write = async (t: Knex.Transaction) => {
        // One statement per chunk (statement-size.ts), each chunk's JSON built between the awaits:
        // 10 000 entries at once held the event loop ~0.1-0.4 s.
        for (const json of jsonChunks(entries, row, jsonChunkBytes(t))) await t.raw(INSERT_SQL, [json]);
      };
      await (trx ? write(trx) : knex.transaction(write));
    },
    async list(sessionId, filter) {
      const query = knex<HistoryRow>('annotation_history')
        .where({ session_id: sessionId })
        .orderBy([{ column: 'at' }, { column: 'id' }])
        .limit(filter.limit + 1);
      if (filter.since) query.andWhere('at', '>=', filter.since);
      if (filter.by !== undefined) query.andWhere({ by: filter.by });
      if (filter.kind !== undefined) query.andWhere({ kind: filter.kind });
      if (filter.annotationId !== undefined) query.andWhere({ annotation_id: filter.annotationId });
      if (filter.trackId !== undefined) query.andWhere({ track_id: filter.trackId });
      afterCursor(query, filter.cursor, '(at, id) > (?::timestamptz, ?::bigint)', /^\d{1,18}$/);
      const rows = (await query) as HistoryRow[];
      return toPage(rows.map(entryFromRow), filter.limit, (e) => [e.at, e.id]);
    },
  };
}
