import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  addAnnotation,
  addAnnotations,
  addTrack,
  deleteAnnotation,
  DocModelError,
  getAnnotation,
  listAnnotations,
  updateAnnotation,
  validateAnnotationInput,
  validateAnnotationInputs,
  validateAnnotationPatch,
  type AnnotationInput,
} from '../../docs-model/index.ts';
import { META, sessionDoc } from './fixtures.ts';

const errorOf = (fn: () => unknown): { code: string; field: string; details: unknown } | null => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DocModelError) return { code: e.code, field: e.field, details: e.details };
    throw e;
  }
  return null;
};

const codes = (errors: DocModelError[]): string[] => errors.map((e) => `${e.code}:${e.field}`);

const add = suite('addAnnotation');

add('creates an annotation with defaults and reads it back', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, { frame: 3, bbox: [10, 10, 40, 30], label: 'car' }, { by: 'alice', now: 1000 });
  assert.type(a.id, 'string');
  assert.equal(getAnnotation(doc, a.id), {
    id: a.id,
    frame: 3,
    bbox: [10, 10, 40, 30],
    label: 'car',
    trackId: null,
    detectionId: null,
    attributes: {},
    occluded: false,
    outside: false,
    status: 'draft',
    source: 'manual',
    createdBy: 'alice',
    updatedBy: 'alice',
    createdAt: 1000,
    updatedAt: 1000,
  });
});

add('keeps the given id and optional fields', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, {
      id: 'a1',
      frame: 0,
      bbox: [0, 0, 100, 50],
      label: 'person',
      detectionId: 'd9',
      attributes: { pose: 'walking' },
      occluded: true,
      status: 'validated',
      source: 'model',
    }, { by: 'bob' });
  assert.is(a.id, 'a1');
  const read = getAnnotation(doc, 'a1');
  assert.equal(read?.attributes, { pose: 'walking' });
  assert.is(read?.detectionId, 'd9');
  assert.is(read?.occluded, true);
  assert.is(read?.status, 'validated');
  assert.is(read?.source, 'model');
});

add('a box touching the frame edges is inside', () => {
  const doc = sessionDoc();
  assert.ok(addAnnotation(doc, { frame: 19, bbox: [0, 0, META.width, META.height], label: 'car' }, { by: 'a' }));
});

