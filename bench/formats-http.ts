/**
 * Issue 4's numbers over HTTP, against the real server (`server/main.ts` as a child process, so
 * its RSS is its own; embedded PGlite, or DATABASE_URL):
 *
 * 1. COCO export of a 10 000-annotation session (GET until the last byte; best of 5, < 100 ms)
 *    and its import into an empty session (POST until the answer = committed; best of 3, < 500 ms);
 * 2. 100 tracks × 9 000 frames (3 000 keyframes → 900 000 boxes) exported in each format, each
 *    on a fresh server: time to the last byte (< 10 s) and the server's peak RSS while it streams
 *    (VmRSS sampled every 20 ms; < 200 MB).
 *
 *   npx tsx bench/formats-http.ts [--only=small|big]
 */
import type { Annotation } from '../docs-model/types.ts';
import { benchRequest, type BenchReply } from './lib/http-request.ts';
import { BENCH_AUTH_SECRET, benchAdminToken } from './lib/annosync-rooms.ts';
import { killAllSync, readRssBytes, removeTempDirs, startServer, stopServer, type BenchServer } from './lib/server-process.ts';
import { dropSchema } from './lib/postgres-schema.ts';

const FORMATS = ['coco', 'yolo', 'ultralytics', 'voc', 'json'] as const;
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

/** Every request as the bench's admin; `raw` is a body and its type. */
const request = (server: BenchServer, method: string, path: string, raw?: { type: string; data: Uint8Array }, opts: { discardBody?: boolean } = {}): Promise<BenchReply> =>
  benchRequest(server, method, path, { token: benchAdminToken, ...(raw ? { raw } : {}), ...opts });

const ann = (id: string, frame: number, bbox: Annotation['bbox'], trackId: string | null, label: string): Annotation => ({
  id, frame, bbox, label, trackId, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'validated', source: 'manual', createdBy: 'alice', updatedBy: 'alice', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000,
});

const nativeFile = (annotations: Annotation[], tracks: object[]): Buffer =>
  Buffer.from(JSON.stringify({ format: 'annosync-session', schemaVersion: 1, meta: {}, labels: { car: {}, person: {}, bike: {} }, tracks, annotations }));

