/**
 * A connection to an embedded PGlite that lives in its own worker thread (persistence/pglite-thread.ts):
 * the same `query(sql, params)` → `{ rows, fields, affectedRows }` as a PGlite instance, answered
 * over messages, so the WebAssembly work of every query runs beside the server's event loop
 * instead of on it. PGlite has one connection; queries are answered in the order they were sent.
 *
 *   const conn = await openPgliteConnection({ dataDir: './data/pglite' })   // an initialised directory
 *   const { rows } = await conn.query('select $1::int as n', [1])
 *   await conn.close()
 *
 * A worker that dies (a crash in WebAssembly, an exit) fails every query waiting on it and every
 * later one with `PgliteThreadError`, never a hang; `alive` tells knex's pool to open a new one.
 * While no query is waiting the thread does not keep the process alive, as an in-thread PGlite
 * would not.
 */
import type { Worker } from 'node:worker_threads';
import type { PgliteReply, PgliteRequest, PgliteResult, PgliteThreadData, RecyclePolicy, SerializedError } from './pglite-thread.ts';
import { pgliteModules, releaseWasmFiles } from './pglite-modules.ts';
import { startThread } from './worker-thread.ts';

/** The PGlite thread failed to start, crashed, exited, or was closed. */
export class PgliteThreadError extends Error {
  readonly code = 'pglite_thread_failed';
  override readonly name = 'PgliteThreadError';
}

/**
 * An error PGlite raised in its thread, with the same fields (`code`, `detail`, `constraint`, …)
 * as the error it threw there, so callers can tell a unique violation (23505) from the rest.
 */
export class PgliteQueryError extends Error {
  [field: string]: unknown;
  constructor(serialized: SerializedError) {
    super(serialized.message);
    Object.assign(this, serialized.fields);
    // After the copy: a copied `name` field would otherwise hide the class.
    Object.defineProperty(this, 'name', { value: serialized.name === 'Error' ? 'PgliteQueryError' : serialized.name });
  }
}

/** The PGlite thread's young generation (two semi-spaces and the space objects are promoted from). */
const YOUNG_GENERATION_MB = 6;