add('refuses a frame that is not an integer in 0..frameCount-1', () => {
  const doc = sessionDoc();
  for (const frame of [-1, 1.5, META.frameCount, Number.NaN]) {
    const e = errorOf(() => addAnnotation(doc, { frame, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' }));
    assert.equal([e?.code, e?.field], ['invalid_frame', 'frame'], `frame ${frame}`);
  }
});

add('without meta, any integer frame >= 0 is accepted and no right/bottom edge is known', () => {
  const doc = new Y.Doc();
  doc.getMap('labels').set('car', {});
  assert.ok(addAnnotation(doc, { frame: 100000, bbox: [5000, 5000, 10, 10], label: 'car' }, { by: 'a' }));
  const e = errorOf(() => addAnnotation(doc, { frame: 0, bbox: [-1, 0, 10, 10], label: 'car' }, { by: 'a' }));
  assert.is(e?.code, 'invalid_bbox');
});

add('refuses a malformed box', () => {
  const doc = sessionDoc();
  const bad: unknown[] = [
    [0, 0, 10],
    [0, 0, 10, 10, 1],
    [0, 0, Number.NaN, 10],
    [0, 0, Infinity, 10],
    ['0', 0, 10, 10],
    [0, 0, 0, 10],
    [0, 0, 10, -1],
    'box',
  ];
  for (const bbox of bad) {
    const e = errorOf(() => addAnnotation(doc, { frame: 0, bbox: bbox as [number, number, number, number], label: 'car' }, { by: 'a' }));
    assert.equal([e?.code, e?.field], ['invalid_bbox', 'bbox'], JSON.stringify(bbox));
  }
});

add('refuses a box that crosses the frame edge, and clips it when asked', () => {
  const doc = sessionDoc();
  const input: AnnotationInput = { frame: 0, bbox: [-10, 40, 30, 20], label: 'car' };
  const e = errorOf(() => addAnnotation(doc, input, { by: 'a' }));
  assert.equal([e?.code, e?.field], ['invalid_bbox', 'bbox']);
  assert.equal(e?.details, { width: 100, height: 50 });
  const clipped = addAnnotation(doc, input, { by: 'a', now: 0, clip: true });
  assert.equal(clipped.bbox, [0, 40, 20, 10]);
  assert.equal(getAnnotation(doc, clipped.id)?.bbox, [0, 40, 20, 10]);
});

add('a box that clips to nothing is refused', () => {
  const doc = sessionDoc();
  for (const bbox of [
    [100, 0, 10, 10],
    [-20, 0, 20, 10],
    [0, 60, 5, 5],
  ] as const) {
    const e = errorOf(() => addAnnotation(doc, { frame: 0, bbox: [...bbox], label: 'car' }, { by: 'a', now: 0, clip: true }));
    assert.is(e?.code, 'invalid_bbox', JSON.stringify(bbox));
  }
});

add('refuses an unknown label and an unknown track', () => {
  const doc = sessionDoc();
  const label = errorOf(() => addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'bus' }, { by: 'a' }));
  assert.equal([label?.code, label?.field], ['unknown_label', 'label']);
  const track = errorOf(() => addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car', trackId: 'nope' }, { by: 'a' }));
  assert.equal([track?.code, track?.field], ['unknown_track', 'trackId']);
});

add('refuses a duplicate id and a second keyframe of one track on one frame', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { label: 'car' });
  addAnnotation(doc, { id: 'a1', frame: 2, bbox: [0, 0, 1, 1], label: 'car', trackId: t.id }, { by: 'a' });
  const dup = errorOf(() => addAnnotation(doc, { id: 'a1', frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' }));
  assert.equal([dup?.code, dup?.field], ['duplicate_id', 'id']);
  const kf = errorOf(() => addAnnotation(doc, { frame: 2, bbox: [0, 0, 1, 1], label: 'car', trackId: t.id }, { by: 'a' }));
  assert.equal([kf?.code, kf?.field], ['duplicate_keyframe', 'frame']);
});

add('refuses wrongly typed optional fields', () => {
  const doc = sessionDoc();
  const input = {
    id: '',
    frame: 0,
    bbox: [0, 0, 1, 1],
    label: 'car',
    trackId: 5,
    detectionId: 7,
    attributes: [],
    occluded: 'yes',
    outside: 1,
    status: 'done',
    source: 'magic',
  } as unknown as AnnotationInput;
  assert.equal(codes(validateAnnotationInput({ meta: META, labels: { car: {} }, tracks: new Set() }, input)), [
    'invalid_value:id',
    'invalid_value:trackId',
    'invalid_value:detectionId',
    'invalid_value:attributes',
    'invalid_value:occluded',
    'invalid_value:outside',
    'invalid_value:status',
    'invalid_value:source',
  ]);
  assert.ok(errorOf(() => addAnnotation(doc, input, { by: 'a' })));
  assert.is(listAnnotations(doc).length, 0);
});

add('validateAnnotationInput reports every problem at once', () => {
  const errors = validateAnnotationInput({ meta: META, labels: { car: {} }, tracks: [{ id: 't1' }] }, {
    frame: 9999,
    bbox: [0, 0, 0, 5],
    label: 'bus',
    trackId: 't2',
  });
  assert.equal(codes(errors), ['invalid_frame:frame', 'invalid_bbox:bbox', 'unknown_label:label', 'unknown_track:trackId']);
  assert.equal(validateAnnotationInput({ meta: null, labels: new Set(['car']), tracks: [{ id: 't1' }] }, { frame: 1, bbox: [0, 0, 1, 1], label: 'car', trackId: 't1' }), []);
});

add('the stored values are copies of the input', () => {
  const doc = sessionDoc();
  const bbox: [number, number, number, number] = [1, 1, 5, 5];
  const attributes = { a: { b: 1 } };
  const a = addAnnotation(doc, { frame: 0, bbox, label: 'car', attributes }, { by: 'x' });
  bbox[0] = 50;
  attributes.a.b = 2;
  const read = getAnnotation(doc, a.id);
  assert.equal(read?.bbox, [1, 1, 5, 5]);
  assert.equal(read?.attributes, { a: { b: 1 } });
  read!.bbox[0] = 70;
  assert.equal(getAnnotation(doc, a.id)?.bbox, [1, 1, 5, 5]);
});

add('tags the change with the given origin', () => {
  const doc = sessionDoc();
  const origins: unknown[] = [];
  doc.on('update', (_u: Uint8Array, origin: unknown) => origins.push(origin));
  addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a', now: 0, origin: 'rest' });
  assert.equal(origins, ['rest']);
});

add.run();

const bulk = suite('addAnnotations');

bulk('adds every input in one transaction', () => {
  const doc = sessionDoc();
  let transactions = 0;
  doc.on('afterTransaction', () => transactions++);
  const created = addAnnotations(doc, [
      { frame: 0, bbox: [0, 0, 1, 1], label: 'car' },
      { frame: 1, bbox: [0, 0, 2, 2], label: 'truck' },
      { frame: 2, bbox: [-5, 0, 10, 2], label: 'person' },
    ], { by: 'alice', clip: true, now: 5, origin: 'bulk' });
  assert.is(transactions, 1);
  assert.is(created.length, 3);
  assert.equal(created[2]?.bbox, [0, 0, 5, 2]);
  assert.equal(listAnnotations(doc).map((a) => [a.frame, a.label, a.createdAt]), [
    [0, 'car', 5],
    [1, 'truck', 5],
    [2, 'person', 5],
  ]);
});

bulk('is all or nothing: one invalid input writes none, and every problem is listed by index', () => {
  const doc = sessionDoc();
  addAnnotation(doc, { id: 'taken', frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' });
  let updates = 0;
  doc.on('update', () => updates++);
  const inputs: AnnotationInput[] = [
    { id: 'ok', frame: 0, bbox: [0, 0, 1, 1], label: 'car' },
    { id: 'taken', frame: 0, bbox: [0, 0, 1, 1], label: 'car' },
    { frame: 99, bbox: [0, 0, 1, 1], label: 'bus' },
    { id: 'ok', frame: 1, bbox: [0, 0, 1, 1], label: 'car' },
  ];
  const e = errorOf(() => addAnnotations(doc, inputs, { by: 'a' }));
  assert.is(e?.code, 'invalid_content');
  assert.is(e?.field, 'annotations');
  const listed = (e?.details as { errors: { index: number; code: string; field: string }[] }).errors;
  assert.equal(listed.map((x) => [x.index, x.code, x.field]), [
    [1, 'duplicate_id', 'id'],
    [2, 'invalid_frame', 'frame'],
    [2, 'unknown_label', 'label'],
    [3, 'duplicate_id', 'id'],
  ]);
  assert.is(updates, 0);
  assert.equal(listAnnotations(doc).map((a) => a.id), ['taken']);
  assert.equal(validateAnnotationInputs(doc, inputs).length, 4);
});

bulk('two keyframes of one track on one frame in one batch are refused', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { label: 'car' });
  const kf = { frame: 1, bbox: [0, 0, 1, 1] as [number, number, number, number], label: 'car', trackId: t.id };
  const e = errorOf(() => addAnnotations(doc, [kf, kf], { by: 'a' }));
  const listed = (e?.details as { errors: { index: number; code: string }[] }).errors;
  assert.equal(listed.map((x) => [x.index, x.code]), [[1, 'duplicate_keyframe']]);
});

bulk('an empty batch writes nothing', () => {
  const doc = sessionDoc();
  let updates = 0;
  doc.on('update', () => updates++);
  assert.equal(addAnnotations(doc, [], { by: 'a' }), []);
  assert.is(updates, 0);
});

bulk.run();

const update = suite('updateAnnotation');

update('changes only the given fields and stamps the editor', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'alice', now: 1 });
  const b = updateAnnotation(doc, a.id, { label: 'truck', status: 'validated', attributes: { x: 1 } }, { by: 'bob', now: 2 });
  assert.equal(b, { ...a, label: 'truck', status: 'validated', attributes: { x: 1 }, updatedBy: 'bob', updatedAt: 2 });
});

