/**
 * The ground-truth thread keeps a release's ground truth by content hash, and a run's detections by
 * run and count (server/services/kept-inputs.ts): a score on inputs the thread holds sends their
 * names, not their content, and scores what the main thread would. A thread that no longer holds
 * them (ended idle, or over its budget) is sent them again.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotations, initSession } from '../../docs-model/index.ts';
import { freezeSession } from '../../docs-model/release-content.ts';
import { createGroundTruthWorker, type GroundTruthWorker, type ReleaseTruth, type RunDetections } from '../../server/services/ground-truth-worker.ts';
import { KeptInputs } from '../../server/services/kept-inputs.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { releaseTruth, scoreDetections, type TruthSource } from '../../server/services/test-runs/run-scoring.ts';
import { waitFor } from '../../tools/databases.ts';
import { scene } from '../helpers/ground-truth-scene.ts';

const test = suite('score inputs kept in the ground-truth thread');

async function withWorker(opts: Parameters<typeof createGroundTruthWorker>[0], body: (worker: GroundTruthWorker) => Promise<void>): Promise<void> {
  const worker = createGroundTruthWorker(opts);
  try {
    await body(worker);
  } finally {
    await worker.close();
  }
}

/** `fields` with a `load` that answers `value` and counts how often it was called. */
function countingLoads<F extends object, T>(fields: F, value: T): F & { loads: number; load(): Promise<T> } {
  const counted = {
    ...fields,
    loads: 0,
    load: async () => {
      counted.loads++;
      return value;
    },
  };
  return counted;
}

/** A release truth whose loads are counted. */
const counted = (contentHash: string, source: TruthSource): ReleaseTruth & { loads: number } => countingLoads({ contentHash }, source);

/** A run's detections whose loads are counted; `count` as the run's row would say. */
const run = (name: string, list: readonly DetectionRecord[], count = list.length): RunDetections & { loads: number } => countingLoads({ name, count }, list);

test('a release scored twice is loaded and sent once, and scores as on the main thread both times', async () => {
  await withWorker({}, async (worker) => {
    const { source, found } = scene(300);
    const truth = counted('hash-a', source);
    const here = scoreDetections(source, found, {});
    assert.equal(await worker.score(truth, found, {}), here);
    assert.equal(await worker.score(truth, found.slice(0, 100), {}), scoreDetections(source, found.slice(0, 100), {}));
    assert.is(truth.loads, 1);
    assert.is(worker.stats().truthsSent, 1);
  });
});

test('a sealed release is scored without loading its content', async () => {
  await withWorker({}, async (worker) => {
    const doc = new Y.Doc();
    initSession(doc, { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 25, frameCount: 100 }, labels: { car: {}, person: {} } });
    const { found } = scene(400);
    addAnnotations(doc, [...scene(400).source.annotations].filter((a) => a.trackId === null), { by: 'test' });
    const content = freezeSession(doc);
    const { contentHash } = await worker.seal(content);
    const truth = counted(contentHash, releaseTruth(content));
    assert.equal(await worker.score(truth, found, { iouThreshold: 0.6 }), scoreDetections(releaseTruth(content), found, { iouThreshold: 0.6 }));
    assert.is(truth.loads, 0);
  });
});

test('a thread that ended idle is sent the release again, and scores it right', async () => {
  await withWorker({ idleMs: 20 }, async (worker) => {
    const { source, found } = scene(200);
    const truth = counted('hash-b', source);
    const first = await worker.score(truth, found, {});
    await waitFor(() => worker.stats().workersEnded === 1, { message: 'the idle thread was not ended' });
    // This side still believes the thread holds it: the new thread says it does not, and gets it.
    assert.equal(await worker.score(truth, found, {}), first);
    assert.is(truth.loads, 2);
    assert.equal(worker.stats(), { workersStarted: 2, workersEnded: 1, truthsSent: 2, runsSent: 0, sentAgain: 1 });
  });
});

