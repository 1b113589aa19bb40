/**
 * REST numbers, against the real server (`server/main.ts` as a child process, embedded
 * PGlite or DATABASE_URL), so the load generator does not share the server's CPU:
 *
 * 1. bulk create: 10 000 annotations in one POST, timed until the answer (= committed);
 * 2. GET the annotations of one frame of that 10 000-annotation session, 50 concurrent
 *    keep-alive connections: p50 / p99 / max, after a warm-up of 2 000 requests over those
 *    connections (printed on its own); then the same load on the floor (bench/lib/http-floor.ts: koa
 *    answering a body of the same size and nothing else), which tells what this machine's Node HTTP
 *    stack and the load generator alone cost (--no-floor to skip);
 * 3. projection lag: 1 000 live edits from a WebsocketProvider (one transaction each), then the
 *    time until the `annotations` table shows all of them (read through the session's counts);
 * 4. single writes: 200 POSTs of one annotation, one after the other (a script's loop), each
 *    answered once its update is committed: p50 / p90;
 * 5. the server's RSS after all that, and again 90 s (--idle-ms) later with nothing asked of it.
 *
 *   npx tsx bench/rest.ts            # targets: p99 < 20 ms, bulk < 1 s, lag < 1 s
 *   npx tsx bench/rest.ts --no-floor # without the floor's run (see 2.)
 *   DATABASE_URL=postgres://… npx tsx bench/rest.ts   # on Postgres (a schema of its own, dropped after)
 *   npx tsx bench/rest.ts --main=../other/server/main.ts   # another checkout's server, to compare
 *   npx tsx bench/rest.ts --cpu-prof-dir=/tmp/prof         # the server's CPU profile (written at its exit)
 *   SERVER_NODE_ARGS=--trace-gc npx tsx bench/rest.ts      # more node flags for the server
 */
import http from 'node:http';
import { loadavg } from 'node:os';
import { updateAnnotation } from '../docs-model/index.ts';
import { percentile, seededRandom } from './lib/stats.ts';
import { killAllSync, readCpuMs, readRssBytes, removeTempDirs, startServer, stopServer, type BenchServer } from './lib/server-process.ts';
import { dropSchema } from './lib/postgres-schema.ts';
import { benchRequest, type BenchReply } from './lib/http-request.ts';
import { untilQuiet } from './lib/settle.ts';
import { closeClient, openClient, waitSynced } from './lib/clients.ts';
import { BENCH_AUTH_SECRET, benchAdminToken } from './lib/annosync-rooms.ts';
import { wasmResident } from '../tools/wasm-resident.ts';

const ANNOTATIONS = 10_000;

const FRAMES = 3_000;
const CONNECTIONS = 50;
const REQUESTS = 20_000;
const WARM_REQUESTS = 2_000;
const LIVE_EDITS = 1_000;
/** Annotators sending the edits (EDITORS=10 for a crowd: more fan-out per edit). */
const EDITORS = Number(process.env.EDITORS ?? 2);
const BULK_RUNS = 3;
const SINGLE_WRITES = 200;
const SEED = Number(process.env.SEED ?? 20261124);
const argument = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const MAIN = argument('main');
/**
 * How long the server is left alone before its RSS is read again (--idle-ms): its documents unload
 * 30 s after their last use (IDLE_UNLOAD_MS) and are compacted then, in the merge worker, which is
 * ended 30 s after its last merge (persistence/merge-worker.ts); once the database has been quiet
 * for 5 s, a PGlite thread is replaced (persistence/pglite-connection.ts). The main thread's
 * garbage goes whenever V8 collects it, so one reading says little on its own.
 */
const IDLE_MS = Number(argument('idle-ms') ?? 90_000);
const CPU_PROF_DIR = argument('cpu-prof-dir');

// The server runs with the bench's AUTH_SECRET; every request carries its admin token.
const request = (agent: http.Agent, server: BenchServer, method: string, path: string, body?: unknown): Promise<BenchReply> =>
  benchRequest(server, method, path, { agent, token: benchAdminToken, ...(body === undefined ? {} : { json: body }) });


