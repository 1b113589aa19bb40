/**
 * Test-run numbers, against the real server (`server/main.ts` as a child process, embedded PGlite
 * in a temp dir, or DATABASE_URL), with the clients in this process:
 *
 * 1. progress posted → visible in a connected WebsocketProvider on test-run:<id>: p50 / p99 (target p99 < 50 ms);
 * 2. 20 runs at once, each posting 200 progress updates per second for DURATION_S, each run watched by
 *    a WebsocketProvider: achieved rate, POST p99, post → visible in its watcher p50 / p99 (from when
 *    the post was due, and from when it was written to a connection), and the server's CPU per post
 *    (from /proc, so a busy machine inflates it less than it does the rate);
 * 3. 10 annotators editing one session (each edit stamped), fan-out p99 to the other annotators,
 *    without and then with 100 clients watching the project's dashboard (target ratio ≤ 1.2);
 * 4. GET /test-runs/:id/evaluation of 100 000 detections against 100 000 boxes (target < 2 s).
 *
 *   npx tsx bench/test-runs.ts                       # ONLY=12 DURATION_S=20 RUNS=10 RUNNER_SOCKETS=32 …
 *   SERVER_PID=… ANNOSYNC_URL=http://… npx tsx bench/test-runs.ts   # a server started by hand
 *   SERVER_MAIN=dist/server/main.js ONLY=4 npx tsx bench/test-runs.ts   # a compiled build (old against new)
 *
 * The server runs with REQUESTS_PER_MINUTE raised: the default per-token limit (6 000 / min =
 * 100 / s) is below the 200 posts per second one runner makes here.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import { addAnnotation, getAnnotation, readTestRun, updateAnnotation } from '../docs-model/index.ts';
import { startChildServer, testTokens, type ChildServer } from '../tools/server.ts';
import { percentile, seededRandom } from './lib/stats.ts';
import { startLoadWorkers, wallNow, type LoadResult } from './lib/progress-load.ts';
import { readCpuMs, readMachineBusyMs, readRssBytes } from './lib/server-process.ts';

const DURATION_S = Number(process.env.DURATION_S ?? 10);
const RUNS = Number(process.env.RUNS ?? 20);
const POSTS_PER_SECOND = Number(process.env.POSTS_PER_SECOND ?? 200);
const WATCHERS = 100;
const ANNOTATORS = 10;
const EDITS_PER_SECOND = 10;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/**
 * Connections one runner keeps to the server. A post is answered after the group commit (20–60 ms
 * here), so 200 posts/s need about 4–12 at once. With Node's agent at 256 each, the load processes
 * opened ~1 000 sockets at once, overflowed the server's accept queue (Node's default backlog, 511)
 * and measured SYN retransmissions — seconds — not the server.
 */
const RUNNER_SOCKETS = Number(process.env.RUNNER_SOCKETS ?? 16);
let base = '';
let admin = '';
/** The server's process id when known (our child, or SERVER_PID), for its CPU time. */
let serverPid: number | undefined;

const load = (): string => loadavg()[0]!.toFixed(1);

function request<T>(method: string, p: string, body?: unknown, token = admin): Promise<{ status: number; body: T }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const url = new URL(base + p);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function must<T>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await request<T>(method, p, body);
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body;
}

function provider(docName: string, token = admin, doc = new Y.Doc()): { doc: Y.Doc; provider: WebsocketProvider } {
  const p = new WebsocketProvider(`${base.replace(/^http/, 'ws')}/sync`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token },
  });
  return { doc, provider: p };
}

