/**
 * Test servers: the real `createServer` on port 0, on a fresh PGlite directory or a fresh Postgres
 * schema, through the real migrations; or the real `npm start` entry as a child process, for the
 * SIGTERM / SIGKILL tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createServer, type AnnosyncServer, type ServerOptions } from '../server/create-server.ts';
import { makeConfig, type Config, type ConfigOverrides } from '../server/config.ts';
import { silentLogger } from '../shared/logger.ts';
import { createTokenService } from '../server/services/tokens.ts';
import type { DatabaseKind } from './databases.ts';
import { copyPgliteTemplate } from './pglite-template.ts';

/** The secret test servers sign with (AUTH_SECRET); tests mint their own tokens with it. */
export const TEST_AUTH_SECRET = 'annosync-test-secret-0123456789abcdef';

/** Signs tokens for servers started with TEST_AUTH_SECRET (child processes included). */
export const testTokens = createTokenService(TEST_AUTH_SECRET);

export interface TestServer {
  server: AnnosyncServer;
  url: string;
  config: Config;
  /** A token with `admin: true`. */
  adminToken: string;
  /** Signs any claims with the server's secret. */
  token(claims: Parameters<AnnosyncServer['tokens']['sign']>[0], opts?: Parameters<AnnosyncServer['tokens']['sign']>[1]): Promise<string>;
  /** Closes the server (flushing), keeping its data for a restart. */
  stop(): Promise<void>;
}

export interface TestStorage {
  kind: DatabaseKind;
  /** Config fields that point a server at this storage. */
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databaseSchema'>;
  /** Env variables for a child-process server on this storage. */
  env: Record<string, string>;
  /** Drops the schema / removes the directory. */
  cleanup(): Promise<void>;
}

/** A fresh, empty storage: a temp PGlite directory or a new Postgres schema. */
export async function createTestStorage(kind: DatabaseKind): Promise<TestStorage> {
  if (kind === 'pglite') {
    const dataDir = await copyPgliteTemplate();
    return {
      kind,
      config: { databaseUrl: undefined, dataDir, databaseSchema: undefined },
      // Emptied, not left out: a child inherits the test process's environment, which in CI points
      // at Postgres (and an empty value means "unset" to the config).
      env: { DATA_DIR: dataDir, DATABASE_URL: '', DATABASE_SCHEMA: '' },
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'annosync-test-'));
  return {
    kind,
    config: { databaseUrl, dataDir, databaseSchema: schema },
    env: { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema, DATA_DIR: dataDir },
    cleanup: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTestServer(storage: TestStorage, overrides: ConfigOverrides = {}, options: Omit<ServerOptions, 'logger'> = {}): Promise<TestServer> {
  const config = makeConfig({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    authSecret: TEST_AUTH_SECRET,
    ...storage.config,
    ...overrides,
  });
  const server = await createServer(config, { ...options, logger: silentLogger });
  const { url } = await server.listen();
  const adminToken = await server.tokens.sign({ sub: 'test-admin', name: 'Test Admin', admin: true });
  return {
    server,
    url,
    config,
    adminToken,
    token: (claims, opts) => server.tokens.sign(claims, opts),
    stop: () => server.close(),
  };
}

export interface ChildServer {
  process: ChildProcess;
  url: string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/**
 * Starts `server/main.ts` in a child process (under tsx; or `entry`, a compiled build, on plain
 * node as `npm start` runs dist/server/main.js), and resolves once it prints where it listens.
 */
export function startChildServer(env: Record<string, string>, opts: { entry?: string } = {}): Promise<ChildServer> {
  const args = opts.entry === undefined ? ['--import', 'tsx', 'server/main.ts'] : [opts.entry];
  const child = spawn(process.execPath, args, {
    cwd: path.resolve(import.meta.dirname, '..'),
    // REDIS_URL from CI's environment would make every child a fan-out process; a test asks for it.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', AUTH_SECRET: TEST_AUTH_SECRET, REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (match?.[1]) {
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (more: Buffer) => (out += more.toString()));
        resolve({ process: child, url: match[1], exited, output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}
