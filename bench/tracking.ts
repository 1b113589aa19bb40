/**
 * Tracking numbers: `npx tsx bench/tracking.ts`.
 * - Tracking metrics (CLEAR MOT, identity, HOTA) of 100 tracks × 9 000 frames of ground truth
 *   (keyframes every 300 frames, expanded by trackingGroundTruth: 900 000 boxes) against a tracker
 *   output of the same size (jittered boxes, 3 % missed, pairs of ids exchanged for a while).
 *   Target < 5 s.
 * - MOT export of the same 900 000 interpolated boxes through the format registry with the server's
 *   node:zlib encoder, as the export route calls it (it streams the one 40 MB gt.txt entry in
 *   sync-flushed pieces), chunks counted and dropped as a response would, in a fresh process
 *   (target < 3 s, RSS < 200 MB). `--fflate` uses docs-model's fflate writer instead, for comparison.
 * - The same export over HTTP from a real server (`--part=http`): wall time to the last byte, and
 *   the process's RSS growth during the export.
 * CPU time is printed beside wall time: on a shared machine it is the steadier of the two.
 */
import { execFileSync } from 'node:child_process';
import type { SessionContent } from '../docs-model/formats/content.ts';
import { emptyLoss, lossSummary } from '../docs-model/formats/loss.ts';
import { formats } from '../docs-model/formats/index.ts';
import { exportMot } from '../docs-model/formats/mot.ts';
import { evaluateTracking, trackingGroundTruth, type TrackingBox } from '../docs-model/tracking/index.ts';
import type { Annotation } from '../docs-model/types.ts';
import { zipChunksNative } from '../server/http/zip-writer.ts';

const TRACKS = 100;
const FRAMES = 9000;
const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 25, frameCount: FRAMES };
const ann = (id: string, frame: number, bbox: Annotation['bbox'], trackId: string): Annotation => ({
  id, frame, bbox, label: 'person', trackId, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'validated', source: 'manual', createdBy: 'alice', updatedBy: 'alice', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000,
});
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/** 100 people on a 10 × 10 grid, each drifting; keyframes every 300 frames. */
function session(): SessionContent {
  const annotations: Annotation[] = [];
  for (let t = 0; t < TRACKS; t++) {
    for (let f = 0; f < FRAMES; f += 300) {
      const x = (t % 10) * 185 + 60 * Math.sin((f + t * 37) / 900);
      const y = Math.floor(t / 10) * 100 + 20 * Math.cos((f + t * 11) / 700);
      annotations.push(ann(`t${t}k${f}`, f, [x, y, 60, 90], `t${t}`));
    }
  }
  return {
    meta, labels: { person: {} },
    tracks: Array.from({ length: TRACKS }, (_, t) => ({ id: `t${t}`, label: 'person', attributes: {}, interpolation: 'linear' as const })),
    annotations,
  };
}

/** A seeded tracker: every ground-truth box jittered, 3 % missed, ids of neighbours exchanged for 900 frames in 9 000. */
function trackerOutput(gt: TrackingBox[]): TrackingBox[] {
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: TrackingBox[] = [];
  for (const b of gt) {
    if (random() < 0.03) continue;
    const t = Number(b.trackId.slice('track:t'.length));
    const swapped = Math.floor(b.frame / 900) % 10 === 3 && t % 10 < 2 ? (t % 2 === 0 ? t + 1 : t - 1) : t;
    const [x, y, w, h] = b.bbox;
    out.push({ frame: b.frame, label: b.label, trackId: `h${swapped}`, bbox: [x + (random() - 0.5) * 8, y + (random() - 0.5) * 8, w + (random() - 0.5) * 6, h + (random() - 0.5) * 6] });
  }
  return out;
}

function runMetrics(): void {
  const content = session();
  let t = performance.now();
  const gt = trackingGroundTruth(content.annotations, content.tracks, meta.frameCount);
  const expandMs = performance.now() - t;
  const tracker = trackerOutput(gt);
  const startRss = process.memoryUsage().rss;
  t = performance.now();
  const cpu = process.cpuUsage();
  const result = evaluateTracking(gt, tracker);
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const o = result.overall;
  console.log(
    `tracking metrics, ${gt.length} ground-truth boxes (expanded in ${seconds(expandMs)} s) vs ${tracker.length} tracker boxes: ${seconds(ms)} s (target < 5; CPU ${seconds((used.user + used.system) / 1000)} s), ` +
      `RSS ${mb(process.memoryUsage().rss)} (${mb(startRss)} before)`,
  );
  console.log(
    `  MOTA ${o.mota.toFixed(4)} MOTP ${o.motp.toFixed(4)} IDF1 ${o.idf1.toFixed(4)} HOTA ${o.hota.toFixed(4)} DetA ${o.deta.toFixed(4)} AssA ${o.assa.toFixed(4)} ` +
      `IDsw ${o.idSwitches} Frag ${o.fragmentations} MT/PT/ML ${o.mostlyTracked}/${o.partiallyTracked}/${o.mostlyLost}`,
  );
}