const synced = (p: WebsocketProvider): Promise<void> =>
  p.synced ? Promise.resolve() : new Promise((resolve) => p.once('sync', () => resolve()));

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fixture(frameCount = 1000) {
  const project = await must<{ id: string }>('POST', '/api/projects', { name: 'bench', labels: [{ name: 'car' }, { name: 'person' }, { name: 'bike' }, { name: 'truck' }, { name: 'dog' }] });
  const video = await must<{ id: string }>('POST', '/api/videos', { name: 'v', uri: 's3://b/v.mp4', width: 1920, height: 1080, fps: 25, frameCount });
  await must('POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
  const session = await must<{ id: string }>('POST', `/api/projects/${project.id}/sessions`, { videoId: video.id });
  return { project, video, session };
}

async function newRun(f: Awaited<ReturnType<typeof fixture>>): Promise<string> {
  return (await must<{ id: string }>('POST', `/api/projects/${f.project.id}/test-runs`, { videoId: f.video.id, sessionId: f.session.id, model: { name: 'bench', version: '1' } })).id;
}

async function progressLatency(f: Awaited<ReturnType<typeof fixture>>): Promise<void> {
  const id = await newRun(f);
  const watcher = provider(`test-run:${id}`);
  await synced(watcher.provider);
  const seen = new Map<number, number>();
  watcher.doc.on('update', () => {
    const n = readTestRun(watcher.doc)?.processedFrames;
    if (n !== undefined && !seen.has(n)) seen.set(n, performance.now());
  });
  const lat: number[] = [];
  for (let n = 1; n <= 500; n++) {
    const t0 = performance.now();
    await must('POST', `/api/test-runs/${id}/progress`, { processedFrames: n, totalFrames: 1000 });
    while (!seen.has(n)) await sleep(0);
    lat.push(seen.get(n)! - t0);
    await sleep(5);
  }
  watcher.provider.destroy();
  // The provider leaves its awareness (and the awareness's timer) to the document.
  watcher.doc.destroy();
  if (process.env.VERBOSE) console.log(lat.map((v, i) => [i, Math.round(v)]).filter(([, v]) => v! > 40));
  console.log(`1. progress → visible in a client (500 posts): p50 ${fmt(percentile(lat, 50))}, p99 ${fmt(percentile(lat, 99))}, max ${fmt(Math.max(...lat))} (target p99 < 50 ms)`);
}

/** What a run's watcher saw: wall-clock times and the processedFrames its document held then. */
interface Seen {
  times: number[];
  frames: number[];
}

function watchRun(id: string): { provider: WebsocketProvider; doc: Y.Doc; seen: Seen } {
  const w = provider(`test-run:${id}`);
  const seen: Seen = { times: [], frames: [] };
  w.doc.on('update', () => {
    const n = readTestRun(w.doc)?.processedFrames;
    if (n !== undefined && n !== seen.frames[seen.frames.length - 1]) {
      seen.times.push(wallNow());
      seen.frames.push(n);
    }
  });
  return { provider: w.provider, doc: w.doc, seen };
}

/** Per successful post: from its send to the first moment its watcher held processedFrames >= its count. */
function visibleLatencies(sent: Array<number | null>, seen: Seen): number[] {
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < sent.length; i++) {
    const at = sent[i];
    if (at === null || at === undefined) continue;
    while (k < seen.frames.length && seen.frames[k]! < i + 1) k++;
    if (k === seen.frames.length) break;
    out.push(seen.times[k]! - at);
  }
  return out;
}

/**
 * The load comes from LOAD_PROCESSES child processes (default 4), so the clients' own CPU does not
 * cap the rate on a small machine; each reports its send times and latencies over IPC. Each run is
 * watched by a provider in this process; "visible" is from a post's send to the moment its
 * watcher's document holds that processedFrames (or more).
 */
