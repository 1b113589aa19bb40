/**
 * Test runs (issue 6): create, progress, detections, cancel and evaluation, each a database change
 * followed by the same change in the run's `test-run:<id>` document through `registry.transact`
 * (so a REST answer means every watcher has been sent the change and it is durable), and the
 * dashboard told. Routes stay thin and call these.
 *
 * Writes of one run may finish out of order (two progress posts in flight); the document only
 * takes a state with a higher `revision` than it holds, so it never goes back.
 *
 * Progress of a running run takes a fast path (issue 6 asks 200 posts per second per run, 20 runs
 * at once): the process keeps the run in memory, applies the post there and to the document —
 * durable through the update log's group commit — and writes the `test_runs` row behind, at most
 * every PROGRESS_FLUSH_MS. Status changes, detections and evaluations flush it first and go
 * through the database's forward-only guard. So one process should drive a run (as one runner
 * does); if another process ends it meanwhile, the next flush finds it no longer running, drops
 * the copy, and the following post is refused with 409.
 */
import { randomUUID } from 'node:crypto';
import {
  evaluateDetections,
  getMeta,
  listTracks,
  progressOf,
  readTestRun,
  writeTestRun,
  type DetectionBox,
  type TestRunViewInput,
} from '../../docs-model/index.ts';
import type { DetectionRecord, DetectionRepository } from '../../persistence/repositories/detections.ts';
import { TERMINAL_STATUSES, type TestRunRecord, type TestRunRepository, type TestRunStatus } from '../../persistence/repositories/test-runs.ts';
import type { Dashboards } from '../dashboards.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { parseDocName } from '../wire.ts';
import { findProject, findSession, findVideo, type ApiDeps } from './context.ts';
import { evaluationSummary, groundTruthBoxes, type RunEvaluation } from './test-run-evaluation.ts';

export interface TestRunCreateInput {
  videoId: string;
  sessionId: string;
  model: { name: string; version: string };
  id?: string | undefined;
  totalFrames?: number | undefined;
}

export interface TestRunProgressInput {
  processedFrames: number;
  totalFrames: number;
  status?: TestRunStatus | undefined;
  message?: string | null | undefined;
  metrics?: Record<string, unknown> | null | undefined;
}

export interface TestRunServiceDeps {
  api: ApiDeps;
  runs: TestRunRepository;
  detections: DetectionRepository;
  dashboards: Dashboards;
}

/** What the REST API sends for a run: the record, its progress and its document. */
export type TestRunBody = TestRunRecord & { progress: number; docName: string };

export const runDocName = (id: string): string => `test-run:${id}`;

export const toBody = (run: TestRunRecord): TestRunBody => ({
  ...run,
  progress: progressOf(run.processedFrames, run.totalFrames),
  docName: runDocName(run.id),
});

const toView = (run: TestRunRecord): TestRunViewInput => ({
  id: run.id,
  projectId: run.projectId,
  videoId: run.videoId,
  sessionId: run.sessionId,
  model: run.model,
  status: run.status,
  processedFrames: run.processedFrames,
  totalFrames: run.totalFrames,
  message: run.message,
  metrics: run.metrics,
  evaluation: run.evaluation,
  detectionCount: run.detectionCount,
  revision: run.revision,
  createdAt: run.createdAt,
  updatedAt: run.updatedAt,
  startedAt: run.startedAt,
  finishedAt: run.finishedAt,
});

function conflict(kind: 'finished' | 'backwards', run: TestRunRecord, wanted?: TestRunStatus): ConflictError {
  if (kind === 'finished') {
    return new ConflictError(`test run '${run.id}' has ended (${run.status})`, [{ field: 'status', code: 'run_finished', message: `the run is ${run.status}` }], 'run_finished');
  }
  return new ConflictError(
    `test run '${run.id}' is ${run.status}; status only moves forward`,
    [{ field: 'status', code: 'status_backwards', message: `cannot go from ${run.status} to ${wanted ?? '?'}` }],
    'status_backwards',
  );
}

/** How often a running run's progress reaches its row at most. */
const PROGRESS_FLUSH_MS = 200;
/** Running runs kept in memory at most (the oldest leave first; they reload on their next post). */
const MAX_HOT_RUNS = 10_000;

interface Hot {
  run: TestRunRecord;
  dirty: boolean;
  timer: NodeJS.Timeout | null;
  flushing: Promise<void> | null;
}

