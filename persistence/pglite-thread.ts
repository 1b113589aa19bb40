/**
 * The worker side of persistence/pglite-connection.ts: owns the embedded PGlite instance on its own
 * thread, so the time PGlite spends in WebAssembly and in its JavaScript protocol code does not hold
 * the server's event loop. Started only by `openPgliteConnection`, with `workerData: PgliteThreadData`.
 *
 * Protocol: once PGlite is ready it posts `{ type: 'ready' }` (or `{ type: 'failed', error }`); each
 * `{ type: 'query', id, sql, params, binaryResults? }` is answered by one `{ type: 'result', id, … }`,
 * in order, the buffers of its Uint8Array values transferred, never cloned. `{ type: 'close' }`
 * closes PGlite (flushing it to its directory), posts `{ type: 'closed' }` and ends the thread.
 * With a `recycle` policy, the thread posts `{ type: 'recycle' }` once the database has been quiet
 * (no statement running, no transaction open) for `quietMs` after a statement that moved at least
 * `largeBytes`: PGlite's memory keeps the peak of such a statement, and only a new thread gives it
 * back (pglite-connection.ts replaces it; docs/architecture.md, "Memory").
 *
 * Each statement goes to PGlite in one call, one with parameters prepared the first time its text
 * is seen (pglite-statements.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { ownedBuffers } from './pglite-binary-results.ts';
import { PgliteStatements } from './pglite-statements.ts';

export interface PgliteThreadData {
  /** A PGlite directory (already initialised), or null for an in-memory database. */
  dataDir: string | null;
  /** PGlite's WebAssembly, compiled once per process (`pgliteModules`), not again per thread (~1-2 s each). */
  modules?: PgliteModules;
  /** When to ask to be replaced (never for an in-memory database: its data lives in this thread). */
  recycle?: RecyclePolicy;
  /** This thread replaces one that asked: it asks no sooner than `recycle.everyMs` after its start. */
  replacement?: boolean;
}

export interface RecyclePolicy {
  /** A statement whose parameters and results hold at least this many bytes leaves PGlite's memory grown. */
  largeBytes: number;
  /** How long the database must then stay quiet before the thread asks to be replaced. */
  quietMs: number;
  /** A replacement asks no sooner than this after its start. */
  everyMs: number;
}

export interface PgliteModules {
  pgliteWasmModule: WebAssembly.Module;
  /** Only for a thread that runs initdb (an in-memory database). */
  initdbWasmModule?: WebAssembly.Module;
}

/** What survives of a thrown error across the thread boundary: its message and its fields (`code`, `detail`, …). */
export interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, string | number | boolean>;
}

export interface PgliteResult {
  rows: unknown[];
  fields: Array<{ name: string; dataTypeID: number }>;
  affectedRows?: number;
}

/** `binaryResults`: bytea (and every other column) comes back in binary (pglite-statements.ts). */
export type PgliteRequest = { type: 'query'; id: number; sql: string; params: unknown[] | undefined; binaryResults?: boolean } | { type: 'close' };

export type PgliteReply =
  | { type: 'ready' }
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; result: PgliteResult }
  | { type: 'result'; id: number; ok: false; error: SerializedError }
  | { type: 'recycle' }
  | { type: 'closed' };

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: SerializedError['fields'] = {};
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { name: err.name, message: err.message, fields };
}

/**
 * The buffers under the result's Uint8Array values, each once: a value's own buffer, or a message's
 * (`BinaryResultReader`). Views into any other larger buffer (Buffer's shared pool) are cloned.
 * And the bytes of the values, bytes and text alike (a string's length: near enough).
 */
function transferables(rows: unknown[]): { buffers: ArrayBuffer[]; bytes: number } {
  const out = new Set<ArrayBuffer>();
  let bytes = 0;
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) continue;
    for (const value of Object.values(row)) {
      if (typeof value === 'string') bytes += value.length;
      if (!(value instanceof Uint8Array)) continue;
      bytes += value.byteLength;
      if (!(value.buffer instanceof ArrayBuffer)) continue;
      const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
      if (whole || ownedBuffers.has(value.buffer)) out.add(value.buffer);
    }
  }
  return { buffers: [...out], bytes };
}

function parameterBytes(params: unknown[] | undefined): number {
  let bytes = 0;
  for (const value of params ?? []) {
    if (typeof value === 'string') bytes += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
  }
  return bytes;
}

/**
 * Asks for a new thread (`{ type: 'recycle' }`) once the database has been quiet for
 * `policy.quietMs` after a large statement: nothing running, no transaction open.
 */
class RecycleWatch {
  private running = 0;
  private grown = false;
  private timer: NodeJS.Timeout | null = null;

  private readonly policy: RecyclePolicy;
  private readonly notBefore: number;
  private readonly idle: () => boolean;
  private readonly ask: () => void;

  constructor(policy: RecyclePolicy, replacement: boolean, idle: () => boolean, ask: () => void) {
    this.policy = policy;
    this.notBefore = performance.now() + (replacement ? policy.everyMs : 0);
    this.idle = idle;
    this.ask = ask;
  }

