/**
 * The update log's primary key becomes `(doc_name, seq)`, in place of `seq` alone plus an index on
 * `(doc_name, seq)`: every statement that reads or deletes rows names the document (a load, a
 * compaction, a quarantine move, a removal), and `seq`, an identity column, stays unique either
 * way. One B-tree per inserted row instead of two: an INSERT of 240 small rows, as a group commit
 * under `bench:sync`'s throughput writes them, took 3.14 instead of 3.73 ms of CPU on PGlite and 1.91
 * instead of 2.10 ms on Postgres (medians of six alternated rounds of 100; docs/architecture.md,
 * "Durability").
 *
 * `down` restores the key on `seq` and the index.
 */
import type { Knex } from 'knex';

export const name = '20261206_0009_update_log_key';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table yjs_updates drop constraint yjs_updates_pkey');
  await knex.raw('drop index yjs_updates_doc_name_seq');
  await knex.raw('alter table yjs_updates add constraint yjs_updates_pkey primary key (doc_name, seq)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table yjs_updates drop constraint yjs_updates_pkey');
  await knex.raw('alter table yjs_updates add constraint yjs_updates_pkey primary key (seq)');
  await knex.raw('create index yjs_updates_doc_name_seq on yjs_updates (doc_name, seq)');
}