export function createTestRunService(deps: TestRunServiceDeps) {
  const { api, runs, detections, dashboards } = deps;
  const hot = new Map<string, Hot>();

  const writeHot = async (id: string, h: Hot): Promise<void> => {
    h.dirty = false;
    const r = h.run;
    try {
      const stored = await runs.writeProgress(id, { processedFrames: r.processedFrames, totalFrames: r.totalFrames, message: r.message, metrics: r.metrics, revision: r.revision });
      if (!stored && hot.get(id) === h) hot.delete(id);
    } catch (err) {
      h.dirty = true;
      api.logger.warn({ err, runId: id }, 'test-run progress write failed; will retry');
    }
  };

  /** Writes the run's pending progress now; resolves once the row holds it. */
  const flushHot = async (id: string): Promise<void> => {
    const h = hot.get(id);
    if (!h) return;
    if (h.timer) clearTimeout(h.timer);
    h.timer = null;
    while (h.flushing) await h.flushing;
    if (!h.dirty) return;
    h.flushing = writeHot(id, h).finally(() => (h.flushing = null));
    await h.flushing;
  };

  const scheduleFlush = (id: string, h: Hot): void => {
    if (h.timer) return;
    h.timer = setTimeout(() => {
      h.timer = null;
      void flushHot(id).then(() => {
        if (h.dirty && hot.get(id) === h) scheduleFlush(id, h);
      });
    }, PROGRESS_FLUSH_MS);
    h.timer.unref();
  };

  const remember = (run: TestRunRecord): void => {
    if (run.status !== 'running') {
      hot.delete(run.id);
      return;
    }
    const h = hot.get(run.id);
    if (h) h.run = run;
    else {
      if (hot.size >= MAX_HOT_RUNS) {
        const [oldest, entry] = hot.entries().next().value as [string, Hot];
        if (!entry.dirty && !entry.flushing) hot.delete(oldest);
      }
      hot.set(run.id, { run, dirty: false, timer: null, flushing: null });
    }
  };

  /** The run's state into its document (skipped when the document holds a newer one). */
  const publish = async (run: TestRunRecord, actor: string): Promise<void> => {
    const name = parseDocName(runDocName(run.id));
    if (!name) throw new Error(`test run ${run.id} has an invalid document name`);
    await api.registry.transact(name, actor, (ydoc, origin) => {
      const held = readTestRun(ydoc);
      if (held && held.revision >= run.revision) return;
      writeTestRun(ydoc, toView(run), origin);
    });
  };

  /** Activity and dashboard refresh for a status change from `before` to `run.status`. */
  const announce = (before: TestRunStatus | null, run: TestRunRecord, actor: string): void => {
    const base = { runId: run.id, sessionId: run.sessionId, user: actor };
    if (before !== run.status && run.status !== 'queued' && (before === null || before === 'queued')) {
      dashboards.record(run.projectId, { ...base, type: 'run-started', detail: { model: run.model } });
    }
    if (before !== run.status && TERMINAL_STATUSES.has(run.status)) {
      dashboards.record(run.projectId, { ...base, type: 'run-finished', detail: { status: run.status, model: run.model } });
    }
    dashboards.touch(run.projectId);
  };

  const find = async (id: string): Promise<TestRunRecord> => {
    const held = hot.get(id);
    if (held) return held.run;
    const run = await runs.get(id);
    if (!run) throw new NotFoundError(`no test run '${id}'`);
    return run;
  };

  const evaluate = async (run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<RunEvaluation> => {
    const session = await api.repos.sessions.get(run.sessionId);
    const name = session ? parseDocName(session.docName) : null;
    if (!session || !name) throw new NotFoundError(`the ground-truth session '${run.sessionId}' is gone`);
    const [stored, truth] = await Promise.all([
      detections.list(run.id),
      api.registry.read(name, (ydoc, doc) => {
        const index = api.projection.track(doc);
        const annotations = index ? index.all() : [];
        return groundTruthBoxes(annotations, listTracks(ydoc), getMeta(ydoc)?.frameCount);
      }),
    ]);
    const found: DetectionBox[] = stored;
    const result = evaluateDetections(truth, found, opts);
    return {
      ...result,
      groundTruth: { sessionId: run.sessionId, annotations: truth.reduce((n, g) => (g.status === 'rejected' ? n : n + 1), 0) },
      detections: found.length,
    };
  };

  /** Applies a status/progress change; a completed run gets its evaluation stored before answering. */
  const advance = async (run: TestRunRecord, change: Parameters<TestRunRepository['advance']>[1], actor: string): Promise<TestRunRecord> => {
    await flushHot(run.id);
    const result = await runs.advance(run.id, change);
    if (!result) throw new NotFoundError(`no test run '${run.id}'`);
    if ('conflict' in result) throw conflict(result.conflict, result.run, change.status);
    let updated = result.run;
    if (updated.status === 'completed' && run.status !== 'completed') {
      try {
        const summary = evaluationSummary(await evaluate(updated));
        updated = (await runs.setEvaluation(updated.id, summary)) ?? updated;
      } catch (err) {
        api.logger.warn({ err, runId: run.id }, 'evaluation of a completed run failed; GET /evaluation computes it on demand');
      }
    }
    remember(updated);
    await publish(updated, actor);
    announce(run.status, updated, actor);
    return updated;
  };

  return {
    find,
    evaluate,
    list: (projectId: string, opts: Parameters<TestRunRepository['listByProject']>[1]) => runs.listByProject(projectId, opts),

    async projectOf(id: string): Promise<string | null> {
      return hot.get(id)?.run.projectId ?? (await runs.get(id))?.projectId ?? null;
    },

    /** Writes every run's pending progress (shutdown). */
    async flushAll(): Promise<void> {
      await Promise.all([...hot.keys()].map((id) => flushHot(id)));
    },

    async create(projectId: string, input: TestRunCreateInput, actor: string): Promise<TestRunRecord> {
      const project = await findProject(api, projectId);
      const video = await findVideo(api, input.videoId);
      const session = await findSession(api, input.sessionId);
      // The same answer as a missing session: another project's session ids are not for probing.
      if (session.projectId !== project.id) throw new NotFoundError(`no session '${input.sessionId}'`);
      if (session.videoId !== video.id) {
        throw new ValidationError(`session '${session.id}' annotates video '${session.videoId}', not '${video.id}'`, [
          { field: 'sessionId', code: 'wrong_video', message: 'the ground-truth session must annotate the run video' },
        ]);
      }
      const id = input.id ?? randomUUID();
      if (input.id !== undefined && (await runs.get(input.id))) {
        throw new ConflictError(`a test run '${input.id}' exists already`, [{ field: 'id', code: 'taken', message: 'choose another id' }], 'taken');
      }
      const run = await runs.create({
        id,
        projectId: project.id,
        videoId: video.id,
        sessionId: session.id,
        model: input.model,
        createdBy: actor,
        totalFrames: input.totalFrames ?? video.frameCount,
      });
      await publish(run, actor);
      announce(null, run, actor);
      return run;
    },

    async progress(run: TestRunRecord, input: TestRunProgressInput, actor: string): Promise<TestRunRecord> {
      const h = hot.get(run.id);
      if (h && h.run.status === 'running' && (input.status === undefined || input.status === 'running')) {
        h.run = {
          ...h.run,
          processedFrames: Math.max(h.run.processedFrames, input.processedFrames),
          totalFrames: input.totalFrames,
          ...(input.message === undefined ? {} : { message: input.message }),
          ...(input.metrics === undefined ? {} : { metrics: input.metrics }),
          revision: h.run.revision + 1,
          updatedAt: new Date().toISOString(),
        };
        h.dirty = true;
        scheduleFlush(run.id, h);
        const snapshot = h.run;
        await publish(snapshot, actor);
        dashboards.touch(snapshot.projectId);
        return snapshot;
      }
      // A runner that posts progress without a status has started.
      const status = input.status ?? (run.status === 'queued' ? 'running' : undefined);
      return advance(
        run,
        {
          processedFrames: input.processedFrames,
          totalFrames: input.totalFrames,
          ...(status === undefined ? {} : { status }),
          ...(input.message === undefined ? {} : { message: input.message }),
          ...(input.metrics === undefined ? {} : { metrics: input.metrics }),
        },
        actor,
      );
    },

    async cancel(run: TestRunRecord, actor: string, message?: string): Promise<TestRunRecord> {
      return advance(run, { status: 'cancelled', ...(message === undefined ? {} : { message }) }, actor);
    },

    async addDetections(run: TestRunRecord, list: readonly DetectionRecord[], actor: string): Promise<TestRunRecord> {
      await flushHot(run.id);
      const result = await detections.append(run.id, list);
      if (!result) throw new NotFoundError(`no test run '${run.id}'`);
      if ('conflict' in result) throw conflict('finished', result.run);
      remember(result.run);
      await publish(result.run, actor);
      return result.run;
    },
  };
}

export type TestRunService = ReturnType<typeof createTestRunService>;
