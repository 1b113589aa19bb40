/**
 * The worker side of persistence/pglite-connection.ts: owns the embedded PGlite instance on its own
 * thread, so the time PGlite spends in WebAssembly and in its JavaScript protocol code does not hold
 * the server's event loop. Started only by `openPgliteConnection`, with `workerData: PgliteThreadData`.
 *
 * Protocol: once PGlite is ready it posts `{ type: 'ready' }` (or `{ type: 'failed', error }`); each
 * `{ type: 'query', id, sql, params, binaryResults? }` is answered by one `{ type: 'result', id, … }`,
 * in order, the buffers of its Uint8Array values transferred, never cloned. `{ type: 'close' }`
 * closes PGlite (flushing it to its directory), posts `{ type: 'closed' }` and ends the thread.
 *
 * A thread entry imports packages only (worker-thread.ts), so the binary-result reads live here too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, protocol, types } from '@electric-sql/pglite';

export interface PgliteThreadData {
  /** A PGlite directory (already initialised), or null for an in-memory database. */
  dataDir: string | null;
  /** PGlite's WebAssembly, compiled once per process (`pgliteModules`), not again per thread (~1-2 s each). */
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

/**
 * The buffers under the result's Uint8Array values, each once: a value's own buffer, or a message's
 * (`BinaryResultReader`). Views into any other larger buffer (Buffer's shared pool) are cloned.
 */
function transferables(rows: unknown[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) continue;
    for (const value of Object.values(row)) {
      if (!(value instanceof Uint8Array) || !(value.buffer instanceof ArrayBuffer)) continue;
      const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
      if (whole || ownedBuffers.has(value.buffer)) out.add(value.buffer);
    }
  }
  return [...out];
}

/**
 * Shared buffers live in PGlite's WebAssembly memory, which only grows, and are touched at start: a
 * server on PGlite started at 198-202 MiB RSS with 32 MB, 181-184 with 16 MB, 172-173 with 8 MB. A
 * miss reads a local file from the OS page cache: with 8 MB, reading 10 000 rows of a 17 MB table
 * took as long as with 32 MB, as did bench:sync's throughput and fan-out and bench:rest's bulk
 * create (4 runs each, alternated). Given per start, not written to postgresql.conf.
 */
const sharedBuffers = '8MB';

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
  // `\x` and hex (bytea_output=hex, `serve`). A small Buffer is a view of the shared pool: copied out.
  const bytes = Buffer.from(text.slice(2), 'hex');
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
};

/**
 * Binary-result queries, for the reads of stored Yjs bytes (bytea.ts). PGlite's `query` asks for
 * text results, so bytea crosses as hex text, and it copies a large answer five times
 * (`BinaryResultReader`). Here the statement goes in one call (Parse, Bind, Describe, Execute, Sync)
 * with binary result columns, and the answer is read as it streams out of PGlite. A 4 MB snapshot:
 * 6-10 ms, against 37 ms read whole with `execProtocolRaw`, ~45-60 ms with `query` (bench:bytea).
 * Parameters go in text format, as `query` sends them (PGlite's serializers, but Bind: see
 * `bindBinaryResults`); result columns may be bytea, text-like, integer or boolean, else refused.
 *
 *   const reader = new BinaryResultReader()
 *   await db.execProtocolRawStream(binaryQueryMessages(sql, params), { onRawData: (chunk) => reader.push(chunk) })
 *   const { rows, fields } = reader.result()
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

/**
 * A column's value. A bytea value is copied out of `bytes` (a view into PGlite's WebAssembly memory)
 * unless `owned`: then `bytes` lies in a buffer made for its message alone, which the reply
 * transfers as it is (`transferables`).
 */
