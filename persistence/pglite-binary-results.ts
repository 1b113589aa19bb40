/**
 * The reader of binary-result answers from PGlite (pglite-statements.ts): the reads of stored Yjs
 * bytes (bytea.ts). PGlite's `query` asks for text results, so bytea crosses as hex text, and it
 * copies a large answer five times. Here the answer to one Parse/Bind/Describe/Execute/Sync with
 * binary result columns is read as it streams out of PGlite. A 4 MB snapshot: 6-10 ms, against
 * 37 ms read whole with `execProtocolRaw`, ~45-60 ms with `query` (bench:bytea). Result columns
 * may be bytea, text-like, integer or boolean, else refused.
 *
 *   const reader = new BinaryResultReader()
 *   await db.execProtocolRawStream(messages, { onRawData: (chunk) => reader.push(chunk) })
 *   const { rows, fields } = reader.result()
 *
 * Imported by the PGlite thread only (worker-thread.ts bundles it with its entry).
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

const BYTEA = 17;
const TEXT_LIKE = new Set([25, 1043, 19, 1042]); // text, varchar, name, bpchar
const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const BOOL = 16;

const decoder = new TextDecoder();

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
export const ownedBuffers = new WeakSet<ArrayBuffer>();

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
