import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  addAnnotation,
  addTrack,
  DocModelError,
  getAnnotation,
  getLabels,
  getMeta,
  initSession,
  listAnnotations,
  listTracks,
  readSession,
  writeSession,
  type SessionContentInput,
} from '../../docs-model/index.ts';
import { META, sessionDoc } from './fixtures.ts';

const detailsOf = (fn: () => unknown): { part: string; index?: number; code: string; field: string }[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DocModelError && e.code === 'invalid_content') {
      return (e.details as { errors: { part: string; index?: number; code: string; field: string }[] }).errors;
    }
    throw e;
  }
  throw new Error('expected invalid_content');
};

/** A session with a track of two keyframes and one standalone box. */
const filled = (): Y.Doc => {
  const doc = sessionDoc();
  addTrack(doc, { id: 't', label: 'car', interpolation: 'none' });
  addAnnotation(doc, { id: 'k0', frame: 0, bbox: [0, 0, 5, 5], label: 'car', trackId: 't' }, { by: 'alice', now: 1 });
  addAnnotation(doc, { id: 'k9', frame: 9, bbox: [9, 0, 5, 5], label: 'car', trackId: 't', outside: true }, { by: 'alice', now: 2 });
  addAnnotation(doc, { id: 'p', frame: 3, bbox: [1, 2, 3, 4], label: 'person', attributes: { a: 1 } }, { by: 'bob', now: 3 });
  return doc;
};

const session = suite('session');

session('initSession writes meta and labels in one transaction, idempotently', () => {
  const doc = new Y.Doc();
  let transactions = 0;
  doc.on('afterTransaction', () => transactions++);
  initSession(doc, { meta: META, labels: { car: {} } }, { origin: 'server' });
  assert.is(transactions, 1);
  assert.equal(getMeta(doc), META);
  assert.equal(getLabels(doc), { car: {} });
  let updates = 0;
  doc.on('update', () => updates++);
  initSession(doc, { meta: META, labels: { car: {} } });
  assert.is(updates, 0);
});

session('readSession gives plain data; writeSession(replace) into an empty doc reproduces it', () => {
  const doc = filled();
  const content = readSession(doc);
  assert.equal(content.meta, META);
  assert.equal(content.tracks, [{ id: 't', label: 'car', attributes: {}, interpolation: 'none' }]);
  assert.equal(content.annotations.map((a) => a.id), ['k0', 'p', 'k9']);
  const copy = new Y.Doc();
  const result = writeSession(copy, content, { mode: 'replace', origin: 'import' });
  assert.equal(readSession(copy), content, 'authorship and every field survive the round trip');
  assert.equal(result.annotations, { created: 3, updated: 0, deleted: 0 });
  assert.equal(result.tracks, { created: 1, updated: 0, deleted: 0 });
});

session('writing the same content again changes nothing', () => {
  const doc = filled();
  let updates = 0;
  doc.on('update', () => updates++);
  const result = writeSession(doc, readSession(doc), { mode: 'merge' });
  assert.is(updates, 0);
  assert.equal(result.annotations, { created: 0, updated: 0, deleted: 0 });
});

session('merge adds new items and updates by id, keeping the rest', () => {
  const doc = filled();
  const result = writeSession(
    doc,
    {
      labels: { bus: {} },
      annotations: [
        { id: 'p', frame: 3, bbox: [1, 2, 3, 4], label: 'bus' },
        { frame: 4, bbox: [0, 0, 1, 1], label: 'bus' },
      ],
    },
    { mode: 'merge', by: 'importer', now: 50 },
  );
  assert.equal(result.annotations, { created: 1, updated: 1, deleted: 0 });
  assert.equal(Object.keys(getLabels(doc)).sort(), ['bus', 'car', 'person', 'truck']);
  const p = getAnnotation(doc, 'p');
  assert.equal([p?.label, p?.createdBy, p?.createdAt, p?.updatedBy, p?.updatedAt], ['bus', 'bob', 3, 'importer', 50]);
  const added = listAnnotations(doc, { frame: 4 })[0];
  assert.equal([added?.source, added?.createdBy], ['import', 'importer']);
  assert.is(listAnnotations(doc).length, 4);
});

