/**
 * The Yjs update log with group commit (docs/architecture.md, "Durability"): every update is queued, and each
 * tick writes everything pending — across all documents — with ONE statement (an INSERT; for a
 * large batch on Postgres a binary COPY), so the database sees a few statements a second however
 * many clients type. A caller's promise resolves only once the statement holding its update
 * committed (a REST write answers after that).
 *
 *   const log = createUpdateLog({ knex })
 *   await log.append('session:1', update)   // durable now
 *   await log.close()                       // flushes
 *
 * Commits happen strictly in arrival order: a failed batch stays at the head of the queue and is
 * retried (with capped backoff) before anything queued behind it. So "committed" is a prefix of
 * everything appended, and flush() only waits for a counter to pass a target.
 *
 * An update may carry a key (`yjs_updates.update_key`, migrations/20261204_0008_update_keys.ts):
 * with Redis, the process that received an update and any process that stores it in its place use
 * the same key, and the second INSERT skips it. Without keys the INSERT is the one it always was.
 */
import type { Knex } from 'knex';
import { byteaArray, textArray } from './binary-arrays.ts';
import { bytesParameter, writesByCopy } from './bytea.ts';
import { copyIn } from './copy-in.ts';
import { directStatement } from './direct-statement.ts';
import { logBatchBytes } from './statement-size.ts';
import { mergedRows, type LogRow } from './log-rows.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';

export interface UpdateLog {
  /**
   * Queue one update; resolves once the INSERT containing it committed (or found its `key` stored
   * already). Rejects only on close() without success. `awaited`: someone waits on this commit to
   * answer (a REST write), so it does not wait for company: it goes as soon as `awaitedGapMs` has
   * passed since the last INSERT began.
   */
  append(docName: string, update: Uint8Array, key?: string, awaited?: boolean): Promise<void>;
  /** Commit everything queued now (and wait for an in-flight commit). */
  flush(): Promise<void>;
  /** Updates queued or in flight for one document (the registry refuses to unload a doc while > 0). */
  pending(docName: string): number;
  /** Flush, stop the timer; idempotent. Rejects with UpdateLogClosedError if updates could not be stored. */
  close(): Promise<void>;
}

export interface CommitInfo {
  /** Rows written: with `mergeRows`, a document's merged updates are one. */
  rows: number;
  /** Keyed updates of the batch not written because a row with their key was stored already. */
  skipped: number;
  bytes: number;
  ms: number;
}

export interface UpdateLogOptions {
  knex: Knex;
  /** How long an update waits for others to share its INSERT (default 20 ms); an awaited one does not. */
  intervalMs?: number;
  /**
   * An awaited update's INSERT starts no sooner than this after the previous one began (default
   * 5 ms): under many REST writes at once (bench/test-runs.ts posts 4 000 progress updates a
   * second) INSERTs would otherwise follow each other back to back, each a commit's fixed cost for
   * a handful of rows.
   */
  awaitedGapMs?: number;
  /** Rows per INSERT (default 10 000); a longer queue is written over consecutive, immediate ticks. */
  maxBatchRows?: number;
  /** Update bytes per INSERT (default 32 MiB; 512 KiB on PGlite, statement-size.ts). */
  maxBatchBytes?: number;
  /**
   * An update at least this large is committed without waiting `intervalMs` for company (default
   * 256 KiB): its own bytes dominate its INSERT, and an import answers only after it.
   */
  hurryBytes?: number;
  /**
   * Write each document's small updates of a commit as one merged row (log-rows.ts): for a database
   * in this process, where every row costs this process its INSERT (default false). Keyed batches
   * (with Redis) keep one row per update.
   */
  mergeRows?: boolean;
  /** Cap of the retry backoff after a failed INSERT (default 5 s). */
  maxRetryDelayMs?: number;
  /** How long close() keeps retrying a failing INSERT before giving the updates up (default 10 s). */
  closeTimeoutMs?: number;
  logger?: Logger;
  onCommit?: (info: CommitInfo) => void;
}

