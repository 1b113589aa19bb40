/**
 * Sync servers under benchmark, each started as a child process so that its CPU time and RSS can
 * be read from /proc per server (process.cpuUsage only sees the bench process itself).
 *
 *   const ref = await startServer({ kind: 'reference' });
 *   const before = readCpuMs(ref.pid); … ; const used = readCpuMs(ref.pid) - before;
 *   await stopAll();
 *
 * Every child is registered so that `killAllSync` (wired to process exit and signals by the
 * bench) can SIGKILL what is left when the bench dies half-way.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `http-floor`: bench/lib/http-floor.ts, koa answering a fixed body (bench/rest.ts's floor);
 * `sync-floor`: bench/lib/sync-floor.ts, a relay that passes updates on untouched (the fan-out's floor).
 */
export type ServerKind = 'annosync' | 'reference' | 'http-floor' | 'sync-floor';

export interface BenchServer {
  kind: ServerKind;
  pid: number;
  host: string;
  port: number;
  /** What `WebsocketProvider` takes as serverUrl; the room name is appended by the provider. */
  serverUrl: string;
  /** The last lines the child wrote, for error messages. */
  output: () => string;
  /** Resolves when the child has exited. */
  exited: Promise<number | null>;
  child: ChildProcess;
  /** Spawn → ready line. */
  readyMs: number;
  /** annosync's DATA_DIR. */
  dataDir?: string;
}

export interface StartOptions {
  kind: ServerKind;
  /** annosync only: use this Postgres instead of embedded PGlite. */
  databaseUrl?: string;
  /** annosync and http-floor: extra environment (e.g. idle-unload settings, FLOOR_BODY_BYTES). */
  env?: Record<string, string>;
  /** annosync only: the entry module (another worktree's, say); default server/main.ts here. */
  main?: string;
  readyTimeoutMs?: number;
  /** annosync only: the DATA_DIR (default: a new temp directory, removed at the end). */
  dataDir?: string;
  /** Node flags before the entry (`--cpu-prof`, which NODE_OPTIONS refuses); the reference exits on SIGTERM without writing a profile. */
  nodeArgs?: string[];
}

export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const referenceBin = join(repoRoot, 'node_modules/@y/websocket-server/src/server.js');
const annosyncMain = join(repoRoot, 'server/main.ts');
const floorMains = { 'http-floor': join(repoRoot, 'bench/lib/http-floor.ts'), 'sync-floor': join(repoRoot, 'bench/lib/sync-floor.ts') };
const HOST = '127.0.0.1';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function annosyncAvailable(main = annosyncMain): boolean {
  try {
    readFileSync(main);
    return true;
  } catch {
    return false;
  }
}

/** The reference prints `PORT` back rather than the bound port, so it needs a concrete one. */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export async function startServer(options: StartOptions): Promise<BenchServer> {
  const { kind } = options;
  let args: string[];
  let env: NodeJS.ProcessEnv;
  let ready: RegExp;
  let dataDir: string | undefined;
  if (kind === 'reference') {
    const port = await freePort();
    args = [...(options.nodeArgs ?? []), referenceBin];
    env = { ...process.env, HOST, PORT: String(port) };
    ready = /running at '([^']+)' on port (\d+)/;
  } else if (kind === 'http-floor' || kind === 'sync-floor') {
    args = [...(options.nodeArgs ?? []), '--import', 'tsx', floorMains[kind]];
    env = { ...process.env, ...options.env, HOST, PORT: '0' };
    ready = /listening on http:\/\/([^:/\s]+):(\d+)/;
  } else {
    dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'annosync-bench-'));
    tempDirs.add(dataDir);
    const main = options.main ?? annosyncMain;
    // A compiled build (`npm run build`, dist/main.js) runs on plain node, as `npm start` runs it.
    args = [...(options.nodeArgs ?? []), ...(main.endsWith('.js') ? [main] : ['--import', 'tsx', main])];
    env = { ...process.env, ...options.env, HOST, PORT: '0', DATA_DIR: dataDir };
    if (options.databaseUrl !== undefined) env.DATABASE_URL = options.databaseUrl;
    else delete env.DATABASE_URL;
    // A shell's REDIS_URL would make every bench server a fan-out process (or, on PGlite, refuse to
    // start): only a bench that asks through options.env gets one.
    if (options.env?.REDIS_URL === undefined) delete env.REDIS_URL;
    ready = /listening on http:\/\/([^:/\s]+):(\d+)/;
  }
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const exited = new Promise<number | null>((done) => {
    child.once('exit', (code) => {
      children.delete(child);
      done(code);
    });
  });
  const output = (): string => lines.join('\n');

  return new Promise<BenchServer>((resolveServer, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new ServerStartError(`${kind}: ${message}\n--- output ---\n${output()}`));
    };
    const timer = setTimeout(() => fail('no ready line in time'), options.readyTimeoutMs ?? 30_000);
    // Both pipes are drained for the child's whole life: a full pipe would stall its event loop.
    const onData = (chunk: Buffer): void => {
      // BENCH_SERVER_LOG=path keeps everything the servers wrote (`--trace-gc` output, say).
      if (process.env.BENCH_SERVER_LOG) appendFileSync(process.env.BENCH_SERVER_LOG, chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > 60) lines.shift();
        const match = settled ? null : ready.exec(line);
        if (match !== null && child.pid !== undefined) {
          settled = true;
          clearTimeout(timer);
          const port = Number(match[2]);
          const base = `ws://${HOST}:${port}`;
          resolveServer({
            kind,
            pid: child.pid,
            host: HOST,
            port,
            serverUrl: kind === 'annosync' ? `${base}/sync` : base,
            output,
            exited,
            child,
            readyMs: performance.now() - spawnedAt,
            ...(dataDir === undefined ? {} : { dataDir }),
          });
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => fail(err.message));
    void exited.then((code) => fail(`exited with ${code} before it was ready`));
  });
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
export async function stopServer(server: BenchServer, graceMs = 5_000): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  await server.exited;
  clearTimeout(timer);
}

/** For exit paths that cannot await: kill every child still running and remove temp dirs. */
export function killAllSync(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads), in ms; resolution is one clock tick (10 ms). */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / ticksPerSecond();
}

/**
 * CPU time the whole machine spent busy (all cores, every process), in ms, from /proc/stat; the
 * difference to the server's and the bench's own shows when something else was competing.
 */
export function readMachineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return ((total - idle) * 1000) / ticksPerSecond();
}

/** Resident set size in bytes (VmRSS). */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export interface Health {
  ok: boolean;
  documents?: number;
}

/** annosync's `GET /health`; undefined when the server has none (the reference) or it fails. */
export async function readHealth(server: BenchServer): Promise<Health | undefined> {
  if (server.kind !== 'annosync') return undefined;
  try {
    const res = await fetch(`http://${server.host}:${server.port}/health`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok && res.status !== 503) return undefined;
    const body: unknown = await res.json();
    if (typeof body !== 'object' || body === null) return undefined;
    const record = body as Record<string, unknown>;
    const health: Health = { ok: record.ok === true };
    if (typeof record.documents === 'number') health.documents = record.documents;
    return health;
  } catch {
    return undefined;
  }
}
