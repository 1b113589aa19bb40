/**
 * The `webhook_deliveries` table: one row per event and subscribed webhook (docs/webhooks.md).
 * A dispatcher `claim`s due rows: `FOR UPDATE SKIP LOCKED` lets several processes claim at once
 * without taking the same row, and the lease written with the claim (`locked_until`) keeps it from
 * every other claim until the attempt is recorded or the lease ends — so a process killed
 * mid-delivery leaves a row that is delivered after the lease, by itself after a restart or by
 * another process.
 */
import type { Knex } from 'knex';
import { afterCursor, toPage, type Page } from '../page.ts';
import type { SecretBox } from '../secret-box.ts';
import { eventFromRow, type EventRecord } from './events.ts';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  eventId: string;
  webhookId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  url: string;
  /** The webhook's secret, opened, for signing. */
  secret: string;
  /** True while the webhook is in a failing period (a success ends it). */
  failing: boolean;
  /** Attempts including this one. */
  attempt: number;
  /** Start of the retry window (creation, or the last redelivery). */
  retryFrom: string;
  event: EventRecord;
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
}

export interface DeliveryRepository {
  claim(opts: { limit: number; leaseMs: number }): Promise<ClaimedDelivery[]>;
  /** Records successful attempts, all in one statement. */
  delivered(done: ReadonlyArray<{ id: string; statusCode: number }>): Promise<void>;
  retryAt(id: string, at: Date, outcome: AttemptOutcome): Promise<void>;
  failed(id: string, outcome: AttemptOutcome): Promise<void>;
  list(webhookId: string, opts: { limit: number; cursor?: string }): Promise<Page<DeliveryRecord>>;
  /** Puts one back in the queue, due now, with a fresh retry window; null when the webhook has no such delivery. */
  redeliver(webhookId: string, id: string): Promise<DeliveryRecord | null>;
  /** Ends every lease: only for a database one process owns (PGlite), at its start, when any lease is a dead process's. */
  releaseLeases(): Promise<number>;
  /** When the earliest pending delivery of an active webhook falls due (for the dispatcher's timer). */
  nextDue(): Promise<Date | null>;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  webhook_id: string;
  type?: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | string;
  retry_from: Date | string;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | string | null;
  delivered_at: Date | string | null;
  created_at: Date | string;
}

const iso = (v: Date | string) => new Date(v).toISOString();
const isoOrNull = (v: Date | string | null) => (v === null ? null : iso(v));

const deliveryFromRow = (row: DeliveryRow): DeliveryRecord => ({
  id: row.id,
  eventId: row.event_id,
  webhookId: row.webhook_id,
  eventType: row.type ?? '',
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  lastAttemptAt: isoOrNull(row.last_attempt_at),
  deliveredAt: isoOrNull(row.delivered_at),
  createdAt: iso(row.created_at),
});

/** Error texts are kept short: a receiver's message is not ours to store at length. */
const clip = (text: string | null) => (text === null ? null : text.slice(0, 500));

