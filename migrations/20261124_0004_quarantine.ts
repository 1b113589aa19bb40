/**
 * Stored updates set aside because they could not be merged within the time budget
 * (Yjs can loop forever on some crafted updates, yjs#687). persistence/doc-store.ts moves such a
 * row here from `yjs_updates`, in the transaction that found it, keeping its original `seq` and
 * bytes so an operator can inspect it (or re-append it once Yjs is fixed). `created_at` is when
 * it was set aside.
 *
 * `down` drops the table and with it the rows set aside: they were excluded from their documents
 * already, and keeping them would need a table that no longer exists after the rollback.
 */
import type { Knex } from 'knex';

export const name = '20261124_0004_quarantine';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table yjs_quarantine (
      seq bigint primary key,
      doc_name text not null,
      "update" bytea not null,
      reason text not null,
      created_at timestamptz not null default now()
    )`);
  await knex.raw('create index yjs_quarantine_doc_name on yjs_quarantine (doc_name, seq)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists yjs_quarantine');
}