test('past its budget the thread lets the least recently used release go, and is sent it again', async () => {
  // Each scene is 302 annotations: two fit in 700, three do not.
  await withWorker({ keptAnnotations: 700 }, async (worker) => {
    const truths = ['c', 'd', 'e'].map((name, k) => counted(`hash-${name}`, scene(300 + k).source));
    const { found } = scene(300);
    for (const truth of truths) await worker.score(truth, found, {});
    await worker.score(truths[2]!, found, {});
    await worker.score(truths[1]!, found, {});
    assert.equal(truths.map((t) => t.loads), [1, 1, 1]);
    assert.equal(await worker.score(truths[0]!, found, {}), scoreDetections(scene(300).source, found, {}));
    assert.equal(truths.map((t) => t.loads), [2, 1, 1]);
    assert.is(worker.stats().sentAgain, 0);
  });
});

test("a run's detections scored twice are loaded and sent once, and score as on the main thread", async () => {
  await withWorker({}, async (worker) => {
    const { source, found } = scene(300);
    const truth = counted('hash-f', source);
    const detections = run('run-1:302', found);
    const here = scoreDetections(source, found, { iouThreshold: 0.6 });
    assert.equal(await worker.score(truth, detections, { iouThreshold: 0.6 }), here);
    assert.equal(await worker.score(truth, detections, { iouThreshold: 0.6 }), here);
    assert.equal(await worker.score(source, detections, {}), scoreDetections(source, found, {}));
    assert.equal([detections.loads, truth.loads], [1, 1]);
    assert.equal(worker.stats().runsSent, 1);
  });
});

test('detections loaded with another count than their name says are scored, not kept', async () => {
  await withWorker({}, async (worker) => {
    const { source, found } = scene(200);
    // The run's row said 100; an upload became visible before the list was read.
    const detections = run('run-2:100', found, 100);
    assert.equal(await worker.score(source, detections, {}), scoreDetections(source, found, {}));
    assert.equal(await worker.score(source, detections, {}), scoreDetections(source, found, {}));
    assert.is(detections.loads, 2);
  });
});

test('a run with more detections is a new name: its detections are loaded, not the kept ones scored', async () => {
  await withWorker({}, async (worker) => {
    const { source, found } = scene(200);
    const before = run('run-3:100', found.slice(0, 100));
    await worker.score(source, before, {});
    const after = run('run-3:202', found);
    assert.equal(await worker.score(source, after, {}), scoreDetections(source, found, {}));
    assert.equal([before.loads, after.loads], [1, 1]);
  });
});

test('past its detections budget the thread lets the least recently used run go, and is sent it again', async () => {
  await withWorker({ keptDetections: 500 }, async (worker) => {
    const { source, found } = scene(200);
    const runs = ['a', 'b', 'c'].map((id) => run(`run-${id}:202`, found));
    for (const r of runs) await worker.score(source, r, {});
    assert.equal(await worker.score(source, runs[0]!, {}), scoreDetections(source, found, {}));
    assert.equal(runs.map((r) => r.loads), [2, 1, 1]);
    // This side knew the thread had let it go: no round trip to hear so.
    assert.is(worker.stats().sentAgain, 0);
  });
});

test('KeptInputs keeps within its budget, most recently used last out, and refuses one larger than it', () => {
  const kept = new KeptInputs<string>(10);
  kept.keep('a', 4, 'A');
  kept.keep('b', 4, 'B');
  assert.is(kept.get('a'), 'A');
  kept.keep('c', 4, 'C');
  assert.equal([kept.has('a'), kept.has('b'), kept.has('c')], [true, false, true]);
  kept.keep('big', 11, 'X');
  assert.is(kept.get('big'), undefined);
  kept.keep('a', 6, 'A2');
  assert.equal([kept.get('a'), kept.get('c')], ['A2', 'C']);
  kept.keep('d', 1, 'D');
  assert.equal([kept.has('a'), kept.has('c'), kept.has('d')], [false, true, true]);
});

test.run();
