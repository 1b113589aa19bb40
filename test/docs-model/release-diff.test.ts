/**
 * The diff of two releases on hand-made cases: a moved box (with its IoU), a relabel, a delete, an
 * add, track changes; per-label counts; paging and the summary-only mode.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, addTrack, deleteAnnotation, deleteTrack, initSession, updateAnnotation, updateTrack } from '../../docs-model/index.ts';
import { DocModelError } from '../../docs-model/errors.ts';
import { freezeSession } from '../../docs-model/release-content.ts';
import { diffReleases, diffReleaseSteps, type DiffChange } from '../../docs-model/release-diff.ts';
import { META } from './fixtures.ts';

const base = (): Y.Doc => {
  const doc = new Y.Doc();
  initSession(doc, { meta: META, labels: { car: {}, truck: {}, person: {} } });
  addTrack(doc, { id: 't1', label: 'car' });
  addAnnotation(doc, { id: 'k0', frame: 0, bbox: [0, 0, 10, 10], label: 'car', trackId: 't1' }, { by: 'a', now: 1 });
  addAnnotation(doc, { id: 'k4', frame: 4, bbox: [40, 0, 10, 10], label: 'car', trackId: 't1' }, { by: 'a', now: 1 });
  addAnnotation(doc, { id: 'a', frame: 2, bbox: [0, 0, 10, 10], label: 'person' }, { by: 'a', now: 1 });
  addAnnotation(doc, { id: 'b', frame: 3, bbox: [5, 5, 10, 10], label: 'person' }, { by: 'a', now: 1 });
  return doc;
};

const only = (changes: DiffChange[] | undefined, id: string): DiffChange => {
  const found = changes?.filter((c) => c.id === id) ?? [];
  assert.is(found.length, 1, `one change for ${id}`);
  return found[0]!;
};

const test = suite('release diff');

test('a moved box is changed, with from/to and the IoU of the two boxes', () => {
  const doc = base();
  const from = freezeSession(doc);
  updateAnnotation(doc, 'a', { bbox: [5, 0, 10, 10] }, { by: 'b', now: 2 });
  const d = diffReleases(from, freezeSession(doc));
  assert.equal(d.summary.annotations, { added: 0, removed: 0, changed: 1 });
  assert.equal(only(d.changes, 'a'), {
    type: 'annotation', change: 'changed', id: 'a', frame: 2, label: 'person',
    fields: [{ field: 'bbox', from: [0, 0, 10, 10], to: [5, 0, 10, 10] }],
    iou: 50 / 150,
  });
});

test('a relabel names the field and moves the per-label counts', () => {
  const doc = base();
  const from = freezeSession(doc);
  updateAnnotation(doc, 'b', { label: 'truck' }, { by: 'b', now: 2 });
  const d = diffReleases(from, freezeSession(doc));
  const c = only(d.changes, 'b');
  assert.equal(c.type === 'annotation' && c.change === 'changed' ? c.fields : null, [{ field: 'label', from: 'person', to: 'truck' }]);
  assert.not.ok('iou' in c, 'no IoU when the box did not change');
  assert.equal(d.summary.perLabel.person, { from: { annotations: 2, boxes: 2 }, to: { annotations: 1, boxes: 1 } });
  assert.equal(d.summary.perLabel.truck, { from: { annotations: 0, boxes: 0 }, to: { annotations: 1, boxes: 1 } });
});

test('a delete and an add list the whole annotation', () => {
  const doc = base();
  const from = freezeSession(doc);
  deleteAnnotation(doc, 'a');
  addAnnotation(doc, { id: 'c', frame: 9, bbox: [1, 1, 2, 2], label: 'truck' }, { by: 'b', now: 2 });
  const d = diffReleases(from, freezeSession(doc));
  assert.equal(d.summary.annotations, { added: 1, removed: 1, changed: 0 });
  const removed = only(d.changes, 'a');
  const added = only(d.changes, 'c');
  assert.is(removed.change, 'removed');
  assert.is(removed.type === 'annotation' && removed.change === 'removed' ? removed.annotation.bbox[2] : -1, 10);
  assert.is(added.type === 'annotation' && added.change === 'added' ? added.annotation.label : '', 'truck');
});

test('a track relabel changes the track and its keyframes; boxes follow the track label', () => {
  const doc = base();
  const from = freezeSession(doc);
  updateTrack(doc, 't1', { label: 'truck', interpolation: 'none' });
  const d = diffReleases(from, freezeSession(doc));
  assert.equal(only(d.changes, 't1'), {
    type: 'track', change: 'changed', id: 't1',
    fields: [{ field: 'label', from: 'car', to: 'truck' }, { field: 'interpolation', from: 'linear', to: 'none' }],
  });
  assert.equal(d.summary.tracks, { added: 0, removed: 0, changed: 1 });
  assert.equal(d.summary.annotations.changed, 2, 'both keyframes were relabelled');
  // The track holds to frame 19: frames 0..19 = 20 boxes, all now truck.
  assert.equal(d.summary.perLabel.car, { from: { annotations: 2, boxes: 20 }, to: { annotations: 0, boxes: 0 } });
  assert.equal(d.summary.perLabel.truck!.to, { annotations: 2, boxes: 20 });
});

test('a track deleted with its keyframes and one added are listed, tracks first', () => {
  const doc = base();
  const from = freezeSession(doc);
  deleteTrack(doc, 't1', { withKeyframes: true });
  addTrack(doc, { id: 't2', label: 'person' });
  const d = diffReleases(from, freezeSession(doc));
  assert.equal(d.summary.tracks, { added: 1, removed: 1, changed: 0 });
  assert.equal(d.changes!.map((c) => `${c.type}:${c.change}:${c.id}`), ['track:removed:t1', 'track:added:t2', 'annotation:removed:k0', 'annotation:removed:k4']);
});

test('an edit that was undone, or only authorship, is no change', () => {
  const doc = base();
  const from = freezeSession(doc);
  updateAnnotation(doc, 'a', { bbox: [3, 3, 10, 10] }, { by: 'b', now: 2 });
  updateAnnotation(doc, 'a', { bbox: [0, 0, 10, 10] }, { by: 'c', now: 3 });
  const d = diffReleases(from, freezeSession(doc));
  assert.equal(d.summary.annotations, { added: 0, removed: 0, changed: 0 });
  assert.equal(d.changes, []);
  assert.is(d.nextCursor, null);
});

test('pages follow the cursor until every change was seen once; summary mode lists none', () => {
  const doc = base();
  const from = freezeSession(doc);
  for (let k = 0; k < 7; k++) addAnnotation(doc, { id: `n${k}`, frame: k, bbox: [1, 1, 2, 2], label: 'truck' }, { by: 'b', now: 2 });
  updateTrack(doc, 't1', { attributes: { lane: 2 } });
  const to = freezeSession(doc);
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const d = diffReleases(from, to, cursor === undefined ? { limit: 3 } : { limit: 3, cursor });
    seen.push(...d.changes!.map((c) => c.id));
    if (!d.nextCursor) break;
    cursor = d.nextCursor;
  }
  assert.equal(seen, ['t1', 'n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
  const summary = diffReleases(from, to, { summary: true });
  assert.is(summary.changes, undefined);
  assert.equal(summary.summary.annotations.added, 7);
});

test('in steps, a diff of 2 000 annotations stops every few hundred and ends with what it gives at once', () => {
  const doc = base();
  for (let k = 0; k < 2000; k++) addAnnotation(doc, { id: `n${k}`, frame: k % 5, bbox: [k % 50, 0, 10, 10], label: 'car' }, { by: 'a', now: 1 });
  const from = freezeSession(doc);
  for (let k = 0; k < 2000; k += 3) updateAnnotation(doc, `n${k}`, { bbox: [1, 1, 10, 10] }, { by: 'b', now: 2 });
  deleteAnnotation(doc, 'n1', { by: 'b', now: 2 });
  const to = freezeSession(doc);
  const steps = diffReleaseSteps(from, to, { limit: 50 });
  let stops = 0;
  let step = steps.next();
  for (; !step.done; step = steps.next()) stops++;
  assert.ok(stops >= 4, `${stops} stops`);
  assert.equal(step.value, diffReleases(from, to, { limit: 50 }));
  assert.is(step.value.summary.annotations.changed + step.value.summary.annotations.removed, 668);
});

test('a cursor it did not give, or a bad limit, is refused naming the field', () => {
  const c = freezeSession(base());
  assert.throws(() => diffReleases(c, c, { cursor: 'zzz' }), (e: unknown) => e instanceof DocModelError && e.field === 'cursor');
  assert.throws(() => diffReleases(c, c, { limit: 0 }), (e: unknown) => e instanceof DocModelError && e.field === 'limit');
});

test.run();
