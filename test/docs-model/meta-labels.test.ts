import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  DocModelError,
  getLabels,
  getMeta,
  hasLabel,
  removeLabel,
  setLabel,
  setMeta,
  validateMeta,
} from '../../docs-model/index.ts';
import { META } from './fixtures.ts';

const meta = suite('meta');

meta('reads back what was written, and null before it is written', () => {
  const doc = new Y.Doc();
  assert.is(getMeta(doc), null);
  setMeta(doc, META);
  assert.equal(getMeta(doc), META);
});

meta('rewriting the same meta produces no update', () => {
  const doc = new Y.Doc();
  setMeta(doc, META);
  let updates = 0;
  doc.on('update', () => updates++);
  setMeta(doc, META);
  assert.is(updates, 0);
  setMeta(doc, { ...META, frameCount: 30 });
  assert.is(updates, 1);
  assert.is(getMeta(doc)?.frameCount, 30);
});

meta('refuses invalid meta and names each wrong field', () => {
  const bad = { ...META, sessionId: '', width: 0, fps: Number.NaN, frameCount: 2.5 };
  assert.equal(
    validateMeta(bad).map((e) => [e.code, e.field]),
    [
      ['invalid_meta', 'sessionId'],
      ['invalid_meta', 'width'],
      ['invalid_meta', 'fps'],
      ['invalid_meta', 'frameCount'],
    ],
  );
  const doc = new Y.Doc();
  assert.throws(() => setMeta(doc, bad), (e: unknown) => e instanceof DocModelError && e.field === 'sessionId');
  assert.is(getMeta(doc), null);
});

meta('passes the origin to the transaction', () => {
  const doc = new Y.Doc();
  const origins: unknown[] = [];
  doc.on('update', (_u: Uint8Array, origin: unknown) => origins.push(origin));
  const origin = { kind: 'server' };
  setMeta(doc, META, origin);
  assert.equal(origins, [origin]);
});

meta.run();

const labels = suite('labels');

labels('set, has, get and remove a label', () => {
  const doc = new Y.Doc();
  setLabel(doc, 'car', { color: '#f00', attributes: { make: 'any' } });
  setLabel(doc, 'truck', {});
  assert.ok(hasLabel(doc, 'car'));
  assert.equal(getLabels(doc), { car: { color: '#f00', attributes: { make: 'any' } }, truck: {} });
  assert.ok(removeLabel(doc, 'car'));
  assert.not.ok(removeLabel(doc, 'car'), 'a second removal finds nothing');
  assert.not.ok(hasLabel(doc, 'car'));
  assert.equal(Object.keys(getLabels(doc)), ['truck']);
});

labels('the returned definitions are copies: mutating them does not change the document', () => {
  const doc = new Y.Doc();
  const def = { attributes: { size: 'big' } };
  setLabel(doc, 'car', def);
  def.attributes.size = 'small';
  const read = getLabels(doc);
  (read.car?.attributes as Record<string, unknown>).size = 'tiny';
  assert.equal(getLabels(doc).car, { attributes: { size: 'big' } });
});

labels('setting an unchanged label produces no update', () => {
  const doc = new Y.Doc();
  setLabel(doc, 'car', { color: '#f00' });
  let updates = 0;
  doc.on('update', () => updates++);
  setLabel(doc, 'car', { color: '#f00' });
  assert.is(updates, 0);
});

labels('refuses an empty name, a non-string colour and non-object attributes', () => {
  const doc = new Y.Doc();
  const fieldOf = (fn: () => void): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof DocModelError) return `${e.code}:${e.field}`;
    }
    return 'no error';
  };
  assert.is(fieldOf(() => setLabel(doc, '', {})), 'invalid_value:name');
  assert.is(fieldOf(() => setLabel(doc, 'x', { color: 3 as unknown as string })), 'invalid_value:color');
  assert.is(fieldOf(() => setLabel(doc, 'x', { attributes: [] as unknown as Record<string, unknown> })), 'invalid_value:attributes');
  assert.equal(getLabels(doc), {});
});

labels.run();
