/**
 * Awareness messages as docs-model writes them (docs-model/awareness.ts) are the bytes y-protocols
 * writes, and y-protocols reads them back: multi-byte varUints (a count over 127, a 32-bit client
 * id, a long state), and a batch assembled from entries encoded once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { awarenessMessageOf, awarenessUpdateOf, encodeAwarenessEntry, encodeAwarenessMessage, readAwarenessUpdate } from '../../docs-model/awareness.ts';
import { MessageType } from '../../docs-model/protocol.ts';

/** 200 clients, their states set through y-protocols itself (so each has the clock y-protocols gives it). */
function crowd(): { awareness: Awareness; entries: Array<{ clientId: number; clock: number; json: string }> } {
  const awareness = new Awareness(new Y.Doc());
  awareness.setLocalState(null);
  const entries = Array.from({ length: 200 }, (_, i) => {
    const clientId = i === 0 ? 2 ** 32 - 1 : 1_000 + i * 7_919;
    const state = { name: `annotator ${i} ${'é'.repeat(i % 3 === 0 ? 150 : 1)}`, frame: i };
    const clock = 1 + (i % 5) * 100;
    return { clientId, clock, json: JSON.stringify(state) };
  });
  applyAwarenessUpdate(awareness, awarenessUpdateOf(encodeAwarenessMessage(entries))!, 'test');
  awareness.destroy();
  return { awareness, entries };
}

test('an awareness message is byte for byte what y-protocols encodes for the same states and clocks', () => {
  const { awareness, entries } = crowd();
  const ours = awarenessUpdateOf(encodeAwarenessMessage(entries))!;
  assert.equal(ours, encodeAwarenessUpdate(awareness, entries.map((e) => e.clientId)));
  assert.equal(
    entries.map((e) => [e.clientId, awareness.meta.get(e.clientId)?.clock, JSON.stringify(awareness.getStates().get(e.clientId))]),
    entries.map((e) => [e.clientId, e.clock, e.json]),
  );
});

test('a message assembled from entries encoded once is what y-protocols encodes, for any subset', () => {
  // Against y-protocols, not encodeAwarenessMessage: that one is assembled the same way.
  const { awareness, entries } = crowd();
  const encoded = entries.map(encodeAwarenessEntry);
  const ids = (list: typeof entries) => list.map((e) => e.clientId);
  assert.equal(awarenessUpdateOf(awarenessMessageOf(encoded))!, encodeAwarenessUpdate(awareness, ids(entries)));
  const subset = entries.filter((_, i) => i % 3 !== 1);
  assert.equal(awarenessUpdateOf(awarenessMessageOf(encoded.filter((_, i) => i % 3 !== 1)))!, encodeAwarenessUpdate(awareness, ids(subset)));
  assert.equal([...readAwarenessUpdate(awarenessUpdateOf(awarenessMessageOf(encoded.slice(0, 1)))!)], entries.slice(0, 1));
  const empty = awarenessMessageOf([]);
  const decoder = decoding.createDecoder(empty);
  assert.equal([decoding.readVarUint(decoder), decoding.readVarUint8Array(decoder)], [MessageType.awareness, new Uint8Array([0])]);
});

test.run();
