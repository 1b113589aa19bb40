/**
 * Uploads of detections that are still being written. A large upload goes in chunks, each its own
 * statement and transaction, and becomes visible at once when its `detection_uploads` row is
 * deleted: readers skip the rows whose `upload_id` names a row here
 * (persistence/repositories/detections.ts). On PGlite, whose one connection an open transaction
 * holds for every statement of the process, an upload of 50 000 detections in one transaction
 * held it for 1.4-1.9 s (docs/architecture.md, "Reading over REST"). A row left here by a process
 * that died mid-upload hides its detections until the server's start removes them.
 *
 * `upload_id` is null for the detections stored before this migration. An upload of one chunk is
 * written in one transaction as before: its `upload_id` names no row here. `down` removes the rows
 * of unfinished uploads, then the table and the column.
 */
import type { Knex } from 'knex';

export const name = '20261207_0011_detection_uploads';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table detection_uploads (
      id text primary key,
      run_id text not null references test_runs (id) on delete cascade,
      created_at timestamptz not null default now()
    )`);
  await knex.raw('alter table detections add column upload_id text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('delete from detections d using detection_uploads u where d.upload_id = u.id');
  await knex.raw('drop table if exists detection_uploads');
  await knex.raw('alter table detections drop column if exists upload_id');
}