/** A session on a new video of `frameCount` frames (1920×1080). */
async function newSession(server: BenchServer, projectId: string, frameCount: number): Promise<string> {
  const post = async (path: string, body: unknown): Promise<{ id: string }> => {
    const res = await request(server, 'POST', path, { type: 'application/json', data: Buffer.from(JSON.stringify(body)) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as { id: string };
  };
  const video = await post('/api/videos', { name: `v${Math.random()}`, uri: 's3://b/v.mp4', width: 1920, height: 1080, fps: 25, frameCount });
  await post(`/api/projects/${projectId}/videos`, { videoIds: [video.id] });
  return (await post(`/api/projects/${projectId}/sessions`, { videoId: video.id })).id;
}

// A schema of its own on Postgres (every server of the run shares it), dropped at the end, so
// nothing else on that database is touched.
const databaseUrl = process.env.DATABASE_URL;
const schema = `bench_formats_${process.pid}`;

async function setup(): Promise<{ server: BenchServer; projectId: string }> {
  const server = await startServer({
    kind: 'annosync',
    env: { AUTH_SECRET: BENCH_AUTH_SECRET, LOG_LEVEL: 'warn', ...(databaseUrl ? { DATABASE_SCHEMA: schema } : {}) },
    ...(databaseUrl ? { databaseUrl } : {}),
  });
  const res = await request(server, 'POST', '/api/projects', { type: 'application/json', data: Buffer.from(JSON.stringify({ name: 'bench', labels: [{ name: 'car' }, { name: 'person' }, { name: 'bike' }] })) });
  return { server, projectId: (JSON.parse(res.body) as { id: string }).id };
}

const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const out = await fn();
  return [out, performance.now() - t];
};

async function small(): Promise<void> {
  const { server, projectId } = await setup();
  try {
    const source = await newSession(server, projectId, 1000);
    const annotations = Array.from({ length: 10_000 }, (_, k) => ann(`a${k}`, k % 1000, [(k * 7) % 1800, (k * 13) % 1000, 40.5, 60.25], null, ['car', 'person', 'bike'][k % 3]!));
    const filled = await request(server, 'POST', `/api/sessions/${source}/import?format=json&mode=replace`, { type: 'application/json', data: nativeFile(annotations, []) });
    if (filled.status !== 200) throw new Error(`fill: ${filled.status} ${filled.body}`);
    let exportMs = Infinity;
    let coco = '';
    for (let run = 0; run < 5; run++) {
      const [res, ms] = await timed(() => request(server, 'GET', `/api/sessions/${source}/export?format=coco`));
      if (res.status !== 200) throw new Error(`export: ${res.status}`);
      exportMs = Math.min(exportMs, ms);
      coco = res.body;
    }
    let importMs = Infinity;
    let answer = '';
    for (let run = 0; run < 3; run++) {
      const target = await newSession(server, projectId, 1000);
      const [res, ms] = await timed(() => request(server, 'POST', `/api/sessions/${target}/import?format=coco`, { type: 'application/json', data: Buffer.from(coco) }));
      if (res.status !== 200) throw new Error(`import: ${res.status} ${res.body.slice(0, 500)}`);
      importMs = Math.min(importMs, ms);
      answer = res.body;
    }
    const { imported } = JSON.parse(answer) as { imported: number };
    // The same import with dryRun (parse, check, write into a copy, no commit): where the time goes.
    let dryMs = Infinity;
    const dryTarget = await newSession(server, projectId, 1000);
    for (let run = 0; run < 3; run++) {
      const [, ms] = await timed(() => request(server, 'POST', `/api/sessions/${dryTarget}/import?format=coco&dryRun=true`, { type: 'application/json', data: Buffer.from(coco) }));
      dryMs = Math.min(dryMs, ms);
    }
    console.log(
      `COCO 10 000 annotations over HTTP: export ${exportMs.toFixed(1)} ms (target < 100), import ${importMs.toFixed(1)} ms (target < 500; ${imported} created, committed; ${dryMs.toFixed(0)} ms as dryRun), ${(coco.length / 1024).toFixed(0)} KiB`,
    );
  } finally {
    await stopServer(server);
  }
}

async function big(format: (typeof FORMATS)[number]): Promise<void> {
  const { server, projectId } = await setup();
  try {
    const session = await newSession(server, projectId, 9000);
    const annotations: Annotation[] = [];
    for (let t = 0; t < 100; t++) for (let f = 0; f < 9000; f += 300) annotations.push(ann(`t${t}k${f}`, f, [(t * 17 + f / 10) % 1800, (t * 9) % 1000, 60, 40], `t${t}`, 'car'));
    const tracks = Array.from({ length: 100 }, (_, t) => ({ id: `t${t}`, label: 'car', attributes: {}, interpolation: 'linear' }));
    const filled = await request(server, 'POST', `/api/sessions/${session}/import?format=json&mode=replace`, { type: 'application/json', data: nativeFile(annotations, tracks) });
    if (filled.status !== 200) throw new Error(`fill: ${filled.status} ${filled.body}`);
    const startRss = readRssBytes(server.pid);
    let peak = startRss;
    const sampler = setInterval(() => (peak = Math.max(peak, readRssBytes(server.pid))), 20);
    const [res, ms] = await timed(() => request(server, 'GET', `/api/sessions/${session}/export?format=${format}`, undefined, { discardBody: true }));
    clearInterval(sampler);
    peak = Math.max(peak, readRssBytes(server.pid));
    if (res.status !== 200) throw new Error(`export ${format}: ${res.status}`);
    console.log(`  ${format.padEnd(11)} ${(ms / 1000).toFixed(2)} s (target < 10), ${mb(res.bytes)} out, server peak RSS ${mb(peak)} (target < 200 MB; ${mb(startRss)} before)`);
  } finally {
    await stopServer(server);
  }
}

process.on('exit', killAllSync);
// --only=small (the 10 000-annotation COCO round) or --only=big (the 900 000-box exports).
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
try {
  if (only !== 'big') await small();
  if (only !== 'small') {
    console.log(`100 tracks × 9 000 frames (3 000 keyframes → 900 000 boxes) over HTTP on ${process.env.DATABASE_URL ? 'Postgres' : 'PGlite'}, each on a fresh server:`);
    for (const format of FORMATS) await big(format);
  }
} finally {
  removeTempDirs();
  if (databaseUrl) await dropSchema(databaseUrl, schema);
}