session('replace leaves exactly the content: absent labels, tracks and annotations go', () => {
  const doc = filled();
  const result = writeSession(
    doc,
    { labels: { person: {} }, annotations: [{ id: 'p', frame: 3, bbox: [1, 2, 3, 4], label: 'person', attributes: { a: 1 } }] },
    { mode: 'replace' },
  );
  assert.equal(result.annotations, { created: 0, updated: 0, deleted: 2 });
  assert.equal(result.tracks.deleted, 1);
  assert.equal(result.labels, { created: 0, updated: 1, deleted: 2 });
  assert.equal(listAnnotations(doc).map((a) => a.id), ['p']);
  assert.equal(getAnnotation(doc, 'p')?.updatedBy, 'bob', 'an unchanged annotation keeps its authorship');
  assert.equal(listTracks(doc), []);
  assert.equal(getMeta(doc), META, 'meta is written only when given');
});

session('is all or nothing and lists every problem with its part and index', () => {
  const doc = filled();
  const before = Y.encodeStateVector(doc);
  const content: SessionContentInput = {
    meta: { ...META, width: -1 },
    labels: { '': {} },
    tracks: [{ id: 'u', label: 'bus' }, { id: 'u', label: 'car' }],
    annotations: [
      { id: 'x', frame: 0, bbox: [0, 0, 1, 1], label: 'car', trackId: 'gone' },
      { id: 'x', frame: 0, bbox: [0, 0, 1, 1], label: 'car' },
      { frame: 0, bbox: [0, 0, 1, 1], label: 'car', trackId: 't' },
    ],
  };
  assert.equal(
    detailsOf(() => writeSession(doc, content, { mode: 'merge' })).map((e) => [e.part, e.index ?? -1, e.code, e.field]),
    [
      ['meta', -1, 'invalid_meta', 'width'],
      ['labels', -1, 'invalid_value', 'name'],
      ['tracks', 0, 'unknown_label', 'label'],
      ['tracks', 1, 'duplicate_id', 'id'],
      ['annotations', 0, 'unknown_track', 'trackId'],
      ['annotations', 1, 'duplicate_id', 'id'],
      ['annotations', 2, 'duplicate_keyframe', 'frame'],
    ],
  );
  assert.equal(Y.encodeStateVector(doc), before, 'nothing was written');
});

session('validates against the document as it will be: replace drops tracks and labels not given', () => {
  const doc = filled();
  const kf = { id: 'k0', frame: 0, bbox: [0, 0, 5, 5] as [number, number, number, number], label: 'car', trackId: 't' };
  assert.equal(
    detailsOf(() => writeSession(doc, { annotations: [kf] }, { mode: 'replace' })).map((e) => e.code),
    ['unknown_label', 'unknown_track'],
  );
  // k0 may move onto a frame only it had; another keyframe may not join it there, nor may k0 join k9.
  assert.equal(writeSession(doc, { annotations: [{ ...kf, frame: 5 }] }, { mode: 'merge' }).annotations.updated, 1);
  const conflicts = [{ ...kf, id: 'new', frame: 5 }, { ...kf, frame: 9 }];
  for (const input of conflicts) {
    assert.equal(detailsOf(() => writeSession(doc, { annotations: [input] }, { mode: 'merge' })).map((e) => e.code), ['duplicate_keyframe']);
  }
});

session('clip applies to imported boxes', () => {
  const doc = sessionDoc();
  writeSession(doc, { annotations: [{ id: 'a', frame: 0, bbox: [90, 0, 20, 10], label: 'car' }] }, { mode: 'merge', clip: true });
  assert.equal(getAnnotation(doc, 'a')?.bbox, [90, 0, 10, 10]);
});

session('the whole write is one transaction with the given origin', () => {
  const doc = sessionDoc();
  const origins: unknown[] = [];
  doc.on('update', (_u: Uint8Array, origin: unknown) => origins.push(origin));
  writeSession(doc, readSession(filled()), { mode: 'replace', origin: 'import' });
  assert.equal(origins, ['import']);
});

session.run();
