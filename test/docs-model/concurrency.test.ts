import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, getAnnotation, listAnnotations, updateAnnotation } from '../../docs-model/index.ts';
import { exchange, sessionDoc } from './fixtures.ts';

const concurrent = suite('concurrent edits');

/** Two peers that start from the same document. */
const twoPeers = (): [Y.Doc, Y.Doc] => {
  const a = sessionDoc();
  const b = new Y.Doc();
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  return [a, b];
};

concurrent('one moves the box, the other relabels: both survive on both peers', () => {
  const [a, b] = twoPeers();
  const created = addAnnotation(a, { frame: 1, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'alice', now: 1 });
  exchange(a, b);
  updateAnnotation(a, created.id, { bbox: [5, 5, 20, 20] }, { by: 'alice', now: 2 });
  updateAnnotation(b, created.id, { label: 'truck', status: 'validated' }, { by: 'bob', now: 3 });
  exchange(a, b);
  const fromA = getAnnotation(a, created.id);
  const fromB = getAnnotation(b, created.id);
  assert.equal(fromA, fromB);
  assert.equal(fromA?.bbox, [5, 5, 20, 20]);
  assert.is(fromA?.label, 'truck');
  assert.is(fromA?.status, 'validated');
});

concurrent('the same holds with the roles swapped (whichever peer wins ties)', () => {
  const [a, b] = twoPeers();
  const created = addAnnotation(a, { frame: 1, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'alice', now: 1 });
  exchange(a, b);
  updateAnnotation(a, created.id, { label: 'person' }, { by: 'alice', now: 2 });
  updateAnnotation(b, created.id, { bbox: [1, 2, 3, 4], occluded: true }, { by: 'bob', now: 3 });
  exchange(a, b);
  assert.equal(getAnnotation(a, created.id), getAnnotation(b, created.id));
  assert.equal(getAnnotation(a, created.id)?.bbox, [1, 2, 3, 4]);
  assert.is(getAnnotation(a, created.id)?.label, 'person');
  assert.is(getAnnotation(a, created.id)?.occluded, true);
});

concurrent('annotations added on two offline peers all arrive on both', () => {
  const [a, b] = twoPeers();
  addAnnotation(a, { frame: 1, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'alice' });
  addAnnotation(b, { frame: 2, bbox: [0, 0, 1, 1], label: 'car' }, { by: 'bob' });
  exchange(a, b);
  assert.equal(listAnnotations(a), listAnnotations(b));
  assert.is(listAnnotations(a).length, 2);
});

concurrent('edits of the same field converge to one value on both peers', () => {
  const [a, b] = twoPeers();
  const created = addAnnotation(a, { frame: 1, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'alice' });
  exchange(a, b);
  updateAnnotation(a, created.id, { label: 'truck' }, { by: 'alice' });
  updateAnnotation(b, created.id, { label: 'person' }, { by: 'bob' });
  exchange(a, b);
  assert.is(getAnnotation(a, created.id)?.label, getAnnotation(b, created.id)?.label);
});

concurrent.run();
