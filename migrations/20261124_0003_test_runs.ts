/**
 * Test runs and their detections. A run validates one model against the ground truth of
 * one session; `revision` counts its changes, so Server-Sent Event ids survive a restart (a client
 * resuming after `Last-Event-ID: 7` of a run now at revision 9 gets the current state).
 * Detections are kept apart from ground truth: they never enter a session document.
 *
 * `down` drops both tables: runs and detections are results a runner can post again; the ground
 * truth they were measured against lives in the session documents and is untouched.
 */
import type { Knex } from 'knex';

export const name = '20261124_0003_test_runs';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table test_runs (
      id text primary key,
      project_id text not null references projects (id) on delete cascade,
      video_id text not null references videos (id) on delete cascade,
      session_id text not null references sessions (id) on delete cascade,
      model_name text not null,
      model_version text not null,
      status text not null default 'queued'
        check (status in ('queued', 'running', 'completed', 'failed', 'cancelled')),
      processed_frames integer not null default 0 check (processed_frames >= 0),
      total_frames integer not null default 0 check (total_frames >= 0),
      message text,
      metrics jsonb,
      evaluation jsonb,
      detection_count integer not null default 0,
      revision integer not null default 1,
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz
    )`);
  await knex.raw('create index test_runs_project on test_runs (project_id, created_at, id)');
  await knex.raw('create index test_runs_session on test_runs (session_id)');
  await knex.raw(`
    create table detections (
      run_id text not null references test_runs (id) on delete cascade,
      seq bigserial,
      frame integer not null check (frame >= 0),
      x double precision not null,
      y double precision not null,
      w double precision not null,
      h double precision not null,
      label text not null,
      score double precision not null check (score >= 0 and score <= 1),
      detection_id text,
      primary key (run_id, seq)
    )`);
  await knex.raw('create index detections_run_frame on detections (run_id, frame)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists detections');
  await knex.raw('drop table if exists test_runs');
}
