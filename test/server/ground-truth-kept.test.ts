/**
 * The ground-truth thread keeps a release's ground truth by content hash
 * (server/services/kept-truths.ts): an evaluation of a release the thread holds sends its hash,
 * not its annotations, and scores what the main thread would. A thread that no longer holds it
 * (ended idle, or over its budget) is sent it again.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotations, initSession } from '../../docs-model/index.ts';
import { freezeSession } from '../../docs-model/release-content.ts';
import { createGroundTruthWorker, type ReleaseTruth } from '../../server/services/ground-truth-worker.ts';
import { KeptTruths } from '../../server/services/kept-truths.ts';
import { releaseTruth, scoreDetections, type TruthSource } from '../../server/services/test-runs/run-scoring.ts';
import { waitFor } from '../../tools/databases.ts';
import { scene } from '../helpers/ground-truth-scene.ts';

const test = suite('ground truth kept in its thread');

/** A release truth whose loads are counted. */
function counted(contentHash: string, source: TruthSource): ReleaseTruth & { loads: number } {
  const truth = {
    contentHash,
    loads: 0,
    load: async () => {
      truth.loads++;
      return source;
    },
  };
  return truth;
}

test('a release scored twice is loaded and sent once, and scores as on the main thread both times', async () => {
  const worker = createGroundTruthWorker();
  try {
    const { source, found } = scene(300);
    const truth = counted('hash-a', source);
    const here = scoreDetections(source, found, {});
    assert.equal(await worker.score(truth, found, {}), here);
    assert.equal(await worker.score(truth, found.slice(0, 100), {}), scoreDetections(source, found.slice(0, 100), {}));
    assert.is(truth.loads, 1);
    assert.is(worker.stats().truthsSent, 1);
  } finally {
    await worker.close();
  }
});

test('a sealed release is scored without loading its content', async () => {
  const worker = createGroundTruthWorker();
  try {
    const doc = new Y.Doc();
    initSession(doc, { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 25, frameCount: 100 }, labels: { car: {}, person: {} } });
    const { found } = scene(400);
    addAnnotations(doc, [...scene(400).source.annotations].filter((a) => a.trackId === null), { by: 'test' });
    const content = freezeSession(doc);
    const { contentHash } = await worker.seal(content);
    const truth = counted(contentHash, releaseTruth(content));
    assert.equal(await worker.score(truth, found, { iouThreshold: 0.6 }), scoreDetections(releaseTruth(content), found, { iouThreshold: 0.6 }));
    assert.is(truth.loads, 0);
  } finally {
    await worker.close();
  }
});

test('a thread that ended idle is sent the release again, and scores it right', async () => {
  const worker = createGroundTruthWorker({ idleMs: 20 });
  try {
    const { source, found } = scene(200);
    const truth = counted('hash-b', source);
    const first = await worker.score(truth, found, {});
    await waitFor(() => worker.stats().workersEnded === 1, { message: 'the idle thread was not ended' });
    // This side still believes the thread holds it: the new thread says it does not, and gets it.
    assert.equal(await worker.score(truth, found, {}), first);
    assert.is(truth.loads, 2);
    assert.equal(worker.stats(), { workersStarted: 2, workersEnded: 1, truthsSent: 2 });
  } finally {
    await worker.close();
  }
});

test('past its budget the thread lets the least recently used release go, and is sent it again', async () => {
  // Each scene is 302 annotations: two fit in 700, three do not.
  const worker = createGroundTruthWorker({ keptAnnotations: 700 });
  try {
    const truths = ['c', 'd', 'e'].map((name, k) => counted(`hash-${name}`, scene(300 + k).source));
    const { found } = scene(300);
    for (const truth of truths) await worker.score(truth, found, {});
    await worker.score(truths[2]!, found, {});
    await worker.score(truths[1]!, found, {});
    assert.equal(truths.map((t) => t.loads), [1, 1, 1]);
    assert.equal(await worker.score(truths[0]!, found, {}), scoreDetections(scene(300).source, found, {}));
    assert.equal(truths.map((t) => t.loads), [2, 1, 1]);
  } finally {
    await worker.close();
  }
});

test('KeptTruths keeps within its budget, most recently used last out, and refuses one larger than it', () => {
  const kept = new KeptTruths<string>(10);
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
