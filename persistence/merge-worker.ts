/**
 * Merges stored Yjs updates off the event loop, under a time budget. Yjs can loop
 * forever on some crafted updates (yjs#687); run on the main thread, one such row in the log
 * would hang every load and compaction of its document — and the whole process with them. Here
 * the merge runs in one long-lived worker thread; a merge that outlives the budget gets its worker
 * terminated (the next request starts a fresh one) and rejects with `MergeTimeoutError`, which
 * persistence/doc-store.ts answers by setting the culprit rows aside.
 *
 * The budget is the worker thread's CPU time where that can be read (Linux, thread-clock.ts), and
 * the worker then runs at background priority (thread-priority.ts): a large document's merge gives
 * way to the event loop's deliveries, and the moments it waits for a core do not count against it,
 * so an honest merge on a busy machine is not cut off. A merge that loops forever uses CPU and
 * still reaches the budget. Elsewhere the budget is wall-clock time, at normal priority.
 *
 *   const pool = createMergePool({ timeBudgetMs: 5000, logger })
 *   const store = createDocStore({ knex, logger, merge: pool.merge })
 *   …
 *   await pool.close()
 *
 * The merge is the one server/create-server.ts used in-process (apply all into a Y.Doc, encode),
 * so garbage collection still shrinks snapshots. Requests run one at a time, in order; the clock
 * of a request starts when the worker receives it, not while it waits in the queue or for a cold
 * worker to load. A document's merge copies its updates once, into one packed buffer that is
 * transferred (never cloned). `mergeUpdates` takes its updates from a caller that gives them up (a
 * staged change's held-back steps): each one that owns its whole buffer is transferred as it is, no
 * copy at all (packing an import's 4 MB of steps held the event loop ~10 ms: a fresh buffer's page
 * faults). The result comes back transferred too.
 */
import type { Worker } from 'node:worker_threads';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { threadCpuMs } from './thread-clock.ts';
import { IDLE_WORKER_MS, IdleWorkerEnd, startThread, transferableBuffer } from './worker-thread.ts';
import type { MergeReply, MergeRequest } from './merge-worker-thread.ts';

export interface MergePoolOptions {
  /** How long one merge may run before its worker is terminated: its CPU time, where readable (above). */
  timeBudgetMs?: number;
  /** How long the worker may sit idle before it is ended, giving its heap back (default IDLE_WORKER_MS, worker-thread.ts). */
  idleMs?: number;
  logger?: Logger;
}

export interface MergePool {
  /** Snapshot + updates folded into one update, computed in the worker; `budgetMs` overrides the pool's budget. */
  merge(updates: Uint8Array[], budgetMs?: number): Promise<Uint8Array>;
  /**
   * Updates folded with Y.mergeUpdates, no Y.Doc: for updates that need not make a whole document
   * (a staged change's steps, server/documents/staged-change.ts); within the pool's budget. The
   * caller gives the updates up: those that own their whole buffer are detached (transferred).
   */
  mergeUpdates(updates: Uint8Array[]): Promise<Uint8Array>;
  /** Counters for metrics and tests: workers started, workers ended once idle, merges answered, merges cut off. */
  stats(): { workersStarted: number; workersEnded: number; merged: number; timedOut: number };
  /** Rejects queued merges with MergePoolClosedError and terminates the worker. Idempotent. */
  close(): Promise<void>;
}

/** A merge outlived its time budget; its worker was terminated. */
export class MergeTimeoutError extends Error {
  readonly code = 'merge_timeout';
  override readonly name = 'MergeTimeoutError';
  readonly budgetMs: number;
  readonly updateCount: number;
  constructor(budgetMs: number, updateCount: number) {
    super(`merging ${updateCount} updates exceeded the ${budgetMs} ms budget`);
    this.budgetMs = budgetMs;
    this.updateCount = updateCount;
  }
}

/** Yjs threw on the input (a malformed update), or the worker died. */
export class MergeFailedError extends Error {
  readonly code = 'merge_failed';
  override readonly name = 'MergeFailedError';
}

export class MergePoolClosedError extends Error {
  readonly code = 'merge_pool_closed';
  override readonly name = 'MergePoolClosedError';
}

/** The least wait before the worker's CPU time is read again. */
const MIN_RECHECK_MS = 5;

interface Job {
  id: number;
  how: MergeRequest['how'];
  updates: Uint8Array[];
  budgetMs: number;
  resolve: (merged: Uint8Array) => void;
  reject: (err: Error) => void;
}

/** Every update back to back in one fresh buffer: the single copy a document's merge makes. */
function pack(updates: Uint8Array[]): { packed: ArrayBuffer; lengths: number[] } {
  const lengths = updates.map((update) => update.byteLength);
  const packed = new Uint8Array(lengths.reduce((sum, n) => sum + n, 0));
  let offset = 0;
  for (const update of updates) {
    packed.set(update, offset);
    offset += update.byteLength;
  }
  return { packed: packed.buffer, lengths };
}

/** Each update as a buffer of its own to transfer (one seen twice is copied the second time). */
function parts(updates: Uint8Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  return updates.map((update) => {
    const part = seen.has(update.buffer) ? new Uint8Array(update).buffer : transferableBuffer(update);
    seen.add(update.buffer);
    return part;
  });
}

