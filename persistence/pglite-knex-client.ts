/**
 * A knex dialect for the embedded PGlite run in a worker thread (persistence/pglite-connection.ts):
 * knex's Postgres client (the same SQL compiler as on Postgres), pinned to one pooled connection
 * as PGlite has only one, whose connection forwards `query` to the thread. Adapted from
 * knex-pglite 0.14 (MIT, github.com/czeidler/knex-pglite), which runs PGlite on the calling thread.
 *
 *   createKnex({ client: PgliteThreadClient, connection: { dataDir: './data/pglite' } })
 *
 * One pooled connection means a transaction holds the whole database until it ends, exactly as
 * with knex-pglite: code inside a transaction must use its `trx` only (see update-log.ts and
 * doc-store.ts, which never nest). If the thread dies, its connection fails validation and the
 * pool opens a fresh thread on the same directory for the next query.
 */
import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import { DEFAULT_RECYCLE, openPgliteConnection, type PgliteConnection } from './pglite-connection.ts';
import type { ByteaCapableClient } from './bytea.ts';

interface KnexQueryObject {
  sql?: string;
  bindings?: unknown[];
  /** What `.options({...})` gave the query: `binaryResults` is read here (bytea.ts). */
  options?: { binaryResults?: boolean };
  method?: string;
  response?: unknown;
}

interface KnexPostgresClient {
  config: Knex.Config & { connection?: unknown };
  searchPath?: string | string[];
  logger: { warn?: (message: string) => void };
  _parseVersion(version: string): string;
  processResponse(obj: KnexQueryObject, runner: unknown): unknown;
}

type KnexPostgresClientClass = new (config: Knex.Config) => KnexPostgresClient;

/** Where the client opens PGlite: a directory initialised beforehand, or memory. */
export interface PgliteThreadConnectionConfig {
  dataDir: string | null;
}

let clientClass: KnexPostgresClientClass | undefined;

/** The class is built on first use: knex's Postgres dialect is CommonJS and loaded through require. */
export function pgliteThreadClient(): KnexPostgresClientClass {
  if (clientClass) return clientClass;
  const require = createRequire(import.meta.url);
  const ClientPg = require('knex/lib/dialects/postgres/index.js') as KnexPostgresClientClass;

  class PgliteThreadClient extends ClientPg implements ByteaCapableClient {
    /**
     * bytea results arrive as bytes, decoded on PGlite's thread (pglite-thread.ts; see bytea.ts).
     * A getter, so a transaction's client (knex builds it from this prototype) has it too.
     */
    get byteaResultsAsBytes(): boolean {
      return true;
    }

    /** PGlite's memory keeps the peak of its largest statement (statement-size.ts). A getter, as above. */
    get growOnlyMemory(): boolean {
      return true;
    }

    /** One connection: a transaction held open holds every other statement (doc-store.ts, `compact`). */
    get singleConnection(): boolean {
      return true;
    }

    constructor(config: Knex.Config) {
      if (config.pool) throw new Error('PGlite has one connection: a pool cannot be configured');
      super({ ...config, pool: { min: 1, max: 1 } });
    }

    /** No driver module: the connection is made in `_acquireOnlyConnection`. */
    _driver(): null {
      return null;
    }

    _acquireOnlyConnection(): Promise<PgliteConnection> {
      const connection = (this.config.connection ?? { dataDir: null }) as PgliteThreadConnectionConfig;
      // The thread is replaced after large statements to give PGlite's memory back (DEFAULT_RECYCLE).
      return openPgliteConnection({ dataDir: connection.dataDir, recycle: DEFAULT_RECYCLE });
    }

    validateConnection(connection: PgliteConnection): boolean {
      return connection.alive;
    }

    async destroyRawConnection(connection: PgliteConnection): Promise<void> {
      await connection.close();
    }

    async setSchemaSearchPath(connection: PgliteConnection, searchPath?: string | string[]): Promise<boolean> {
      const path = searchPath ?? this.searchPath;
      if (!path) return true;
      const names = typeof path === 'string' ? [path] : path;
      await connection.query(`set search_path to ${names.map((name) => `"${name.replace(/"/g, '""')}"`).join(',')}`);
      return true;
    }

    async checkVersion(connection: PgliteConnection): Promise<string> {
      const { rows } = await connection.query('select version();');
      return this._parseVersion((rows[0] as { version: string }).version);
    }

    async _query(connection: PgliteConnection, obj: KnexQueryObject): Promise<KnexQueryObject> {
      if (!obj.sql) throw new Error('The query is empty');
      obj.response = await connection.query(obj.sql, obj.bindings, { binaryResults: obj.options?.binaryResults === true });
      return obj;
    }

    /** PGlite answers `affectedRows` and no command; knex's Postgres client expects pg's `rowCount` and `command`. */
    override processResponse(obj: KnexQueryObject, runner: unknown): unknown {
      const response = obj.response as { affectedRows?: number };
      const command = obj.method === 'first' || obj.method === 'pluck' ? 'SELECT' : (obj.method?.toUpperCase() ?? '');
      return super.processResponse({ ...obj, response: { ...response, rowCount: response.affectedRows, command } }, runner);
    }

    _stream(connection: PgliteConnection, obj: KnexQueryObject, stream: NodeJS.WritableStream & NodeJS.EventEmitter): Promise<void> {
      return new Promise((resolve, reject) => {
        stream.on('error', reject);
        stream.on('end', resolve);
        this._query(connection, obj)
          .then((done) => (done.response as { rows: unknown[] }).rows.forEach((row) => stream.write(row as never)))
          .catch((err: unknown) => stream.emit('error', err))
          .finally(() => stream.end());
      });
    }
  }
  clientClass = PgliteThreadClient;
  return clientClass;
}
