/**
 * Does one slow REST request stall the sockets? Every document lives on one event loop, so a
 * request that holds it delays every delivery to every annotator. The probe (lib/stall-probe.ts, in
 * a worker thread, so the bench's own parsing of answers does not delay it): two stock y-websocket
 * clients on one session document, one writes a timestamped update every 10 ms, the other records
 * send → receive. It runs while, in turn:
 *
 *   idle · the overlap zip bomb (tools/zip-bombs.ts) sent to a YOLO import · a COCO import of
 *   10 000 annotations (the largest import of bench/formats-http.ts) · the load of the exported
 *   document (a loss report, so the next phase is the export alone) · a VOC export of 10 000
 *   annotations · a bulk create of 10 000 annotations · 200 sequential GETs of one frame right
 *   after that bulk create (the background work a big write leaves behind) · a test run made on the
 *   10 000-annotation session (it freezes a release) · 50 000 detections of 50 tracks posted to it
 *   as MOTChallenge text · its evaluation, three times · the diff of that release against the live
 *   session, three times
 *
 * and prints p50 / p99 / max delivery delay per phase (a stamp belongs to the phase it was sent
 * in), the bomb's status and time, the GETs' p99, and /proc/loadavg. Goal: max < 50 ms.
 *
 *   npm run bench:stalls [-- --main=/path/to/other/worktree/server/main.ts] [--cpu-prof=DIR] [--node-args="--flag …"] [--worst]
 *
 * `--main` runs another checkout's server (old code) under the same probe; `--cpu-prof` passes
 * `--cpu-prof` to the server so its profile lands in DIR when it stops; `--node-args` adds node flags
 * to the server's command line (a GC setting, say); `--worst` prints each delivery over 40 ms with
 * its send time on the monotonic clock, where the server's CPU profile timeline puts it. Embedded
 * PGlite, or DATABASE_URL.
 */
import { readFileSync } from 'node:fs';
import { strToU8 } from 'fflate';
import { overlapBomb } from '../tools/zip-bombs.ts';
import { BENCH_AUTH_SECRET, benchAdminToken } from './lib/annosync-rooms.ts';
import { startStallProbe } from './lib/stall-probe.ts';
import { absoluteNow } from './lib/stamps.ts';
import { killAllSync, removeTempDirs, startServer, stopServer, type BenchServer } from './lib/server-process.ts';
import { dropSchema } from './lib/postgres-schema.ts';
import { benchRequest, type BenchReply } from './lib/http-request.ts';
import { percentile } from './lib/stats.ts';

const ANNOTATIONS = 10_000;
const FRAMES = 1000;
const DETECTIONS = 50_000;
const TAIL_MS = 300;
const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const request = (server: BenchServer, method: string, path: string, raw?: { type: string; data: Uint8Array }): Promise<BenchReply> =>
  benchRequest(server, method, path, { token: benchAdminToken, ...(raw ? { raw } : {}) });


async function json<T>(server: BenchServer, method: string, path: string, body?: unknown, type = 'application/json'): Promise<T> {
  const data = body === undefined ? undefined : { type, data: body instanceof Uint8Array ? body : Buffer.from(JSON.stringify(body)) };
  const res = await request(server, method, path, data);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as T;
}

