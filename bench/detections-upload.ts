/**
 * What one large detections upload and its evaluation do to everyone else: a real server (a child
 * process, embedded PGlite in a temp dir, or Postgres with --postgres), a session of 10 000
 * annotations, one test run per round (its creation freezes a release of the session), `POST
 * /api/test-runs/:id/detections` of N detections, then `GET /api/test-runs/:id/evaluation`, each
 * while another client asks `GET /api/projects/:id` back to back (2 ms apart). Prints per round each one's time and how many GETs were answered
 * meanwhile, their p50 and max: how long the request held the event loop, or on PGlite, whose one
 * connection an open transaction holds, the database (docs/architecture.md, "Reading over REST").
 * --tracks gives the detections tracker ids, so the evaluation adds the tracking metrics; --format
 * posts them as MOTChallenge text or CSV instead of JSON.
 *
 *   npx tsx bench/detections-upload.ts                                  # dist/server/main.js, 50 000, 3 rounds
 *   npx tsx bench/detections-upload.ts --main=.tmp/old/dist/server/main.js --count=100000 --rounds=5
 *   npx tsx bench/detections-upload.ts --postgres                       # postgres://postgres@127.0.0.1:5432/test, a schema of its own
 *   npx tsx bench/detections-upload.ts --tracks                         # 50 tracks: CLEAR MOT, identity and HOTA too
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startChildServer, testTokens } from '../tools/server.ts';
import { percentile } from './lib/stats.ts';
import { benchSchema, dropSchema } from './lib/postgres-schema.ts';

const usage = 'usage: npx tsx bench/detections-upload.ts [--main=dist/server/main.js] [--count=50000] [--rounds=3] [--postgres] [--tracks] [--format=json|mot|csv]';
const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(usage);
  process.exit(0);
}
const option = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
for (const arg of args) if (!/^--(main|count|rounds|format)=|^--(postgres|tracks)$/.test(arg)) throw new Error(`unknown argument ${arg}\n${usage}`);
const entry = option('main', 'dist/server/main.js');
const count = Number(option('count', '50000'));
const rounds = Number(option('rounds', '3'));
const tracks = args.includes('--tracks');
const format = option('format', 'json');
if (format !== 'json' && format !== 'mot' && format !== 'csv') throw new Error(`--format is json, mot or csv\n${usage}`);
const postgresUrl = args.includes('--postgres') ? (process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test') : null;

const dir = mkdtempSync(path.join(tmpdir(), 'detections-upload-'));
const schema = benchSchema();
const server = await startChildServer(
  { DATA_DIR: dir, REQUESTS_PER_MINUTE: '1000000', ...(postgresUrl ? { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema } : {}) },
  { entry },
);
const token = await testTokens.sign({ sub: 'bench', admin: true });

/** `body` as JSON, or as it is when it is text already (of `type`). */
async function must<T>(method: string, p: string, body?: unknown, type = 'application/json'): Promise<T> {
  const res = await fetch(server.url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

try {
  console.log(`detections upload of ${count} (${format}${tracks ? ', tracked' : ''}) on ${postgresUrl ? 'Postgres' : 'PGlite'}, ${entry}`);
  const project = await must<{ id: string }>('POST', '/api/projects', { name: 'bench', labels: [{ name: 'car' }] });
  const video = await must<{ id: string }>('POST', '/api/videos', { name: 'v', uri: 's3://b/v.mp4', width: 1920, height: 1080, fps: 25, frameCount: 1000 });
  await must('POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
  const session = await must<{ id: string }>('POST', `/api/projects/${project.id}/sessions`, { videoId: video.id });
  // The session's ground truth: 10 000 boxes, one near each detection of the first 10 000.
  const truth = Array.from({ length: 10_000 }, (_, i) => ({ frame: i % 1000, bbox: [(i * 37) % 1700, 10 + (i % 10) * 90, 40, 40], label: 'car' }));
  await must('POST', `/api/sessions/${session.id}/annotations`, truth);
  // Made into text once, before any GET is timed: stringified in the round, it held this
  // process's loop (the GETs' too) ~30 ms and was counted as the server's. With --tracks, 50
  // tracker ids, one box each per frame.
  const rows = Array.from({ length: count }, (_, i) => ({
    frame: i % 1000,
    bbox: [((i * 37) % 1700) + 2, 10 + (i % 10) * 90, 40, 40] as const,
    score: (i % 100) / 100,
    track: tracks ? Math.floor(i / 1000) + 1 : null,
  }));
  // The same detections in the format asked for (MOT frames are 1-based; class 1 is the first label).
  const upload = {
    json: () => ({ query: '', type: 'application/json', body: JSON.stringify(rows.map((r) => ({ frame: r.frame, bbox: r.bbox, label: 'car', score: r.score, ...(r.track ? { trackId: `t${r.track}` } : {}) }))) }),
    mot: () => ({ query: '?format=mot', type: 'text/plain', body: rows.map((r) => `${r.frame + 1},${r.track ?? -1},${r.bbox.join(',')},${r.score},1,1`).join('\n') }),
    csv: () => ({ query: '?format=csv', type: 'text/csv', body: `frame,label,x,y,w,h,score,trackId\n${rows.map((r) => `${r.frame},car,${r.bbox.join(',')},${r.score},${r.track ?? ''}`).join('\n')}\n` }),
  }[format]();
  /** `work`'s time, and the waits of a GET of the project asked back to back (2 ms apart) meanwhile. */
  const whileReading = async (work: () => Promise<unknown>): Promise<string> => {
    let working = true;
    const waits: number[] = [];
    const reader = (async () => {
      while (working) {
        const t0 = performance.now();
        await must('GET', `/api/projects/${project.id}`);
        waits.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const t0 = performance.now();
    try {
      await work();
    } finally {
      working = false;
      await reader;
    }
    const ms = performance.now() - t0;
    return `${ms.toFixed(0)} ms; ${waits.length} GETs answered meanwhile, p50 ${percentile(waits, 50).toFixed(1)} ms, max ${percentile(waits, 100).toFixed(1)} ms`;
  };
  for (let round = 0; round < rounds; round++) {
    let run = { id: '' };
    // A run made without a release freezes one of the session (docs/releases.md).
    const create = async () => (run = await must<{ id: string }>('POST', `/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'bench', version: '1' } }));
    console.log(`  round ${round + 1}: run created ${await whileReading(create)}`);
    console.log(`           upload ${await whileReading(() => must('POST', `/api/test-runs/${run.id}/detections${upload.query}`, upload.body, upload.type))}`);
    console.log(`           evaluation ${await whileReading(() => must('GET', `/api/test-runs/${run.id}/evaluation`))}`);
  }
} finally {
  server.process.kill('SIGTERM');
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
  if (postgresUrl) await dropSchema(postgresUrl, schema);
}
