/**
 * Reads a select's rows from Postgres through `COPY (select …) TO STDOUT (FORMAT binary)`, so bytea
 * columns arrive as their raw bytes. A normal query cannot do that with node-pg: its protocol parser
 * decodes every field of a data row as a UTF-8 string (pg-protocol's `parseDataRowMessage`), so a
 * bytea travels as hex or base64 text, and turning 5 MB of that text back into bytes held the event
 * loop 20-60 ms per 10 000-annotation snapshot (`npm run bench:bytea` compares the ways).
 *
 * The binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"):
 * an 11-byte signature, a 32-bit flags word and a header extension; then per tuple a 16-bit field
 * count and, per field, a 32-bit length (-1 for NULL) and that many bytes, in the type's binary
 * form; a field count of -1 ends the data. `text` is its characters, `int4` a big-endian integer.
 *
 * COPY takes no bind parameters, so `?` placeholders are filled in with literals escaped by
 * node-pg's `escapeLiteral` (a string, or an array of strings as `ARRAY[…]`).
 *
 *   const rows = await copyOut(knex, 'select doc_name, state from yjs_snapshots where doc_name = any(?::text[])',
 *     [names], { doc_name: 'text', state: 'bytes' })
 */
import type { Knex } from 'knex';
import { loadPg } from './pg-driver.ts';
import copyStreams from 'pg-copy-streams';
import { onConnection } from './pooled-connection.ts';

/** How one column's binary form is decoded: `text` to a string, `int4` to a number, `bytes` to a Uint8Array of its own. */
export type CopyColumn = 'text' | 'int4' | 'bytes';
export type CopyColumns = Readonly<Record<string, CopyColumn>>;
export type CopyValue = string | number | Uint8Array | null;

/** The `?` placeholders of `sql` filled with `bindings`, each an escaped literal. */
export function withLiterals(sql: string, bindings: readonly (string | readonly string[])[]): string {
  const pg = loadPg();
  let next = 0;
  const filled = sql.replace(/\?/g, () => {
    if (next >= bindings.length) throw new Error(`copyOut: more placeholders than the ${bindings.length} bindings`);
    const value = bindings[next++]!;
    if (typeof value === 'string') return pg.escapeLiteral(value);
    return value.length === 0 ? `'{}'` : `ARRAY[${value.map((v) => pg.escapeLiteral(v)).join(',')}]`;
  });
  if (next !== bindings.length) throw new Error(`copyOut: ${bindings.length} bindings for ${next} placeholders`);
  return filled;
}

/** The first bytes of every binary COPY stream. */
export const BINARY_COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags word, extension length. */
const HEADER_BYTES = BINARY_COPY_SIGNATURE.length + 8;

/**
 * Parses a binary COPY stream fed in chunks of any size. Each bytes value is copied once, from the
 * chunks into an array of its own: no value shares memory with the socket's buffers or another row.
 */
export class BinaryCopyParser {
  readonly rows: Record<string, CopyValue>[] = [];
  private readonly names: string[];
  private readonly kinds: CopyColumn[];
  /** The few bytes of a header, count or length split across two chunks. */
  private carry: Buffer = Buffer.alloc(0);
  private state: 'header' | 'extension' | 'count' | 'length' | 'field' | 'done' = 'header';
  private extensionLeft = 0;
  private row: Record<string, CopyValue> = {};
  private column = 0;
  private field: Uint8Array = new Uint8Array(0);
  private filled = 0;

  constructor(columns: CopyColumns) {
    this.names = Object.keys(columns);
    this.kinds = Object.values(columns);
  }

