import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addAnnotation,
  addTrack,
  deleteTrack,
  DocModelError,
  getAnnotation,
  getTrack,
  listAnnotations,
  listTracks,
  trackKeyframes,
  updateTrack,
  validateTrackInput,
} from '../../docs-model/index.ts';
import { sessionDoc } from './fixtures.ts';

const codeOf = (fn: () => unknown): string | null => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DocModelError) return `${e.code}:${e.field}`;
    throw e;
  }
  return null;
};

const tracks = suite('tracks');

tracks('adds a track with defaults and reads it back', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { label: 'car' });
  assert.equal(getTrack(doc, t.id), { id: t.id, label: 'car', attributes: {}, interpolation: 'linear' });
  const u = addTrack(doc, { id: 'u', label: 'person', attributes: { gender: 'f' }, interpolation: 'none' });
  assert.equal(getTrack(doc, 'u'), u);
});

tracks('refuses an unknown label, a duplicate id, bad interpolation and attributes', () => {
  const doc = sessionDoc();
  addTrack(doc, { id: 't', label: 'car' });
  assert.is(codeOf(() => addTrack(doc, { label: 'bus' })), 'unknown_label:label');
  assert.is(codeOf(() => addTrack(doc, { id: 't', label: 'car' })), 'duplicate_id:id');
  assert.is(codeOf(() => addTrack(doc, { label: 'car', interpolation: 'cubic' as 'none' })), 'invalid_value:interpolation');
  assert.is(codeOf(() => addTrack(doc, { label: 'car', attributes: 1 as unknown as Record<string, unknown> })), 'invalid_value:attributes');
  assert.is(codeOf(() => addTrack(doc, {} as { label: string })), 'invalid_value:label');
  assert.equal(validateTrackInput({ car: {} }, { id: '', label: '' }).map((e) => e.field), ['id', 'label']);
  assert.is(listTracks(doc).length, 1);
});

tracks('updateTrack changes given fields; a new label also relabels its keyframes', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { label: 'car' });
  const k = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car', trackId: t.id }, { by: 'a' });
  const other = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' });
  let transactions = 0;
  doc.on('afterTransaction', () => transactions++);
  const u = updateTrack(doc, t.id, { label: 'truck', interpolation: 'none' }, { origin: 'origin' });
  assert.is(transactions, 1);
  assert.equal(u, { id: t.id, label: 'truck', attributes: {}, interpolation: 'none' });
  assert.is(getAnnotation(doc, k.id)?.label, 'truck');
  assert.is(getAnnotation(doc, other.id)?.label, 'car');
  assert.is(codeOf(() => updateTrack(doc, t.id, { label: 'bus' })), 'unknown_label:label');
  assert.is(codeOf(() => updateTrack(doc, 'missing', {})), 'not_found:id');
});

tracks('deleteTrack keeps its keyframes as standalone annotations unless told to delete them', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { label: 'car' });
  const k = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car', trackId: t.id }, { by: 'a' });
  assert.ok(deleteTrack(doc, t.id));
  assert.is(getTrack(doc, t.id), null);
  assert.is(getAnnotation(doc, k.id)?.trackId, null);
  assert.not.ok(deleteTrack(doc, t.id));

  const t2 = addTrack(doc, { label: 'car' });
  addAnnotation(doc, { frame: 1, bbox: [0, 0, 1, 1], label: 'car', trackId: t2.id }, { by: 'a' });
  addAnnotation(doc, { frame: 2, bbox: [0, 0, 1, 1], label: 'car', trackId: t2.id }, { by: 'a' });
  assert.ok(deleteTrack(doc, t2.id, { withKeyframes: true }));
  assert.equal(listAnnotations(doc).map((a) => a.id), [k.id]);
});

tracks('listTracks sorts by id; trackKeyframes lists only that track, by frame', () => {
  const doc = sessionDoc();
  addTrack(doc, { id: 'b', label: 'car' });
  addTrack(doc, { id: 'a', label: 'truck' });
  assert.equal(listTracks(doc).map((t) => t.id), ['a', 'b']);
  addAnnotation(doc, { id: 'k5', frame: 5, bbox: [0, 0, 1, 1], label: 'car', trackId: 'b' }, { by: 'x' });
  addAnnotation(doc, { id: 'k1', frame: 1, bbox: [0, 0, 1, 1], label: 'car', trackId: 'b' }, { by: 'x' });
  addAnnotation(doc, { id: 'o', frame: 1, bbox: [0, 0, 1, 1], label: 'truck', trackId: 'a' }, { by: 'x' });
  assert.equal(trackKeyframes(doc, 'b').map((a) => a.id), ['k1', 'k5']);
  assert.equal(trackKeyframes(doc, 'none'), []);
});

tracks.run();