function runExport(fflate: boolean): void {
  const content = session();
  const loss = emptyLoss('mot');
  const startRss = process.memoryUsage().rss;
  let peak = startRss;
  let chunks = 0;
  let bytes = 0;
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (const c of fflate ? exportMot(content, {}, { loss }) : formats.mot.export(content, {}, { loss, zip: zipChunksNative })) {
    bytes += c.length;
    if (++chunks % 50 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    `MOT export, ${TRACKS} tracks × ${FRAMES} frames (${content.annotations.length} keyframes → 900 000 boxes), zip by ${fflate ? 'fflate (docs-model)' : 'the server encoder (node:zlib, streamed entry)'}: ` +
      `${seconds(ms)} s (target < 3; CPU ${seconds((used.user + used.system) / 1000)} s), ${chunks} chunks, ${mb(bytes)} out, peak RSS ${mb(peak)} (target < 200 MB; ${mb(startRss)} at start), loss: ${lossSummary(loss)}`,
  );
}

/**
 * The same export over HTTP: a real server (Postgres when DATABASE_URL is set, else PGlite), the
 * session imported as native JSON, `GET /api/sessions/:id/export?format=mot` read as a client
 * would (lines counted in the inflated gt.txt). The server runs in this process, so its RSS holds
 * the whole server (and PGlite's thread): the growth during the export is the export's.
 */
async function runHttp(): Promise<void> {
  const { createTestStorage, startTestServer } = await import('../tools/server.ts');
  const { jsonClient } = await import('../tools/http.ts');
  const { Unzip, UnzipInflate } = await import('fflate');
  const storage = await createTestStorage(process.env.DATABASE_URL ? 'postgres' : 'pglite');
  const server = await startTestServer(storage);
  try {
    const http = jsonClient(server.url, server.adminToken);
    const project = await http.post<{ id: string }>('/api/projects', { name: 'bench', labels: [{ name: 'person' }] });
    const video = await http.post<{ id: string }>('/api/videos', { name: 'v', uri: 's3://b/v.mp4', width: 1920, height: 1080, fps: 25, frameCount: FRAMES });
    await http.post(`/api/projects/${project.body.id}/videos`, { videoIds: [video.body.id] });
    const created = await http.post<{ id: string }>(`/api/projects/${project.body.id}/sessions`, { videoId: video.body.id });
    const content = session();
    // The native import refuses boxes past the edge (only MOT keeps them): the grid's left column is moved in.
    const annotations = content.annotations.map((a) => ({ ...a, bbox: [Math.max(0, a.bbox[0]), Math.max(0, a.bbox[1]), a.bbox[2], a.bbox[3]] }));
    const file = JSON.stringify({ format: 'annosync-session', schemaVersion: 1, meta: {}, labels: content.labels, tracks: content.tracks, annotations });
    const filled = await http.request('POST', `/api/sessions/${created.body.id}/import?format=json&mode=replace`, undefined, { headers: { 'content-type': 'application/json' }, raw: file });
    if (filled.status !== 200) throw new Error(`import: ${filled.status} ${filled.text.slice(0, 300)}`);
    global.gc?.();
    const startRss = process.memoryUsage().rss;
    let peak = startRss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t = performance.now();
    const cpu = process.cpuUsage();
    const res = await fetch(`${server.url}/api/sessions/${created.body.id}/export?format=mot`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    let lines = 0;
    let bytes = 0;
    const unzip = new Unzip((entry) => {
      if (!entry.name.endsWith('gt.txt')) return;
      entry.ondata = (err, chunk) => {
        if (err) throw err;
        for (let k = 0; k < chunk.length; k++) if (chunk[k] === 10) lines++;
      };
      entry.start();
    });
    unzip.register(UnzipInflate);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let at = 0; at < chunk.length; at += 16 * 1024) unzip.push(chunk.subarray(at, at + 16 * 1024));
    }
    unzip.push(new Uint8Array(0), true);
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(
      `MOT export over HTTP (${storage.kind}), ${lines} gt.txt lines, ${mb(bytes)} zip: ${seconds(ms)} s to the last byte read and inflated by the client (target < 3; CPU of server and client together ${seconds((used.user + used.system) / 1000)} s), ` +
        `server+client process RSS ${mb(startRss)} → peak ${mb(peak)} (+${mb(peak - startRss)} for the export; target < 200 MB)`,
    );
  } finally {
    await server.stop();
    await storage.cleanup();
  }
}

const part = process.argv.find((a) => a.startsWith('--part='))?.slice(7);
const fflate = process.argv.includes('--fflate');
if (part === 'metrics') runMetrics();
else if (part === 'export') runExport(fflate);
else if (part === 'http') await runHttp();
else {
  // Each part in a fresh process, so one part's garbage does not count against the other.
  for (const p of ['metrics', 'export', 'http']) {
    process.stdout.write(execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, `--part=${p}`, ...(fflate ? ['--fflate'] : [])]));
  }
}