  push(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = Buffer.alloc(0);
    let at = 0;
    const take = (n: number): Buffer | null => {
      if (data.length - at < n) {
        this.carry = Buffer.from(data.subarray(at));
        at = data.length;
        return null;
      }
      at += n;
      return data.subarray(at - n, at);
    };
    while (at < data.length) {
      if (this.state === 'header') {
        const header = take(HEADER_BYTES);
        if (!header) return;
        if (!header.subarray(0, BINARY_COPY_SIGNATURE.length).equals(BINARY_COPY_SIGNATURE)) throw new Error('copyOut: not a binary COPY stream');
        this.extensionLeft = header.readUInt32BE(BINARY_COPY_SIGNATURE.length + 4);
        this.state = 'extension';
      } else if (this.state === 'extension') {
        const skip = Math.min(this.extensionLeft, data.length - at);
        at += skip;
        this.extensionLeft -= skip;
        if (this.extensionLeft === 0) this.state = 'count';
      } else if (this.state === 'count') {
        const count = take(2);
        if (!count) return;
        const fields = count.readInt16BE(0);
        if (fields === -1) this.state = 'done';
        else if (fields !== this.names.length) throw new Error(`copyOut: a row of ${fields} fields for ${this.names.length} columns`);
        else this.startRow();
      } else if (this.state === 'length') {
        const length = take(4);
        if (!length) return;
        const bytes = length.readInt32BE(0);
        if (bytes === -1) this.endField(null);
        else {
          this.field = new Uint8Array(bytes);
          this.filled = 0;
          this.state = 'field';
          if (bytes === 0) this.endField(this.decode());
        }
      } else if (this.state === 'field') {
        const n = Math.min(this.field.length - this.filled, data.length - at);
        this.field.set(data.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        if (this.filled === this.field.length) this.endField(this.decode());
      } else {
        throw new Error('copyOut: data after the end of the COPY stream');
      }
    }
  }

  /** The rows, once the stream has ended; throws if it ended midway. */
  end(): Record<string, CopyValue>[] {
    if (this.state !== 'done') throw new Error('copyOut: the COPY stream ended midway');
    return this.rows;
  }

  private startRow(): void {
    this.row = {};
    this.column = 0;
    if (this.names.length === 0) this.rows.push(this.row);
    else this.state = 'length';
  }

  private decode(): CopyValue {
    const kind = this.kinds[this.column]!;
    if (kind === 'bytes') return this.field;
    const view = Buffer.from(this.field.buffer, this.field.byteOffset, this.field.byteLength);
    if (kind === 'text') return view.toString('utf8');
    if (view.length !== 4) throw new Error(`copyOut: column ${this.names[this.column]} is not an int4`);
    return view.readInt32BE(0);
  }

  private endField(value: CopyValue): void {
    this.row[this.names[this.column]!] = value;
    this.column++;
    if (this.column < this.names.length) {
      this.state = 'length';
      return;
    }
    this.rows.push(this.row);
    this.state = 'count';
  }
}

/** A node-pg connection as the COPY streams use it. */
export interface PgConnection {
  query<Q extends copyStreams.CopyToStreamQuery | copyStreams.CopyStreamQuery>(submittable: Q): Q;
  /** Set, knex's pool drops the connection instead of handing it out again. */
  __knex__disposed?: unknown;
}

/** The rows of `sql` (with `?` placeholders), read through a binary COPY on a pooled connection (pooled-connection.ts). */
export async function copyOut<Row>(
  knex: Knex,
  sql: string,
  bindings: readonly (string | readonly string[])[],
  columns: CopyColumns,
): Promise<Row[]> {
  const text = `copy (${withLiterals(sql, bindings)}) to stdout (format binary)`;
  const parser = new BinaryCopyParser(columns);
  await onConnection<PgConnection, void>(knex, sql, bindings, async (connection) => {
    for await (const chunk of connection.query(copyStreams.to(text))) {
      try {
        parser.push(chunk as Buffer);
      } catch (err) {
        // Leaving the loop leaves the COPY unread on the connection: it must not serve another query.
        connection.__knex__disposed = err;
        throw err;
      }
    }
  });
  return parser.end() as Row[];
}