async function sustained(f: Awaited<ReturnType<typeof fixture>>): Promise<void> {
  const ids = await Promise.all(Array.from({ length: RUNS }, () => newRun(f)));
  // Started first, so the fast path (a running run) is what the load measures.
  await Promise.all(ids.map((id) => must('POST', `/api/test-runs/${id}/progress`, { processedFrames: 0, totalFrames: 1_000_000 })));
  const watchers = ids.map(watchRun);
  await Promise.all(watchers.map((w) => synced(w.provider)));
  const workers = Number(process.env.LOAD_PROCESSES ?? 4);
  // Each worker connects, says so, and starts posting when told: all start together.
  const children = startLoadWorkers({ base, token: admin, ids, durationS: DURATION_S, postsPerSecond: POSTS_PER_SECOND, runnerSockets: RUNNER_SOCKETS }, workers);
  await Promise.all(children.map((c) => c.ready));
  const loadBefore = load();
  const cpuBefore = serverPid === undefined ? undefined : readCpuMs(serverPid);
  const machineBefore = readMachineBusyMs();
  const t0 = performance.now();
  for (const c of children) c.child.send('go');
  const results = await Promise.all(children.map((c) => c.result));
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuMs = serverPid === undefined || cpuBefore === undefined ? undefined : readCpuMs(serverPid) - cpuBefore;
  const machineMs = readMachineBusyMs() - machineBefore;
  const lat = results.flatMap((r) => r.lat);
  const wire = results.flatMap((r) => r.wire);
  const done = results.reduce((n, r) => n + r.done, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const sent = Object.assign({}, ...results.map((r) => r.sent)) as Record<string, Array<number | null>>;
  const written = Object.assign({}, ...results.map((r) => r.written)) as Record<string, Array<number | null>>;
  // Every answered post is in its watcher's document by now, or soon: wait for the last of each.
  const lastOk = (id: string): number => (sent[id] ?? []).reduce<number>((m, t, i) => (t === null ? m : i + 1), 0);
  await waitFor(
    () => ids.every((id, i) => (watchers[i]!.seen.frames.at(-1) ?? 0) >= lastOk(id)),
    'every watcher saw its last answered post',
  ).catch((err: Error) => console.log(`   ${err.message}`));
  const visible = ids.flatMap((id, i) => visibleLatencies(sent[id] ?? [], watchers[i]!.seen));
  const visibleFromWrite = ids.flatMap((id, i) => visibleLatencies(written[id] ?? [], watchers[i]!.seen));
  for (const w of watchers) {
    w.provider.destroy();
    w.doc.destroy();
  }
  console.log(
    `2. ${RUNS} runs × ${POSTS_PER_SECOND} posts/s for ${DURATION_S} s (${workers} load processes), each watched: ${(done / seconds).toFixed(0)} posts/s achieved (target ${RUNS * POSTS_PER_SECOND}), ` +
      `${errors} errors, POST p50 ${fmt(percentile(lat, 50))}, p99 ${fmt(percentile(lat, 99))} (on its connection p50 ${fmt(percentile(wire, 50))}, p99 ${fmt(percentile(wire, 99))}); ` +
      `visible in the watcher p50 ${fmt(percentile(visible, 50))}, p99 ${fmt(percentile(visible, 99))} ` +
      `(from the write p50 ${fmt(percentile(visibleFromWrite, 50))}, p99 ${fmt(percentile(visibleFromWrite, 99))}; n=${visible.length}, target p99 < 50 ms)`,
  );
  console.log(
    `   server CPU ${serverCpuMs === undefined ? '?' : `${((serverCpuMs * 1000) / done).toFixed(0)} µs per post (${((serverCpuMs / 1000 / seconds) * 100).toFixed(0)} % of a core)`}; ` +
      `machine busy ${((machineMs / 1000 / seconds) * 100).toFixed(0)} % of a core; load average ${loadBefore} → ${load()}`,
  );
}

/** 10 annotators each editing their own annotation EDITS_PER_SECOND times a second; fan-out latency to the others. */
async function annotatorFanout(f: Awaited<ReturnType<typeof fixture>>, seconds: number): Promise<number[]> {
  // One person per token: the server limits sync connections per user (100 by default).
  const tokens = await Promise.all(Array.from({ length: ANNOTATORS }, (_, i) => testTokens.sign({ sub: `annotator-${i}`, admin: true })));
  const clients = tokens.map((token) => provider(`session:${f.session.id}`, token));
  await Promise.all(clients.map((c) => synced(c.provider)));
  const ids = clients.map((c, i) => addAnnotation(c.doc, { frame: i, bbox: [10, 10, 50, 50], label: 'car', attributes: { stamp: 0 } }, { by: `a${i}` }).id);
  const lat: number[] = [];
  let measuring = false;
  clients.forEach((c, me) => {
    const last = new Map<string, number>();
    c.doc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (origin !== c.provider) return;
      const now = performance.now();
      for (const [k, id] of ids.entries()) {
        if (k === me) continue;
        const stamp = getAnnotation(c.doc, id)?.attributes.stamp;
        if (typeof stamp === 'number' && stamp !== last.get(id)) {
          last.set(id, stamp);
          if (measuring && stamp > 0) lat.push(now - stamp);
        }
      }
    });
  });
  await Promise.all(clients.map((c, i) => waitFor(() => ids.every((id) => getAnnotation(c.doc, id) !== null), `annotator ${i} synced`)));
  measuring = true;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      let frame = 0;
      while (performance.now() < end) {
        updateAnnotation(c.doc, ids[i]!, { bbox: [10 + (frame % 100), 10, 50, 50], attributes: { stamp: performance.now() } }, { by: `a${i}` });
        c.provider.awareness.setLocalStateField('frame', frame++);
        await sleep(1000 / EDITS_PER_SECOND);
      }
    }),
  );
  await sleep(300);
  measuring = false;
  for (const c of clients) {
    c.provider.destroy();
    c.doc.destroy();
  }
  return lat;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

