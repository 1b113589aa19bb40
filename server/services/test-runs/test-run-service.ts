/**
 * Test runs: create, progress, detections, cancel and evaluation, each a database change
 * followed by the same change in the run's `test-run:<id>` document through `registry.transact`
 * (so a REST answer means every watcher has been sent the change and it is durable), and the
 * dashboard told. Routes stay thin and call these. This module holds the lifecycle rules; the
 * fast path of progress is progress-coalescer.ts, the scoring evaluation.ts.
 *
 * Writes of one run may finish out of order (two progress posts in flight); the document only
 * takes a state with a higher `revision` than it holds, so it never goes back. Status changes,
 * detections and evaluations wait for the run's pending write and its row, and go through the
 * database's forward-only guard. A row found behind its document (after a crash) is brought up to
 * it before it is used.
 */
import { randomUUID } from 'node:crypto';
import { readTestRun, testRunRevision, writeTestRun } from '../../../docs-model/index.ts';
import { RepeatedTrackBoxError, type DetectionRecord, type DetectionRepository } from '../../../persistence/repositories/detections.ts';
import { TERMINAL_STATUSES, type TestRunRecord, type TestRunRepository, type TestRunStatus } from '../../../persistence/repositories/test-runs.ts';
import type { Dashboards } from '../../followers/dashboards.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../base/errors.ts';
import { docName } from '../../../docs-model/protocol.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { DocRegistry } from '../../documents/doc-registry.ts';
import type { Projection } from '../../followers/projection.ts';
import { findProject, findSession, findVideo, type RecordSources } from '../records.ts';
import { evaluateRun, evaluationSummary, scoreRun } from './evaluation.ts';
import type { GroundTruthWorker } from '../ground-truth-worker.ts';
import type { ReleaseService } from '../releases.ts';
import type { ReleaseRecord } from '../../../persistence/repositories/releases.ts';
import type { EventSink } from '../event-sink.ts';
import { transitionEvents } from './run-events.ts';
import { createProgressCoalescer, type TestRunProgressInput } from './progress-coalescer.ts';

export type { TestRunProgressInput } from './progress-coalescer.ts';

export interface TestRunCreateInput {
  videoId: string;
  sessionId: string;
  model: { name: string; version: string };
  id?: string | undefined;
  totalFrames?: number | undefined;
  /** The release to score against; absent: one is made now (`auto-<timestamp>`). */
  groundTruth?: { releaseId: string } | undefined;
}

/** The release a created run is scored against, and whether it was made for it. */
export interface RunGroundTruth {
  releaseId: string;
  name: string;
  contentHash: string;
  created: boolean;
}

export interface TestRunServiceDeps {
  /** What the service reads besides its repositories. */
  context: RecordSources & { registry: DocRegistry; projection: Projection; logger: Logger };
  runs: TestRunRepository;
  detections: DetectionRepository;
  dashboards: Dashboards;
  /** Run created, started, ended, evaluated: stored with the change (webhooks, activity). */
  sink: EventSink;
  /** Runs are scored against a release of their session. */
  releases: ReleaseService;
  /** Computes a run's metrics off the event loop. */
  scorer: Pick<GroundTruthWorker, 'score'>;
}

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