const fixture = (): unknown[] =>
  Array.from({ length: ANNOTATIONS }, (_, k) => ({
    id: `a${k}`,
    frame: k % FRAMES,
    bbox: [(k * 7) % 1800, (k * 13) % 1000, 40.5, 60.25],
    label: ['car', 'person', 'bike'][k % 3],
  }));

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  const main = arg('main');
  const profileDir = arg('cpu-prof');
  const worst = process.argv.includes('--worst');
  const databaseUrl = process.env.DATABASE_URL;
  // A schema of its own on Postgres, dropped at the end, so nothing else on that database is touched.
  const schema = `bench_stalls_${process.pid}`;
  const server = await startServer({
    kind: 'annosync',
    env: { LOG_LEVEL: 'warn', AUTH_SECRET: BENCH_AUTH_SECRET, ...(databaseUrl ? { DATABASE_SCHEMA: schema } : {}) },
    nodeArgs: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(arg('node-args')?.split(' ').filter(Boolean) ?? [])],
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(main ? { main } : {}),
    // The machine may be shared: a loaded one takes a while to start a server under tsx.
    readyTimeoutMs: 180_000,
  });
  console.log(`bench:stalls  server ${main ?? 'this checkout'}  ${databaseUrl ? 'postgres' : 'pglite'}  node ${process.version}  loadavg ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  let probe: Awaited<ReturnType<typeof startStallProbe>> | null = null;
  try {
    const project = await json<{ id: string }>(server, 'POST', '/api/projects', { name: 'stalls', labels: [{ name: 'car' }, { name: 'person' }, { name: 'bike' }] });
    const video = await json<{ id: string }>(server, 'POST', '/api/videos', { name: 'v.mp4', uri: 's3://b/v.mp4', width: 1920, height: 1080, fps: 25, frameCount: FRAMES });
    await json(server, 'POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
    const newSession = async (): Promise<string> => (await json<{ id: string }>(server, 'POST', `/api/projects/${project.id}/sessions`, { videoId: video.id })).id;

    // Fixtures first, outside every phase: a 10 000-annotation session, its COCO export, the bomb.
    const source = await newSession();
    await json(server, 'POST', `/api/sessions/${source}/annotations`, fixture());
    const coco = strToU8((await request(server, 'GET', `/api/sessions/${source}/export?format=coco`)).body);
    // A tracker's output over the source session: 50 tracks, one box each per frame, near its boxes.
    const mot = strToU8(
      Array.from({ length: DETECTIONS }, (_, i) => `${(i % FRAMES) + 1},${Math.floor(i / FRAMES) + 1},${((i * 7) % 1800) + 2},${(i * 13) % 1000},40.5,60.25,${(i % 100) / 100},${(i % 3) + 1},1`).join('\n'),
    );
    const bomb = overlapBomb({ entries: 1000, inflatedBytes: 16 * 1024 * 1024, name: (k) => `obj_train_data/frame_${String(k).padStart(6, '0')}.txt` });
    const targets = [await newSession(), await newSession(), await newSession()];
    const bulkTarget = await newSession();
    const probeRoom = `session:${await newSession()}`;
    // Let the fixtures' background work (projection, compaction) finish before "idle".
    await pause(5000);
    probe = await startStallProbe(server, probeRoom);
    await pause(1000);
    /** [start (absolute ms), name]: a stamp belongs to the phase it was sent in. */
    const phases: [number, string][] = [[0, 'warm-up']];
    const enter = (name: string): void => void phases.push([absoluteNow(), name]);

    const notes: string[] = [];
    const phase = async (name: string, action: () => Promise<void>): Promise<void> => {
      enter(name);
      await action();
      enter(`${name} (after)`);
      await pause(TAIL_MS);
    };
    await phase('idle', () => pause(2000));
    await phase('overlap zip bomb import', async () => {
      for (let run = 0; run < 3; run++) {
        const t = performance.now();
        const res = await request(server, 'POST', `/api/sessions/${targets[0]}/import?format=yolo`, { type: 'application/zip', data: bomb });
        notes.push(`bomb (${(bomb.length / 1000).toFixed(0)} kB) run ${run + 1}: ${res.status} in ${(performance.now() - t).toFixed(1)} ms`);
      }
    });
    await phase('COCO import 10 000', async () => {
      for (const target of targets) {
        const res = await request(server, 'POST', `/api/sessions/${target}/import?format=coco`, { type: 'application/json', data: coco });
        if (res.status !== 200) throw new Error(`import: ${res.status} ${res.body.slice(0, 300)}`);
      }
    });
    // The source document may have left memory by now: its load (Yjs, on the main thread) is not the export's.
    await phase('load the 10 000 doc (report)', async () => {
      const res = await request(server, 'GET', `/api/sessions/${source}/export?format=voc&report=true`);
      if (res.status !== 200) throw new Error(`report: ${res.status}`);
    });
    await phase('VOC export 10 000', async () => {
      for (let run = 0; run < 3; run++) {
        const res = await request(server, 'GET', `/api/sessions/${source}/export?format=voc`);
        if (res.status !== 200) throw new Error(`export: ${res.status}`);
      }
    });
    await phase('bulk create 10 000', async () => {
      await json(server, 'POST', `/api/sessions/${bulkTarget}/annotations`, fixture());
    });
    const gets: number[] = [];
    await phase('200 GETs after it', async () => {
      for (let k = 0; k < 200; k++) {
        const t = performance.now();
        const res = await request(server, 'GET', `/api/sessions/${bulkTarget}/annotations?frame=${k % FRAMES}`);
        if (res.status !== 200) throw new Error(`GET frame: ${res.status}`);
        gets.push(performance.now() - t);
      }
    });
    notes.push(`200 GETs of one frame after the bulk create: p50 ${percentile(gets, 50).toFixed(1)} ms, p99 ${percentile(gets, 99).toFixed(1)} ms, max ${Math.max(...gets).toFixed(1)} ms`);
    let run = '';
    await phase('test run created (release of 10 000)', async () => {
      run = (await json<{ id: string }>(server, 'POST', `/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: source, model: { name: 'stalls' } })).id;
    });
    await phase(`MOT upload ${DETECTIONS / 1000} 000 tracked`, async () => {
      await json(server, 'POST', `/api/test-runs/${run}/detections?format=mot`, mot, 'text/plain');
    });
    await phase(`evaluation ${DETECTIONS / 1000} 000 tracked`, async () => {
      for (let k = 0; k < 3; k++) await json(server, 'GET', `/api/test-runs/${run}/evaluation`);
    });
    const [release] = (await json<{ items: { id: string }[] }>(server, 'GET', `/api/sessions/${source}/releases`)).items;
    await phase('release diff against the live session', async () => {
      for (let k = 0; k < 3; k++) await json(server, 'GET', `/api/sessions/${source}/releases/${release!.id}/diff?to=live`);
    });
    await phase('idle again', () => pause(2000));
    const samples = await probe.stop();
    probe = null;
    const delays = new Map<string, number[]>();
    for (const sample of samples) {
      const name = phases.findLast(([start]) => start <= sample.sentAt)![1];
      if (!delays.has(name)) delays.set(name, []);
      delays.get(name)!.push(sample.latencyMs);
      if (worst && sample.latencyMs > 40) console.log(`${name}: ${sample.latencyMs.toFixed(1)} ms, sent at ${sample.sentMonoUs} µs (monotonic)`);
    }

    const idle = percentile(delays.get('idle') ?? [], 50);
    console.log(`\n${'phase'.padEnd(30)} ${'n'.padStart(5)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}  max/idle p50`);
    for (const [name, list] of delays) {
      if (name === 'warm-up') continue;
      const max = Math.max(...list);
      console.log(
        `${name.padEnd(30)} ${String(list.length).padStart(5)} ${percentile(list, 50).toFixed(1).padStart(8)} ${percentile(list, 99).toFixed(1).padStart(8)} ${max.toFixed(1).padStart(8)}  ${(max / idle).toFixed(1)}×`,
      );
    }
    for (const note of notes) console.log(note);
    console.log(`loadavg at the end ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  } finally {
    await probe?.stop();
    await stopServer(server, 15_000);
    removeTempDirs();
    if (databaseUrl) await dropSchema(databaseUrl, schema);
  }
}

await main();
