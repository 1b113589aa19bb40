/**
 * Test runs: create, progress, detections, cancel and evaluation, each a database change
 * followed by the same change in the run's `test-run:<id>` document through `registry.transact`
 * (so a REST answer means every watcher has been sent the change and it is durable), and the
 * dashboard told. Routes stay thin and call these.
 *
 * Writes of one run may finish out of order (two progress posts in flight); the document only
 * takes a state with a higher `revision` than it holds, so it never goes back.
 *
 * Progress of a running run takes a fast path (a runner posts up to 200 times per second, 20 runs
 * at once: docs/architecture.md, "Test runs"). The process keeps the run in memory; the posts of one run that arrive in one turn of
 * the event loop become ONE document write — one revision, one update in the log, one message to
 * each watcher, one Server-Sent Event — and each of them answers with that write's state once it
 * is committed (so under load a post's answer may include a concurrent post's progress too). The
 * `test_runs` rows of running runs follow their documents, all in one statement at most every
 * ROW_FLUSH_MS; the document is the source of truth, and a row found behind its document (after
 * a crash) is brought up to it before it is used. Status changes, detections and evaluations wait
 * for the run's pending write and its row, and go through the database's forward-only guard;
 * progress takes the slow path while one is in flight. So one process should drive a run (as one
 * runner does); if another process ends it meanwhile, the next row write finds it no longer
 * running, drops the copy, and the following post is refused with 409.
 */
import { randomUUID } from 'node:crypto';
import {
  evaluateDetections,
  getMeta,
  listTracks,
  readTestRun,
  testRunRevision,
  writeTestRun,
  type DetectionBox,
} from '../../../docs-model/index.ts';
import type { DetectionRecord, DetectionRepository } from '../../../persistence/repositories/detections.ts';
import { TERMINAL_STATUSES, type TestRunRecord, type TestRunRepository, type TestRunStatus } from '../../../persistence/repositories/test-runs.ts';
import type { Dashboards } from '../../followers/dashboards.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../base/errors.ts';
import { parseDocName } from '../../../docs-model/protocol.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { DocRegistry } from '../../documents/doc-registry.ts';
import type { Projection } from '../../followers/projection.ts';
import { findProject, findSession, findVideo, type RecordSources } from '../records.ts';
import { runDocName } from './run-body.ts';
import type { EventSink } from '../event-sink.ts';
import { transitionEvents } from './run-events.ts';
import { evaluationSummary, groundTruthBoxes, type RunEvaluation } from './evaluation.ts';

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
  /** What the service reads besides its repositories. */
  context: RecordSources & { registry: DocRegistry; projection: Projection; logger: Logger };
  runs: TestRunRepository;
  detections: DetectionRepository;
  dashboards: Dashboards;
  /** Run created, started, ended, evaluated: stored with the change (webhooks, activity). */
  sink: EventSink;
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

/** How often the rows of running runs catch up with their documents at most (one statement for all). */
const ROW_FLUSH_MS = 200;
/** Running runs kept in memory at most (the oldest idle one leaves first; it reloads on its next post). */
const MAX_HOT_RUNS = 10_000;

interface Hot {
  /** The run as last written to its document. */
  run: TestRunRecord;
  /** `run` with the progress posts received since, until the next document write takes them. */
  next: TestRunRecord | null;
  /** That write: at the end of this turn of the event loop; resolves once committed. */
  batch: Promise<TestRunRecord> | null;
  /** Changes going through the database now; progress takes the slow path meanwhile. */
  slow: number;
}

