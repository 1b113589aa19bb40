/**
 * `npx tsx bench/merge-worker.ts`: what moving merges into a worker costs for a
 * 10 000-annotation session stored as 10 000 log rows — the merge alone and a whole compaction on
 * PGlite, in-process vs in the worker — and how long each blocks the event loop. Not a test.
 */
import * as Y from 'yjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../persistence/database.ts';
import { createDocStore, type MergeUpdates } from '../persistence/doc-store.ts';
import { createUpdateLog } from '../persistence/update-log.ts';
import { createMergePool } from '../persistence/merge-worker.ts';
import { addAnnotation, initSession } from '../docs-model/index.ts';

const ANNOTATIONS = 10_000;
const RUNS = 5;

const mergeInProcess: MergeUpdates = async (updates) => {
  const doc = new Y.Doc({ gc: true });
  Y.transact(doc, () => updates.forEach((u) => Y.applyUpdate(doc, u)));
  const merged = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return merged;
};

const updates: Uint8Array[] = [];
const source = new Y.Doc();
source.on('update', (update: Uint8Array) => void updates.push(update));
initSession(source, { meta: { sessionId: 'bench', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 30, frameCount: 9000 }, labels: { car: {}, person: {} } });
for (let i = 0; i < ANNOTATIONS; i++) {
  addAnnotation(source, { frame: i % 9000, bbox: [i % 1800, (i * 7) % 1000, 40, 60], label: i % 3 ? 'car' : 'person' }, { by: 'bench' });
}
const bytes = updates.reduce((n, u) => n + u.byteLength, 0);
process.stdout.write(`${updates.length} updates, ${(bytes / 1024).toFixed(0)} KiB\n`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median wall time of `fn` and the longest gap between 1 ms ticks while it ran: how long the
 * event loop could serve nobody else (a histogram from monitorEventLoopDelay sees nothing while
 * one synchronous merge holds the thread from start to end).
 */
async function measure(fn: () => Promise<unknown>, runs = RUNS): Promise<{ ms: number; maxStallMs: number }> {
  const times: number[] = [];
  let maxStallMs = 0;
  for (let i = 0; i < runs; i++) {
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxStallMs = Math.max(maxStallMs, now - last);
      last = now;
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    last = performance.now();
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 5));
    clearInterval(ticker);
  }
  return { ms: median(times), maxStallMs };
}

const pool = createMergePool({ timeBudgetMs: 30_000 });
await pool.merge([updates[0]!]); // start the worker outside the measurement (once per process)

const fmt = (r: { ms: number; maxStallMs: number }) => `${r.ms.toFixed(1)} ms (event loop stalled up to ${r.maxStallMs.toFixed(1)} ms)`;
process.stdout.write(`merge in-process: ${fmt(await measure(() => mergeInProcess(updates)))}\n`);
process.stdout.write(`merge in worker:  ${fmt(await measure(() => pool.merge(updates)))}\n`);

const dataDir = mkdtempSync(path.join(tmpdir(), 'annosync-merge-bench-'));
const db = await openDatabase({ dataDir: path.join(dataDir, 'pglite') });
try {
  for (const [label, merge] of [
    ['in-process', mergeInProcess],
    ['in worker', pool.merge],
  ] as const) {
    const store = createDocStore({ knex: db.knex, merge });
    let run = 0;
    const times: number[] = [];
    const stalls: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const docName = `session:bench-${label}-${run++}`;
      const log = createUpdateLog({ knex: db.knex });
      for (const update of updates) void log.append(docName, update);
      await log.close();
      const result = await measure(async () => store.compact(docName), 1);
      times.push(result.ms);
      stalls.push(result.maxStallMs);
    }
    process.stdout.write(`compaction ${label}: ${median(times).toFixed(1)} ms median of ${RUNS} (event loop stalled up to ${Math.max(...stalls).toFixed(1)} ms)\n`);
  }
} finally {
  await pool.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
}
