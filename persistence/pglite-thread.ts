/**
 * The worker side of persistence/pglite-connection.ts: owns the embedded PGlite instance on its
 * own thread, so the time PGlite spends in WebAssembly (parsing, planning, writing pages) and in
 * its JavaScript protocol code no longer holds the server's event loop. Started only by
 * `openPgliteConnection`, with `workerData: PgliteThreadData`.
 *
 * Protocol: once PGlite is ready it posts `{ type: 'ready' }` (or `{ type: 'failed', error }`);
 * each `{ type: 'query', id, sql, params, binaryResults? }` is answered by one
 * `{ type: 'result', id, … }` in the order received (PGlite runs one query at a time anyway); the Uint8Array values of a result
 * (bytea columns) have their buffers transferred, never cloned. `{ type: 'close' }` closes PGlite
 * (flushing it to its directory), posts `{ type: 'closed' }` and lets the thread end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, protocol, types } from '@electric-sql/pglite';

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

/** `binaryResults`: run through the raw protocol with binary result columns (`binaryQueryMessages`). */
export type PgliteRequest = { type: 'query'; id: number; sql: string; params: unknown[] | undefined; binaryResults?: boolean } | { type: 'close' };

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

/**
 * Binary-result queries: one query through PGlite's raw wire protocol with its result columns in
 * binary format, for the reads of stored Yjs bytes (bytea.ts). Here, not in a module of its own:
 * a thread entry imports packages only (worker-thread.ts).
 *
 * PGlite's `query` always asks for text results, so a bytea column crosses as hex text: Postgres
 * writes two characters per byte, PGlite decodes them into a string and copies it between its
 * protocol buffers, and the thread turns it back into bytes. In binary format the column is the
 * bytes themselves. The statement also goes in one call (Parse, Bind, Describe, Execute, Sync)
 * instead of `query`'s five. A 4 MB snapshot read took 54-57 ms this way against 70-82 ms with
 * `query` and the native hex decoder above (`npm run bench:bytea`).
 *
 * Parameters go in text format, as `query` sends them; result columns may be bytea, text-like,
 * integer or boolean (what the stored-bytes reads select). Any other type is refused by name.
 * Messages are PGlite's own serializers' (`protocol.serialize`) except Bind (`bindBinaryResults`).
 *
 *   const raw = await db.runExclusive(() => db.execProtocolRaw(binaryQueryMessages(sql, params)))
 *   const { rows, fields } = parseBinaryResults(raw)
 */