update('a patch with no real change writes nothing', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car', attributes: { k: [1, 2] } }, { by: 'alice', now: 1 });
  let updates = 0;
  doc.on('update', () => updates++);
  const same = updateAnnotation(doc, a.id, { label: 'car', bbox: [0, 0, 1, 1], attributes: { k: [1, 2] } }, { by: 'bob', now: 2 });
  assert.is(updates, 0);
  assert.is(same.updatedBy, 'alice');
});

update('moves the box, clips it when asked, and re-validates given fields', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'alice' });
  assert.equal(updateAnnotation(doc, a.id, { bbox: [90, 40, 20, 20] }, { by: 'b', now: 1, clip: true }).bbox, [90, 40, 10, 10]);
  assert.is(errorOf(() => updateAnnotation(doc, a.id, { bbox: [90, 40, 20, 20] }, { by: 'b' }))?.code, 'invalid_bbox');
  assert.is(errorOf(() => updateAnnotation(doc, a.id, { frame: 20 }, { by: 'b' }))?.code, 'invalid_frame');
  assert.is(errorOf(() => updateAnnotation(doc, a.id, { label: 'bus' }, { by: 'b' }))?.code, 'unknown_label');
  assert.is(errorOf(() => updateAnnotation(doc, a.id, { trackId: 'nope' }, { by: 'b' }))?.code, 'unknown_track');
  assert.is(errorOf(() => updateAnnotation(doc, a.id, { status: 'gone' as 'draft' }, { by: 'b' }))?.code, 'invalid_value');
  assert.is(errorOf(() => updateAnnotation(doc, 'missing', { label: 'car' }, { by: 'b' }))?.code, 'not_found');
});