/** The log was closed before these updates could be stored. */
export class UpdateLogClosedError extends Error {
  readonly code = 'update_log_closed';
  override readonly name = 'UpdateLogClosedError';
  readonly lostUpdates: number;
  constructor(message: string, lostUpdates: number) {
    super(message);
    this.lostUpdates = lostUpdates;
  }
}

interface Entry {
  docName: string;
  update: Uint8Array;
  key: string | null;
  resolve(): void;
  reject(err: Error): void;
}

interface Waiter {
  /** Resolves once this many updates (counted from the first append) have committed. */
  target: number;
  resolve(): void;
  reject(err: Error): void;
}

// unnest() keeps the statement at a few bind parameters however many rows it carries, so the
// bind-parameter limit (65 535) never applies, and Postgres parses one short statement per tick.
// Rows come out of unnest in array order, so one document's seq values follow its append order.
//
// The arrays are bound in Postgres's binary array form (binary-arrays.ts): no text made or parsed on
// either side. A batch of LARGE_BATCH_BYTES or more takes the raw bytes instead: on Postgres by
// binary COPY (copy-in.ts; with keys, by way of a temporary table, `copyKeyed`), and on PGlite a
// batch of one row (a bulk create's, an import's) binds its bytes as one binary parameter. The
// statements run on the driver directly (direct-statement.ts), not through knex's runner.
/**
 * A COPY costs this process ~0.1 ms more than an INSERT of a few small rows (its stream). Measured
 * on 60-row batches when the INSERT still carried the bytes as base64 text: the INSERT was cheaper
 * up to ~30 kB and took 3x the CPU at 120 kB (not measured again since the binary arrays). A 4 MB row (`npm run bench:bytea`, "log row"): Postgres ~185 ms and ~30 ms
 * of event loop by INSERT, 95 and 4 by COPY; PGlite about half the time as a binary parameter.
 */
const LARGE_BATCH_BYTES = 32 * 1024;

const singleInsert = directStatement(
  'annosync_log_insert_one',
  `insert into yjs_updates (doc_name, "update", update_key) values ($1, $2, $3)
  on conflict (update_key) where update_key is not null do nothing`,
);
const batchInsert = directStatement(
  'annosync_log_insert',
  `insert into yjs_updates (doc_name, "update")
  select doc_name, data from unnest($1::text[], $2::bytea[]) as queued (doc_name, data)`,
);
/** A batch with at least one key: null keys never conflict, keyed ones already stored are skipped. */
const keyedBatchInsert = directStatement(
  'annosync_log_insert_keyed',
  `insert into yjs_updates (doc_name, "update", update_key)
  select doc_name, data, update_key from unnest($1::text[], $2::bytea[], $3::text[]) as queued (doc_name, data, update_key)
  on conflict (update_key) where update_key is not null do nothing`,
);

/**
 * A large keyed batch on Postgres: COPY cannot skip a stored key, so the rows are copied into a
 * temporary table and moved into the log by the keyed INSERT's `on conflict`, in one transaction.
 * Resolves with the number of rows stored.
 */
async function copyKeyed(knex: Knex, batch: readonly Entry[]): Promise<number> {
  return knex.transaction(async (trx) => {
    await trx.raw(`create temporary table queued_updates (ord serial, doc_name text, "update" bytea, update_key text) on commit drop`);
    const rows = batch.map((entry) => [entry.docName, entry.update, entry.key]);
    await copyIn(trx, 'queued_updates', { doc_name: 'text', update: 'bytes', update_key: 'text' }, rows);
    const result = await trx.raw<{ rowCount: number | null }>(`insert into yjs_updates (doc_name, "update", update_key)
      select doc_name, "update", update_key from queued_updates order by ord
      on conflict (update_key) where update_key is not null do nothing`);
    return result.rowCount ?? batch.length;
  });
}

