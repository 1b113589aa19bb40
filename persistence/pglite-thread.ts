/**
 * The worker side of persistence/pglite-connection.ts: owns the embedded PGlite instance on its
 * own thread, so the time PGlite spends in WebAssembly (parsing, planning, writing pages) and in
 * its JavaScript protocol code no longer holds the server's event loop. Started only by
 * `openPgliteConnection`, with `workerData: PgliteThreadData`.
 *
 * Protocol: once PGlite is ready it posts `{ type: 'ready' }` (or `{ type: 'failed', error }`);
 * each `{ type: 'query', id, sql, params }` is answered by one `{ type: 'result', id, … }` in the
 * order received (PGlite runs one query at a time anyway); the Uint8Array values of a result
 * (bytea columns) have their buffers transferred, never cloned. `{ type: 'close' }` closes PGlite
 * (flushing it to its directory), posts `{ type: 'closed' }` and lets the thread end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

export interface PgliteThreadData {
  /** A PGlite directory (already initialised), or null for an in-memory database. */
  dataDir: string | null;
  /**
   * PGlite's WebAssembly, compiled once per process (see `pgliteModules`): PGlite caches the
   * compiled module per thread only, and each new thread compiling 9 MB again cost a test process
   * ~1-2 s per database opened.
   */
  modules?: PgliteModules;
}

export interface PgliteModules {
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
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

export type PgliteRequest = { type: 'query'; id: number; sql: string; params: unknown[] | undefined } | { type: 'close' };

export type PgliteReply =
  | { type: 'ready' }
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; result: PgliteResult }
  | { type: 'result'; id: number; ok: false; error: SerializedError }
  | { type: 'closed' };

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: SerializedError['fields'] = {};
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { name: err.name, message: err.message, fields };
}

/** The buffers under the result's Uint8Array values, each once; views into a larger buffer are left to be cloned. */
function transferables(rows: unknown[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) continue;
    for (const value of Object.values(row)) {
      if (!(value instanceof Uint8Array) || !(value.buffer instanceof ArrayBuffer)) continue;
      if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) out.add(value.buffer);
    }
  }
  return [...out];
}

/**
 * Postgres's default of 128 MB of shared buffers lives in PGlite's WebAssembly memory, which only
 * grows: opening a directory and writing 10 000 rows took a bare PGlite to 325 MB RSS with 128 MB
 * and to 200 MB with 32 MB (16 MB: 177 MB). The pages are files on the local disk, so a miss is a
 * read from the OS page cache. Given per start (not written to postgresql.conf).
 */
const sharedBuffers = '32MB';

/**
 * bytea in and out of this thread at native speed. PGlite's own bytea codec walks the bytes in
 * JavaScript (`Array.from(bytes).map(toString(16))` out, `parseInt` per byte pair in): ~1 s to
 * write and ~0.3 s to read a 4 MB snapshot. Here a Uint8Array parameter is bound as it is (PGlite
 * binds a typed array in binary format, which is bytea's wire form), and a bytea result is
 * decoded from its hex text by Buffer's native codec into a buffer of its own, which the reply
 * then transfers to the main thread instead of cloning (see `transferables`).
 */
const BYTEA = 17;
// PGlite's types say a serializer returns a string; its bind sends any typed array as binary.
const byteaSerializer = ((value: unknown) => {
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  throw new TypeError('a bytea parameter must be a Uint8Array or a string');
}) as (value: unknown) => string;
const byteaParser = (text: string): Uint8Array => {
  // `\x` and two hex digits per byte: bytea_output is set to 'hex' at start (`serve`).
  const bytes = Buffer.from(text.slice(2), 'hex');
  // Small buffers come from Buffer's shared pool, which cannot be transferred: copy those out.
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
};

async function serve(port: NonNullable<typeof parentPort>, data: PgliteThreadData): Promise<void> {
  let db: PGlite;
  try {
    db = new PGlite({
      ...(data.dataDir === null ? {} : { dataDir: data.dataDir }),
      ...data.modules,
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`, '-c', 'bytea_output=hex'],
      parsers: { [BYTEA]: byteaParser },
      serializers: { [BYTEA]: byteaSerializer },
    });
    await db.waitReady;
  } catch (err) {
    port.postMessage({ type: 'failed', error: serializeError(err) } satisfies PgliteReply);
    port.close();
    return;
  }
  port.on('message', (request: PgliteRequest) => {
    if (request.type === 'close') {
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
    db.query(request.sql, request.params).then(
      (res) => {
        const result: PgliteResult = { rows: res.rows, fields: res.fields };
        if (res.affectedRows !== undefined) result.affectedRows = res.affectedRows;
        try {
          port.postMessage({ type: 'result', id, ok: true, result } satisfies PgliteReply, transferables(res.rows));
        } catch (err) {
          // A value structured clone cannot carry: the query ran, but its answer cannot be sent.
          port.postMessage({ type: 'result', id, ok: false, error: serializeError(err) } satisfies PgliteReply);
        }
      },
      (err: unknown) => port.postMessage({ type: 'result', id, ok: false, error: serializeError(err) } satisfies PgliteReply),
    );
  });
  port.postMessage({ type: 'ready' } satisfies PgliteReply);
}

if (parentPort) void serve(parentPort, workerData as PgliteThreadData);
