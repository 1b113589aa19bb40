/**
 * A staged change's step updates joined without decoding them (server/documents/update-chain.ts):
 * when the steps only added the document's own structs, one after the other, the joined update is
 * exactly what Y.mergeUpdates makes of them; anything else is left to Y.mergeUpdates.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { deleteAnnotation, listAnnotations, planAddAnnotations, updateAnnotation, type AnnotationInput } from '../../docs-model/index.ts';
import { HeldBack } from '../../server/documents/update-chain.ts';
import { sessionDoc } from '../docs-model/fixtures.ts';
import { seededRandom } from '../../tools/fuzz.ts';

const STEP = 'the change';
const boxes = (prefix: string, count: number): AnnotationInput[] =>
  Array.from({ length: count }, (_, k) => ({ id: `${prefix}${k}`, frame: k % 7, bbox: [k % 50, 5, 20, 30], label: k % 2 ? 'car' : 'truck' }));

/** Holds back every update `doc` makes with origin STEP, as LiveDocument does during a staged change. */
function holding(doc: Y.Doc, expectedSteps?: number): HeldBack {
  const held = new HeldBack(STEP, doc.clientID, expectedSteps);
  doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction) => {
    if (origin === STEP) held.add(update, transaction);
  });
  return held;
}

/** The real steps of a bulk create of `count` annotations, each in a transaction of its own. */
function bulkCreate(doc: Y.Doc, prefix: string, count: number): void {
  const staged = planAddAnnotations(doc, boxes(prefix, count), { by: 'ada', stepItems: 10 });
  for (const check of staged.checks ?? []) check();
  for (const step of staged.steps()) doc.transact(step, STEP);
}

/**
 * `joined` brings a document at `before` where the steps' updates, one by one, bring it, and where
 * Y.mergeUpdates's one update does: the same structs, the same delete set, nothing left waiting.
 */
function assertSameChange(before: Uint8Array, updates: Uint8Array[], joined: Uint8Array | null, what = ''): void {
  assert.ok(joined, `the steps chain ${what}`);
  const viaJoin = docOf(before, joined);
  assert.is(viaJoin.store.pendingStructs, null, `nothing waits ${what}`);
  assert.is(viaJoin.store.pendingDs, null, `no delete waits ${what}`);
  assert.equal(Y.encodeStateAsUpdate(viaJoin), Y.encodeStateAsUpdate(docOf(before, ...updates)), `as the steps one by one ${what}`);
  assert.equal(Y.encodeStateAsUpdate(viaJoin), Y.encodeStateAsUpdate(docOf(before, Y.mergeUpdates(updates))), `as Y.mergeUpdates ${what}`);
}

const docOf = (...updates: Uint8Array[]): Y.Doc => {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
};

const stateOf = (...updates: Uint8Array[]): Uint8Array => {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return Y.encodeStateAsUpdate(doc);
};

// The joined bytes are built as the steps come, in a buffer sized for the steps said to come: told
// right, told too few (it grows), or not told (it doubles).
for (const expectedSteps of [10, 3, undefined]) {
  test(`the steps of a bulk create join into the very bytes Y.mergeUpdates makes of them (${expectedSteps ?? 'no'} steps expected)`, () => {
    const doc = sessionDoc();
    const before = Y.encodeStateAsUpdate(doc);
    const held = holding(doc, expectedSteps);
    bulkCreate(doc, 'a', 95);
    const { updates, joined } = held.take();
    assert.is(updates.length, 10, 'ten steps');
    assert.ok(joined, 'they chain');
    assert.equal(joined, Y.mergeUpdates(updates));
    assert.equal(stateOf(before, joined), Y.encodeStateAsUpdate(doc));
  });
}

test('steps of very different sizes join to the bytes Y.mergeUpdates makes, however many steps were said to come', () => {
  for (const expectedSteps of [1, 2, 5, 40, undefined]) {
    const doc = new Y.Doc();
    const held = holding(doc, expectedSteps);
    for (let step = 0; step < 12; step++) {
      doc.transact(() => {
        const map = doc.getMap('m');
        // Sizes from a few bytes to ~40 kB; every value ends in a byte that is not 0.
        for (let k = 0; k < 1 + ((step * 7) % 5) * 40; k++) map.set(`s${step}k${k}`, `${'v'.repeat((k * 13) % 200)}${step}!`);
      }, STEP);
    }
    const { updates, joined } = held.take();
    assert.ok(joined, `they chain (${expectedSteps ?? 'no'} steps expected)`);
    assert.equal(joined, Y.mergeUpdates(updates), `${expectedSteps ?? 'no'} steps expected`);
  }
});

test('a chain on a document that already holds content, its own and a peer\'s, joins to what Y.mergeUpdates makes', () => {
  const peer = sessionDoc();
  bulkCreate(peer, 'p', 12);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer));
  bulkCreate(doc, 'own', 15);
  const before = Y.encodeStateAsUpdate(doc);
  const held = holding(doc);
  bulkCreate(doc, 'b', 40);
  const { updates, joined } = held.take();
  assert.ok(joined);
  assert.equal(joined, Y.mergeUpdates(updates));
  assert.equal(stateOf(before, joined), Y.encodeStateAsUpdate(doc));
  assert.is(listAnnotations(doc).length, 12 + 15 + 40);
});

