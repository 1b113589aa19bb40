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
import type { PgliteReply, PgliteRequest, PgliteResult, PgliteThreadData, SerializedError } from './pglite-thread.ts';
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
  /** Closes PGlite (it flushes to its directory) and ends the thread. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (result: PgliteResult) => void;
  reject: (err: Error) => void;
}

export async function openPgliteConnection(data: PgliteThreadData): Promise<PgliteConnection> {
  const modules = await pgliteModules();
  const worker: Worker = startThread('pglite-thread', {
    workerData: { ...data, modules } satisfies PgliteThreadData,
    // The thread's JavaScript is PGlite's protocol code: short-lived buffers per query. V8's default
    // young generation (up to 16 MB per semi-space) stays resident once grown; bounded to 6 MB, a
    // server on PGlite started ~5 MB smaller and bench/pglite-wasm.ts ended ~50 MB smaller (324 vs
    // 374 MiB) for ~10% more CPU (12 MB: ~8 MB smaller, CPU alike). The old generation keeps V8's
    // default limit, so this never fails a query.
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: PgliteThreadError | null = null;
  let closing: Promise<void> | null = null;
  let onClosed: (() => void) | null = null;

  const fail = (err: PgliteThreadError): void => {
    if (failure) return;
    failure = err;
    for (const job of pending.values()) job.reject(err);
    pending.clear();
    onClosed?.();
  };

  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: PgliteReply) => {
      // Resolved once the compiled files are freed too, so the caller's RSS is what stays.
      if (reply.type === 'ready') void releaseWasmFiles().then(resolve);
      else if (reply.type === 'failed') {
        const err = new PgliteThreadError(`PGlite could not open ${data.dataDir ?? 'memory'}: ${reply.error.message}`);
        fail(err);
        reject(err);
      } else if (reply.type === 'closed') {
        fail(new PgliteThreadError('the PGlite connection is closed'));
      } else {
        const job = pending.get(reply.id);
        if (job === undefined) return;
        pending.delete(reply.id);
        if (pending.size === 0) worker.unref();
        if (reply.ok) job.resolve(reply.result);
        else job.reject(new PgliteQueryError(reply.error));
      }
    });
    worker.on('error', (err) => {
      const lost = new PgliteThreadError(`the PGlite thread failed: ${err.message}`, { cause: err });
      fail(lost);
      reject(lost);
    });
    worker.on('exit', (code) => {
      const lost = new PgliteThreadError(`the PGlite thread exited with code ${code}`);
      fail(lost);
      reject(lost);
    });
  });
  try {
    await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.unref();

  return {
    get alive() {
      return failure === null && closing === null;
    },

    query(sql, params, opts) {
      if (failure) return Promise.reject(failure);
      if (closing) return Promise.reject(new PgliteThreadError('the PGlite connection is closed'));
      const id = nextId++;
      return new Promise<PgliteResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        try {
          worker.postMessage({ type: 'query', id, sql, params, ...(opts?.binaryResults ? { binaryResults: true } : {}) } satisfies PgliteRequest);
        } catch (err) {
          // A parameter structured clone cannot carry (a function, a symbol): nothing was sent.
          pending.delete(id);
          if (pending.size === 0) worker.unref();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },

    close() {
      return (closing ??= (async () => {
        if (!failure) {
          const closed = new Promise<void>((resolve) => (onClosed = resolve));
          worker.ref();
          worker.postMessage({ type: 'close' } satisfies PgliteRequest);
          await closed;
        }
        await worker.terminate();
      })());
    },
  };
}
