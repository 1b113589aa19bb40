/**
 * The fast path of test-run progress (docs/architecture.md, "Test runs"). The process keeps each
 * running run in memory; the posts of one run that arrive in one turn of the event loop become ONE
 * document write — one revision, one update in the log, one message to each watcher, one
 * Server-Sent Event — and each of them answers with that write's state once it is committed (so
 * under load a post's answer may include a concurrent post's progress too). The `test_runs` rows of
 * running runs follow their documents, all in one statement at most every ROW_FLUSH_MS.
 *
 * A change through the database (status, detections, evaluation) first calls `quiesce`: the run's
 * pending write reaches its document and its row, and progress takes the slow path until `done`.
 * If another process ended the run meanwhile, the next row write finds it no longer running and
 * drops the copy; its next post reloads it.
 *
 *   const coalescer = createProgressCoalescer({ runs, logger, publish, touched })
 *   coalescer.post(run, input, actor) ?? slowPath()
 */
import type { TestRunRecord, TestRunRepository, TestRunStatus } from '../../../persistence/repositories/test-runs.ts';
import type { Logger } from '../../../shared/logger.ts';

export interface TestRunProgressInput {
  processedFrames: number;
  totalFrames: number;
  status?: TestRunStatus | undefined;
  message?: string | null | undefined;
  metrics?: Record<string, unknown> | null | undefined;
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

export interface ProgressCoalescerDeps {
  runs: TestRunRepository;
  logger: Logger;
  /** Writes the run's state into its document; resolves once committed. */
  publish(run: TestRunRecord, actor: string): Promise<void>;
  /** The run's project dashboard has something new to show. */
  touched(projectId: string): void;
}

export function createProgressCoalescer(deps: ProgressCoalescerDeps) {
  const { runs } = deps;
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
        deps.logger.warn({ err, runs: batch.length }, 'test-run rows could not be written; will retry');
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

  /** The progress posts of this turn as one document write; resolves with the state written, once committed. */
  const writeBatch = async (h: Hot, actor: string): Promise<TestRunRecord> => {
    await nextTurn();
    const run: TestRunRecord = { ...(h.next ?? h.run), revision: h.run.revision + 1, updatedAt: new Date().toISOString() };
    h.run = run;
    h.next = null;
    h.batch = null;
    behind.add(run.id);
    scheduleRows();
    await deps.publish(run, actor);
    deps.touched(run.projectId);
    return run;
  };

  return {
    /** The run as this process last wrote it to its document, when it holds the run. */
    held(id: string): TestRunRecord | undefined {
      return hot.get(id)?.run;
    },

    /** A run after a change through the database: kept while running, forgotten once it is not. */
    remember(run: TestRunRecord): void {
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
    },

    /** The fast path when the run is running, held, and no database change is in flight; null otherwise. */
    post(run: TestRunRecord, input: TestRunProgressInput, actor: string): Promise<TestRunRecord> | null {
      const h = hot.get(run.id);
      if (!h || h.slow > 0 || h.run.status !== 'running' || (input.status !== undefined && input.status !== 'running')) return null;
      h.next = withProgress(h.next ?? h.run, input);
      return (h.batch ??= writeBatch(h, actor));
    },

    /**
     * Before a change through the database: the run's pending progress is written to its document
     * and its row (so the database counts from there), and progress takes the slow path until `done`.
     */
    async quiesce(id: string): Promise<{ done(): void }> {
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
    },

    /** Writes every run's pending progress, to its document and its row (shutdown). */
    async flushAll(): Promise<void> {
      await Promise.all([...hot.values()].map((h) => h.batch?.catch(() => undefined)));
      if (rowTimer) clearTimeout(rowTimer);
      rowTimer = null;
      await writeRows();
    },
  };
}

export type ProgressCoalescer = ReturnType<typeof createProgressCoalescer>;
