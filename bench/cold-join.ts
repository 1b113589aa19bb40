/**
 * `npx tsx bench/cold-join.ts [--runs=3] [--joins=5] [--settle] [--baseline=/path/to/other/server/main.ts]`
 * (DATABASE_URL=… for Postgres): end to end, how long the first joiner of a cold, compacted
 * 10 000-annotation session waits. The server runs as a child process (`server/main.ts`); a stock
 * y-websocket client in this process connects and records
 *
 *   step2    connect → the server's sync step 2 has arrived (the state received; target < 100 ms)
 *   synced   connect → the provider's 'synced' (step2 plus the client's own Y.applyUpdate)
 *   serverCpu  the server process's CPU ms from connect to step2 (read from /proc)
 *
 * Each join finds the session unloaded (IDLE_UNLOAD_MS=50, the join reads and writes nothing, so
 * the stored state stays one compacted snapshot). The first join of a run is also the server
 * process's first (a cold JIT); the others are cold documents in a warm process. With
 * `--baseline`, runs alternate between that server and this one on the same stored session, so the
 * two are compared back to back under the same load. Prints numbers; not a test.
 *
 * `--settle`: before each join, wait until the server process has been idle for 200 ms (and collect
 * this process's garbage). Without it a join starts while the server still collects the previous
 * join's 10 000-annotation document and this process the copy it synced, so the join competes with
 * both for the two cores; with it, the join is measured as it happens on a quiet server.
 */
import { loadavg } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import { median } from './lib/stats.ts';
import { collectGarbage } from './lib/collect-garbage.ts';
import { killAllSync, readCpuMs, removeTempDirs, startServer, stopServer, type BenchServer } from './lib/server-process.ts';
import { dropSchema } from './lib/postgres-schema.ts';
import { benchRequest } from './lib/http-request.ts';
import { BENCH_AUTH_SECRET, benchAdminToken } from './lib/annosync-rooms.ts';

const ANNOTATIONS = 10_000;
const FRAMES = 3_000;
const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg('runs') ?? 3);
const joins = Number(arg('joins') ?? 5);
const baseline = arg('baseline');
const settle = process.argv.includes('--settle');
/** `--node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"`: flags for the server processes (a profile, say). */
const serverNodeArgs = arg('node-args')?.split(' ').filter(Boolean) ?? [];
const databaseUrl = process.env.DATABASE_URL;
const schema = `bench_cold_join_${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), 'annosync-cold-join-'));


async function expectOk<T>(server: BenchServer, method: string, path: string, body?: unknown): Promise<T> {
  const reply = await benchRequest(server, method, path, { token: benchAdminToken, ...(body === undefined ? {} : { json: body }) });
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
  return (reply.body === '' ? undefined : JSON.parse(reply.body)) as T;
}

/** Waits until the server holds no document (the session unloaded, its compaction started). */
async function unloaded(server: BenchServer): Promise<void> {
  for (;;) {
    const metrics = await benchRequest(server, 'GET', '/metrics', { token: benchAdminToken });
    if (/^annosync_documents_loaded 0$/m.test(metrics.body)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const serverEnv = {
  LOG_LEVEL: 'warn',
  AUTH_SECRET: BENCH_AUTH_SECRET,
  IDLE_UNLOAD_MS: '50',
  ...(databaseUrl ? { DATABASE_SCHEMA: schema } : {}),
};
const start = (main?: string) =>
  startServer({ kind: 'annosync', dataDir, env: serverEnv, readyTimeoutMs: 180_000, nodeArgs: serverNodeArgs, ...(databaseUrl ? { databaseUrl } : {}), ...(main ? { main } : {}) });

/** The session, written in one bulk POST, then unloaded and compacted (a graceful stop awaits it). */
async function prepare(): Promise<string> {
  const server = await start();
  try {
    const project = await expectOk<{ id: string }>(server, 'POST', '/api/projects', { name: 'cold', labels: [{ name: 'car' }, { name: 'person' }] });
    const video = await expectOk<{ id: string }>(server, 'POST', '/api/videos', {
      name: 'cold.mp4', uri: 'file:///cold.mp4', width: 1920, height: 1080, fps: 30, frameCount: FRAMES,
    });
    await expectOk(server, 'POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
    const session = await expectOk<{ id: string; docName: string }>(server, 'POST', `/api/projects/${project.id}/sessions`, { videoId: video.id });
    const body = Array.from({ length: ANNOTATIONS }, (_, i) => ({
      frame: i % FRAMES,
      bbox: [(i * 13) % 1700, (i * 7) % 860, 20 + (i % 200), 20 + ((i * 3) % 200)],
      label: i % 3 ? 'car' : 'person',
    }));
    await expectOk(server, 'POST', `/api/sessions/${session.id}/annotations`, body);
    await unloaded(server);
    return session.docName;
  } finally {
    // Shutdown waits for running compactions: the store holds one snapshot afterwards.
    await stopServer(server, 60_000);
  }
}

/** Waits until the server used no CPU tick (10 ms) in a 200 ms window, at most 20 s. */
async function quiet(server: BenchServer): Promise<void> {
  collectGarbage();
  const until = performance.now() + 20_000;
  while (performance.now() < until) {
    const before = readCpuMs(server.pid);
    await new Promise((r) => setTimeout(r, 200));
    if (readCpuMs(server.pid) - before <= 10) return;
  }
}

interface Join {
  step2: number;
  /** CPU ms the server process spent from connect to step2 arriving: steadier than wall time under load. */
  serverCpu: number;
  synced: number;
  annotations: number;
}

function coldJoin(server: BenchServer, docName: string): Promise<Join> {
  return new Promise((resolve, reject) => {
    let step2 = 0;
    let serverCpu = 0;
    const cpuBefore = readCpuMs(server.pid);
    const started = performance.now();
    // The first message of more than a few bytes is the sync step 2 carrying the session.
    const Timed = class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.addEventListener('message', (event) => {
          if (step2 === 0 && (event.data as ArrayBuffer).byteLength > 1024) {
            step2 = performance.now() - started;
            serverCpu = readCpuMs(server.pid) - cpuBefore;
          }
        });
      }
    };
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://${server.host}:${server.port}/sync`, docName, doc, {
      params: { token: benchAdminToken },
      WebSocketPolyfill: Timed as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    const timer = setTimeout(() => reject(new Error('not synced within 60 s')), 60_000);
    provider.once('sync', () => {
      const synced = performance.now() - started;
      clearTimeout(timer);
      const annotations = doc.getMap('annotations').size;
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
      resolve({ step2, serverCpu, synced, annotations });
    });
  });
}

