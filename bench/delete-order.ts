/**
 * What deleting many annotations costs in Yjs, oldest first against newest first
 * (docs-model/delete-order.ts): a document of N annotations (the bench fixture's shape), all
 * deleted 100 per transaction, as a replace import removes them (docs-model/session.ts). Prints
 * the total and the longest transaction, each order alternated, in this process (no server).
 *
 *   npx tsx bench/delete-order.ts [--annotations=20000] [--runs=2]
 */
import * as Y from 'yjs';
import { newestFirst } from '../docs-model/delete-order.ts';
import { addAnnotations } from './lib/session-fixture.ts';

const option = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const annotations = Number(option('annotations', '20000'));
const runs = Number(option('runs', '2'));
const STEP = 100;

function deleteAll(order: 'oldest first' | 'newest first'): { totalMs: number; worstMs: number } {
  const doc = new Y.Doc();
  for (let from = 0; from < annotations; from += 250) addAnnotations(doc, { count: Math.min(250, annotations - from), seed: from + 1, prefix: 'a', from });
  const map = doc.getMap<Y.Map<unknown>>('annotations');
  const ids = order === 'newest first' ? newestFirst(map, map.keys()) : [...map.keys()];
  let worstMs = 0;
  const started = performance.now();
  for (let k = 0; k < ids.length; k += STEP) {
    const stepStarted = performance.now();
    doc.transact(() => {
      for (const id of ids.slice(k, k + STEP)) map.delete(id);
    });
    worstMs = Math.max(worstMs, performance.now() - stepStarted);
  }
  return { totalMs: performance.now() - started, worstMs };
}

console.log(`deleting ${annotations} annotations, ${STEP} per transaction`);
for (let run = 0; run < runs; run++) {
  for (const order of ['oldest first', 'newest first'] as const) {
    const { totalMs, worstMs } = deleteAll(order);
    console.log(`${order.padEnd(13)} total ${totalMs.toFixed(0).padStart(6)} ms   longest transaction ${worstMs.toFixed(1).padStart(6)} ms`);
  }
}