export function createDeliveryRepository({ knex, box }: { knex: Knex; box: SecretBox }): DeliveryRepository {
  const finish = (id: string, columns: Record<string, unknown>, outcome: AttemptOutcome) =>
    knex('webhook_deliveries')
      .where({ id })
      .update({ ...columns, locked_until: null, last_status_code: outcome.statusCode, last_error: clip(outcome.error) });
  return {
    async claim({ limit, leaseMs }) {
      return knex.transaction(async (trx) => {
        const due = await trx.raw(
          `select d.id, d.webhook_id, d.attempts, d.retry_from, w.url, w.secret_sealed, w.failing_since,
                  e.id as event_id, e.project_id, e.type, e.occurred_at, e.actor, e.data
           from webhook_deliveries d
           join webhooks w on w.id = d.webhook_id
           join events e on e.id = d.event_id
           where d.status = 'pending' and w.active and d.next_attempt_at <= now()
             and (d.locked_until is null or d.locked_until < now())
           order by d.next_attempt_at, d.id
           limit ?
           for update of d skip locked`,
          [limit],
        );
        const rows = due.rows as Array<{
          id: string;
          webhook_id: string;
          attempts: number;
          retry_from: Date | string;
          url: string;
          secret_sealed: string;
          failing_since: Date | string | null;
          event_id: string;
          project_id: string;
          type: EventRecord['type'];
          occurred_at: Date | string;
          actor: string | null;
          data: Record<string, unknown> | string;
        }>;
        if (rows.length === 0) return [];
        const ids = rows.map((r) => r.id);
        await trx.raw(
          `update webhook_deliveries
           set attempts = attempts + 1, last_attempt_at = now(),
               locked_until = now() + (? * interval '1 millisecond')
           where id = any(?::text[])`,
          [leaseMs, ids],
        );
        return rows.map((r) => ({
          id: r.id,
          webhookId: r.webhook_id,
          url: r.url,
          secret: box.open(r.secret_sealed),
          failing: r.failing_since !== null,
          attempt: Number(r.attempts) + 1,
          retryFrom: iso(r.retry_from),
          event: eventFromRow({
            id: r.event_id,
            project_id: r.project_id,
            type: r.type,
            occurred_at: r.occurred_at,
            actor: r.actor,
            data: r.data,
          }),
        }));
      });
    },
    async delivered(done) {
      if (done.length === 0) return;
      await knex.raw(
        `update webhook_deliveries d
         set status = 'delivered', delivered_at = now(), locked_until = null, last_error = null,
             last_status_code = v.code
         from unnest(?::text[], ?::int[]) as v(id, code)
         where d.id = v.id`,
        [done.map((d) => d.id), done.map((d) => d.statusCode)],
      );
    },
    async retryAt(id, at, outcome) {
      await finish(id, { next_attempt_at: at }, outcome);
    },
    async failed(id, outcome) {
      await finish(id, { status: 'failed' }, outcome);
    },
    async list(webhookId, opts) {
      const query = knex('webhook_deliveries as d')
        .join('events as e', 'e.id', 'd.event_id')
        .where('d.webhook_id', webhookId)
        .select('d.*', 'e.type')
        .orderBy([
          { column: 'd.created_at', order: 'desc' },
          { column: 'd.id', order: 'desc' },
        ])
        .limit(opts.limit + 1);
      afterCursor(query, opts.cursor, '(d.created_at, d.id) < (?::timestamptz, ?)');
      const rows = (await query) as DeliveryRow[];
      return toPage(rows.map(deliveryFromRow), opts.limit, (d) => [d.createdAt, d.id]);
    },
    async redeliver(webhookId, id) {
      const now = new Date();
      const updated = await knex('webhook_deliveries')
        .where({ id, webhook_id: webhookId })
        .update({ status: 'pending', next_attempt_at: now, retry_from: now, locked_until: null })
        .returning('id');
      if (updated.length === 0) return null;
      const row = (await knex('webhook_deliveries as d')
        .join('events as e', 'e.id', 'd.event_id')
        .where('d.id', id)
        .first('d.*', 'e.type')) as DeliveryRow;
      return deliveryFromRow(row);
    },
    async releaseLeases() {
      return knex('webhook_deliveries').where('status', 'pending').whereNotNull('locked_until').update({ locked_until: null });
    },
    async nextDue() {
      const row = (await knex('webhook_deliveries as d')
        .join('webhooks as w', 'w.id', 'd.webhook_id')
        .where('d.status', 'pending')
        .andWhere('w.active', true)
        .min({ due: knex.raw('greatest(d.next_attempt_at, coalesce(d.locked_until, d.next_attempt_at))') })
        .first()) as { due: Date | string | null } | undefined;
      return row?.due ? new Date(row.due) : null;
    },
  };
}
