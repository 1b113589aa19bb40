/**
 * `npx tsx bench/cold-load.ts [--postgres] [--runs=7]`: how long a 10 000-annotation session takes
 * to load cold (< 100 ms from its compacted snapshot), through the path the server takes —
 * `store.loadMerged` (merge worker, as server/create-server.ts wires it), `LiveDocument.applyStored`,
 * the projection's `onLoad`, then the first joiner's sync step 2 — with a breakdown per phase:
 *
 *   read      the query and the base64 decode (loadMerged minus the merge)
 *   merge     the merge worker (only when log rows remain: a snapshot alone skips it)
 *   apply     LiveDocument.applyStored (Y.applyUpdate, plus Yjs encoding the `update` event)
 *   onLoad    the projection's onLoad hook (session index, repair scheduling)
 *   step2     encoding sync step 2 for an empty client (cached for later joiners)
 *   answer    what a joiner waits for now (DocRegistry.acquireForSync): read + merge, then its
 *             sync step 2 from the stored bytes, before `apply` runs
 *   Y.apply   Y.applyUpdate of the same bytes into a bare Y.Doc: the floor of `apply`
 *
 * and, after the load, the projection's full re-projection of the session (the server defers it
 * by a second). Loads run on a warm pool, as in a running server. The `cpu` columns are this
 * process's CPU time (all threads) for `answer` and `firstStep2`, steadier than wall-clock time on
 * a shared machine. bench/cold-join.ts measures the same end to end, over a socket. Prints
 * numbers; not a test.
 */
import { ObservableV2 } from 'lib0/observable';
import type { DocumentEvents } from '../server/documents/events.ts';
import * as Y from 'yjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../persistence/database.ts';
import { createDocStore, type MergeUpdates } from '../persistence/doc-store.ts';
import { createMergePool } from '../persistence/merge-worker.ts';
import { createUpdateLog } from '../persistence/update-log.ts';
import { silentLogger } from '../shared/logger.ts';
import { addAnnotation, initSession, updateAnnotation } from '../docs-model/index.ts';
import { LiveDocument } from '../server/documents/live-document.ts';
import { defaultLimits } from '../server/config.ts';
import { parseDocName } from '../docs-model/protocol.ts';
import { createRepositories } from '../server/services/repositories.ts';
import { createProjection } from '../server/followers/projection.ts';
import { median } from './lib/stats.ts';