export function createTestRunService(deps: TestRunServiceDeps) {
  const { context: api, runs, detections, dashboards, sink } = deps;
  /** The run's state into its document (skipped when the document holds a newer one). */
  const publish = async (run: TestRunRecord, actor: string): Promise<void> => {
    const name = docName('test-run', run.id);
    if (!name) throw new Error(`test run ${run.id} has an invalid document name`);
    await api.registry.transact(name, actor, (ydoc, origin) => {
      const held = testRunRevision(ydoc);
      if (held !== null && held >= run.revision) return;
      writeTestRun(ydoc, run, origin);
    });
  };

  const coalescer = createProgressCoalescer({ runs, logger: api.logger, publish, touched: (projectId) => dashboards.touch(projectId) });
  const { remember, quiesce } = coalescer;

  /**
   * A running run's row as its document holds it: after a crash the row can be behind the
   * document (written behind, see above), and a change counted from it would get a revision the
   * document has seen already. Brought up to the document, then used.
   */
  const caughtUp = async (run: TestRunRecord): Promise<TestRunRecord> => {
    const name = docName('test-run', run.id);
    if (!name || run.status !== 'running') return run;
    const held = await api.registry.read(name, (ydoc) => readTestRun(ydoc));
    if (!held || held.status !== 'running' || held.revision <= run.revision) return run;
    const current: TestRunRecord = {
      ...run,
      processedFrames: Math.max(run.processedFrames, held.processedFrames),
      totalFrames: held.totalFrames,
      message: held.message,
      metrics: held.metrics,
      revision: held.revision,
      updatedAt: held.updatedAt,
    };
    await runs.writeProgress([current]);
    return current;
  };

  const find = async (id: string): Promise<TestRunRecord> => {
    const held = coalescer.held(id);
    if (held) return held;
    const run = await runs.get(id);
    if (!run) throw new NotFoundError(`no test run '${id}'`);
    return caughtUp(run);
  };

  const sources = { sessions: api.repos.sessions, detections, registry: api.registry, projection: api.projection, releases: deps.releases, scorer: deps.scorer };
  const evaluate = (run: TestRunRecord, opts: { iouThreshold?: number } = {}) => evaluateRun(sources, run, opts);

  /** Applies a status/progress change; a completed run gets its evaluation stored before answering. */
  const advance = async (run: TestRunRecord, change: Parameters<TestRunRepository['advance']>[1], actor: string): Promise<TestRunRecord> => {
    const quiet = await quiesce(run.id);
    try {
      const result = await runs.advance(run.id, change, sink.within((moved) => transitionEvents(run.status, moved, actor)));
      if (!result) throw new NotFoundError(`no test run '${run.id}'`);
      if ('conflict' in result) throw conflict(result.conflict, result.run, change.status);
      let updated = result.run;
      if (updated.status === 'completed' && run.status !== 'completed') {
        try {
          const summary = evaluationSummary(await evaluate(updated));
          const evaluated = updated;
          const ready = sink.within(() => [
            { projectId: evaluated.projectId, type: 'evaluation.ready', actor, data: { runId: evaluated.id, sessionId: evaluated.sessionId, evaluation: summary } },
          ]);
          updated = (await runs.setEvaluation(updated.id, summary, ready)) ?? updated;
        } catch (err) {
          api.logger.warn({ err, runId: run.id }, 'evaluation of a completed run failed; GET /evaluation computes it on demand');
        }
      }
      remember(updated);
      await publish(updated, actor);
      dashboards.touch(updated.projectId);
      return updated;
    } finally {
      quiet.done();
    }
  };

  return {
    find,
    evaluate,
    /** The evaluation with its details and ground truth (a comparison of two runs needs them). */
    score: (run: TestRunRecord, opts: { iouThreshold?: number } = {}) => scoreRun(sources, run, opts),
    /** A page of runs; a running run this process holds newer than its row is listed as held. */
    async list(projectId: string, opts: Parameters<TestRunRepository['listByProject']>[1]) {
      const page = await runs.listByProject(projectId, opts);
      const items = page.items.map((row) => {
        const held = coalescer.held(row.id);
        return held && held.revision > row.revision ? held : row;
      });
      return { ...page, items };
    },

    async projectOf(id: string): Promise<string | null> {
      return coalescer.held(id)?.projectId ?? (await runs.get(id))?.projectId ?? null;
    },

    /** Writes every run's pending progress, to its document and its row (shutdown). */
    flushAll: () => coalescer.flushAll(),

    /**
     * Keeps the run's document loaded until the returned release is called, so changes arriving
     * from other processes reach its events (an event stream holds it while open).
     */
    async hold(id: string): Promise<() => void> {
      const name = docName('test-run', id);
      if (!name) return () => undefined;
      const doc = await api.registry.acquire(name);
      let held = true;
      return () => {
        if (held) api.registry.release(doc);
        held = false;
      };
    },

    async create(projectId: string, input: TestRunCreateInput, actor: string): Promise<TestRunRecord & { groundTruth: RunGroundTruth }> {
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
      const { release, created }: { release: ReleaseRecord; created: boolean } = await deps.releases.forRun(session, input.groundTruth?.releaseId, actor);
      const run = await runs.create({
        id,
        projectId: project.id,
        videoId: video.id,
        sessionId: session.id,
        model: input.model,
        createdBy: actor,
        totalFrames: input.totalFrames ?? video.frameCount,
        releaseId: release.id,
      }, sink.within((made) => transitionEvents(null, made, actor)));
      await publish(run, actor);
      dashboards.touch(run.projectId);
      return { ...run, groundTruth: { releaseId: release.id, name: release.name, contentHash: release.contentHash, created } };
    },

    async progress(run: TestRunRecord, input: TestRunProgressInput, actor: string): Promise<TestRunRecord> {
      const fast = coalescer.post(run, input, actor);
      if (fast) return fast;
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
      const quiet = await quiesce(run.id);
      try {
        let result;
        try {
          result = await detections.append(run.id, list);
        } catch (err) {
          if (err instanceof RepeatedTrackBoxError) throw new ValidationError(err.message, [{ field: 'trackId', code: 'repeated_track_box', message: err.message }], 'repeated_track_box');
          throw err;
        }
        if (!result) throw new NotFoundError(`no test run '${run.id}'`);
        if ('conflict' in result) throw conflict('finished', result.run);
        remember(result.run);
        await publish(result.run, actor);
        return result.run;
      } finally {
        quiet.done();
      }
    },
  };
}

export type TestRunService = ReturnType<typeof createTestRunService>;
