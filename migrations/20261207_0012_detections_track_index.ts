/**
 * Tracked detections by run, track and frame: what an upload of a tracker's output probes, for each
 * of its boxes, to refuse a box an earlier upload of the run already has for the same track, label
 * and frame (persistence/repositories/detections.ts). Only rows with a track id are in it, so an
 * untracked upload pays nothing. Probing by (run_id, frame) instead visited every box of the frame
 * for each new box: a second upload of 50 000 tracked boxes took 3.1 s on Postgres and 11 s on
 * PGlite with the run locked.
 */
import type { Knex } from 'knex';

export const name = '20261207_0012_detections_track_index';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index detections_run_track on detections (run_id, track_id, frame) where track_id is not null');
  // It takes the place of (run_id, frame), which no query reads: a run's rows are read, counted and
  // deleted by the primary key (run_id, seq). Maintaining both made an upload of 50 000 tracked
  // boxes 0.3-0.4 s slower on PGlite (1.26-1.36 s before this index, 1.64-1.76 s with both).
  await knex.raw('drop index if exists detections_run_frame');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists detections_run_frame on detections (run_id, frame)');
  await knex.raw('drop index if exists detections_run_track');
}
