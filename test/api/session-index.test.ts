/**
 * The read index of a session document follows every change (local, remote, delete) and answers
 * queries exactly as `listAnnotations` would, one page at a time.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  addAnnotation,
  addAnnotations,
  deleteAnnotation,
  initSession,
  listAnnotations,
  updateAnnotation,
  type AnnotationFilter,
  type AnnotationInput,
} from '../../docs-model/index.ts';
import { SessionIndex, sessionIndex } from '../../server/followers/session-index.ts';
import { seededRandom } from '../../bench/lib/stats.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';

const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount: 50 };
const LABELS = ['car', 'person', 'bike'];

function newDoc(): Y.Doc {
  const doc = new Y.Doc();
  initSession(doc, { meta, labels: Object.fromEntries(LABELS.map((l) => [l, {}])) });
  return doc;
}

function randomInputs(random: () => number, count: number): AnnotationInput[] {
  return Array.from({ length: count }, () => ({
    frame: Math.floor(random() * meta.frameCount),
    bbox: [Math.floor(random() * 300), Math.floor(random() * 200), 10 + Math.floor(random() * 50), 10 + Math.floor(random() * 50)],
    label: LABELS[Math.floor(random() * LABELS.length)] as string,
    detectionId: random() < 0.3 ? `d${Math.floor(random() * 5)}` : null,
    status: (['draft', 'validated', 'rejected'] as const)[Math.floor(random() * 3)],
  }));
}

function seed(name: string): number {
  const value = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`  ${name}: seed ${value} (replay with SEED=${value})`);
  return value;
}

const test = suite('session index');

test('follows adds, field edits, deletes and remote updates', () => {
  const doc = newDoc();
  const index = sessionIndex(doc);
  const seen: string[][] = [];
  index.onChange((ids) => seen.push([...ids].sort()));
  const a = addAnnotation(doc, { frame: 3, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'alice' });
  assert.is(index.get(a.id)?.frame, 3);
  updateAnnotation(doc, a.id, { frame: 7, label: 'person' }, { by: 'bob' });
  assert.equal(index.query({ frame: 3 }, { limit: 10 }).items, []);
  assert.equal(index.query({ frame: 7 }, { limit: 10 }).items.map((x) => x.label), ['person']);

  const remote = new Y.Doc();
  Y.applyUpdate(remote, Y.encodeStateAsUpdate(doc));
  const b = addAnnotation(remote, { frame: 7, bbox: [5, 5, 10, 10], label: 'bike' }, { by: 'carol' });
  updateAnnotation(remote, a.id, { status: 'validated' }, { by: 'carol' });
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(remote, Y.encodeStateVector(doc)));
  assert.is(index.get(b.id)?.label, 'bike');
  assert.is(index.get(a.id)?.status, 'validated');

  deleteAnnotation(doc, a.id);
  assert.is(index.get(a.id), undefined);
  assert.is(index.size, 1);
  assert.equal(seen, [[a.id], [a.id], [a.id, b.id].sort(), [a.id]]);
  assert.is(sessionIndex(doc), index, 'one index per document');
});

test('queries agree with listAnnotations for every filter', () => {
  const s = seed('queries');
  const random = seededRandom(s);
  const doc = newDoc();
  addAnnotations(doc, randomInputs(random, 400), { by: 'x' });
  const index = new SessionIndex(doc);
  const filters: AnnotationFilter[] = [
    {},
    { frame: 4 },
    { fromFrame: 10, toFrame: 20 },
    { fromFrame: 45 },
    { toFrame: 3, label: 'car' },
    { detectionId: 'd1' },
    { status: 'rejected', fromFrame: 5, toFrame: 5 },
    { frame: 9, fromFrame: 10 },
  ];
  for (const filter of filters) {
    const expected = listAnnotations(doc, filter).map((a) => a.id);
    assert.equal(index.query(filter, { limit: 10_000 }).items.map((a) => a.id), expected, `seed ${s}, ${JSON.stringify(filter)}`);
  }
});

test('one-frame queries stay right, field for field, through adds, moves, edits and deletes made after the first one', () => {
  const s = seed('frames');
  const random = seededRandom(s);
  const doc = newDoc();
  const ids = addAnnotations(doc, randomInputs(random, 60), { by: 'x' }).map((a) => a.id);
  const index = new SessionIndex(doc);
  const frame = (): number => Math.floor(random() * meta.frameCount);
  for (let step = 0; step < 300; step++) {
    const r = random();
    const live = listAnnotations(doc);
    const target = live[Math.floor(random() * live.length)];
    if (r < 0.3 || !target) ids.push(addAnnotation(doc, randomInputs(random, 1)[0]!, { by: 'x' }).id);
    else if (r < 0.7) updateAnnotation(doc, target.id, { frame: frame() }, { by: 'x' });
    else if (r < 0.75) updateAnnotation(doc, target.id, { label: 'bike' }, { by: 'x' });
    else if (r < 0.85) updateAnnotation(doc, target.id, { bbox: [1, 2, 3 + step, 4] }, { by: 'x' });
    else deleteAnnotation(doc, target.id);
    // Frames queried before are queried again after their annotations changed (a kept list must follow).
    const f = step % 3 === 0 && target ? target.frame : frame();
    assert.equal(index.query({ frame: f }, { limit: 10_000 }).items, listAnnotations(doc, { frame: f }), `seed ${s}, step ${step}, frame ${f}`);
  }
});

test('a whole frame is handed out as one frozen list until an annotation of that frame changes', () => {
  const doc = newDoc();
  const index = new SessionIndex(doc);
  const a = addAnnotation(doc, { frame: 3, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'x' });
  addAnnotation(doc, { frame: 4, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'x' });
  const first = index.query({ frame: 3 }, { limit: 10 });
  assert.ok(Object.isFrozen(first.items));
  assert.is(index.query({ frame: 3 }, { limit: 10 }).items, first.items, 'nothing changed: the same list');
  addAnnotation(doc, { frame: 4, bbox: [5, 5, 10, 10], label: 'car' }, { by: 'x' });
  assert.is(index.query({ frame: 3 }, { limit: 10 }).items, first.items, 'another frame changed');
  updateAnnotation(doc, a.id, { label: 'person' }, { by: 'x' });
  const edited = index.query({ frame: 3 }, { limit: 10 }).items;
  assert.is.not(edited, first.items);
  assert.equal(edited.map((x) => x.label), ['person']);
  assert.equal(first.items.map((x) => x.label), ['car'], 'a list handed out is never changed');
  // A frame without annotations is one shared empty list: asking for frame after frame keeps nothing per frame.
  assert.is(index.query({ frame: 40 }, { limit: 10 }).items, index.query({ frame: 41 }, { limit: 10 }).items);
  assert.equal(index.query({ frame: 40 }, { limit: 10 }), { items: [], nextCursor: null });
  // Part of a frame (a filter, a smaller page) is a list of its own, not the kept one.
  assert.not.ok(Object.isFrozen(index.query({ frame: 3, label: 'person' }, { limit: 10 }).items));
  addAnnotation(doc, { frame: 3, bbox: [9, 9, 10, 10], label: 'car' }, { by: 'x' });
  const exact = index.query({ frame: 3 }, { limit: 2 }); // a page exactly as long as the frame is the whole frame
  assert.ok(Object.isFrozen(exact.items));
  assert.is(exact.nextCursor, null);
  const partial = index.query({ frame: 3 }, { limit: 1 });
  assert.not.ok(Object.isFrozen(partial.items));
  assert.is(partial.items.length, 1);
  assert.ok(partial.nextCursor);
});

test('pages cover every annotation that exists throughout exactly once, despite edits between pages', () => {
  const s = seed('pages');
  const random = seededRandom(s);
  const doc = newDoc();
  const initial = addAnnotations(doc, randomInputs(random, 300), { by: 'x' }).map((a) => a.id);
  const index = sessionIndex(doc);
  for (const filter of [{}, { fromFrame: 10, toFrame: 30 }, { frame: 12 }] as AnnotationFilter[]) {
    const stable = new Set(listAnnotations(doc, filter).map((a) => a.id));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = index.query(filter, { limit: 1 + Math.floor(random() * 40), ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor ?? undefined;
      // Someone else adds boxes while we page; what existed from the start must still come once.
      addAnnotations(doc, randomInputs(random, 3), { by: 'y' });
    } while (cursor);
    assert.is(seen.length, new Set(seen).size, `seed ${s}: no annotation twice`);
    for (const id of stable) assert.ok(seen.includes(id), `seed ${s}: ${id} seen`);
  }
  assert.ok(initial.length === 300);
});

test('catchUp re-reads a big write in slices, with turns of the event loop between them, to the same index', async () => {
  const random = seededRandom(7);
  const doc = newDoc();
  addAnnotations(doc, randomInputs(random, 300), { by: 'x' });
  const index = new SessionIndex(doc);
  // The first walk, then a big write on top of it: both are caught up in slices.
  const loop = countLoopTurns();
  await index.catchUp(0);
  assert.ok(loop.turns() > 0, 'the loop ran between slices of the first walk');
  const added = addAnnotations(doc, randomInputs(random, 500), { by: 'y' });
  deleteAnnotation(doc, added[0]!.id);
  const before = loop.turns();
  await index.catchUp(0);
  loop.stop();
  assert.ok(loop.turns() > before, 'the loop ran between slices of the re-read');
  assert.equal(index.query({}, { limit: 1000 }).items, listAnnotations(doc));
});

test('a reader that comes while catchUp runs finishes the rest itself', async () => {
  const doc = newDoc();
  addAnnotations(doc, randomInputs(seededRandom(8), 400), { by: 'x' });
  const index = new SessionIndex(doc);
  const running = index.catchUp(0);
  // catchUp has read one slice and yielded: the synchronous read must still see everything.
  assert.equal(index.query({}, { limit: 1000 }).items, listAnnotations(doc));
  await running;
  assert.is(index.size, 400);
});

test('behind counts what the next read re-reads: everything before the first read, then what changed', () => {
  const doc = newDoc();
  const added = addAnnotations(doc, randomInputs(seededRandom(9), 50), { by: 'x' });
  const index = new SessionIndex(doc);
  assert.is(index.behind, Number.POSITIVE_INFINITY, 'not read yet');
  assert.is(index.size, 50);
  assert.is(index.behind, 0);
  updateAnnotation(doc, added[0]!.id, { status: 'validated' }, { by: 'y' });
  deleteAnnotation(doc, added[1]!.id);
  assert.is(index.behind, 2);
  assert.is(index.get(added[0]!.id)?.status, 'validated');
  assert.is(index.behind, 0);
});

test.run();
