/**
 * What leaves the server and what it remembers (docs/webhooks.md, docs/history.md):
 *
 * - `webhooks`: a project's subscriptions. The secret is sealed (AES-256-GCM under a key derived
 *   from AUTH_SECRET, persistence/secret-box.ts): the server needs it to sign, nobody reads it back.
 * - `events`: the outbox. An event row is written in the transaction of the change that caused
 *   it, together with one `webhook_deliveries` row per webhook subscribed to its type, so a change
 *   that commits always has its deliveries, and one that rolls back never has. The same rows, in
 *   `seq` order, are a project's activity list (with presence notes no webhook receives).
 * - `webhook_deliveries`: one per (event, webhook); a dispatcher claims due rows with
 *   `FOR UPDATE SKIP LOCKED` and a lease (`locked_until`), so several processes never deliver one
 *   at the same time and a process killed mid-delivery leaves a row another claims once the lease
 *   ends. The id is the `X-Annosync-Delivery` header, the same on every retry.
 * - `annotation_history`: one entry per change of an annotation or a track as it reaches the
 *   `annotations` projection, coalesced per annotation per second.
 *
 * `down` drops the four tables: subscriptions and deliveries can be made again; the history is
 * lost with them (the documents themselves are untouched).
 */
import type { Knex } from 'knex';

export const name = '20261204_0006_webhooks_history';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table webhooks (
      id text primary key,
      project_id text not null references projects (id) on delete cascade,
      url text not null,
      events jsonb not null,
      secret_sealed text not null,
      active boolean not null default true,
      disabled_reason text,
      failing_since timestamptz,
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  await knex.raw('create index webhooks_project on webhooks (project_id, created_at, id)');
  await knex.raw(`
    create table events (
      id text primary key,
      seq bigserial not null,
      project_id text not null references projects (id) on delete cascade,
      type text not null,
      occurred_at timestamptz not null,
      actor text,
      data jsonb not null
    )`);
  await knex.raw('create index events_project on events (project_id, occurred_at desc, id desc)');
  await knex.raw('create index events_project_seq on events (project_id, seq desc)');
  await knex.raw(`
    create table webhook_deliveries (
      id text primary key,
      event_id text not null references events (id) on delete cascade,
      webhook_id text not null references webhooks (id) on delete cascade,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      retry_from timestamptz not null default now(),
      locked_until timestamptz,
      last_status_code integer,
      last_error text,
      last_attempt_at timestamptz,
      delivered_at timestamptz,
      created_at timestamptz not null default now()
    )`);
  await knex.raw(
    "create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'",
  );
  await knex.raw('create index webhook_deliveries_webhook on webhook_deliveries (webhook_id, created_at desc, id desc)');
  await knex.raw(`
    create table annotation_history (
      id bigserial primary key,
      session_id text not null,
      annotation_id text,
      track_id text,
      at timestamptz not null,
      by text not null,
      origin text not null check (origin in ('socket', 'rest', 'import', 'model')),
      kind text not null check (kind in ('created', 'changed', 'deleted')),
      fields jsonb not null
    )`);
  await knex.raw('create index annotation_history_session on annotation_history (session_id, at, id)');
  await knex.raw(
    'create index annotation_history_annotation on annotation_history (session_id, annotation_id, at, id)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists annotation_history');
  await knex.raw('drop table if exists webhook_deliveries');
  await knex.raw('drop table if exists events');
  await knex.raw('drop table if exists webhooks');
}