async function dashboardFanout(): Promise<void> {
  const f = await fixture();
  const seconds = Math.max(5, DURATION_S);
  await annotatorFanout(f, 2); // warm-up
  const without = await annotatorFanout(f, seconds);
  const watcherTokens = await Promise.all(Array.from({ length: WATCHERS }, (_, i) => testTokens.sign({ sub: `watcher-${i}`, projects: { [f.project.id]: 'viewer' } })));
  const watchers = watcherTokens.map((token) => provider(`dashboard:${f.project.id}`, token));
  await Promise.all(watchers.map((w) => synced(w.provider)));
  let dashboardUpdates = 0;
  watchers[0]!.doc.on('update', () => dashboardUpdates++);
  const withWatchers = await annotatorFanout(f, seconds);
  for (const w of watchers) {
    w.provider.destroy();
    w.doc.destroy();
  }
  const p99a = percentile(without, 99);
  const p99b = percentile(withWatchers, 99);
  console.log(
    `3. ${ANNOTATORS} annotators × ${EDITS_PER_SECOND} edits/s, fan-out p99: ${fmt(p99a)} without watchers (p50 ${fmt(percentile(without, 50))}, n=${without.length}), ` +
      `${fmt(p99b)} with ${WATCHERS} dashboard watchers (p50 ${fmt(percentile(withWatchers, 50))}, n=${withWatchers.length}): ratio ${(p99b / p99a).toFixed(2)} (target ≤ 1.2); ` +
      `${(dashboardUpdates / seconds).toFixed(1)} dashboard updates/s per watcher`,
  );
}

async function evaluation(): Promise<void> {
  const f = await fixture(1000);
  const rnd = seededRandom(42);
  const labels = ['car', 'person', 'bike', 'truck', 'dog'];
  const boxes = 100_000;
  const truth: Array<{ frame: number; bbox: number[]; label: string }> = [];
  for (let i = 0; i < boxes; i++) truth.push({ frame: i % 1000, bbox: [rnd() * 1700, rnd() * 900, 20 + rnd() * 100, 20 + rnd() * 100], label: labels[i % 5]! });
  for (let i = 0; i < boxes; i += 10_000) await must('POST', `/api/sessions/${f.session.id}/annotations`, truth.slice(i, i + 10_000));
  const detections = truth.map((g, i) => {
    if (i % 5 === 4) return { frame: Math.floor(rnd() * 1000), bbox: [rnd() * 1700, rnd() * 900, 30, 30], label: labels[i % 5]!, score: rnd() * 0.7 };
    const [x, y, w, h] = g.bbox as [number, number, number, number];
    return { frame: g.frame, bbox: [Math.min(1800, x + (rnd() - 0.5) * 0.2 * w), y, w, h], label: g.label, score: rnd() };
  });
  const id = await newRun(f);
  for (let i = 0; i < detections.length; i += 50_000) await must('POST', `/api/test-runs/${id}/detections?clip=true`, detections.slice(i, i + 50_000));
  const times: number[] = [];
  let overall: unknown;
  for (let k = 0; k < 4; k++) {
    const t0 = performance.now();
    const res = await must<{ overall: unknown }>('GET', `/api/test-runs/${id}/evaluation`);
    times.push(performance.now() - t0);
    overall = res.overall;
  }
  // What the ground-truth thread keeps between evaluations (server/services/kept-inputs.ts) shows here.
  const rss = serverPid === undefined ? '' : `; server RSS after them ${(readRssBytes(serverPid) / 2 ** 20).toFixed(0)} MiB`;
  console.log(`4. GET /evaluation, 100 000 detections × 100 000 boxes: first ${fmt(times[0]!)}, then ${times.slice(1).map(fmt).join(', ')} (target < 2 s)${rss}`);
  console.log(`   overall ${JSON.stringify(overall)}`);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'annosync-bench-runs-'));
  let server: ChildServer | null = null;
  try {
    // ANNOSYNC_URL: a server started by hand (e.g. under --cpu-prof), with AUTH_SECRET as the tests'.
    if (process.env.ANNOSYNC_URL) {
      base = process.env.ANNOSYNC_URL;
      if (process.env.SERVER_PID) serverPid = Number(process.env.SERVER_PID);
    } else {
      // SERVER_MAIN: another build's entry (a compiled dist/server/main.js, old code), on plain node.
      const entry = process.env.SERVER_MAIN;
      server = await startChildServer({ DATA_DIR: dataDir, REQUESTS_PER_MINUTE: '10000000', LOG_LEVEL: 'warn' }, entry ? { entry } : {});
      base = server.url;
      serverPid = server.process.pid;
    }
    admin = await testTokens.sign({ sub: 'bench', admin: true });
    console.log(`node ${process.version}, ${process.env.DATABASE_URL ? 'postgres' : 'pglite'}, server ${base}, load average ${load()}`);
    const f = await fixture();
    const only = process.env.ONLY;
    if (!only || only.includes('1')) await progressLatency(f);
    if (!only || only.includes('2')) await sustained(f);
    if (!only || only.includes('3')) await dashboardFanout();
    if (!only || only.includes('4')) await evaluation();
  } finally {
    agent.destroy();
    if (server) {
      server.process.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