/** What Postgres answered with an ErrorResponse: its message, with the fields PGlite's errors carry. */
class BinaryQueryError extends Error {
  override readonly name = 'error';
  code?: string;
  severity?: string;
  detail?: string;
  hint?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

const TEXT_LIKE = new Set([25, 1043, 19, 1042]); // text, varchar, name, bpchar
const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const BOOL = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A parameter in Postgres's text input form, as `query` would send it: what the stored-bytes reads
 * pass (names, arrays of names, numbers); arrays by PGlite's own serializer. Anything else is
 * refused, not guessed at.
 */
function textParameter(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return types.arraySerializer(value, undefined, 0);
  throw new TypeError(`a binary-result query takes strings, numbers and arrays of them as parameters, not ${Object.prototype.toString.call(value)}`);
}

/**
 * Bind: unnamed portal and statement, text parameters, ONE result format code (binary) for every
 * column. Built here because PGlite's `serialize.bind({ binary: true })` writes the count of result
 * format codes but not the code (Postgres answers "insufficient data left in message").
 */
function bindBinaryResults(values: Array<string | null>): Uint8Array {
  const encoded = values.map((value) => (value === null ? null : encoder.encode(value)));
  const length = 4 + 1 + 1 + 2 + 2 + encoded.reduce((n, value) => n + 4 + (value?.byteLength ?? 0), 0) + 2 + 2;
  const out = new Uint8Array(1 + length);
  const view = new DataView(out.buffer);
  out[0] = 0x42; // B
  view.setInt32(1, length);
  let at = 7; // past the empty portal and statement names
  view.setInt16(at, 0); // no parameter format codes: all text
  view.setInt16(at + 2, encoded.length);
  at += 4;
  for (const value of encoded) {
    view.setInt32(at, value ? value.byteLength : -1);
    at += 4;
    if (value) {
      out.set(value, at);
      at += value.byteLength;
    }
  }
  view.setInt16(at, 1);
  view.setInt16(at + 2, 1);
  return out;
}

/** Parse (unnamed, types inferred), Bind (text parameters, binary results), Describe, Execute, Sync. */
function binaryQueryMessages(sql: string, params: readonly unknown[] = []): Uint8Array {
  const { serialize } = protocol;
  return Buffer.concat([
    serialize.parse({ text: sql }),
    bindBinaryResults(params.map(textParameter)),
    serialize.describe({ type: 'P' }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

function columnValue(type: number, bytes: Uint8Array, view: DataView, at: number): unknown {
  if (type === BYTEA) return bytes.slice(); // its own buffer, so the thread can transfer it
  if (TEXT_LIKE.has(type)) return decoder.decode(bytes);
  if (type === INT4) return view.getInt32(at);
  if (type === INT2) return view.getInt16(at);
  // As node-pg and PGlite give int8: a string, since it may not fit a double.
  if (type === INT8) return view.getBigInt64(at).toString();
  if (type === BOOL) return bytes[0] === 1;
  throw new TypeError(`a binary result column of type ${type} is not read here`);
}

function errorFrom(body: Uint8Array): BinaryQueryError {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.byteLength && body[at] !== 0) {
    const code = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    fields.set(code, decoder.decode(body.subarray(at + 1, end)));
    at = end + 1;
  }
  const err = new BinaryQueryError(fields.get('M') ?? 'the query failed');
  const copy: Array<[keyof BinaryQueryError & string, string]> = [
    ['code', 'C'], ['severity', 'S'], ['detail', 'D'], ['hint', 'H'], ['schema', 's'], ['table', 't'], ['column', 'c'], ['constraint', 'n'],
  ];
  for (const [name, code] of copy) {
    const value = fields.get(code);
    if (value !== undefined) (err as unknown as Record<string, string>)[name] = value;
  }
  return err;
}

/** The rows (objects by column name) and fields of the backend's answer; throws its ErrorResponse. */
function parseBinaryResults(raw: Uint8Array): { rows: Array<Record<string, unknown>>; fields: Array<{ name: string; dataTypeID: number }> } {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const fields: Array<{ name: string; dataTypeID: number }> = [];
  const rows: Array<Record<string, unknown>> = [];
  let error: BinaryQueryError | null = null;
  for (let at = 0; at + 5 <= raw.byteLength; ) {
    const type = raw[at]!;
    const end = at + 1 + view.getInt32(at + 1);
    const body = at + 5;
    if (type === 0x54 /* T: RowDescription */) {
      const count = view.getInt16(body);
      let p = body + 2;
      for (let i = 0; i < count; i++) {
        const nameEnd = raw.indexOf(0, p);
        fields.push({ name: decoder.decode(raw.subarray(p, nameEnd)), dataTypeID: view.getInt32(nameEnd + 7) });
        p = nameEnd + 19; // table oid 4, column 2, type oid 4, size 2, modifier 4, format 2
      }
    } else if (type === 0x44 /* D: DataRow */) {
      const count = view.getInt16(body);
      const row: Record<string, unknown> = {};
      let p = body + 2;
      for (let i = 0; i < count; i++) {
        const length = view.getInt32(p);
        p += 4;
        const field = fields[i]!;
        if (length < 0) {
          row[field.name] = null;
          continue;
        }
        row[field.name] = columnValue(field.dataTypeID, raw.subarray(p, p + length), view, p);
        p += length;
      }
      rows.push(row);
    } else if (type === 0x45 /* E: ErrorResponse */) {
      error ??= errorFrom(raw.subarray(body, end));
    }
    at = end;
  }
  if (error) throw error;
  return { rows, fields };
}

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
    const run: Promise<{ rows: unknown[]; fields: PgliteResult['fields']; affectedRows?: number }> = request.binaryResults
      ? db.runExclusive(async () => parseBinaryResults(await db.execProtocolRaw(binaryQueryMessages(request.sql, request.params))))
      : db.query(request.sql, request.params);
    run.then(
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