const withProgress = (run: TestRunRecord, input: TestRunProgressInput): TestRunRecord => ({
  ...run,
  processedFrames: Math.max(run.processedFrames, input.processedFrames),
  totalFrames: input.totalFrames,
  ...(input.message === undefined ? {} : { message: input.message }),
  ...(input.metrics === undefined ? {} : { metrics: input.metrics }),
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createTestRunService(deps: TestRunServiceDeps) {
  const { context: api, runs, detections, dashboards, sink } = deps;
  const hot = new Map<string, Hot>();
  /** Runs whose row is behind their document. */
  const behind = new Set<string>();
  let rowTimer: NodeJS.Timeout | null = null;
  let rowWrite: Promise<void> | null = null;

  /** Writes every row that is behind (after the write in flight, if any); retried later on failure. */
  const writeRows = async (): Promise<void> => {
    while (rowWrite) await rowWrite;
    if (behind.size === 0) return;
    const batch = [...behind].flatMap((id) => {
      const h = hot.get(id);
      return h ? [{ id, h, run: h.run }] : [];
    });
    behind.clear();
    rowWrite = (async () => {
      try {
        const written = await runs.writeProgress(batch.map((b) => b.run));
        // Not written: the run ended, or moved on elsewhere. Forget it; its next post reloads it.
        for (const b of batch) if (!written.has(b.id) && hot.get(b.id) === b.h) hot.delete(b.id);
      } catch (err) {
        for (const b of batch) if (hot.get(b.id) === b.h) behind.add(b.id);
        api.logger.warn({ err, runs: batch.length }, 'test-run rows could not be written; will retry');
        scheduleRows();
      } finally {
        rowWrite = null;
      }
    })();
    await rowWrite;
  };

  const scheduleRows = (): void => {
    if (rowTimer) return;
    rowTimer = setTimeout(() => {
      rowTimer = null;
      void writeRows();
    }, ROW_FLUSH_MS);
    rowTimer.unref();
  };

  const remember = (run: TestRunRecord): void => {
    const h = hot.get(run.id);
    if (run.status !== 'running') {
      hot.delete(run.id);
      behind.delete(run.id);
      return;
    }
    if (h) {
      // Two changes through the database may finish in either order: keep the newer.
      if (run.revision > h.run.revision) h.run = run;
      return;
    }
    if (hot.size >= MAX_HOT_RUNS) {
      for (const [id, entry] of hot) {
        if (entry.slow === 0 && !entry.batch && !behind.has(id)) {
          hot.delete(id);
          break;
        }
      }
    }
    hot.set(run.id, { run, next: null, batch: null, slow: 0 });
  };

  /** The run's state into its document (skipped when the document holds a newer one). */
  const publish = async (run: TestRunRecord, actor: string): Promise<void> => {
    const name = parseDocName(runDocName(run.id));
    if (!name) throw new Error(`test run ${run.id} has an invalid document name`);
    await api.registry.transact(name, actor, (ydoc, origin) => {
      const held = testRunRevision(ydoc);
      if (held !== null && held >= run.revision) return;
      writeTestRun(ydoc, run, origin);
    });
  };

  /** The progress posts of this turn as one document write; resolves with the state written, once committed. */
  const writeBatch = async (h: Hot, actor: string): Promise<TestRunRecord> => {
    await nextTurn();
    const run: TestRunRecord = { ...(h.next ?? h.run), revision: h.run.revision + 1, updatedAt: new Date().toISOString() };
    h.run = run;
    h.next = null;
    h.batch = null;
    behind.add(run.id);
    scheduleRows();
    await publish(run, actor);
    dashboards.touch(run.projectId);
    return run;
  };

  /**
   * Before a change through the database: the run's pending progress is written to its document
   * and its row (so the database counts from there), and progress takes the slow path until `done`.
   */
  const quiesce = async (id: string): Promise<{ done(): void }> => {
    const h = hot.get(id);
    if (h) h.slow++;
    const done = () => {
      if (h) h.slow--;
    };
    try {
      if (h?.batch) await h.batch.catch(() => undefined);
      if (behind.has(id) || rowWrite) await writeRows();
    } catch (err) {
      done();
      throw err;
    }
    return { done };
  };

  /**
   * A running run's row as its document holds it: after a crash the row can be behind the
   * document (written behind, see above), and a change counted from it would get a revision the
   * document has seen already. Brought up to the document, then used.
   */
  const caughtUp = async (run: TestRunRecord): Promise<TestRunRecord> => {
    const name = parseDocName(runDocName(run.id));
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
    const held = hot.get(id);
    if (held) return held.run;
    const run = await runs.get(id);
    if (!run) throw new NotFoundError(`no test run '${id}'`);
    return caughtUp(run);
  };

  const evaluate = async (run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<RunEvaluation> => {
    const session = await api.repos.sessions.get(run.sessionId);
    const name = session ? parseDocName(session.docName) : null;
    if (!session || !name) throw new NotFoundError(`the ground-truth session '${run.sessionId}' is gone`);
    const [stored, truth] = await Promise.all([
      detections.list(run.id),
      api.registry.read(name, (ydoc, doc) => {
        const index = api.projection.indexOf(doc);
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
    const quiet = await quiesce(run.id);
    try {
      const result = await runs.advance(run.id, change, sink.within((updated) => transitionEvents(run.status, updated, actor)));
      if (!result) throw new NotFoundError(`no test run '${run.id}'`);
      if ('conflict' in result) throw conflict(result.conflict, result.run, change.status);
      let updated = result.run;
      if (updated.status === 'completed' && run.status !== 'completed') {
        try {
          const summary = evaluationSummary(await evaluate(updated));
          const evaluated = updated;
          updated =
            (await runs.setEvaluation(
              updated.id,
              summary,
              sink.within(() => [
                { projectId: evaluated.projectId, type: 'evaluation.ready', actor, data: { runId: evaluated.id, sessionId: evaluated.sessionId, evaluation: summary } },
              ]),
            )) ?? updated;
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
    /** A page of runs; a running run this process holds newer than its row is listed as held. */
    async list(projectId: string, opts: Parameters<TestRunRepository['listByProject']>[1]) {
      const page = await runs.listByProject(projectId, opts);
      const items = page.items.map((row) => {
        const held = hot.get(row.id)?.run;
        return held && held.revision > row.revision ? held : row;
      });
      return { ...page, items };
    },

    async projectOf(id: string): Promise<string | null> {
      return hot.get(id)?.run.projectId ?? (await runs.get(id))?.projectId ?? null;
    },

    /** Writes every run's pending progress, to its document and its row (shutdown). */
    async flushAll(): Promise<void> {
      await Promise.all([...hot.values()].map((h) => h.batch?.catch(() => undefined)));
      if (rowTimer) clearTimeout(rowTimer);
      rowTimer = null;
      await writeRows();
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
      }, sink.within((created) => transitionEvents(null, created, actor)));
      await publish(run, actor);
      dashboards.touch(run.projectId);
      return run;
    },

    async progress(run: TestRunRecord, input: TestRunProgressInput, actor: string): Promise<TestRunRecord> {
      const h = hot.get(run.id);
      if (h && h.slow === 0 && h.run.status === 'running' && (input.status === undefined || input.status === 'running')) {
        h.next = withProgress(h.next ?? h.run, input);
        return (h.batch ??= writeBatch(h, actor));
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
      const quiet = await quiesce(run.id);
      try {
        const result = await detections.append(run.id, list);
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
