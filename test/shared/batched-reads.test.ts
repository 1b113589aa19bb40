/**
 * batchedReads (shared/batched-reads.ts): the reads asked for in one turn of the event loop go
 * together at its end (a lone read waits for nothing else), reads asked for while the reads in
 * flight run go together, at most maxBatch keys per call; one key asked twice is read once; a
 * failed call fails its own reads only.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { batchedReads } from '../../shared/batched-reads.ts';

const test = suite('batched reads');

/** A readMany whose calls are kept open until released, each recording its keys. */
function heldReads(): { calls: string[][]; release: (k: number, err?: Error) => void; readMany: (keys: string[]) => Promise<Map<string, string>> } {
  const calls: string[][] = [];
  const pending: Array<{ keys: string[]; resolve: (m: Map<string, string>) => void; reject: (e: Error) => void }> = [];
  return {
    calls,
    release: (k, err) => {
      const call = pending[k]!;
      if (err) call.reject(err);
      else call.resolve(new Map(call.keys.map((key) => [key, `value of ${key}`])));
    },
    readMany: (keys) =>
      new Promise((resolve, reject) => {
        calls.push(keys);
        pending.push({ keys, resolve, reject });
      }),
  };
}

/** The end of this turn of the event loop: what batchedReads waits for before it reads. */
const turnEnd = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a lone read goes at the end of its turn; the rest wait for a free slot and go maxBatch at a time', async () => {
  const held = heldReads();
  const read = batchedReads(held.readMany, { maxBatch: 3, maxInFlight: 1 });
  const first = read('a');
  assert.equal(held.calls, [], 'nothing read before the turn ends');
  await turnEnd();
  assert.equal(held.calls, [['a']], 'the lone read went alone');
  const rest = ['b', 'c', 'b', 'd', 'e'].map((key) => read(key));
  await turnEnd();
  assert.is(held.calls.length, 1, 'the others wait while one read is in flight');
  held.release(0);
  assert.is(await first, 'value of a');
  await new Promise((r) => setImmediate(r));
  assert.equal(held.calls[1], ['b', 'c', 'd'], 'the next three keys, b asked twice but read once');
  held.release(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(held.calls[2], ['e']);
  held.release(2);
  assert.equal(await Promise.all(rest), ['value of b', 'value of c', 'value of b', 'value of d', 'value of e']);
});

test('a failed call rejects its own reads only, and the next reads go on', async () => {
  const held = heldReads();
  const read = batchedReads(held.readMany, { maxBatch: 10, maxInFlight: 2 });
  const a = read('a');
  await turnEnd();
  const b = read('b');
  await turnEnd();
  assert.equal(held.calls, [['a'], ['b']], 'two in flight');
  held.release(0, new Error('down'));
  held.release(1);
  assert.is(await a.catch((e: Error) => e.message), 'down');
  assert.is(await b, 'value of b');
  const again = read('a');
  await turnEnd();
  held.release(2);
  assert.is(await again, 'value of a', 'nothing remembered of the failure');
});

test('reads asked for in one turn go as one call, though a slot is free', async () => {
  const held = heldReads();
  const read = batchedReads(held.readMany, { maxBatch: 10, maxInFlight: 2 });
  const reads = ['a', 'b', 'c'].map((key) => read(key));
  await turnEnd();
  assert.equal(held.calls, [['a', 'b', 'c']], 'one call, not one per read while slots were free');
  held.release(0);
  assert.equal(await Promise.all(reads), ['value of a', 'value of b', 'value of c']);
});

test.run();