function request(job: Job): { message: MergeRequest; transfer: ArrayBuffer[] } {
  if (job.how === 'updates') {
    const given = parts(job.updates);
    return { message: { id: job.id, how: 'updates', parts: given }, transfer: given };
  }
  const { packed, lengths } = pack(job.updates);
  return { message: { id: job.id, how: 'doc', packed, lengths }, transfer: [packed] };
}

export function createMergePool(opts: MergePoolOptions = {}): MergePool {
  const timeBudgetMs = opts.timeBudgetMs ?? 5000;
  const idleMs = opts.idleMs ?? IDLE_WORKER_MS;
  const logger = opts.logger ?? silentLogger;
  const queue: Job[] = [];
  let nextId = 1;
  let worker: Worker | null = null;
  let ready = false;
  /** The worker's kernel thread id, when it said its CPU time can be read (merge-worker-thread.ts). */
  let workerTid: number | null = null;
  /** `cpuAtStart`: the worker's CPU time when the job was sent, if it keeps that clock. */
  let running: { job: Job; timer: NodeJS.Timeout; cpuAtStart: number | null } | null = null;
  let closed: Promise<void> | null = null;
  const counters = { workersStarted: 0, merged: 0, timedOut: 0 };
  const idle = new IdleWorkerEnd(idleMs, () => {
    if (running || queue.length > 0 || !worker) return null;
    const ending = worker;
    worker = null;
    return ending;
  });

  function spawn(): Worker {
    const fresh = startThread('merge-worker-thread');
    counters.workersStarted++;
    ready = false;
    workerTid = null;
    fresh.on('message', (reply: MergeReply) => {
      if (fresh !== worker) return;
      if (reply.type === 'ready') {
        ready = true;
        workerTid = reply.tid;
        pump();
        return;
      }
      if (!running || running.job.id !== reply.id) return;
      const { job, timer } = running;
      clearTimeout(timer);
      running = null;
      counters.merged++;
      if (reply.ok) job.resolve(new Uint8Array(reply.merged));
      else job.reject(new MergeFailedError(reply.message));
      pump();
    });
    const lost = (err: Error): void => {
      if (fresh !== worker) return;
      logger.error({ err }, 'merge worker failed; starting a fresh one for the next merge');
      worker = null;
      if (running) {
        clearTimeout(running.timer);
        running.job.reject(new MergeFailedError(`merge worker failed: ${err.message}`, { cause: err }));
        running = null;
      }
      pump();
    };
    fresh.on('error', lost);
    fresh.on('exit', (code) => lost(new Error(`merge worker exited with code ${code}`)));
    return fresh;
  }

  function pump(): void {
    if (running || closed) return;
    // An idle worker must not keep the process alive; one with work must, even while it starts.
    if (queue.length === 0) {
      worker?.unref();
      if (worker) idle.idle();
      return;
    }
    idle.busy();
    if (!worker) {
      try {
        worker = spawn();
      } catch (err) {
        const failed = new MergeFailedError('the merge worker could not be started', { cause: err });
        for (const job of queue.splice(0)) job.reject(failed);
        return;
      }
    }
    worker.ref();
    if (!ready) return;
    const job = queue.shift()!;
    const { message, transfer } = request(job);
    const cpuAtStart = workerTid === null ? null : threadCpuMs(workerTid);
    const timer = setTimeout(() => onTimeout(job), job.budgetMs);
    running = { job, timer, cpuAtStart };
    worker.postMessage(message, transfer);
  }

  function enqueue(how: Job['how'], updates: Uint8Array[], budgetMs: number): Promise<Uint8Array> {
    if (closed) return Promise.reject(new MergePoolClosedError('the merge pool is closed'));
    return new Promise<Uint8Array>((resolve, reject) => {
      queue.push({ id: nextId++, how, updates, budgetMs, resolve, reject });
      pump();
    });
  }

  function onTimeout(job: Job): void {
    if (!running || running.job !== job) return;
    const used = running.cpuAtStart === null || workerTid === null ? null : (threadCpuMs(workerTid) ?? Infinity) - running.cpuAtStart;
    if (used !== null && used < job.budgetMs) {
      // CPU time never runs ahead of wall time, so the budget cannot be spent before this.
      running.timer = setTimeout(() => onTimeout(job), Math.max(job.budgetMs - used, MIN_RECHECK_MS));
      return;
    }
    running = null;
    counters.timedOut++;
    const stuck = worker;
    worker = null;
    // terminate() stops the thread even inside a synchronous endless loop (yjs#687).
    if (stuck) void stuck.terminate().catch(() => undefined);
    logger.warn({ updates: job.updates.length, budgetMs: job.budgetMs }, 'merge exceeded its time budget; worker terminated');
    job.reject(new MergeTimeoutError(job.budgetMs, job.updates.length));
    pump();
  }

  return {
    stats: () => ({ ...counters, workersEnded: idle.ended }),

    merge: (updates, budgetMs = timeBudgetMs) => enqueue('doc', updates, budgetMs),
    mergeUpdates: (updates) => enqueue('updates', updates, timeBudgetMs),

    close() {
      return (closed ??= (async () => {
        idle.stop();
        const failed = new MergePoolClosedError('the merge pool closed before this merge ran');
        for (const job of queue.splice(0)) job.reject(failed);
        if (running) {
          clearTimeout(running.timer);
          running.job.reject(failed);
          running = null;
        }
        const last = worker;
        worker = null;
        if (last) await last.terminate();
      })());
    },
  };
}
