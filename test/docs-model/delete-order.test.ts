/**
 * Many deletions go newest first (docs-model/delete-order.ts): Yjs splices each collapsed run out
 * of its client's struct array, moving everything to its right, so the newest go before the
 * oldest. What it costs is in `npx tsx bench/delete-order.ts`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { newestFirst } from '../../docs-model/delete-order.ts';
import { planWriteSession, listAnnotations, addAnnotation } from '../../docs-model/index.ts';
import { sessionDoc } from './fixtures.ts';

test('keys come newest first by the item each holds, a key written over counting as new', () => {
  const doc = new Y.Doc();
  const map = doc.getMap<number>('m');
  for (const key of ['a', 'b', 'c', 'd']) map.set(key, 1);
  map.set('b', 2);
  assert.equal(newestFirst(map, ['a', 'b', 'c', 'd']), ['b', 'd', 'c', 'a']);
  assert.equal(newestFirst(map, ['c', 'a']), ['c', 'a'], 'only the keys asked for');
});

test('keys the map lacks go last', () => {
  const doc = new Y.Doc();
  const map = doc.getMap<number>('m');
  map.set('a', 1);
  map.set('b', 1);
  assert.equal(newestFirst(map, ['gone', 'a', 'b']), ['b', 'a', 'gone']);
});

test('a replace write removes what it does not keep, newest first, one step at a time', () => {
  const doc = sessionDoc();
  for (let k = 0; k < 12; k++) addAnnotation(doc, { id: `old${k}`, frame: k, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
  const order: string[] = [];
  doc.getMap('annotations').observe((event) => {
    for (const [key, change] of event.changes.keys) if (change.action === 'delete') order.push(key);
  });
  const staged = planWriteSession(doc, { labels: { car: {} }, annotations: [{ id: 'old3', frame: 3, bbox: [1, 1, 5, 5], label: 'car' }] }, { mode: 'replace', by: 'ada', stepItems: 5 });
  for (const check of staged.checks ?? []) check();
  for (const step of staged.steps()) doc.transact(step);
  assert.equal(order, ['old11', 'old10', 'old9', 'old8', 'old7', 'old6', 'old5', 'old4', 'old2', 'old1', 'old0']);
  assert.equal(listAnnotations(doc).map((a) => a.id), ['old3']);
});

test.run();
