/**
 * `npx tsx bench/cold-load.ts [--postgres]`: how long a 10 000-annotation session takes to load
 * cold from its compacted snapshot (issue 2: < 100 ms), and how long it takes uncompacted (the
 * same edits as 10 000 log rows). Prints numbers; not a test.
 */
import * as Y from 'yjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../persistence/database.ts';
import { createDocStore } from '../persistence/doc-store.ts';
import { createUpdateLog } from '../persistence/update-log.ts';
import { addAnnotation, initSession } from '../docs-model/index.ts';
import { LiveDocument } from '../server/live-document.ts';
import { defaultLimits } from '../server/config.ts';

const postgres = process.argv.includes('--postgres');
const dataDir = mkdtempSync(path.join(tmpdir(), 'annosync-cold-'));
const db = await openDatabase(
  postgres
    ? { databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema: `bench_${process.pid}` }
    : { dataDir: path.join(dataDir, 'pglite') },
);
const log = createUpdateLog({ knex: db.knex });
const mergeThroughDoc = async (updates: Uint8Array[]) => {
  const doc = new Y.Doc();
  Y.transact(doc, () => updates.forEach((u) => Y.applyUpdate(doc, u)));
  return Y.encodeStateAsUpdate(doc);
};
const store = createDocStore({ knex: db.knex, merge: mergeThroughDoc });
const docName = 'session:cold-load';

// 10 000 annotations, one update each, as annotators drawing them would produce.
const source = new Y.Doc();
source.on('update', (update: Uint8Array) => void log.append(docName, update));
initSession(source, { sessionId: 'cold-load', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 30, frameCount: 9000 }, { car: {}, person: {} });
for (let i = 0; i < 10_000; i++) {
  addAnnotation(source, { frame: i % 9000, bbox: [i % 1800, (i * 7) % 1000, 40, 60], label: i % 3 ? 'car' : 'person' }, 'bench');
}
process.stdout.write(`built 10 000 annotations\n`);
await log.flush();
process.stdout.write(`flushed\n`);

async function coldLoad(): Promise<{ ms: number; annotations: number }> {
  const started = performance.now();
  process.stdout.write(`loading\n`);
  const updates = await store.load(docName);
  process.stdout.write(`loaded ${updates.length} rows in ${(performance.now() - started).toFixed(1)} ms\n`);
  const live = new LiveDocument({ name: docName, kind: 'session', id: 'cold-load' }, { log, limits: defaultLimits });
  live.applyStored(updates);
  const ms = performance.now() - started;
  const annotations = live.ydoc.getMap('annotations').size;
  live.destroy();
  return { ms, annotations };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const uncompacted: number[] = [];
for (let i = 0; i < 3; i++) uncompacted.push((await coldLoad()).ms);
const { mergedRows, snapshotBytes } = await store.compact(docName);
const compacted: number[] = [];
let annotations = 0;
for (let i = 0; i < 7; i++) {
  const r = await coldLoad();
  compacted.push(r.ms);
  annotations = r.annotations;
}
process.stdout.write(
  [
    `cold load of a ${annotations}-annotation session on ${db.kind}`,
    `  from 10 001 log rows:            median ${median(uncompacted).toFixed(1)} ms`,
    `  from its compacted snapshot:     median ${median(compacted).toFixed(1)} ms, best ${Math.min(...compacted).toFixed(1)} ms (target < 100 ms)`,
    `  snapshot: ${mergedRows} rows merged into ${(snapshotBytes / 1024).toFixed(0)} KiB`,
    '',
  ].join('\n'),
);
await log.close();
if (postgres) await db.knex.raw(`drop schema if exists bench_${process.pid} cascade`);
await db.close();
rmSync(dataDir, { recursive: true, force: true });
