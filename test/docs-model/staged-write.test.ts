/**
 * Writes planned as steps (docs-model/staged-write.ts): run one per transaction they leave the
 * document as the one-transaction write does, and every refusal comes from the plan, before any
 * step has run.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotations, CHECK_STEP_ITEMS, listAnnotations, listTracks, planAddAnnotations, planWriteSession, readSession, writeSession, type StagedWrite } from '../../docs-model/index.ts';
import { sessionDoc } from './fixtures.ts';

const test = suite('staged writes');

const inputs = (count: number, prefix = 'a') =>
  Array.from({ length: count }, (_, k) => ({ id: `${prefix}${k}`, frame: k % 20, bbox: [k % 50, 1, 10, 10] as [number, number, number, number], label: 'car' }));

/** Runs the checks, then each step in its own transaction, as the server does; counts the transactions that changed the document. */
function runStepwise(doc: Y.Doc, staged: StagedWrite<unknown>): number {
  for (const check of staged.checks ?? []) check();
  let updates = 0;
  const count = () => updates++;
  doc.on('update', count);
  for (const step of staged.steps()) doc.transact(step, 'server');
  doc.off('update', count);
  return updates;
}

test('a bulk create in steps of 7 leaves the document as the one-transaction create does', () => {
  const whole = sessionDoc();
  const stepwise = sessionDoc();
  const created = addAnnotations(whole, inputs(30), { by: 'ada', now: 1000 });
  const staged = planAddAnnotations(stepwise, inputs(30), { by: 'ada', now: 1000, stepItems: 7 });
  assert.is(runStepwise(stepwise, staged), 5, 'five steps, each its own transaction');
  assert.equal(staged.result(), created);
  assert.equal(listAnnotations(stepwise), listAnnotations(whole));
});

test('a large bulk create is checked in slices too, and one bad input among them is refused before anything is written', () => {
  const doc = sessionDoc();
  const many = inputs(CHECK_STEP_ITEMS * 2 + 5);
  const bad = CHECK_STEP_ITEMS + 3;
  many[bad] = { ...many[bad]!, frame: 99 };
  const staged = planAddAnnotations(doc, many, { by: 'ada' });
  assert.is(staged.checks?.length, 4, 'three slices of checks and the verdict');
  const before = Y.encodeStateVector(doc);
  assert.throws(() => runStepwise(doc, staged), (err: Error & { details?: { errors: Array<{ index: number }> } }) => err.details?.errors[0]?.index === bad);
  assert.equal(Y.encodeStateVector(doc), before, 'nothing written');
});

test('a replace import in steps removes, adds and counts as the one-transaction import does', () => {
  const whole = sessionDoc();
  const stepwise = sessionDoc();
  for (const doc of [whole, stepwise]) addAnnotations(doc, inputs(12, 'old'), { by: 'ada', now: 1 });
  const content = {
    labels: { car: {}, bike: {} },
    tracks: [{ id: 't1', label: 'bike' }],
    annotations: [...inputs(9, 'new'), { ...inputs(1, 'old')[0]!, label: 'bike' }],
  };
  const opts = { mode: 'replace' as const, by: 'importer', now: 2 };
  const result = writeSession(whole, content, opts);
  const staged = planWriteSession(stepwise, content, { ...opts, stepItems: 4 });
  // meta/labels/tracks, 11 removals in 3 steps, 10 annotations in 3 steps
  assert.is(runStepwise(stepwise, staged), 7);
  assert.equal(staged.result(), result);
  assert.equal(result.annotations, { created: 9, updated: 1, deleted: 11 });
  assert.equal(readSession(stepwise), readSession(whole));
  assert.equal(listTracks(stepwise).map((t) => t.id), ['t1']);
});

test.run();
