/**
 * What one large detections upload does to everyone else: a real server (a child process, embedded
 * PGlite in a temp dir, or Postgres with --postgres), one test run, and `POST
 * /api/test-runs/:id/detections` of N detections while another client asks `GET
 * /api/test-runs/:id` back to back (2 ms apart). Prints per round the upload's time and how many
 * GETs were answered meanwhile, their p50 and max: on PGlite, whose one connection an open
 * transaction holds, the max is how long the upload held the database
 * (docs/architecture.md, "Reading over REST").
 *
 *   npx tsx bench/detections-upload.ts                                  # dist/server/main.js, 50 000, 3 rounds
 *   npx tsx bench/detections-upload.ts --main=.tmp/old/dist/server/main.js --count=100000 --rounds=5
 *   npx tsx bench/detections-upload.ts --postgres                       # postgres://postgres@127.0.0.1:5432/test, a schema of its own
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startChildServer, testTokens } from '../tools/server.ts';
import { percentile } from './lib/stats.ts';
import { benchSchema, dropSchema } from './lib/postgres-schema.ts';

const usage = 'usage: npx tsx bench/detections-upload.ts [--main=dist/server/main.js] [--count=50000] [--rounds=3] [--postgres]';
const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(usage);
  process.exit(0);
}
const option = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
for (const arg of args) if (!/^--(main|count|rounds)=|^--postgres$/.test(arg)) throw new Error(`unknown argument ${arg}\n${usage}`);
const entry = option('main', 'dist/server/main.js');
const count = Number(option('count', '50000'));
const rounds = Number(option('rounds', '3'));
const postgresUrl = args.includes('--postgres') ? (process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test') : null;

const dir = mkdtempSync(path.join(tmpdir(), 'detections-upload-'));
const schema = benchSchema();
const server = await startChildServer(
  { DATA_DIR: dir, REQUESTS_PER_MINUTE: '1000000', ...(postgresUrl ? { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema } : {}) },
  { entry },
);
const token = await testTokens.sign({ sub: 'bench', admin: true });

/** `body` as JSON, or as it is when it is JSON text already. */
async function must<T>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(server.url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

try {
  console.log(`detections upload of ${count} on ${postgresUrl ? 'Postgres' : 'PGlite'}, ${entry}`);
  const project = await must<{ id: string }>('POST', '/api/projects', { name: 'bench', labels: [{ name: 'car' }] });
  const video = await must<{ id: string }>('POST', '/api/videos', { name: 'v', uri: 's3://b/v.mp4', width: 1920, height: 1080, fps: 25, frameCount: 1000 });
  await must('POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
  const session = await must<{ id: string }>('POST', `/api/projects/${project.id}/sessions`, { videoId: video.id });
  // Made into text once, before any GET is timed: stringified in the round, it held this
  // process's loop (the GETs' too) ~30 ms and was counted as the server's.
  const detections = JSON.stringify(Array.from({ length: count }, (_, i) => ({ frame: i % 1000, bbox: [i % 1700, 10, 30, 30], label: 'car', score: 0.5 })));
  for (let round = 0; round < rounds; round++) {
    const run = await must<{ id: string }>('POST', `/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'bench', version: '1' } });
    let uploading = true;
    const waits: number[] = [];
    const reader = (async () => {
      while (uploading) {
        const t0 = performance.now();
        await must('GET', `/api/test-runs/${run.id}`);
        waits.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const t0 = performance.now();
    await must('POST', `/api/test-runs/${run.id}/detections`, detections);
    const ms = performance.now() - t0;
    uploading = false;
    await reader;
    console.log(`  round ${round + 1}: upload ${ms.toFixed(0)} ms; ${waits.length} GETs answered meanwhile, p50 ${percentile(waits, 50).toFixed(1)} ms, max ${percentile(waits, 100).toFixed(1)} ms`);
  }
} finally {
  server.process.kill('SIGTERM');
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
  if (postgresUrl) await dropSchema(postgresUrl, schema);
}