const postgres = process.argv.includes('--postgres');
const runs = Number(process.argv.find((arg) => arg.startsWith('--runs='))?.slice('--runs='.length) ?? 7);
const schema = `bench_${process.pid}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'annosync-cold-'));
const db = await openDatabase(
  postgres
    ? { databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema }
    : { dataDir: path.join(dataDir, 'pglite') },
);
const log = createUpdateLog({ knex: db.knex });
const pool = createMergePool({ logger: silentLogger });
let mergeMs = 0;
const timedMerge: MergeUpdates = async (updates) => {
  const started = performance.now();
  try {
    return await pool.merge(updates);
  } finally {
    mergeMs += performance.now() - started;
  }
};
const store = createDocStore({ knex: db.knex, merge: timedMerge });
const repos = createRepositories(db);
const events = new ObservableV2<DocumentEvents>();
const projection = createProjection({ documents: events, annotations: repos.annotations, sessions: repos.sessions, logger: silentLogger });
const docName = parseDocName('session:cold-load')!;

// The session row, so the projection writes the table as the server's would.
await repos.projects.create({ id: 'cold-load', name: 'cold load' });
await repos.videos.create({ id: 'cold-load', name: 'v', uri: 'u', width: 1920, height: 1080, fps: 30, frameCount: 9000, durationSec: 300 });
await repos.sessions.create({ id: 'cold-load', projectId: 'cold-load', videoId: 'cold-load', name: 's', docName: docName.name, createdBy: 'bench' });

// 10 000 annotations, one update each, as annotators drawing them would produce.
const source = new Y.Doc();
source.on('update', (update: Uint8Array) => void log.append(docName.name, update));
initSession(source, { meta: { sessionId: 'cold-load', projectId: 'cold-load', videoId: 'cold-load', width: 1920, height: 1080, fps: 30, frameCount: 9000 }, labels: { car: {}, person: {} } });
let lastId = '';
for (let i = 0; i < 10_000; i++) {
  lastId = addAnnotation(source, { frame: i % 9000, bbox: [i % 1800, (i * 7) % 1000, 40, 60], label: i % 3 ? 'car' : 'person' }, { by: 'bench' }).id;
}
await log.flush();

const PHASES = ['read', 'merge', 'apply', 'onLoad', 'step2', 'loaded', 'firstStep2', 'answer', 'cpuAnswer', 'cpuFirst', 'Y.apply', 'repair'] as const;
type Breakdown = Record<(typeof PHASES)[number], number> & { logRows: number; bytes: number; annotations: number };

async function coldLoad(): Promise<Breakdown> {
  mergeMs = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const stored = await store.loadMerged(docName.name);
  const read = performance.now();
  // As the registry loads now: the joiner is answered from the stored bytes, then it integrates.
  const live = new LiveDocument(docName, { log, limits: defaultLimits, events, ...(stored.update ? { stored: stored.update } : {}) });
  live.syncStep2For(new Uint8Array([0]));
  const answered = performance.now();
  const cpuAnswer = process.cpuUsage(cpuStarted);
  const answer = answered - started;
  const integrateStarted = performance.now();
  live.integrate();
  const applied = performance.now();
  events.emit('load', [live]);
  const hooked = performance.now();
  live.syncStep2For(new Uint8Array([0]));
  const step2 = performance.now();
  const cpuFirst = process.cpuUsage(cpuStarted);
  const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

  const bare = new Y.Doc();
  const bareStarted = performance.now();
  if (stored.update) Y.applyUpdate(bare, stored.update);
  const bareApply = performance.now() - bareStarted;
  bare.destroy();

  const repairStarted = performance.now();
  await projection.flush();
  const repair = performance.now() - repairStarted;
  const annotations = live.ydoc.getMap('annotations').size;
  live.destroy();
  return {
    read: read - started - mergeMs,
    merge: mergeMs,
    apply: applied - integrateStarted,
    onLoad: hooked - applied,
    step2: step2 - hooked,
    // Before answering from the stored bytes, the joiner waited for all of these.
    loaded: read - started + (hooked - integrateStarted),
    firstStep2: read - started + (step2 - integrateStarted),
    answer,
    cpuAnswer: cpuMs(cpuAnswer),
    cpuFirst: cpuMs(cpuFirst),
    'Y.apply': bareApply,
    repair,
    logRows: stored.logRows,
    bytes: stored.update?.byteLength ?? 0,
    annotations,
  };
}

async function scenario(label: string, count: number): Promise<string[]> {
  const results: Breakdown[] = [];
  for (let i = 0; i < count; i++) results.push(await coldLoad());
  const last = results[results.length - 1]!;
  const cell = (phase: (typeof PHASES)[number]) => median(results.map((r) => r[phase])).toFixed(1).padStart(8);
  const best = Math.min(...results.map((r) => r.loaded));
  return [
    `${label} (${last.logRows} log rows merged, ${(last.bytes / 1024).toFixed(0)} KiB, ${last.annotations} annotations; median of ${count}):`,
    `  ${PHASES.map((phase) => phase.padStart(8)).join(' ')}`,
    `  ${PHASES.map(cell).join(' ')}   ms (loaded: best ${best.toFixed(1)})`,
  ];
}

const lines = [`cold load on ${db.kind} (load average ${loadavg().map((n) => n.toFixed(1)).join(' ')})`];
// The first load also re-projects the whole session into the empty table; later ones compare.
lines.push(...(await scenario('from 10 001 log rows', 3)));
const { mergedRows, snapshotBytes } = await store.compact(docName.name);
lines.push(`  compacted: ${mergedRows} rows into ${(snapshotBytes / 1024).toFixed(0)} KiB`);
lines.push(...(await scenario('from its compacted snapshot', runs)));
updateAnnotation(source, lastId, { label: 'car' }, { by: 'bench' });
await log.flush();
lines.push(...(await scenario('from its snapshot and one log row', 3)));
lines.push(
  '  loaded = read + merge + apply + onLoad; firstStep2 = loaded + step2 (what the first joiner waited for before)',
  '  answer = read + merge + sync step 2 from the stored bytes (what it waits for now; target < 100 ms)',
  '  cpuAnswer, cpuFirst: CPU ms of this process (all threads) up to answer, up to firstStep2',
  '  repair = the projection pass after the load (deferred by a second in the server)',
  '',
);
process.stdout.write(lines.join('\n'));

await projection.close();
await log.close();
await pool.close();
if (postgres) await db.knex.raw('drop schema if exists ?? cascade', [schema]);
await db.close();
rmSync(dataDir, { recursive: true, force: true });