  started(): void {
    this.running++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  ended(bytes: number): void {
    this.running--;
    if (bytes >= this.policy.largeBytes) this.grown = true;
    if (!this.grown || this.running > 0) return;
    const delay = Math.max(this.policy.quietMs, this.notBefore - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      // A transaction left open between statements holds its state in this PGlite: not now.
      if (this.running === 0 && this.idle()) this.ask();
    }, delay);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Shared buffers live in PGlite's WebAssembly memory, which only grows, and are touched at start
 * (zeroed with the rest of the shared memory): a server on PGlite started at 198-202 MiB RSS with
 * 32 MB, 181-184 with 16 MB, 172-173 with 8 MB, and 4 MiB less with 4 MB (resident pages of the
 * WebAssembly memory: 17.8 → 13.8 MiB). A miss reads a local file from the OS page cache: with
 * 8 MB, reading 10 000 rows of a 17 MB table took as long as with 32 MB; with 4 MB, bench:rest's
 * bulk create and frame GETs, and bench:sync's throughput, initial sync and opening 1 000 documents
 * took as long as with 8 MB (2-3 runs each, alternated). Given per start, not in postgresql.conf.
 */
const sharedBuffers = '4MB';

/**
 * PGlite runs Postgres in single-user mode: one backend, no replication. Postgres still sizes its
 * shared memory (touched at start, like the buffers) for `max_connections` (100) backends' process
 * slots and lock tables, and for 10 WAL senders and replication slots: with these, the shared
 * memory is ~4 MB smaller (with 8 MB of buffers: 16 → 12 MB, `pg_shmem_allocations`). The lock
 * table still holds what one transaction creating ~1 500 tables takes (~4 900 by default); a
 * migration creates a few.
 */
const singleBackendSettings = ['max_connections=1', 'max_wal_senders=0', 'max_replication_slots=0'];

/**
 * bytea in and out of this thread at native speed. PGlite's own bytea codec walks the bytes in
 * JavaScript (`Array.from(bytes).map(toString(16))` out, `parseInt` per byte pair in): ~1 s to
 * write and ~0.3 s to read a 4 MB snapshot. Here a Uint8Array parameter is bound as it is, in binary
 * format, bytea's wire form (pglite-statements.ts, `bindMessage`), and a bytea result is
 * decoded from its hex text by Buffer's native codec into a buffer of its own, which the reply
 * then transfers to the main thread instead of cloning (see `transferables`).
 */
const BYTEA = 17;
// PGlite's types say a serializer returns a string; a typed array is bound in binary (`bindMessage`).
const byteaSerializer = ((value: unknown) => {
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  throw new TypeError('a bytea parameter must be a Uint8Array or a string');
}) as (value: unknown) => string;
const byteaParser = (text: string): Uint8Array => {
  // `\x` and hex (bytea_output=hex, `serve`). A small Buffer is a view of the shared pool: copied out.
  const bytes = Buffer.from(text.slice(2), 'hex');
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
};

async function serve(port: NonNullable<typeof parentPort>, data: PgliteThreadData): Promise<void> {
  let db: PGlite;
  let statements: PgliteStatements;
  try {
    db = new PGlite({
      ...(data.dataDir === null ? {} : { dataDir: data.dataDir }),
      ...data.modules,
      startParams: [
        ...PGlite.defaultStartParams,
        ...[`shared_buffers=${sharedBuffers}`, ...singleBackendSettings, 'bytea_output=hex'].flatMap((setting) => ['-c', setting]),
      ],
      parsers: { [BYTEA]: byteaParser },
      serializers: { [BYTEA]: byteaSerializer },
    });
    await db.waitReady;
    statements = new PgliteStatements(db);
  } catch (err) {
    port.postMessage({ type: 'failed', error: serializeError(err) } satisfies PgliteReply);
    port.close();
    return;
  }
  const watch =
    data.recycle && data.dataDir !== null
      ? new RecycleWatch(
          data.recycle,
          data.replacement === true,
          () => !db.isInTransaction(),
          () => port.postMessage({ type: 'recycle' } satisfies PgliteReply),
        )
      : null;
  port.on('message', (request: PgliteRequest) => {
    if (request.type === 'close') {
      watch?.stop();
      port.removeAllListeners('message');
      void db
        .close()
        .catch(() => undefined)
        .then(() => {
          port.postMessage({ type: 'closed' } satisfies PgliteReply);
          port.close();
        });
      return;
    }
    const { id } = request;
    watch?.started();
    const sent = parameterBytes(request.params);
    statements.run(request.sql, request.params, request.binaryResults === true).then(
      (res) => {
        const result: PgliteResult = { rows: res.rows, fields: res.fields };
        if (res.affectedRows !== undefined) result.affectedRows = res.affectedRows;
        const { buffers, bytes } = transferables(res.rows);
        watch?.ended(sent + bytes);
        try {
          port.postMessage({ type: 'result', id, ok: true, result } satisfies PgliteReply, buffers);
        } catch (err) {
          // A value structured clone cannot carry: the query ran, but its answer cannot be sent.
          port.postMessage({ type: 'result', id, ok: false, error: serializeError(err) } satisfies PgliteReply);
        }
      },
      (err: unknown) => {
        watch?.ended(sent);
        port.postMessage({ type: 'result', id, ok: false, error: serializeError(err) } satisfies PgliteReply);
      },
    );
  });
  port.postMessage({ type: 'ready' } satisfies PgliteReply);
}

if (parentPort) void serve(parentPort, workerData as PgliteThreadData);
