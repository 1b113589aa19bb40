/**
 * Every migration, in order. Listed statically (not discovered from the directory) so they run the
 * same under tsx, in a bundle and in tests. Append new ones at the end; never reorder or rename a
 * migration that has shipped: its name is the key recorded in `knex_migrations`.
 */
import type { Knex } from 'knex';
import * as yjsDocuments from './20261124_0001_yjs_documents.ts';
import * as platform from './20261124_0002_platform.ts';
import * as testRuns from './20261124_0003_test_runs.ts';
import * as quarantine from './20261124_0004_quarantine.ts';
import * as releases from './20261204_0005_releases.ts';
import * as webhooksHistory from './20261204_0006_webhooks_history.ts';
import * as detectionTracks from './20261204_0007_detection_tracks.ts';
import * as updateKeys from './20261204_0008_update_keys.ts';
import * as updateLogKey from './20261206_0009_update_log_key.ts';
import * as detectionsRunTrigger from './20261207_0010_detections_run_trigger.ts';
import * as detectionUploads from './20261207_0011_detection_uploads.ts';
import * as detectionsTrackIndex from './20261207_0012_detections_track_index.ts';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [yjsDocuments, platform, testRuns, quarantine, releases, webhooksHistory, detectionTracks, updateKeys, updateLogKey, detectionsRunTrigger, detectionUploads, detectionsTrackIndex];
