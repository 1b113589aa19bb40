/**
 * Detections carry the tracker's id (`track_id`): tracker output scored with the tracking metrics
 * (CLEAR MOT, identity, HOTA; docs/formats.md, "Tracking metrics") and promoted to tracks. Null for
 * a detector without a tracker, as every detection stored before this migration.
 *
 * `down` drops the column: the ids are results a runner can post again.
 */
import type { Knex } from 'knex';

export const name = '20261204_0007_detection_tracks';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table detections add column track_id text check (length(track_id) between 1 and 256)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table detections drop column if exists track_id');
}
