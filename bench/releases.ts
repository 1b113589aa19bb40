/**
 * Release numbers: `npx tsx bench/releases.ts [--postgres] [--quick]`.
 * - A 10 000-annotation session (8 000 boxes, 400 tracks of 5 keyframes over a 9 000-frame video):
 *   freeze, counts, canonical bytes + SHA-256, compressed insert and read back (PGlite, and
 *   Postgres with --postgres and DATABASE_URL) — target < 300 ms for a release.
 * - The diff of two such releases (5 % of annotations moved, 1 % relabelled, 1 % deleted, 1 % added)
 *   — target < 200 ms.
 * - The error analysis of 100 000 detections (evaluation-details.ts) next to evaluateDetections.
 * - `annosync run` uploading 100 000 detections (CSV) to a real server and printing the
 *   evaluation, end to end as a child process — target < 10 s.
 * Medians of several repetitions; the machine is shared, so compare within one run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as Y from 'yjs';
import { addAnnotations, addTrack, initSession, updateAnnotation, deleteAnnotation, addAnnotation, type AnnotationInput } from '../docs-model/index.ts';
import { canonicalReleaseBytes, freezeSession, releaseContentHash, releaseCounts } from '../docs-model/release-content.ts';
import { diffReleases } from '../docs-model/release-diff.ts';
import { evaluateDetections, type DetectionBox, type GroundTruthBox } from '../docs-model/evaluation.ts';
import { evaluationDetails } from '../docs-model/evaluation-details.ts';
import { createReleasesRepository } from '../persistence/repositories/releases.ts';
import { decodeReleaseText } from '../server/services/release-text.ts';
import { createProjectRepository } from '../persistence/repositories/projects.ts';
import { createVideoRepository } from '../persistence/repositories/videos.ts';
import { createSessionRepository } from '../persistence/repositories/sessions.ts';
import { openTestDatabase } from '../tools/databases.ts';
import { createTestStorage } from '../tools/server.ts';
import { linkedSession, startApiServer } from '../tools/api.ts';

const quick = process.argv.includes('--quick');
const postgres = process.argv.includes('--postgres');
const REPEAT = quick ? 3 : 7;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(label: string, fn: () => unknown | Promise<unknown>, repeat = REPEAT): Promise<number> {
  const ms: number[] = [];
  for (let k = 0; k < repeat; k++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  const m = median(ms);
  console.log(`${label.padEnd(58)} ${m.toFixed(1).padStart(8)} ms  (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)})`);
  return m;
}

const random = (s: number): (() => number) => () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};

function bigSession(): Y.Doc {
  const rnd = random(7);
  const doc = new Y.Doc();
  initSession(doc, { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 30, frameCount: 9000 }, labels: { car: {}, person: {}, bike: {} } });
  const inputs: AnnotationInput[] = [];
  const labels = ['car', 'person', 'bike'];
  for (let t = 0; t < 400; t++) {
    addTrack(doc, { id: `t${t}`, label: labels[t % 3]! });
    for (let k = 0; k < 5; k++) inputs.push({ id: `t${t}k${k}`, frame: (t * 20 + k * 4) % 9000, bbox: [rnd() * 1500, rnd() * 800, 50, 80], label: labels[t % 3]!, trackId: `t${t}`, outside: k === 4 });
  }
  for (let i = 0; i < 8000; i++) inputs.push({ id: `a${i}`, frame: Math.floor(rnd() * 9000), bbox: [rnd() * 1800, rnd() * 1000, 20 + rnd() * 100, 20 + rnd() * 60], label: labels[i % 3]!, attributes: { i } });
  addAnnotations(doc, inputs, { by: 'bench', now: 1 });
  return doc;
}

const doc = bigSession();
console.log(`session: ${freezeSession(doc).annotations.length} annotations, ${releaseCounts(freezeSession(doc)).boxes} boxes after expansion`);
const content = freezeSession(doc);
await time('freezeSession (readSession of the document)', () => freezeSession(doc));
await time('releaseCounts (tracks expanded over 9 000 frames)', () => releaseCounts(content));
await time('canonicalReleaseBytes', () => canonicalReleaseBytes(content));
await time('SHA-256 of the canonical bytes (node:crypto)', () => createHash('sha256').update(canonicalReleaseBytes(content)).digest('hex'));
await time('releaseContentHash (canonical bytes + Web Crypto)', () => releaseContentHash(content));
console.log(`canonical form: ${(canonicalReleaseBytes(content).byteLength / 1e6).toFixed(2)} MB`);

for (const kind of postgres && process.env.DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)) {
  const t = await openTestDatabase(kind);
  const { knex } = t.db;
  await createProjectRepository({ knex }).create({ id: 'p', name: 'P' });
  await createVideoRepository({ knex }).create({ id: 'v', name: 'v', uri: 's3://v', width: 1920, height: 1080, fps: 30, frameCount: 9000, durationSec: 300 });
  await createSessionRepository({ knex }).create({ id: 's', projectId: 'p', videoId: 'v', name: 's', docName: 'session:s', createdBy: 'b' });
  const releases = createReleasesRepository({ knex });
  let n = 0;
  await time(`release end to end: freeze + hash + counts + insert (${kind})`, async () => {
    const c = freezeSession(doc);
    const [contentHash, counts] = [await releaseContentHash(c), releaseCounts(c)];
    await releases.insert({ id: `r${++n}`, sessionId: 's', projectId: 'p', name: `r${n}`, createdBy: 'b', contentHash, counts, content: c });
  });
  console.log(`stored content: ${((await releases.get('r1'))!.contentBytes / 1e3).toFixed(0)} KB compressed`);
  await time(`read a release's content back (${kind})`, async () => decodeReleaseText((await releases.contentText('r1'))!));
  await t.cleanup();
}

// The second release: 5 % moved, 1 % relabelled, 1 % deleted, 1 % added.
const later = new Y.Doc();
Y.applyUpdate(later, Y.encodeStateAsUpdate(doc));
for (let i = 0; i < 8000; i += 20) updateAnnotation(later, `a${i}`, { bbox: [10, 10, 30, 30] }, { by: 'b', now: 2 });
for (let i = 1; i < 8000; i += 100) updateAnnotation(later, `a${i}`, { label: 'bike' }, { by: 'b', now: 2 });
for (let i = 3; i < 8000; i += 100) deleteAnnotation(later, `a${i}`);
for (let i = 0; i < 100; i++) addAnnotation(later, { id: `new${i}`, frame: i, bbox: [1, 1, 10, 10], label: 'car' }, { by: 'b', now: 2 });
const next = freezeSession(later);
const d = diffReleases(content, next, { summary: true });
console.log(`diff: ${JSON.stringify(d.summary.annotations)}`);
await time('diff of two 10 000-annotation releases (summary)', () => diffReleases(content, next, { summary: true }));
await time('diff of two 10 000-annotation releases (first page of 100)', () => diffReleases(content, next));

// The same through the server: POST /releases of a 10 000-annotation session (freeze after the
// last commit, hash, counts, compressed insert, session.released in its transaction) and the diff
// of two such releases over HTTP.
for (const kind of postgres && process.env.DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)) {
  const storage = await createTestStorage(kind);
  const t = await startApiServer(storage);
  const { session } = await linkedSession(t.http, { video: { width: 1920, height: 1080, frameCount: 9000 } });
  const native = (c: typeof content) => JSON.stringify({ format: 'annosync-session', schemaVersion: 1, meta: {}, labels: c.labels, tracks: c.tracks, annotations: c.annotations });
  const fill = async (c: typeof content) => {
    const res = await t.http.request('POST', `/api/sessions/${session.id}/import?format=json&mode=replace`, undefined, { headers: { 'content-type': 'application/json' }, raw: native(c) });
    if (res.status !== 200) throw new Error(`import: ${res.status} ${res.text.slice(0, 300)}`);
  };
  await fill(content);
  let n = 0;
  let first = '';
  await time(`POST /api/sessions/:id/releases, 10 000 annotations (${kind})`, async () => {
    const res = await t.http.post<{ id: string }>(`/api/sessions/${session.id}/releases`, { name: `http-${++n}` });
    if (res.status !== 201) throw new Error(`release: ${res.status} ${res.text}`);
    first ||= res.body.id;
  });
  await fill(next);
  const after = await t.http.post<{ id: string }>(`/api/sessions/${session.id}/releases`, { name: 'after' });
  await time(`GET …/releases/:a/diff?to=:b&summary=true (${kind})`, async () => {
    const res = await t.http.get(`/api/sessions/${session.id}/releases/${first}/diff?to=${after.body.id}&summary=true`);
    if (res.status !== 200) throw new Error(`diff: ${res.status}`);
  });
  await time(`GET …/releases/:a/diff?to=:b, first page of 100 (${kind})`, async () => {
    const res = await t.http.get(`/api/sessions/${session.id}/releases/${first}/diff?to=${after.body.id}`);
    if (res.status !== 200) throw new Error(`diff: ${res.status}`);
  });
  await t.stop();
  await storage.cleanup();
}

// Error analysis next to the evaluation it explains.
{
  const rnd = random(42);
  const truth: GroundTruthBox[] = [];
  const found: DetectionBox[] = [];
  for (let i = 0; i < 100_000; i++) {
    const bbox: [number, number, number, number] = [rnd() * 1800, rnd() * 1000, 20 + rnd() * 100, 20 + rnd() * 100];
    truth.push({ frame: i % 1000, bbox, label: ['car', 'person', 'bike'][i % 3]!, annotationId: `a${i}` });
    if (rnd() < 0.8) found.push({ frame: i % 1000, bbox: [bbox[0] + 3, bbox[1] - 2, bbox[2], bbox[3]], label: rnd() < 0.95 ? ['car', 'person', 'bike'][i % 3]! : 'car', score: rnd() });
  }
  await time('evaluateDetections, 100 000 boxes and ~80 000 detections', () => evaluateDetections(truth, found), 3);
  await time('evaluationDetails (confusion, PR curves, true positives)', () => evaluationDetails(truth, found), 3);
}

// `annosync run` with 100 000 detections, end to end.
{
  const storage = await createTestStorage('pglite');
  const t = await startApiServer(storage);
  const { project, video, session } = await linkedSession(t.http, { video: { width: 1920, height: 1080, frameCount: 9000 } });
  const dir = mkdtempSync(path.join(tmpdir(), 'annosync-bench-'));
  const rnd = random(3);
  const rows = ['frame,label,x,y,w,h,score'];
  for (let i = 0; i < 100_000; i++) rows.push(`${i % 9000},${['car', 'person', 'bike'][i % 3]},${(rnd() * 1800).toFixed(1)},${(rnd() * 1000).toFixed(1)},40,50,${rnd().toFixed(3)}`);
  const file = path.join(dir, 'dets.csv');
  writeFileSync(file, rows.join('\n'));
  const t0 = performance.now();
  // Not spawnSync: the server runs in this process and must keep answering.
  const child = spawn(process.execPath, ['cli/annosync.mjs', 'run', '--project', project.id, '--video', video.id, '--session', session.id, '--model', 'bench@1', '--detections', file, '--chunk-size', '25000', '--json'], {
    env: { ...process.env, ANNOSYNC_URL: t.url, ANNOSYNC_TOKEN: t.adminToken },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = performance.now() - t0;
  console.log(`${'annosync run, 100 000 detections (CSV), end to end'.padEnd(58)} ${ms.toFixed(0).padStart(8)} ms  (exit ${status}${status ? `: ${stderr.trim()}` : ''})`);
  await t.stop();
  await storage.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