test('steps that delete, older annotations and the change\'s own, chain: their deletes ride in the one update', () => {
  const doc = sessionDoc();
  bulkCreate(doc, 'a', 5);
  const before = Y.encodeStateAsUpdate(doc);
  const held = holding(doc, 3);
  bulkCreate(doc, 'b', 20);
  doc.transact(() => deleteAnnotation(doc, 'a1'), STEP);
  doc.transact(() => deleteAnnotation(doc, 'b7'), STEP);
  bulkCreate(doc, 'c', 20);
  const { updates, joined } = held.take();
  assert.ok(updates.length > 2);
  assertSameChange(before, updates, joined);
  assert.equal(listAnnotations(docOf(before, joined!)).map((a) => a.id).sort(), listAnnotations(doc).map((a) => a.id).sort());
  assert.not.ok(listAnnotations(docOf(before, joined!)).some((a) => a.id === 'a1' || a.id === 'b7'));
});

test('a step that writes over values (each a delete under the hood) chains too', () => {
  const doc = sessionDoc();
  bulkCreate(doc, 'a', 5);
  const before = Y.encodeStateAsUpdate(doc);
  const held = holding(doc);
  bulkCreate(doc, 'b', 20);
  doc.transact(() => updateAnnotation(doc, 'a2', { bbox: [1, 1, 10, 10] }, { by: 'ada' }), STEP);
  doc.transact(() => updateAnnotation(doc, 'b3', { label: 'car' }, { by: 'ada' }), STEP);
  const { updates, joined } = held.take();
  assertSameChange(before, updates, joined);
  const after = docOf(before, joined!);
  assert.equal(listAnnotations(after).find((a) => a.id === 'a2')?.bbox, [1, 1, 10, 10]);
});

test('a change whose steps only delete is one update holding their deletes', () => {
  const doc = sessionDoc();
  bulkCreate(doc, 'a', 30);
  const before = Y.encodeStateAsUpdate(doc);
  const held = holding(doc, 3);
  for (const id of ['a3', 'a17', 'a4']) doc.transact(() => deleteAnnotation(doc, id), STEP);
  const { updates, joined } = held.take();
  assertSameChange(before, updates, joined);
  assert.is(listAnnotations(docOf(before, joined!)).length, 27);
});

test('a change of the same client in between, not held back, leaves a gap: no chain', () => {
  const doc = sessionDoc();
  const held = holding(doc);
  bulkCreate(doc, 'a', 20);
  doc.transact(() => doc.getMap('meta').set('note', 'elsewhere'), 'another origin');
  bulkCreate(doc, 'b', 20);
  assert.is(held.take().joined, null);
});

test('a step that integrates another client\'s structs breaks the chain', () => {
  const peer = new Y.Doc();
  peer.getMap('meta').set('from', 'peer');
  const doc = sessionDoc();
  const held = holding(doc);
  bulkCreate(doc, 'a', 20);
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer), STEP);
  bulkCreate(doc, 'b', 20);
  assert.is(held.take().joined, null);
});

test('an update without its transaction cannot be checked: no chain', () => {
  const doc = new Y.Doc();
  const held = new HeldBack(STEP, doc.clientID);
  doc.on('update', (update: Uint8Array) => held.add(update, undefined));
  doc.transact(() => doc.getMap('m').set('a', 1), STEP);
  doc.transact(() => doc.getMap('m').set('b', 2), STEP);
  assert.is(held.take().joined, null);
});

test('random changes of random steps: joined, when joined, brings a copy where the steps and Y.mergeUpdates do', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  const pick = (n: number): number => Math.floor(random() * n);
  let joinedCount = 0;
  for (let round = 0; round < 300; round++) {
    const doc = new Y.Doc();
    const peer = new Y.Doc();
    peer.getMap('m').set('peer', round);
    if (random() < 0.5) Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer));
    for (let k = 0; k < pick(4); k++) doc.getMap('m').set(`old${k}`, k);
    const before = Y.encodeStateAsUpdate(doc);
    const held = holding(doc, random() < 0.3 ? undefined : 1 + pick(8));
    const steps = 2 + pick(6);
    // Mostly adds, as a bulk create; now and then deletes, writes over values, or what breaks a chain.
    const mixed = random() < 0.5;
    for (let s = 0; s < steps; s++) {
      const what = mixed ? pick(5) : 0;
      // A peer's structs held back as a step of the change (applied on their own: applied inside a
      // local transaction, Yjs takes the doc's own new structs for another client's and renews its id).
      if (what === 3) Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer), STEP);
      doc.transact(() => {
        const map = doc.getMap('m');
        if (what === 1 && map.size > 0) map.delete([...map.keys()][pick(map.size)]!);
        else if (what === 2 && map.size > 0) map.set([...map.keys()][pick(map.size)]!, `over${s}`);
        const nested = new Y.Map<unknown>();
        for (let f = 0; f < 1 + pick(5); f++) nested.set(`f${f}`, random() < 0.5 ? `${'x'.repeat(pick(300))}${s}` : pick(1000));
        map.set(`r${round}s${s}`, nested);
        if (what === 4 && random() < 0.5) doc.getArray('list').insert(0, [s, `t${s}`]);
      }, STEP);
      if (mixed && pick(6) === 0) doc.transact(() => doc.getMap('m').set(`between${s}`, s), 'not the change');
    }
    const { updates, joined } = held.take();
    if (joined === null) continue;
    joinedCount++;
    assertSameChange(before, updates, joined, `(seed ${seed}, round ${round})`);
  }
  assert.ok(joinedCount > 150, `most changes chain (${joinedCount} of 300)`);
});

test('one step, or none, is never joined: it is the update itself', () => {
  const doc = new Y.Doc();
  const held = holding(doc);
  assert.equal(held.take(), { updates: [], joined: null });
  doc.transact(() => doc.getMap('m').set('a', 1), STEP);
  const one = held.take();
  assert.is(one.updates.length, 1);
  assert.is(one.joined, null);
});

test.run();
