/**
 * compactNewContent: a document that decodes its content holds it in less memory, and holds the
 * same content (same values, same encoding) as one that does not.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as Y from 'yjs';
import { addAnnotation, listAnnotations, updateAnnotation } from '../../docs-model/index.ts';
import { compactNewContent } from '../../docs-model/compact-content.ts';
import { sessionDoc } from './fixtures.ts';

function annotated(count: number, seed: number): Y.Doc {
  const doc = sessionDoc();
  for (let i = 0; i < count; i++) {
    addAnnotation(doc, { frame: i % 20, bbox: [(seed + i) % 60, i % 10, 20 + (i % 7), 30], label: 'car', attributes: { truncated: i % 2 === 0 } }, { by: 'ada' });
  }
  return doc;
}

function receiver(compact: boolean): Y.Doc {
  const doc = new Y.Doc();
  if (compact) doc.on('afterTransactionCleanup', compactNewContent);
  return doc;
}

// The collector, for this measurement only (node's --expose-gc, set at run time).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
function heapUsedAfterCollecting(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

test('decoded documents take at least a fifth less heap with their content compacted', () => {
  const updates = Array.from({ length: 30 }, (_, i) => Y.encodeStateAsUpdate(annotated(100, i)));
  const heldBy = (compact: boolean): number => {
    const before = heapUsedAfterCollecting();
    const docs = updates.map((u) => {
      const doc = receiver(compact);
      Y.applyUpdate(doc, u);
      return doc;
    });
    const held = heapUsedAfterCollecting() - before;
    assert.is(docs.length, updates.length);
    return held;
  };
  const plain = heldBy(false);
  const compacted = heldBy(true);
  assert.ok(compacted < plain * 0.8, `compacted ${compacted} bytes against ${plain}`);
});

test('a compacted document holds the same annotations and encodes to the same bytes', () => {
  const source = annotated(40, 7);
  const update = Y.encodeStateAsUpdate(source);
  const plain = receiver(false);
  const compacted = receiver(true);
  Y.applyUpdate(plain, update);
  Y.applyUpdate(compacted, update);
  assert.equal(listAnnotations(compacted), listAnnotations(source));
  assert.equal(Y.encodeStateAsUpdate(compacted), Y.encodeStateAsUpdate(plain));
});

test('updates that arrive before what they build on come out right once they integrate', () => {
  const source = annotated(5, 1);
  const compacted = receiver(true);
  Y.applyUpdate(compacted, Y.encodeStateAsUpdate(source));
  const updates: Uint8Array[] = [];
  source.on('update', (u: Uint8Array) => updates.push(u));
  const [first] = listAnnotations(source);
  updateAnnotation(source, first!.id, { bbox: [9, 9, 9, 9] }, { by: 'bob' });
  updateAnnotation(source, first!.id, { attributes: { note: ['a', 'b'] } }, { by: 'bob' });
  Y.applyUpdate(compacted, updates[1]!);
  assert.ok(compacted.store.pendingStructs !== null, 'the second update waits for the first');
  Y.applyUpdate(compacted, updates[0]!);
  assert.is(compacted.store.pendingStructs, null);
  assert.equal(listAnnotations(compacted), listAnnotations(source));
  // Edits made on the compacted document still reach the other side whole.
  updateAnnotation(compacted, first!.id, { label: 'truck' }, { by: 'ada' });
  Y.applyUpdate(source, Y.encodeStateAsUpdate(compacted, Y.encodeStateVector(source)));
  assert.equal(listAnnotations(source), listAnnotations(compacted));
});

test.run();
