/**
 * observeFieldChanges: the field-by-field record of what each transaction did to annotations and
 * tracks, local or arriving from a peer, with the author the change wrote.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, addTrack, deleteAnnotation, updateAnnotation, updateTrack } from '../../docs-model/index.ts';
import { observeFieldChanges, type EntityChange } from '../../docs-model/field-changes.ts';
import { sessionDoc, track } from './fixtures.ts';

function record(doc: Y.Doc): { seen: Array<{ changes: EntityChange[]; origin: unknown }>; stop: () => void } {
  const seen: Array<{ changes: EntityChange[]; origin: unknown }> = [];
  const stop = observeFieldChanges(doc, (changes, origin) => seen.push({ changes, origin }));
  return { seen, stop };
}

test('a new annotation is created with its fields; bookkeeping fields are left out', () => {
  const doc = sessionDoc();
  const { seen } = record(doc);
  const a = addAnnotation(doc, { frame: 3, bbox: [1, 2, 3, 4], label: 'car' }, { by: 'ada' });
  assert.is(seen.length, 1);
  const [change] = seen[0]!.changes;
  assert.equal([change!.entity, change!.id, change!.kind, change!.updatedBy], ['annotation', a.id, 'created', 'ada']);
  assert.equal(change!.fields.bbox, { from: null, to: [1, 2, 3, 4] });
  assert.equal(change!.fields.label, { from: null, to: 'car' });
  assert.not.ok('updatedAt' in change!.fields || 'createdBy' in change!.fields);
});

test('a move and a relabel by two peers are two changes with their own authors and old values', () => {
  const a = sessionDoc();
  const b = new Y.Doc();
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  const box = addAnnotation(a, { frame: 0, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'ada' });
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  const { seen } = record(a);
  updateAnnotation(a, box.id, { bbox: [3, 0, 5, 5] }, { by: 'ada' });
  const before = Y.encodeStateVector(b);
  updateAnnotation(b, box.id, { label: 'truck' }, { by: 'bob' });
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, before), 'remote');
  assert.equal(
    seen.map((s) => [s.origin ?? null, s.changes.map((c) => [c.kind, c.updatedBy, c.fields])]),
    [
      [null, [['changed', 'ada', { bbox: { from: [0, 0, 5, 5], to: [3, 0, 5, 5] } }]]],
      ['remote', [['changed', 'bob', { label: { from: 'car', to: 'truck' } }]]],
    ],
  );
});

test('a deletion reports the id and no fields; a write that changes nothing reports nothing', () => {
  const doc = sessionDoc();
  const box = addAnnotation(doc, { frame: 0, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'ada' });
  const { seen, stop } = record(doc);
  updateAnnotation(doc, box.id, { label: 'car' }, { by: 'ada' });
  deleteAnnotation(doc, box.id, 'origin-1');
  assert.equal(seen, [{ changes: [{ entity: 'annotation', id: box.id, kind: 'deleted', fields: {}, updatedBy: null }], origin: 'origin-1' }]);
  stop();
  addAnnotation(doc, { frame: 1, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'ada' });
  assert.is(seen.length, 1);
});

test('tracks are reported as tracks: created, then the field that changed', () => {
  const doc = sessionDoc();
  const { seen } = record(doc);
  addTrack(doc, track({ id: 't9', label: 'car' }));
  updateTrack(doc, 't9', { label: 'truck' });
  const tracks = seen.flatMap((s) => s.changes).filter((c) => c.entity === 'track');
  assert.equal(tracks.map((c) => [c.id, c.kind]), [['t9', 'created'], ['t9', 'changed']]);
  assert.equal(tracks[1]!.fields.label, { from: 'car', to: 'truck' });
});

test.run();