export function createUpdateLog(opts: UpdateLogOptions): UpdateLog {
  const { knex } = opts;
  const intervalMs = opts.intervalMs ?? 20;
  const maxBatchRows = opts.maxBatchRows ?? 10_000;
  const maxBatchBytes = opts.maxBatchBytes ?? logBatchBytes(knex) ?? 32 * 1024 * 1024;
  const hurryBytes = opts.hurryBytes ?? 256 * 1024;
  const awaitedGapMs = opts.awaitedGapMs ?? 5;
  const maxRetryDelayMs = opts.maxRetryDelayMs ?? 5000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
  const logger = opts.logger ?? silentLogger;

  /** Everything not yet committed, oldest first; the in-flight batch is its head. */
  let queue: Entry[] = [];
  const perDoc = new Map<string, number>();
  let appended = 0;
  let committed = 0;
  let waiters: Waiter[] = [];
  /** Commit without pause until this many updates (counted as `appended`) are in. */
  let hurryUntil = 0;
  /** The last awaited update appended (its count); committed past it, nobody awaits. */
  let awaitedUntil = 0;
  /** When the scheduled tick fires (performance.now()). */
  let timerDueAt = 0;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let failures = 0;
  let lastCommitStarted = 0;
  /** The last batch left rows behind (a bound on rows or bytes): they have waited already. */
  let backlog = false;
  /** No more appends (close() called). */
  let closed = false;
  /** No more commits either (close() gave up). */
  let stopped = false;
  let closing: Promise<void> | null = null;

  function schedule(delayMs: number): void {
    if (timer || inFlight || stopped || queue.length === 0) return;
    timerDueAt = performance.now() + delayMs;
    timer = setTimeout(() => {
      timer = null;
      inFlight = commitHead().finally(() => {
        inFlight = null;
        afterCommit();
      });
    }, delayMs);
  }

  function afterCommit(): void {
    if (queue.length === 0) return;
    if (failures > 0) {
      schedule(Math.min(maxRetryDelayMs, Math.max(intervalMs, 10) * 2 ** (failures - 1)));
    } else if (waiters.length > 0 || hurryUntil > committed || closed || backlog || queue.length >= maxBatchRows) {
      schedule(0); // someone is waiting for it, a large update, or a backlog: no reason to wait for company
    } else if (awaitedUntil > committed) {
      schedule(sinceLastCommit(awaitedGapMs));
    } else {
      // One commit per interval: what queued up while the last INSERT ran has waited already.
      schedule(sinceLastCommit(intervalMs));
    }
  }

  /** What is left of `ms` since the last INSERT began. */
  function sinceLastCommit(ms: number): number {
    return Math.max(0, ms - (performance.now() - lastCommitStarted));
  }

  function takeBatch(): Entry[] {
    let bytes = 0;
    let n = 0;
    while (n < queue.length && n < maxBatchRows) {
      const size = queue[n]!.update.byteLength;
      if (n > 0 && bytes + size > maxBatchBytes) break;
      bytes += size;
      n++;
    }
    backlog = n < queue.length;
    return queue.slice(0, n);
  }

  /** Never rejects: a failure is logged and leaves the batch at the head of the queue. */
  async function commitHead(): Promise<void> {
    const batch = takeBatch();
    if (batch.length === 0) return;
    const started = (lastCommitStarted = performance.now());
    const bytes = batch.reduce((sum, entry) => sum + entry.update.byteLength, 0);
    let skipped = 0;
    let written = batch.length;
    try {
      const keyed = batch.some((entry) => entry.key !== null);
      const large = bytes >= LARGE_BATCH_BYTES;
      const rows: readonly LogRow[] = opts.mergeRows === true && !keyed ? mergedRows(batch) : batch;
      written = rows.length;
      if (large && writesByCopy(knex)) {
        if (keyed) skipped = batch.length - (await copyKeyed(knex, batch));
        else await copyIn(knex, 'yjs_updates', { doc_name: 'text', update: 'bytes' }, rows.map((row) => [row.docName, row.update]));
      } else if (large && rows.length === 1) {
        // A keyed one too (an import's merged update): as base64 text, making it and copying it to
        // PGlite's thread held the event loop ~30 ms for a 3 MB update (bench:stalls).
        const [row] = rows as [LogRow];
        const key = keyed ? (batch[0] as Entry).key : null;
        skipped = 1 - (await singleInsert.run(knex, [row.docName, bytesParameter(row.update), key]));
      } else if (keyed) {
        const docNames = textArray(batch.map((entry) => entry.docName));
        const data = byteaArray(batch.map((entry) => entry.update));
        const keys = textArray(batch.map((entry) => entry.key));
        skipped = batch.length - (await keyedBatchInsert.run(knex, [docNames, data, keys]));
      } else {
        await batchInsert.run(knex, [textArray(rows.map((row) => row.docName)), byteaArray(rows.map((row) => row.update))]);
      }
    } catch (err) {
      failures++;
      logger.error({ err, rows: batch.length, bytes, attempt: failures }, 'update log commit failed; will retry');
      return;
    }
    if (failures > 0) logger.info({ rows: batch.length, attempts: failures + 1 }, 'update log commit recovered');
    failures = 0;
    queue = queue.slice(batch.length);
    committed += batch.length;
    for (const entry of batch) {
      const left = (perDoc.get(entry.docName) ?? 1) - 1;
      if (left === 0) perDoc.delete(entry.docName);
      else perDoc.set(entry.docName, left);
      entry.resolve();
    }
    waiters = waiters.filter((waiter) => {
      if (waiter.target > committed) return true;
      waiter.resolve();
      return false;
    });
    try {
      opts.onCommit?.({ rows: written, skipped, bytes, ms: performance.now() - started });
    } catch (err) {
      logger.warn({ err }, 'update log onCommit hook threw');
    }
  }

  function flush(): Promise<void> {
    if (committed >= appended) return Promise.resolve();
    if (stopped) return Promise.reject(new UpdateLogClosedError('the update log is closed', appended - committed));
    const done = new Promise<void>((resolve, reject) => waiters.push({ target: appended, resolve, reject }));
    hurry(0);
    return done;
  }

  /** Brings the pending tick forward to `delayMs` from now, unless backing off from a failure (hammering a sick database helps nobody). */
  function hurry(delayMs: number): void {
    if (timer && failures === 0 && timerDueAt > performance.now() + delayMs) {
      clearTimeout(timer);
      timer = null;
    }
    schedule(delayMs);
  }

  async function shutDown(): Promise<void> {
    closed = true;
    let deadline: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => {
      deadline = setTimeout(() => resolve(false), closeTimeoutMs);
    });
    const flushed = await Promise.race([flush().then(() => true), gaveUp]);
    clearTimeout(deadline);
    if (flushed) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = null;
    const lost = queue.length;
    // An INSERT still in flight may yet commit; its callers hear "lost" although it was stored,
    // which is the safe direction: a Yjs client re-sends, and applying an update twice is harmless.
    const error = new UpdateLogClosedError(`update log closed with ${lost} updates not stored`, lost);
    logger.error({ lost }, 'update log closed before it could store every update');
    for (const entry of queue) entry.reject(error);
    for (const waiter of waiters) waiter.reject(error);
    queue = [];
    waiters = [];
    perDoc.clear();
    throw error;
  }

  return {
    append(docName, update, key, awaited = false) {
      if (closed) return Promise.reject(new UpdateLogClosedError('the update log is closed', 1));
      return new Promise<void>((resolve, reject) => {
        queue.push({ docName, update, key: key ?? null, resolve, reject });
        appended++;
        perDoc.set(docName, (perDoc.get(docName) ?? 0) + 1);
        if (update.byteLength >= hurryBytes) {
          hurryUntil = appended;
          hurry(0);
        } else if (awaited) {
          awaitedUntil = appended;
          hurry(sinceLastCommit(awaitedGapMs));
        } else {
          schedule(intervalMs);
        }
      });
    },
    flush,
    pending: (docName) => perDoc.get(docName) ?? 0,
    close: () => (closing ??= shutDown()),
  };
}
