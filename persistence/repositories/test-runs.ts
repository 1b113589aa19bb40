/**
 * The `test_runs` table: one row per model run against one session's ground truth.
 * Status only moves forward (queued → running → completed | failed | cancelled); a change that
 * would move it back, or touch a finished run, matches no row and reports why, so two runners (or
 * two processes) racing on one run can never resurrect it. Every change bumps `revision`.
 *
 *   const runs = createTestRunRepository({ knex })
 *   await runs.create({ id, projectId, videoId, sessionId, model: { name: 'yolo', version: '8' }, createdBy })
 *   await runs.advance(id, { status: 'running', processedFrames: 10, totalFrames: 100 })
 *   // → { run } or { conflict: 'finished' | 'backwards', run } or null (no such run)
 */
import type { Knex } from 'knex';
import { TEST_RUN_STATUSES, type TestRun, type TestRunStatus } from '../../docs-model/test-run-doc.ts';
import { afterCursor, toPage, type Page } from '../page.ts';
import { writeWithin, type Within } from '../within.ts';

export type { TestRunStatus };
export const TERMINAL_STATUSES: ReadonlySet<TestRunStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Position in the only allowed order; the three endings share the last place. */
export const statusRank = (status: TestRunStatus): number => (status === 'queued' ? 0 : status === 'running' ? 1 : 2);

export type ModelRef = TestRun['model'];

/** A run's row: the run as docs-model knows it, and who created it. */
export interface TestRunRecord extends TestRun {
  createdBy: string;
  /** The release the run is scored against (null for runs made before releases existed). */
  releaseId: string | null;
}

export interface TestRunRow {
  id: string;
  project_id: string;
  video_id: string;
  session_id: string;
  model_name: string;
  model_version: string;
  status: TestRunStatus;
  processed_frames: number;
  total_frames: number;
  message: string | null;
  metrics: Record<string, unknown> | string | null;
  evaluation: Record<string, unknown> | string | null;
  detection_count: number;
  revision: number;
  created_by: string;
  release_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

// The conventions of persistence/rows.ts, kept here so that shared file stays untouched.
const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));
const jsonOrNull = <T>(value: T | string | null): T | null => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

export const testRunFromRow = (row: TestRunRow): TestRunRecord => ({
  id: row.id,
  projectId: row.project_id,
  videoId: row.video_id,
  sessionId: row.session_id,
  model: { name: row.model_name, version: row.model_version },
  status: row.status,
  processedFrames: row.processed_frames,
  totalFrames: row.total_frames,
  message: row.message,
  metrics: jsonOrNull(row.metrics),
  evaluation: jsonOrNull(row.evaluation),
  detectionCount: Number(row.detection_count),
  revision: Number(row.revision),
  createdBy: row.created_by,
  releaseId: row.release_id ?? null,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  startedAt: isoOrNull(row.started_at),
  finishedAt: isoOrNull(row.finished_at),
});

export interface NewTestRun {
  id: string;
  projectId: string;
  videoId: string;
  sessionId: string;
  model: ModelRef;
  createdBy: string;
  totalFrames?: number;
  releaseId?: string | null;
}

export interface RunAdvance {
  status?: TestRunStatus;
  processedFrames?: number;
  totalFrames?: number;
  message?: string | null;
  metrics?: Record<string, unknown> | null;
  evaluation?: Record<string, unknown> | null;
  /** Added to `detection_count`. */
  detectionsAdded?: number;
}

export interface ProgressWrite {
  id: string;
  processedFrames: number;
  totalFrames: number;
  message: string | null;
  metrics: Record<string, unknown> | null;
  revision: number;
  /** When the document took this state (ISO). */
  updatedAt: string;
}

export type AdvanceResult = { run: TestRunRecord } | { conflict: 'finished' | 'backwards'; run: TestRunRecord } | null;

export interface TestRunListOptions {
  limit: number;
  cursor?: string;
  status?: TestRunStatus;
  sessionId?: string;
}

export interface TestRunRepository {
  /** `within` runs in the insert's transaction (the outbox event of the creation). */
  create(run: NewTestRun, within?: Within<TestRunRecord>): Promise<TestRunRecord>;
  get(id: string): Promise<TestRunRecord | null>;
  listByProject(projectId: string, opts: TestRunListOptions): Promise<Page<TestRunRecord>>;
  /** Runs of the project not finished yet (dashboards). */
  listActive(projectId: string): Promise<TestRunRecord[]>;
  /**
   * Applies a change if the status stays or moves forward and the run has not finished (a change
   * that finishes it is the last one allowed). `processedFrames` never decreases: a late post
   * with a smaller count leaves the bar where it is.
   */
  advance(id: string, change: RunAdvance, within?: Within<TestRunRecord>): Promise<AdvanceResult>;
  /**
   * Writes progress the document holds already (test-run-service.ts keeps running runs in memory
   * and their rows behind), every run in ONE statement. A row takes its write only while the run
   * is running and its revision is not newer, so a late write never moves a row back; returns the ids
   * of the rows written — a run missing there ended, or has moved on elsewhere: the caller reloads.
   */
  writeProgress(writes: readonly ProgressWrite[]): Promise<Set<string>>;
  /** Stores the evaluation of a finished run (the one write a finished run accepts). */
  setEvaluation(id: string, evaluation: Record<string, unknown>, within?: Within<TestRunRecord>): Promise<TestRunRecord | null>;
}

