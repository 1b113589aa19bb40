/**
 * Ground-truth releases: a session's content frozen as a row, never as a pointer into the update
 * log (compaction folds the log into snapshots, so a log position does not stay readable). The
 * content is the release's stored encoding (docs-model/release-content.ts), gzip-compressed:
 * about 2.5 MB of JSON for 10 000 annotations shrinks to a few hundred KB, and it keeps the
 * document's key order, which jsonb would not (jsonb sorts keys, and exports follow that order).
 * `counts` stays jsonb: it is small and read in lists.
 *
 * Test runs name the release they are scored against (`release_id`, null for runs made before
 * releases existed). The foreign key has no ON DELETE action, so a release an evaluation uses
 * cannot be deleted, while a project deleted as a whole still takes its runs and releases with it
 * (NO ACTION is checked at the end of the statement, after the cascade). The evaluation stored on
 * the run carries `groundTruth: { sessionId, releaseId, contentHash }` inside its jsonb.
 *
 * `down` drops the link and the table: releases are copies of what the session documents held
 * at the time, and the documents themselves are untouched.
 */
import type { Knex } from 'knex';

export const name = '20261204_0005_releases';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table releases (
      id text primary key,
      session_id text not null references sessions (id) on delete cascade,
      project_id text not null references projects (id) on delete cascade,
      batch_id text,
      name text not null check (length(name) between 1 and 200),
      note text,
      created_at timestamptz not null default now(),
      created_by text not null,
      content_hash text not null,
      counts jsonb not null,
      content_encoding text not null default 'gzip' check (content_encoding in ('gzip')),
      content_bytes integer not null check (content_bytes >= 0),
      content bytea not null,
      constraint releases_session_name unique (session_id, name)
    )`);
  await knex.raw('create index releases_session on releases (session_id, created_at, id)');
  await knex.raw('create index releases_project on releases (project_id, created_at, id)');
  await knex.raw('create index releases_batch on releases (batch_id) where batch_id is not null');
  await knex.raw('alter table test_runs add column release_id text references releases (id)');
  await knex.raw('create index test_runs_release on test_runs (release_id) where release_id is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table test_runs drop column if exists release_id');
  await knex.raw('drop table if exists releases');
}