async function measure(label: string, main: string | undefined, docName: string): Promise<{ label: string; joins: Join[] }> {
  const server = await start(main);
  const results: Join[] = [];
  try {
    for (let i = 0; i < joins; i++) {
      await unloaded(server);
      if (settle) await quiet(server);
      const result = await coldJoin(server, docName);
      if (result.annotations !== ANNOTATIONS) throw new Error(`${label}: the joiner got ${result.annotations} annotations`);
      results.push(result);
    }
  } finally {
    await stopServer(server, 30_000);
  }
  return { label, joins: results };
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
const load = () => loadavg().map((n) => n.toFixed(1)).join(' ');
console.log(
  `bench:cold-join  ${databaseUrl ? 'postgres' : 'pglite'}  ${ANNOTATIONS} annotations, compacted${settle ? ', each join on a quiet server' : ''}  load average ${load()}`,
);
try {
  const docName = await prepare();
  const variants: Array<[string, string | undefined]> = baseline ? [['baseline', baseline], ['this', undefined]] : [['this', undefined]];
  const all = new Map<string, Join[]>(variants.map(([label]) => [label, []]));
  const first = new Map<string, Join[]>(variants.map(([label]) => [label, []]));
  for (let run = 0; run < runs; run++) {
    // Alternate the order too, so neither variant always runs second.
    for (const [label, main] of run % 2 ? [...variants].reverse() : variants) {
      const { joins: got } = await measure(label, main, docName);
      first.get(label)!.push(got[0]!);
      all.get(label)!.push(...got.slice(1));
      const cells = got.map((j) => `${j.step2.toFixed(0)}/${j.serverCpu.toFixed(0)}/${j.synced.toFixed(0)}`).join('  ');
      console.log(`  run ${run + 1} ${label.padEnd(8)} step2/serverCpu/synced ms: ${cells}   (load ${load()})`);
    }
  }
  for (const [label] of variants) {
    const f = first.get(label)!;
    const w = all.get(label)!;
    console.log(
      `${label.padEnd(8)} first join of a fresh process: step2 ${median(f.map((j) => j.step2)).toFixed(0)} ms (server CPU ${median(f.map((j) => j.serverCpu)).toFixed(0)}), synced ${median(f.map((j) => j.synced)).toFixed(0)} ms;` +
        `  cold document, warm process: step2 ${median(w.map((j) => j.step2)).toFixed(0)} ms (server CPU ${median(w.map((j) => j.serverCpu)).toFixed(0)}), synced ${median(w.map((j) => j.synced)).toFixed(0)} ms  (medians; target step2 < 100)`,
    );
  }
} finally {
  removeTempDirs();
  if (databaseUrl) {
    await dropSchema(databaseUrl, schema);
  }
}