export function createTestRunRepository({ knex }: { knex: Knex }): TestRunRepository {
  const table = (db: Knex | Knex.Transaction = knex) => db<TestRunRow>('test_runs');
  const get = async (id: string) => {
    const row = (await table().where({ id }).first()) as TestRunRow | undefined;
    return row ? testRunFromRow(row) : null;
  };
  return {
    async create(run, within) {
      const now = new Date();
      return writeWithin(knex, async (db) => {
        const [row] = await table(db)
          .insert({
            id: run.id,
            project_id: run.projectId,
            video_id: run.videoId,
            session_id: run.sessionId,
            model_name: run.model.name,
            model_version: run.model.version,
            total_frames: run.totalFrames ?? 0,
            created_by: run.createdBy,
            release_id: run.releaseId ?? null,
            created_at: now,
            updated_at: now,
          } as never)
          .returning('*');
        return testRunFromRow(row as TestRunRow);
      }, within);
    },
    get,
    async listByProject(projectId, opts) {
      const query = table()
        .where({ project_id: projectId })
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .limit(opts.limit + 1);
      if (opts.status !== undefined) query.andWhere({ status: opts.status });
      if (opts.sessionId !== undefined) query.andWhere({ session_id: opts.sessionId });
      afterCursor(query, opts.cursor, '(created_at, id) > (?::timestamptz, ?)');
      const rows = (await query) as TestRunRow[];
      return toPage(rows.map(testRunFromRow), opts.limit, (r) => [r.createdAt, r.id]);
    },
    async listActive(projectId) {
      const rows = (await table()
        .where({ project_id: projectId })
        .whereIn('status', ['queued', 'running'])
        .orderBy([{ column: 'created_at' }, { column: 'id' }])) as TestRunRow[];
      return rows.map(testRunFromRow);
    },
    async advance(id, change, within) {
      const target = change.status;
      // Statuses the run may be in for this change to apply: not finished, and not past the target.
      const from = TEST_RUN_STATUSES.filter((s) => !TERMINAL_STATUSES.has(s) && (target === undefined || statusRank(s) <= statusRank(target)));
      const set: Record<string, unknown> = { updated_at: knex.fn.now(), revision: knex.raw('revision + 1') };
      if (target !== undefined) {
        set.status = target;
        if (target !== 'queued') set.started_at = knex.raw('coalesce(started_at, now())');
        if (TERMINAL_STATUSES.has(target)) set.finished_at = knex.fn.now();
      }
      if (change.processedFrames !== undefined) set.processed_frames = knex.raw('greatest(processed_frames, ?)', [change.processedFrames]);
      if (change.totalFrames !== undefined) set.total_frames = change.totalFrames;
      if (change.message !== undefined) set.message = change.message;
      if (change.metrics !== undefined) set.metrics = change.metrics === null ? null : JSON.stringify(change.metrics);
      if (change.evaluation !== undefined) set.evaluation = change.evaluation === null ? null : JSON.stringify(change.evaluation);
      if (change.detectionsAdded) set.detection_count = knex.raw('detection_count + ?', [change.detectionsAdded]);
      const updated = await writeWithin(
        knex,
        async (db) => {
          const [row] = (await table(db).where({ id }).whereIn('status', from).update(set as never).returning('*')) as TestRunRow[];
          return row ? testRunFromRow(row) : null;
        },
        within ? (trx, run) => within(trx, run!) : undefined,
        (run) => run !== null,
      );
      if (updated) return { run: updated };
      const current = await get(id);
      if (!current) return null;
      return { conflict: TERMINAL_STATUSES.has(current.status) ? 'finished' : 'backwards', run: current };
    },
    async writeProgress(writes) {
      if (writes.length === 0) return new Set();
      // One JSON parameter: one statement per flush however many runs, and no array binding of
      // nullable columns to tell apart between pg and PGlite.
      const rows = writes.map((w) => ({
        id: w.id,
        processed_frames: w.processedFrames,
        total_frames: w.totalFrames,
        message: w.message,
        metrics: w.metrics,
        revision: w.revision,
        updated_at: w.updatedAt,
      }));
      const result = await knex.raw<{ rows: Array<{ id: string }> }>(
        `update test_runs as t set
           processed_frames = greatest(t.processed_frames, w.processed_frames),
           total_frames = w.total_frames, message = w.message, metrics = w.metrics,
           revision = w.revision, updated_at = w.updated_at
         from jsonb_to_recordset(?::jsonb) as w (id text, processed_frames integer, total_frames integer, message text, metrics jsonb, revision integer, updated_at timestamptz)
         where t.id = w.id and t.status = 'running' and t.revision <= w.revision
         returning t.id`,
        [JSON.stringify(rows)],
      );
      return new Set(result.rows.map((row) => row.id));
    },
    async setEvaluation(id, evaluation, within) {
      return writeWithin(
        knex,
        async (db) => {
          const [row] = (await table(db)
            .where({ id })
            .update({ evaluation: JSON.stringify(evaluation), updated_at: knex.fn.now(), revision: knex.raw('revision + 1') } as never)
            .returning('*')) as TestRunRow[];
          return row ? testRunFromRow(row) : null;
        },
        within ? (trx, run) => within(trx, run!) : undefined,
        (run) => run !== null,
      );
    },
  };
}