async function json<T>(agent: http.Agent, server: BenchServer, method: string, path: string, body?: unknown, expect = 200): Promise<T> {
  const reply = await request(agent, server, method, path, body);
  if (reply.status !== expect) throw new Error(`${method} ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
  return JSON.parse(reply.body) as T;
}

function fixture(random: () => number, count: number): unknown[] {
  const labels = ['car', 'pedestrian', 'cyclist', 'truck'];
  return Array.from({ length: count }, (_, i) => ({
    frame: i % FRAMES,
    bbox: [Math.round(random() * 1700), Math.round(random() * 860), 20 + Math.round(random() * 200), 20 + Math.round(random() * 200)],
    label: labels[Math.floor(random() * labels.length)],
    detectionId: random() < 0.3 ? `d-${i}` : null,
  }));
}

async function newSession(agent: http.Agent, server: BenchServer, projectId: string, videoId: string): Promise<{ id: string; docName: string }> {
  return json(agent, server, 'POST', `/api/projects/${projectId}/sessions`, { videoId }, 201);
}

async function main(): Promise<void> {
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  const random = seededRandom(SEED);
  console.log(`bench:rest  seed ${SEED}  ${process.env.DATABASE_URL ? 'postgres' : 'pglite'}  node ${process.version}  ${MAIN ?? 'server/main.ts'}  load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}`);
  const databaseUrl = process.env.DATABASE_URL;
  // A schema of its own on Postgres, dropped at the end, so nothing else on that database is touched.
  const schema = `bench_rest_${process.pid}`;
  const server = await startServer({
    kind: 'annosync',
    env: { LOG_LEVEL: 'warn', AUTH_SECRET: BENCH_AUTH_SECRET, ...(databaseUrl ? { DATABASE_SCHEMA: schema } : {}) },
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(MAIN ? { main: MAIN } : {}),
    nodeArgs: [...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []), ...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
    readyTimeoutMs: 120_000,
  });
  let agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    const project = await json<{ id: string }>(agent, server, 'POST', '/api/projects', {
      name: 'bench',
      labels: ['car', 'pedestrian', 'cyclist', 'truck'].map((name) => ({ name })),
    }, 201);
    const video = await json<{ id: string }>(agent, server, 'POST', '/api/videos', {
      name: 'bench.mp4', uri: 'file:///bench.mp4', width: 1920, height: 1080, fps: 30, frameCount: FRAMES,
    }, 201);
    await json(agent, server, 'POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });

    // 1. Bulk create, committed when the answer arrives.
    const bulkMs: number[] = [];
    let session = { id: '', docName: '' };
    for (let run = 0; run < BULK_RUNS; run++) {
      session = await newSession(agent, server, project.id, video.id);
      const body = fixture(random, ANNOTATIONS);
      const started = performance.now();
      const created = await json<{ items: unknown[] }>(agent, server, 'POST', `/api/sessions/${session.id}/annotations`, body, 201);
      bulkMs.push(performance.now() - started);
      if (created.items.length !== ANNOTATIONS) throw new Error('bulk create lost annotations');
    }
    console.log(`bulk create ${ANNOTATIONS} in one request (committed): ${bulkMs.map((ms) => ms.toFixed(0)).join(' / ')} ms  (target < 1000)`);

    // The bulk creates' projection settles first: the reads below measure the steady state.
    type Detail = { annotations: { total: number; byStatus: Record<string, number> } };
    await (async function waitProjected() {
      for (;;) {
        const d = await json<Detail>(agent, server, 'GET', `/api/sessions/${session.id}`);
        if (d.annotations.total === ANNOTATIONS) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // The history and activity of 30 000 new annotations are written after the projection, in
    // slices, for several seconds more; reads during them are what bench:stalls measures (its
    // "200 GETs right after a bulk create"). Here the steady state: the server's CPU quiet first.
    const quietMs = await untilQuiet(server, 120_000);
    console.log(`background work after the bulk creates (projection, history, activity): done ${(quietMs / 1000).toFixed(1)} s after the projection`);

    // 2. One frame of the last 10 000-annotation session, 50 concurrent connections. The first
    // WARM_REQUESTS run over the same 50 connections and are reported on their own: they open the
    // sockets and warm both processes' code for this load (a warm-up of sequential requests on one
    // socket left the measured phase to open 49 sockets, and its first second ran at a quarter of
    // the steady rate, p50 22-32 ms, which was most of the p99).
    const framePath = () => `/api/sessions/${session.id}/annotations?frame=${Math.floor(random() * FRAMES)}`;
    let bodyBytes = 0;
    const concurrently = async (count: number, target: BenchServer = server): Promise<number[]> => {
      const latencies: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < count) {
            next++;
            const t0 = performance.now();
            const reply = await request(agent, target, 'GET', framePath());
            latencies.push(performance.now() - t0);
            if (reply.status !== 200) throw new Error(`GET frame: ${reply.status}`);
            bodyBytes = Buffer.byteLength(reply.body);
          }
        }),
      );
      return latencies;
    };
    const cold = await concurrently(WARM_REQUESTS);
    console.log(
      `GET one frame, the first ${WARM_REQUESTS} requests over ${CONNECTIONS} fresh connections (warm-up): ` +
        `p50 ${percentile(cold, 50).toFixed(2)} ms  p99 ${percentile(cold, 99).toFixed(2)} ms  max ${percentile(cold, 100).toFixed(2)} ms`,
    );
    const cpuBefore = readCpuMs(server.pid);
    const started = performance.now();
    const latencies = await concurrently(REQUESTS);
    const elapsed = (performance.now() - started) / 1000;
    const serverCpuUs = ((readCpuMs(server.pid) - cpuBefore) * 1000) / REQUESTS;
    console.log(
      `GET one frame of a ${ANNOTATIONS}-annotation session, ${CONNECTIONS} connections, ${REQUESTS} requests: ` +
        `p50 ${percentile(latencies, 50).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms  max ${percentile(latencies, 100).toFixed(2)} ms  ` +
        `${Math.round(REQUESTS / elapsed)} req/s  server CPU ${serverCpuUs.toFixed(0)} µs/request  (target p99 < 20)`,
    );

    if (!process.argv.includes('--no-floor')) {
      const floor = await startServer({ kind: 'http-floor', env: { FLOOR_BODY_BYTES: String(bodyBytes) } });
      try {
        await concurrently(WARM_REQUESTS, floor);
        const floorCpu = readCpuMs(floor.pid);
        const floorStarted = performance.now();
        const floorLatencies = await concurrently(REQUESTS, floor);
        const floorElapsed = (performance.now() - floorStarted) / 1000;
        console.log(
          `the floor (koa answering ${bodyBytes} bytes, nothing else), same load: p50 ${percentile(floorLatencies, 50).toFixed(2)} ms  p99 ${percentile(floorLatencies, 99).toFixed(2)} ms  ` +
            `max ${percentile(floorLatencies, 100).toFixed(2)} ms  ${Math.round(REQUESTS / floorElapsed)} req/s  server CPU ${(((readCpuMs(floor.pid) - floorCpu) * 1000) / REQUESTS).toFixed(0)} µs/request` +
            `  (annosync's p99 ${(percentile(latencies, 99) / percentile(floorLatencies, 99)).toFixed(2)}× the floor's)`,
        );
      } finally {
        await stopServer(floor);
      }
    }

    // 3. Projection lag after a burst of live edits. A fresh agent: the read phase's idle
    // keep-alive sockets may have been closed by the server (keepAliveTimeout) meanwhile.
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    // A few annotators share the edits (one connection's burst must stay within the server's
    // message-rate allowance, MESSAGE_BURST); each edit is its own transaction and update message.
    const clients = Array.from({ length: EDITORS }, () => openClient(server, session.docName));
    try {
      await Promise.all(clients.map((c) => waitSynced(c)));
      const ids = (await json<{ items: Array<{ id: string }> }>(agent, server, 'GET', `/api/sessions/${session.id}/annotations?limit=${LIVE_EDITS}`)).items.map((a) => a.id);
      const started = performance.now();
      ids.forEach((id, i) => updateAnnotation((clients[i % EDITORS] as (typeof clients)[number]).doc, id, { status: 'validated' }, { by: 'bench' }));
      const sent = performance.now();
      for (;;) {
        const d = await json<Detail>(agent, server, 'GET', `/api/sessions/${session.id}`);
        if ((d.annotations.byStatus.validated ?? 0) >= LIVE_EDITS) break;
        if (performance.now() - sent > 30_000) throw new Error('projection did not catch up within 30 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      console.log(
        `projection lag after ${LIVE_EDITS} live edits (${EDITORS} clients, sent in ${(sent - started).toFixed(0)} ms): ` +
          `${(performance.now() - sent).toFixed(0)} ms after the last one  (target < 1000)`,
      );
    } finally {
      for (const c of clients) closeClient(c);
    }

    // 4. A script's single writes, one after the other: each answered once its update is committed.
    const single: number[] = [];
    for (let i = 0; i < SINGLE_WRITES; i++) {
      const started = performance.now();
      await json(agent, server, 'POST', `/api/sessions/${session.id}/annotations`, fixture(random, 1)[0], 201);
      single.push(performance.now() - started);
    }
    console.log(
      `${SINGLE_WRITES} single-annotation POSTs one after the other (each answered once committed): ` +
        `p50 ${percentile(single, 50).toFixed(2)} ms  p90 ${percentile(single, 90).toFixed(2)} ms`,
    );

    // 5. What the server holds after it all, and once left alone (PGlite's thread is replaced
    //    after a quiet moment, giving back what the large statements took: persistence/pglite-connection.ts).
    //    The RSS follows V8's collections too (garbage waits for one); PGlite's memory does not.
    const rssAtEnd = readRssBytes(server.pid);
    const wasmAtEnd = databaseUrl ? 0 : wasmResident(server.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(`server RSS: ${mib(rssAtEnd)} MiB after the writes, ${mib(readRssBytes(server.pid))} MiB ${IDLE_MS / 1000} s later`);
    if (!databaseUrl) {
      console.log(`PGlite's memory (resident): ${mib(wasmAtEnd)} MiB after the writes, ${mib(wasmResident(server.pid))} MiB ${IDLE_MS / 1000} s later`);
    }
  } finally {
    agent.destroy();
    await stopServer(server);
    removeTempDirs();
    if (databaseUrl) {
      await dropSchema(databaseUrl, schema);
    }
  }
}

await main();