function columnValue(type: number, bytes: Uint8Array, view: DataView, at: number, owned: boolean): unknown {
  if (type === BYTEA) return owned ? bytes : bytes.slice();
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

/** Buffers made for one message each (`BinaryResultReader`): the values in them are views, transferred whole. */
const ownedBuffers = new WeakSet<ArrayBuffer>();

/**
 * The answer to `binaryQueryMessages` as PGlite hands it over (`execProtocolRawStream`): chunks that
 * are views into its WebAssembly memory. A message inside one chunk is read in place; one that
 * spans chunks (a large row: Postgres sends 8 kB, then the rest in one piece) is copied once into a
 * buffer of its own, its bytea values left as views into it. `execProtocolRaw` copies each chunk,
 * grows a receive buffer (copying again), copies the answer out, and its protocol parser buffers it
 * once more: five fresh buffers the size of a snapshot, each page of them a page fault (~10 ms per
 * 4 MB on this machine). `result()` gives the rows and fields, or throws the ErrorResponse.
 */
export class BinaryResultReader {
  private readonly fields: Array<{ name: string; dataTypeID: number }> = [];
  private readonly rows: Array<Record<string, unknown>> = [];
  /** The ErrorResponse or a column this cannot read, thrown by `result()`. Never from `push`: inside
   * PGlite's write callback, that unwinds through Postgres's frames and leaves the connection unusable. */
  private error: Error | null = null;
  /** The message being assembled across chunks: its 5-byte header, then its body. */
  private readonly header = new Uint8Array(5);
  private headerFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;

  push(chunk: Uint8Array): void {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < chunk.length) {
      // A whole message in this chunk is read in place.
      if (this.headerFill === 0 && at + 5 <= chunk.length) {
        const end = at + 1 + view.getInt32(at + 1);
        if (end <= chunk.length) {
          this.read(chunk[at]!, chunk.subarray(at + 5, end), false);
          at = end;
          continue;
        }
      }
      at = this.assemble(chunk, at);
    }
  }

  /** Copies what `chunk` holds from `at` of the message that ends in a later chunk; returns where it stopped. */
  private assemble(chunk: Uint8Array, at: number): number {
    if (this.body === null) {
      const take = Math.min(5 - this.headerFill, chunk.length - at);
      this.header.set(chunk.subarray(at, at + take), this.headerFill);
      this.headerFill += take;
      at += take;
      if (this.headerFill < 5) return at;
      const buffer = new ArrayBuffer(new DataView(this.header.buffer).getInt32(1) - 4);
      ownedBuffers.add(buffer);
      this.body = new Uint8Array(buffer);
      this.bodyFill = 0;
    }
    const take = Math.min(this.body.length - this.bodyFill, chunk.length - at);
    this.body.set(chunk.subarray(at, at + take), this.bodyFill);
    this.bodyFill += take;
    if (this.bodyFill === this.body.length) {
      this.read(this.header[0]!, this.body, true);
      this.body = null;
      this.headerFill = 0;
    }
    return at + take;
  }

  result(): { rows: Array<Record<string, unknown>>; fields: Array<{ name: string; dataTypeID: number }> } {
    if (this.error) throw this.error;
    if (this.body !== null || this.headerFill > 0) throw new Error('the answer from PGlite ended inside a message');
    return { rows: this.rows, fields: this.fields };
  }

  private read(type: number, body: Uint8Array, owned: boolean): void {
    try {
      this.message(type, body, owned);
    } catch (err) {
      this.error ??= err instanceof Error ? err : new Error(String(err));
    }
  }

  private message(type: number, body: Uint8Array, owned: boolean): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (type === 0x54 /* T: RowDescription */) {
      const count = view.getInt16(0);
      let p = 2;
      for (let i = 0; i < count; i++) {
        const nameEnd = body.indexOf(0, p);
        this.fields.push({ name: decoder.decode(body.subarray(p, nameEnd)), dataTypeID: view.getInt32(nameEnd + 7) });
        p = nameEnd + 19; // table oid 4, column 2, type oid 4, size 2, modifier 4, format 2
      }
    } else if (type === 0x44 /* D: DataRow */ && this.error === null) {
      const count = view.getInt16(0);
      const row: Record<string, unknown> = {};
      let p = 2;
      for (let i = 0; i < count; i++) {
        const length = view.getInt32(p);
        p += 4;
        const field = this.fields[i]!;
        if (length < 0) {
          row[field.name] = null;
          continue;
        }
        row[field.name] = columnValue(field.dataTypeID, body.subarray(p, p + length), view, p, owned);
        p += length;
      }
      this.rows.push(row);
    } else if (type === 0x45 /* E: ErrorResponse */) {
      this.error ??= errorFrom(body);
    }
  }
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
      ? db.runExclusive(async () => {
          const reader = new BinaryResultReader();
          await db.execProtocolRawStream(binaryQueryMessages(request.sql, request.params), { onRawData: (chunk) => reader.push(chunk) });
          return reader.result();
        })
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