export interface PgliteConnection {
  /** `binaryResults`: result columns in binary format (pglite-thread.ts, `binaryQueryMessages`), for stored bytes. */
  query(sql: string, params?: unknown[], opts?: { binaryResults?: boolean }): Promise<PgliteResult>;
  /** False once the thread has died or been closed. */
  readonly alive: boolean;
  /** How many times the thread was replaced to give PGlite's memory back (DEFAULT_RECYCLE). */
  readonly recycles: number;
  /** True while a new thread replaces the old one (queries wait for it). */
  readonly replacing: boolean;
  /** Closes PGlite (it flushes to its directory) and ends the thread. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (result: PgliteResult) => void;
  reject: (err: Error) => void;
}

/**
 * The default recycle policy for a PGlite directory. PGlite's memory keeps the peak of its largest
 * statement (~4× its bytes: a 4.4 MB update grew it by ~18-21 MB, docs/architecture.md, "Memory"),
 * so after a statement of 2 MiB or more, once the database has been quiet for 5 s, the thread is
 * replaced by a new one on the same directory (~0.3 s, statements meanwhile wait), at most once per
 * 30 s. The 5 s keep it to a server at rest, away from a stream of writes or of documents opened;
 * the 30 s keep large reads (a 10 000-annotation document's snapshot is ~4 MB) from replacing it
 * every few seconds.
 */
export const DEFAULT_RECYCLE: RecyclePolicy = { largeBytes: 2 * 2 ** 20, quietMs: 5_000, everyMs: 30_000 };

/** `set` statements that last for the session (`set search_path …`), replayed on a new thread. */
const SESSION_SETTING = /^\s*set\s+(?!local\b|transaction\b|constraints\b|session\s+characteristics\b)/i;

export async function openPgliteConnection(data: PgliteThreadData): Promise<PgliteConnection> {
  const modules = await pgliteModules({ initdb: data.dataDir === null });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: PgliteThreadError | null = null;
  let closing: Promise<void> | null = null;
  /** While a new thread replaces the old one: the requests asked for meanwhile, posted to it in order. */
  let held: Array<Extract<PgliteRequest, { type: 'query' }>> | null = null;
  const settings: string[] = [];
  let recycling: Promise<void> | null = null;
  let recycles = 0;
  /** The thread queries go to; null only until the first one is ready. */
  let worker: Worker | null = null;

  const fail = (err: PgliteThreadError): void => {
    if (failure) return;
    failure = err;
    for (const job of pending.values()) job.reject(err);
    pending.clear();
  };

  const answer = (reply: Extract<PgliteReply, { type: 'result' }>): void => {
    const job = pending.get(reply.id);
    if (job === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0 && held === null) worker?.unref();
    if (reply.ok) job.resolve(reply.result);
    else job.reject(new PgliteQueryError(reply.error));
  };

  /** A thread with PGlite open on `data.dataDir`; its failures after start fail the connection while it is the current one. */
  const startWorker = async (replacement: boolean): Promise<Worker> => {
    const thread: Worker = startThread('pglite-thread', {
      workerData: { ...data, modules, ...(replacement ? { replacement } : {}) } satisfies PgliteThreadData,
      // The thread's JavaScript is PGlite's protocol code: short-lived buffers per query. V8's default
      // young generation (up to 16 MB per semi-space) stays resident once grown; bounded to 6 MB, a
      // server on PGlite started ~5 MB smaller and bench/pglite-wasm.ts ended ~50 MB smaller (324 vs
      // 374 MiB) for ~10% more CPU (12 MB: ~8 MB smaller, CPU alike). The old generation keeps V8's
      // default limit, so this never fails a query.
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    // The connection's thread, and not one being replaced (whose close and exit are expected).
    const current = (): boolean => worker === thread && held === null;
    const ready = new Promise<void>((resolve, reject) => {
      thread.on('message', (reply: PgliteReply) => {
        // Resolved once the compiled files are freed too, so the caller's RSS is what stays.
        if (reply.type === 'ready') void releaseWasmFiles().then(resolve);
        else if (reply.type === 'failed') {
          const err = new PgliteThreadError(`PGlite could not open ${data.dataDir ?? 'memory'}: ${reply.error.message}`);
          reject(err);
          if (current()) fail(err);
        } else if (reply.type === 'closed') {
          if (current()) fail(new PgliteThreadError('the PGlite connection is closed'));
        } else if (reply.type === 'recycle') {
          if (current()) recycle();
        } else if (current()) answer(reply);
      });
      thread.on('error', (err) => {
        const lost = new PgliteThreadError(`the PGlite thread failed: ${err.message}`, { cause: err });
        reject(lost);
        if (current()) fail(lost);
      });
      thread.on('exit', (code) => {
        const lost = new PgliteThreadError(`the PGlite thread exited with code ${code}`);
        reject(lost);
        if (current()) fail(lost);
      });
    });
    try {
      await ready;
    } catch (err) {
      await thread.terminate();
      throw err;
    }
    return thread;
  };

  /** Closes PGlite on `thread` (it flushes to its directory) and ends the thread. */
  const stopWorker = async (thread: Worker): Promise<void> => {
    const stopped = new Promise<void>((resolve) => {
      thread.on('message', (reply: PgliteReply) => reply.type === 'closed' && resolve());
      thread.once('exit', () => resolve());
    });
    thread.ref();
    thread.postMessage({ type: 'close' } satisfies PgliteRequest);
    await stopped;
    await thread.terminate();
  };

  /** Posts `request` to the thread; one whose parameters structured clone cannot carry (a function, a symbol) is rejected, unsent. */
  const post = (request: Extract<PgliteRequest, { type: 'query' }>): void => {
    if (!worker) return;
    worker.ref();
    try {
      worker.postMessage(request);
    } catch (err) {
      const job = pending.get(request.id);
      pending.delete(request.id);
      if (pending.size === 0) worker.unref();
      job?.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };

  /**
   * Replaces the thread (see DEFAULT_RECYCLE) when nothing waits on it: the old one closes PGlite
   * before the new one opens the same directory. Queries asked for meanwhile are held and sent to
   * the new thread, in order, after the session's settings.
   */
  const recycle = (): void => {
    if (pending.size > 0 || held !== null || closing || failure) return;
    held = [];
    recycling = replace().finally(() => (recycling = null));
  };

  const replace = async (): Promise<void> => {
    try {
      if (worker) await stopWorker(worker);
      worker = await startWorker(true);
    } catch (err) {
      fail(err instanceof PgliteThreadError ? err : new PgliteThreadError(`the PGlite thread could not be replaced: ${String(err)}`, { cause: err }));
      held = null;
      return;
    }
    recycles++;
    const waiting = held ?? [];
    held = null;
    for (const sql of settings) post({ type: 'query', id: 0, sql, params: undefined });
    for (const request of waiting) post(request);
    if (pending.size === 0) worker?.unref();
  };

  const first = await startWorker(false);
  worker = first;
  first.unref();

  return {
    get alive() {
      return failure === null && closing === null;
    },

    get recycles() {
      return recycles;
    },

    get replacing() {
      return held !== null;
    },

    query(sql, params, opts) {
      if (failure) return Promise.reject(failure);
      if (closing) return Promise.reject(new PgliteThreadError('the PGlite connection is closed'));
      const id = nextId++;
      const request = { type: 'query', id, sql, params, ...(opts?.binaryResults ? { binaryResults: true } : {}) } satisfies PgliteRequest;
      const done = new Promise<PgliteResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        if (held !== null) held.push(request);
        else post(request);
      });
      if (!SESSION_SETTING.test(sql)) return done;
      return done.then((result) => {
        if (!settings.includes(sql)) settings.push(sql);
        return result;
      });
    },

    close() {
      return (closing ??= (async () => {
        // A replacement under way ends first: its new thread is the one to close.
        await recycling;
        if (!worker) return;
        if (!failure) {
          await stopWorker(worker);
          fail(new PgliteThreadError('the PGlite connection is closed'));
        }
        await worker.terminate();
      })());
    },
  };
}
