/**
 * The Yjs update log and the per-document snapshots (DESIGN.md "Persistence").
 *
 * `yjs_updates.seq` is an identity column: it orders one document's rows for `load`, but with
 * several writers its values can commit out of order, so nothing may treat it as a high-water
 * mark (see persistence/doc-store.ts). `yjs_snapshots.last_seq` is informational only.
 */
import type { Knex } from 'knex';

export const name = '20261124_0001_yjs_documents';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table yjs_updates (
      seq bigint generated always as identity primary key,
      doc_name text not null,
      "update" bytea not null,
      created_at timestamptz not null default now()
    )`);
  await knex.raw('create index yjs_updates_doc_name_seq on yjs_updates (doc_name, seq)');
  await knex.raw(`
    create table yjs_snapshots (
      doc_name text primary key,
      state bytea not null,
      last_seq bigint not null,
      row_count bigint not null default 0,
      updated_at timestamptz not null default now()
    )`);
  await knex.raw(`comment on column yjs_snapshots.last_seq is
    'Highest seq merged so far. Informational: seq values commit out of order, so load reads every remaining row.'`);
  await knex.raw(`comment on column yjs_snapshots.row_count is 'Log rows merged into this snapshot over its lifetime.'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists yjs_snapshots');
  await knex.raw('drop table if exists yjs_updates');
}
