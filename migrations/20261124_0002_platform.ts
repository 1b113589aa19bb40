/**
 * The platform's relational tables: projects, videos, their links, sessions, and the
 * `annotations` projection of the session documents. The documents stay the source of truth; the
 * projection can be rebuilt from them at any time (server/api/projection.ts), so `down` may drop it.
 *
 * Ids are text (the API mints uuids; document names embed them). Times are timestamptz, except the
 * projection's `updated_at`, which copies the document's ms-since-epoch value exactly.
 */
import type { Knex } from 'knex';

export const name = '20261124_0002_platform';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table projects (
      id text primary key,
      name text not null,
      description text not null default '',
      labels jsonb not null default '[]'::jsonb,
      criteria jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  await knex.raw(`
    create table videos (
      id text primary key,
      name text not null,
      uri text not null,
      width integer not null check (width > 0),
      height integer not null check (height > 0),
      fps double precision not null check (fps > 0),
      frame_count integer not null check (frame_count >= 0),
      duration_sec double precision not null check (duration_sec >= 0),
      tags jsonb not null default '[]'::jsonb,
      metadata jsonb not null default '{}'::jsonb,
      checksum text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  await knex.raw('create index videos_checksum on videos (checksum) where checksum is not null');
  await knex.raw('create index videos_created_at_id on videos (created_at, id)');
  await knex.raw(`
    create table project_videos (
      project_id text not null references projects (id) on delete cascade,
      video_id text not null references videos (id) on delete cascade,
      assigned_by text not null,
      assigned_at timestamptz not null default now(),
      primary key (project_id, video_id)
    )`);
  await knex.raw('create index project_videos_video_id on project_videos (video_id)');
  await knex.raw(`
    create table sessions (
      id text primary key,
      project_id text not null references projects (id) on delete cascade,
      video_id text not null references videos (id) on delete cascade,
      name text not null,
      status text not null default 'open' check (status in ('open', 'review', 'complete')),
      doc_name text not null unique,
      created_by text not null,
      archived_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  await knex.raw('create index sessions_project_id on sessions (project_id, created_at, id)');
  await knex.raw('create index sessions_video_id on sessions (video_id)');
  await knex.raw(`
    create table annotations (
      session_id text not null references sessions (id) on delete cascade,
      annotation_id text not null,
      frame integer not null,
      label text not null,
      x double precision not null,
      y double precision not null,
      w double precision not null,
      h double precision not null,
      track_id text,
      detection_id text,
      status text not null,
      updated_at bigint not null,
      primary key (session_id, annotation_id)
    )`);
  await knex.raw('create index annotations_session_frame on annotations (session_id, frame)');
  await knex.raw('create index annotations_session_label on annotations (session_id, label)');
  await knex.raw('create index annotations_session_track on annotations (session_id, track_id) where track_id is not null');
  await knex.raw('create index annotations_detection on annotations (detection_id) where detection_id is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists annotations');
  await knex.raw('drop table if exists sessions');
  await knex.raw('drop table if exists project_videos');
  await knex.raw('drop table if exists videos');
  await knex.raw('drop table if exists projects');
}
