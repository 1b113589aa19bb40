/**
 * The ground-truth worker (server/services/ground-truth-worker.ts) answers exactly what the main
 * thread would: scoreDetections' scores, or a DocModelError with the same code, field and message;
 * a release's hash and stored bytes — from a thread, with the event loop free meanwhile.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { gunzipSync } from 'node:zlib';
import { addAnnotations, DocModelError, initSession } from '../../docs-model/index.ts';
import { decodeReleaseContent, freezeSession, releaseContentHash } from '../../docs-model/release-content.ts';
import { createGroundTruthWorker, GroundTruthWorkerClosedError, type GroundTruthWorker } from '../../server/services/ground-truth-worker.ts';
import { scoreDetections } from '../../server/services/test-runs/run-scoring.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';
import { waitFor } from '../../tools/databases.ts';
import { assertLowersOneThread } from '../helpers/threads.ts';
import { scene } from '../helpers/ground-truth-scene.ts';

const test = suite<{ worker: GroundTruthWorker }>('ground-truth worker');
test.before((ctx) => {
  ctx.worker = createGroundTruthWorker();
});
test.after(async ({ worker }) => {
  await worker.close();
});

test('scores a run in the thread exactly as on the main thread, tracking and links included', async ({ worker }) => {
  const { source, found } = scene();
  const here = scoreDetections(source, found, { iouThreshold: 0.6 });
  const there = await worker.score(source, found, { iouThreshold: 0.6 });
  assert.ok(here.tracking, 'the scene has tracking metrics');
  assert.ok((here.result.linked?.length ?? 0) > 0, 'the scene has linked detections');
  assert.equal(there, here);
});

test('a DocModelError in the thread comes back as a DocModelError with its code, field and message', async ({ worker }) => {
  const { source, found } = scene(200);
  // One tracker id on two boxes of one frame: no metric can say which is the object.
  found[1] = { ...found[1]!, frame: found[0]!.frame, label: found[0]!.label, trackId: found[0]!.trackId ?? null };
  let here: unknown;
  try {
    scoreDetections(source, found, {});
  } catch (err) {
    here = err;
  }
  assert.instance(here, DocModelError);
  const there = await worker.score(source, found, {}).then(
    () => assert.unreachable('scored'),
    (err: unknown) => err,
  );
  assert.instance(there, DocModelError);
  const fields = (e: DocModelError) => ({ code: e.code, field: e.field, message: e.message, details: e.details });
  assert.equal(fields(there as DocModelError), fields(here as DocModelError));
});

test('the event loop keeps turning while a large run is scored', async ({ worker }) => {
  // ~0.4 s of scoring on the main thread.
  const { source, found } = scene(10_000);
  const loop = countLoopTurns();
  const scores = await worker.score(source, found, {});
  loop.stop();
  assert.is(scores.result.overall.tp + scores.result.overall.fp, found.length);
  assert.ok(loop.turns() > 10, `the loop turned ${loop.turns()} times while 10 000 tracked detections were scored`);
});

test('a thread left idle is ended, and the next run starts a new one that answers the same', async () => {
  const worker = createGroundTruthWorker({ idleMs: 20 });
  try {
    const { source, found } = scene(50);
    const first = await worker.score(source, found, {});
    await waitFor(() => worker.stats().workersEnded === 1, { message: 'the idle thread was not ended' });
    assert.equal(await worker.score(source, found, {}), first);
    assert.equal(worker.stats(), { workersStarted: 2, workersEnded: 1, truthsSent: 0, runsSent: 0, sentAgain: 0 });
  } finally {
    await worker.close();
  }
});

test('the scoring thread runs at a lower priority than the event loop, which keeps its own', async () => {
  if (process.platform !== 'linux') {
    console.log('  skipped: thread priorities are read from /proc (Linux only)');
    return;
  }
  const worker = createGroundTruthWorker();
  try {
    const { source, found } = scene(50);
    await assertLowersOneThread(async () => void (await worker.score(source, found, {})));
  } finally {
    await worker.close();
  }
});

test('seals a release as the main thread would: its hash, and stored bytes that read back as its content', async ({ worker }) => {
  const doc = new Y.Doc();
  initSession(doc, { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 25, frameCount: 100 }, labels: { car: {}, person: {} } });
  addAnnotations(doc, [...scene(500).source.annotations].filter((a) => a.trackId === null), { by: 'test' });
  const content = freezeSession(doc);
  const sealed = await worker.seal(content);
  assert.is(sealed.contentHash, await releaseContentHash(content));
  assert.equal(decodeReleaseContent(gunzipSync(sealed.stored)), content);
});

test('after close, score rejects with GroundTruthWorkerClosedError, and so does one pending at close', async () => {
  const worker = createGroundTruthWorker();
  const { source, found } = scene(2000);
  const pending = worker.score(source, found, {}).then(
    () => 'scored',
    (err: unknown) => err,
  );
  await worker.close();
  assert.instance(await pending, GroundTruthWorkerClosedError);
  await worker.score(source, found, {}).then(
    () => assert.unreachable('scored after close'),
    (err: unknown) => assert.instance(err, GroundTruthWorkerClosedError),
  );
});

test.run();
