/**
 * The `events` table: the outbox of what happened in a project (docs/webhooks.md). `append` runs
 * inside the caller's transaction, the one of the change that caused the event, and adds one
 * `webhook_deliveries` row per active webhook subscribed to its type there too: the event and its
 * deliveries exist exactly when the change committed. The same rows are the project's activity
 * list, so that list survives a restart and is the same on every process.
 *
 *   await knex.transaction(async (trx) => {
 *     await runs.create(run, trx)
 *     await events.append({ projectId, type: 'test_run.created', actor, data: { run } }, trx)
 *   })
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterCursor, toPage, type Page } from '../page.ts';
import { jsonChunkBytes, jsonChunks } from '../statement-size.ts';

const APPEND_MANY_SQL = `
  insert into events (id, project_id, type, occurred_at, actor, data)
  select r.id, r.project_id, r.type, r.occurred_at, r.actor, r.data
  from rows from (jsonb_to_recordset(?::jsonb)
    as (id text, project_id text, type text, occurred_at timestamptz, actor text, data jsonb)) with ordinality as r
  order by r.ordinality`;

export const eventTypes = [
  'session.created',
  'session.status_changed',
  'session.released',
  'import.completed',
  'test_run.created',
  'test_run.completed',
  'test_run.failed',
  'test_run.cancelled',
  'evaluation.ready',
] as const;

export type EventType = (typeof eventTypes)[number];

/** Stored for the activity list only: no webhook can subscribe to them. */
export const activityOnlyTypes = ['test_run.started', 'session.joined', 'session.left'] as const;
export type StoredEventType = EventType | (typeof activityOnlyTypes)[number];

/** What a webhook receives as its body (and what the activity list shows). */
export interface EventRecord {
  id: string;
  type: StoredEventType;
  occurredAt: string;
  projectId: string;
  /** Who caused it (a token's `sub`); null when the server did on its own. */
  actor: string | null;
  data: Record<string, unknown>;
}

export interface NewEvent {
  projectId: string;
  type: StoredEventType;
  actor: string | null;
  data: Record<string, unknown>;
  occurredAt?: Date;
}

export interface EventRepository {
  /** The event and its deliveries, in `trx` when given (else a transaction of its own). */
  append(event: NewEvent, trx?: Knex.Transaction): Promise<{ event: EventRecord; deliveries: number }>;
  /** Newest first. */
  list(projectId: string, opts: { limit: number; cursor?: string; types?: readonly StoredEventType[] }): Promise<Page<EventRecord>>;
  get(id: string): Promise<EventRecord | null>;
  /** The newest `limit` events of these types, newest first, with their increasing `seq`. */
  recent(projectId: string, types: readonly StoredEventType[], limit: number): Promise<Array<EventRecord & { seq: number }>>;
  /** Several events in one statement (presence notes; no deliveries: no webhook takes their types). */
  appendMany(events: readonly NewEvent[]): Promise<void>;
}

interface EventRow {
  id: string;
  seq?: number | string;
  project_id: string;
  type: StoredEventType;
  occurred_at: Date | string;
  actor: string | null;
  data: Record<string, unknown> | string;
}

export const eventFromRow = (row: EventRow): EventRecord => ({
  id: row.id,
  type: row.type,
  occurredAt: new Date(row.occurred_at).toISOString(),
  projectId: row.project_id,
  actor: row.actor,
  data: typeof row.data === 'string' ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
});

export function createEventRepository({ knex }: { knex: Knex }): EventRepository {
  async function append(event: NewEvent, trx: Knex.Transaction) {
    // Milliseconds, as the body carries them: the stored time and the signed one are equal.
    const occurredAt = new Date(Math.floor((event.occurredAt ?? new Date()).getTime()));
    const [row] = await trx('events')
      .insert({
        id: randomUUID(),
        project_id: event.projectId,
        type: event.type,
        occurred_at: occurredAt,
        actor: event.actor,
        data: JSON.stringify(event.data),
      })
      .returning('*');
    const record = eventFromRow(row as EventRow);
    const inserted = await trx.raw(
      `insert into webhook_deliveries (id, event_id, webhook_id)
       select gen_random_uuid()::text, ?, id from webhooks
       where project_id = ? and active and events @> ?::jsonb
       returning id`,
      [record.id, record.projectId, JSON.stringify([record.type])],
    );
    return { event: record, deliveries: (inserted.rows as unknown[]).length };
  }
  return {
    append: (event, trx) => (trx ? append(event, trx) : knex.transaction((own) => append(event, own))),
    async list(projectId, opts) {
      const query = knex<EventRow>('events')
        .where({ project_id: projectId })
        .orderBy([
          { column: 'occurred_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(opts.limit + 1);
      if (opts.types) query.whereIn('type', opts.types as StoredEventType[]);
      afterCursor(query, opts.cursor, '(occurred_at, id) < (?::timestamptz, ?)');
      const rows = (await query) as EventRow[];
      return toPage(rows.map(eventFromRow), opts.limit, (e) => [e.occurredAt, e.id]);
    },
    async get(id) {
      const row = (await knex<EventRow>('events').where({ id }).first()) as EventRow | undefined;
      return row ? eventFromRow(row) : null;
    },
    async recent(projectId, types, limit) {
      const rows = (await knex<EventRow>('events')
        .where({ project_id: projectId })
        .whereIn('type', types as StoredEventType[])
        .orderBy('seq', 'desc')
        .limit(limit)) as EventRow[];
      return rows.map((row) => ({ ...eventFromRow(row), seq: Number(row.seq) }));
    },
    async appendMany(events) {
      if (events.length === 0) return;
      // One JSON parameter per chunk of the batch, not six per row: knex and pg serialise each
      // parameter in JavaScript (a Date through pg's dateToString), which for a reconnecting crowd's
      // presence notes (hundreds of rows a second) cost more than the insert itself; here it is one
      // native JSON.stringify per chunk (statement-size.ts). Rows keep their order in `seq` (WITH
      // ORDINALITY within a chunk, the chunks one after the other).
      const now = new Date();
      const row = (event: NewEvent) => ({
        id: randomUUID(),
        project_id: event.projectId,
        type: event.type,
        occurred_at: (event.occurredAt ?? now).toISOString(),
        actor: event.actor,
        data: event.data,
      });
      const chunks = jsonChunks(events, row, jsonChunkBytes(knex));
      const first = chunks.next();
      if (first.done) return;
      const second = chunks.next();
      if (second.done) {
        await knex.raw(APPEND_MANY_SQL, [first.value]);
        return;
      }
      // More than one statement: in one transaction, so the batch is stored whole or not at all.
      await knex.transaction(async (trx) => {
        await trx.raw(APPEND_MANY_SQL, [first.value]);
        await trx.raw(APPEND_MANY_SQL, [second.value]);
        for (const json of chunks) await trx.raw(APPEND_MANY_SQL, [json]);
      });
    },
  };
}
