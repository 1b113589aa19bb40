/**
 * The PGlite thread's statements, each in ONE call into PGlite: Parse, Bind, Describe, Execute and
 * Sync go in together, as node-pg pipelines them to Postgres. PGlite's own `query` makes six calls
 * per statement (parse, describe the statement, bind, describe the portal, execute, sync), each a
 * pass through its WebAssembly interface and a fresh protocol parser. A one-row INSERT on the
 * thread took 0.18-0.30 ms of CPU that way, 0.11-0.16 ms in one call; the update log commits such
 * a statement every 20 ms while anyone types.
 *
 * Parameters are serialized as `query` serializes them: by the type Postgres infers for each, with
 * the instance's serializers (bytea as bytes, json as JSON, arrays as array literals). The types
 * come from describing the statement the first time its text is seen (one more call), then from a
 * cache keyed by the text. A statement that can change what a text means (DDL, `set search_path`)
 * empties the cache. Text results are parsed by PGlite's own `parseResults` with the instance's
 * parsers, as `query` parses them; binary results by BinaryResultReader (pglite-binary-results.ts).
 *
 *   const statements = new PgliteStatements(db)
 *   const { rows } = await statements.run('select … where id = $1', [id])
 *   const { rows } = await statements.run('select state from yjs_snapshots …', [name], true)   // bytea as bytes
 *
 * Imported by the PGlite thread only (worker-thread.ts bundles it with its entry).
 */
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import { BinaryResultReader } from './pglite-binary-results.ts';

export interface StatementResult {
  rows: unknown[];
  fields: Array<{ name: string; dataTypeID: number }>;
  affectedRows?: number;
}

/** Statement texts whose parameter types are kept (knex writes `in (…)` lists of every length). */
const MAX_CACHED = 1000;
/**
 * Statements after which a cached text still means what it meant; any other, once it has run,
 * empties the cache. A rollback too: types described after DDL inside the transaction are undone.
 */
const KEEPS_MEANING = /^\s*(select|insert|update|delete|with|begin|commit|savepoint|release)\b/i;

type Value = string | Uint8Array | null;

const encoder = new TextEncoder();

/**
 * Bind: unnamed portal and statement. A Uint8Array value (what the bytea serializer gives) goes in
 * binary format, bytea's wire form, as `query` sends it; the rest as text. Results all in text, or
 * all binary. Built here because PGlite's `serialize.bind({ binary: true })` writes the count of
 * result format codes but not the code (Postgres answers "insufficient data left in message").
 */
function bindMessage(values: readonly Value[], binaryResults: boolean): Uint8Array {
  const encoded = values.map((value) => (typeof value === 'string' ? encoder.encode(value) : value));
  const formats = values.some((value) => value instanceof Uint8Array) ? values.length : 0;
  const resultFormats = binaryResults ? 1 : 0;
  const valueBytes = encoded.reduce((n, value) => n + 4 + (value?.byteLength ?? 0), 0);
  const length = 4 + 1 + 1 + 2 + 2 * formats + 2 + valueBytes + 2 + 2 * resultFormats;
  const out = new Uint8Array(1 + length);
  const view = new DataView(out.buffer);
  out[0] = 0x42; // B
  view.setInt32(1, length);
  let at = 7; // past the empty portal and statement names
  view.setInt16(at, formats);
  at += 2;
  for (let i = 0; i < formats; i++, at += 2) view.setInt16(at, values[i] instanceof Uint8Array ? 1 : 0);
  view.setInt16(at, encoded.length);
  at += 2;
  for (const value of encoded) {
    view.setInt32(at, value ? value.byteLength : -1);
    at += 4;
    if (value) {
      out.set(value, at);
      at += value.byteLength;
    }
  }
  view.setInt16(at, resultFormats);
  if (binaryResults) view.setInt16(at + 2, 1);
  return out;
}

export class PgliteStatements {
  private readonly db: PGlite;
  private readonly parameterTypes = new Map<string, number[]>();

  constructor(db: PGlite) {
    this.db = db;
  }

  /** Runs one statement; `binaryResults`: its columns come back in binary (bytea as bytes, read in place). */
  run(sql: string, params: readonly unknown[] = [], binaryResults = false): Promise<StatementResult> {
    return this.db.runExclusive(async () => {
      try {
        const values = params.length === 0 ? [] : this.serialize(await this.typesOf(sql), params);
        const { serialize } = protocol;
        const messages = Buffer.concat([
          serialize.parse({ text: sql }),
          bindMessage(values, binaryResults),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ]);
        if (binaryResults) {
          const reader = new BinaryResultReader();
          await this.db.execProtocolRawStream(messages, { onRawData: (chunk) => reader.push(chunk) });
          return reader.result();
        }
        const answer = await this.db.execProtocolStream(messages, { syncToFs: false });
        await this.db.syncToFs();
        return parse.parseResults(answer, this.db.parsers)[0] ?? { rows: [], fields: [], affectedRows: 0 };
      } catch (err) {
        // As `query` does: the statement goes with its error, for whoever logs it.
        if (err instanceof Error) Object.assign(err, { query: sql });
        throw err;
      } finally {
        // After it ran, inside the exclusive section: a text described before it is not kept.
        if (!KEEPS_MEANING.test(sql)) this.parameterTypes.clear();
      }
    });
  }

  /** The parameter types Postgres infers for `sql`: described once (Parse, Describe, Sync), then cached. */
  private async typesOf(sql: string): Promise<number[]> {
    const cached = this.parameterTypes.get(sql);
    if (cached !== undefined) return cached;
    const { serialize } = protocol;
    const answer = await this.db.execProtocolStream(Buffer.concat([serialize.parse({ text: sql }), serialize.describe({ type: 'S' }), serialize.sync()]), {
      syncToFs: false,
    });
    const description = answer.find((message) => message.name === 'parameterDescription') as { dataTypeIDs: number[] } | undefined;
    const types = description?.dataTypeIDs ?? [];
    if (this.parameterTypes.size >= MAX_CACHED) this.parameterTypes.delete(this.parameterTypes.keys().next().value as string);
    this.parameterTypes.set(sql, types);
    return types;
  }

  /** As `query`: null stays null, a value of a type with a serializer goes through it, any other as its string. */
  private serialize(types: readonly number[], params: readonly unknown[]): Value[] {
    return params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const type = types[i];
      const serializer = type === undefined ? undefined : this.db.serializers[type];
      // A serializer gives text, but PGlite's bytea one (and ours, pglite-thread.ts) gives bytes.
      return serializer ? (serializer(value) as string | Uint8Array) : String(value);
    });
  }
}
