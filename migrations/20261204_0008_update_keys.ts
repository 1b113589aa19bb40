/**
 * A key per update-log row written by a process sharing its documents over Redis
 * (docs/architecture.md, "More than one process"): `<process id>:<sequence>`, the same key on the
 * row its sender writes and on the row another process writes when the sender's "stored" notice
 * does not come. The unique index makes the second one a no-op (`on conflict do nothing`), so an
 * update is stored once however many processes hold its document. Null for every row written
 * without Redis, as for every row stored before this migration; the index is partial, so those
 * rows cost it nothing.
 *
 * `down` drops the index and the column: a key only matters while its update may still be stored
 * a second time (a few seconds), and rows without one load as before.
 */
import type { Knex } from 'knex';

export const name = '20261204_0008_update_keys';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table yjs_updates add column update_key text');
  await knex.raw('create unique index yjs_updates_update_key on yjs_updates (update_key) where update_key is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists yjs_updates_update_key');
  await knex.raw('alter table yjs_updates drop column if exists update_key');
}
