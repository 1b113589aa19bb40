/**
 * The PGlite thread's statements, each in ONE call into PGlite, as node-pg pipelines them to
 * Postgres. PGlite's own `query` makes six calls per statement (parse, describe the statement,
 * bind, describe the portal, execute, sync), each a pass through its WebAssembly interface and a
 * fresh protocol parser, and Postgres parses and plans the statement every time.
 *
 * A statement with parameters is prepared under a name of its own the first time its text is seen
 * (Parse and Describe: the parameter types come back), then run by name: Bind, Describe, Execute
 * and Sync in one call, with no parsing or planning. A one-row INSERT of the update log on the
 * thread: 0.18-0.30 ms of CPU through `query`, 0.11-0.16 ms in one call, 0.07-0.09 ms prepared
 * (20 rows: 0.36-0.38 unnamed, 0.27-0.28 prepared). The least recently used past MAX_PREPARED are
 * closed. A statement that can change what a text means (DDL, `set search_path`, a rollback) closes
 * them all once it has run. A statement without parameters (begin, commit, DDL) is parsed each time.
 *
 * Parameters are serialized as `query` serializes them: by the type Postgres inferred for each,
 * with the instance's serializers (bytea as bytes, json as JSON, arrays as array literals). Text
 * results are parsed by PGlite's own `parseResults` with the instance's parsers, as `query` parses
 * them; binary results by BinaryResultReader (pglite-binary-results.ts).
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

/**
 * Statements kept prepared: each holds its parse tree and plans in PGlite's memory, and knex writes
 * `in (…)` lists of every length, each a text of its own.
 */
const MAX_PREPARED = 100;
/**
 * Statements after which a prepared text still means what it meant; any other, once it has run,
 * closes them all. A rollback too: a statement prepared after DDL inside the transaction was
 * described against a schema the rollback undid.
 */
const KEEPS_MEANING = /^\s*(select|insert|update|delete|with|begin|commit|savepoint|release)\b/i;

type Value = string | Uint8Array | null;

const encoder = new TextEncoder();

/**
 * Bind: unnamed portal, `statement` (a prepared one's name, or '' for the unnamed). A Uint8Array
 * value (what the bytea serializer gives) goes in binary format, bytea's wire form, as `query`
 * sends it; the rest as text. Results all in text, or all binary. Built here because PGlite's
 * `serialize.bind({ binary: true })` writes the count of result format codes but not the code
 * (Postgres answers "insufficient data left in message").
 */
function bindMessage(values: readonly Value[], binaryResults: boolean, statement: string): Uint8Array {
  const name = encoder.encode(statement);
  const encoded = values.map((value) => (typeof value === 'string' ? encoder.encode(value) : value));
  const formats = values.some((value) => value instanceof Uint8Array) ? values.length : 0;
  const resultFormats = binaryResults ? 1 : 0;
  const valueBytes = encoded.reduce((n, value) => n + 4 + (value?.byteLength ?? 0), 0);
  const length = 4 + 1 + name.byteLength + 1 + 2 + 2 * formats + 2 + valueBytes + 2 + 2 * resultFormats;
  const out = new Uint8Array(1 + length);
  const view = new DataView(out.buffer);
  out[0] = 0x42; // B
  view.setInt32(1, length);
  out.set(name, 6); // after the empty portal name; a zero byte ends each name
  let at = 7 + name.byteLength;
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

/** A statement text prepared under a name of its own, with the parameter types Postgres inferred. */
interface Prepared {
  name: string;
  types: number[];
}

export class PgliteStatements {
  private readonly db: PGlite;
  /** By statement text, least recently used first. */
  private readonly prepared = new Map<string, Prepared>();
  /** Prepared statements no longer in `prepared`, closed after the statement that let them go. */
  private closing: string[] = [];
  private named = 0;

  constructor(db: PGlite) {
    this.db = db;
  }

  /** Runs one statement; `binaryResults`: its columns come back in binary (bytea as bytes, read in place). */
  run(sql: string, params: readonly unknown[] = [], binaryResults = false): Promise<StatementResult> {
    return this.db.runExclusive(async () => {
      try {
        const { serialize } = protocol;
        // A statement with parameters is prepared (its types are needed anyway) and runs by name:
        // Postgres parses and plans it once. One without (begin, commit, DDL) is parsed each time.
        const statement = params.length === 0 ? null : await this.preparedFor(sql);
        const values = statement ? this.serialize(statement.types, params) : [];
        const messages = Buffer.concat([
          ...(statement ? [] : [serialize.parse({ text: sql })]),
          bindMessage(values, binaryResults, statement?.name ?? ''),
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
        // After it ran, inside the exclusive section: nothing prepared before it is used again.
        if (!KEEPS_MEANING.test(sql)) {
          for (const { name } of this.prepared.values()) this.closing.push(name);
          this.prepared.clear();
        }
        await this.closeLetGo();
      }
    });
  }

  /** `sql` prepared under a name (Parse, Describe, Sync) the first time, then reused; the least recently used go past MAX_PREPARED. */
  private async preparedFor(sql: string): Promise<Prepared> {
    const known = this.prepared.get(sql);
    if (known) {
      this.prepared.delete(sql);
      this.prepared.set(sql, known);
      return known;
    }
    const { serialize } = protocol;
    // Never a name used before: one whose Close failed can never be mistaken for another.
    const name = `annosync_${++this.named}`;
    const answer = await this.db.execProtocolStream(Buffer.concat([serialize.parse({ text: sql, name }), serialize.describe({ type: 'S', name }), serialize.sync()]), {
      syncToFs: false,
    });
    const description = answer.find((message) => message.name === 'parameterDescription') as { dataTypeIDs: number[] } | undefined;
    const prepared = { name, types: description?.dataTypeIDs ?? [] };
    this.prepared.set(sql, prepared);
    if (this.prepared.size > MAX_PREPARED) {
      const [oldest, { name: evicted }] = this.prepared.entries().next().value as [string, Prepared];
      this.prepared.delete(oldest);
      this.closing.push(evicted);
    }
    return prepared;
  }

  /**
   * Closes the statements let go, in a call of their own, never in a statement's own: that one
   * must run even in a failed transaction (its rollback). A failure leaves them, unused, to the session.
   */
  private async closeLetGo(): Promise<void> {
    if (this.closing.length === 0) return;
    const { serialize } = protocol;
    const closes = this.closing.map((name) => serialize.close({ type: 'S', name }));
    this.closing = [];
    await this.db.execProtocolStream(Buffer.concat([...closes, serialize.sync()]), { syncToFs: false, throwOnError: false }).catch(() => undefined);
  }

  /** As `query`: null stays null, a value of a type with a serializer goes through it, any other as its string. */
  private serialize(types: readonly number[], params: readonly unknown[]): Value[] {
    return params.map((value, i) => {
      if (value === null || value === undefined) return null;
      // Bytes go as they are, in binary: a bytea, or an array in binary form (binary-arrays.ts).
      if (value instanceof Uint8Array) return value;
      const type = types[i];
      const serializer = type === undefined ? undefined : this.db.serializers[type];
      // A serializer gives text, but PGlite's bytea one (and ours, pglite-thread.ts) gives bytes.
      return serializer ? (serializer(value) as string | Uint8Array) : String(value);
    });
  }
}