update('a status change succeeds although the label has since been removed', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'truck' }, { by: 'alice' });
  doc.getMap('labels').delete('truck');
  assert.is(updateAnnotation(doc, a.id, { status: 'rejected' }, { by: 'b' }).status, 'rejected');
});

update('attaching to a track refuses a frame the track already has, detaching with null works', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { label: 'car' });
  addAnnotation(doc, { frame: 4, bbox: [0, 0, 1, 1], label: 'car', trackId: t.id }, { by: 'a' });
  const b = addAnnotation(doc, { frame: 4, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' });
  assert.is(errorOf(() => updateAnnotation(doc, b.id, { trackId: t.id }, { by: 'x' }))?.code, 'duplicate_keyframe');
  assert.equal(codes(validateAnnotationPatch(doc, b.id, { trackId: t.id })), ['duplicate_keyframe:frame']);
  assert.is(updateAnnotation(doc, b.id, { trackId: t.id, frame: 5 }, { by: 'x' }).trackId, t.id);
  assert.is(updateAnnotation(doc, b.id, { frame: 5 }, { by: 'x' }).frame, 5, 'its own frame is not a conflict');
  assert.is(updateAnnotation(doc, b.id, { trackId: null }, { by: 'x' }).trackId, null);
  assert.equal(codes(validateAnnotationPatch(doc, 'missing', {})), ['not_found:id']);
});

update.run();

const read = suite('delete, get and list');

read('deleteAnnotation removes it and reports whether it existed', () => {
  const doc = sessionDoc();
  const a = addAnnotation(doc, { frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' });
  assert.ok(deleteAnnotation(doc, a.id));
  assert.not.ok(deleteAnnotation(doc, a.id));
  assert.is(getAnnotation(doc, a.id), null);
});

read('listAnnotations filters by each field and sorts by frame then id', () => {
  const doc = sessionDoc();
  const t = addTrack(doc, { id: 't', label: 'car' });
  addAnnotations(doc, [
      { id: 'b', frame: 2, bbox: [0, 0, 1, 1], label: 'car', trackId: t.id },
      { id: 'a', frame: 2, bbox: [0, 0, 1, 1], label: 'truck', status: 'validated' },
      { id: 'c', frame: 0, bbox: [0, 0, 1, 1], label: 'car', detectionId: 'd1' },
      { id: 'd', frame: 5, bbox: [0, 0, 1, 1], label: 'person', status: 'rejected' },
    ], { by: 'x' });
  const ids = (filter: Parameters<typeof listAnnotations>[1]): string[] => listAnnotations(doc, filter).map((a) => a.id);
  assert.equal(ids({}), ['c', 'a', 'b', 'd']);
  assert.equal(ids({ frame: 2 }), ['a', 'b']);
  assert.equal(ids({ fromFrame: 2 }), ['a', 'b', 'd']);
  assert.equal(ids({ toFrame: 2 }), ['c', 'a', 'b']);
  assert.equal(ids({ fromFrame: 1, toFrame: 4 }), ['a', 'b']);
  assert.equal(ids({ label: 'car' }), ['c', 'b']);
  assert.equal(ids({ trackId: 't' }), ['b']);
  assert.equal(ids({ detectionId: 'd1' }), ['c']);
  assert.equal(ids({ status: 'draft' }), ['c', 'b']);
  assert.equal(ids({ label: 'car', toFrame: 0 }), ['c']);
});

read('an entry a peer left malformed is skipped, not fatal', () => {
  const doc = sessionDoc();
  addAnnotation(doc, { id: 'good', frame: 0, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'a' });
  const junk = new Y.Map<unknown>();
  doc.getMap('annotations').set('junk', junk);
  junk.set('frame', 'one');
  doc.getMap('annotations').set('scalar', 5);
  assert.equal(listAnnotations(doc).map((a) => a.id), ['good']);
  assert.is(getAnnotation(doc, 'junk'), null);
});

read.run();
