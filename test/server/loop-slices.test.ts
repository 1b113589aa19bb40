/**
 * inSlices and finishInSlices (server/base/loop-slices.ts): every item or step, in order, with
 * turns of the event loop between slices, so a long export never holds the loop the sockets share.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import { finishInSlices, inSlices, itemsJson } from '../../server/base/loop-slices.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';

const test = suite('loop slices');

test('hands out every item in order, and lets an immediate run between slices', async () => {
  const seen: string[] = [];
  function* items(): Generator<number> {
    for (let k = 0; k < 3; k++) {
      seen.push(`item ${k}`);
      if (k === 0) setImmediate(() => seen.push('immediate'));
      yield k;
    }
  }
  const out: number[] = [];
  // A zero slice yields after every item.
  for await (const k of inSlices(items(), 0)) out.push(k);
  assert.equal(out, [0, 1, 2]);
  assert.equal(seen, ['item 0', 'immediate', 'item 1', 'item 2']);
});

test('finishInSlices runs every step, returns what the steps return, and lets an immediate run between slices', async () => {
  const seen: string[] = [];
  function* steps(): Generator<void, string> {
    for (let k = 0; k < 3; k++) {
      seen.push(`step ${k}`);
      if (k === 0) setImmediate(() => seen.push('immediate'));
      yield;
    }
    return 'done';
  }
  assert.is(await finishInSlices(steps(), 0), 'done');
  assert.equal(seen, ['step 0', 'immediate', 'step 1', 'step 2']);
  // Steps that fit in one slice run without a turn of the loop.
  seen.length = 0;
  assert.is(await finishInSlices(steps(), 60_000), 'done');
  assert.equal(seen, ['step 0', 'step 1', 'step 2']);
  // The immediate the first step scheduled runs at the next turn, after every step.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen, ['step 0', 'step 1', 'step 2', 'immediate']);
});

test('as a Readable body: the bytes of every chunk, and the loop turns while it streams', async () => {
  const loop = countLoopTurns();
  const chunks = Array.from({ length: 50 }, (_, k) => Buffer.from(`chunk ${k};`));
  const body = Readable.from(inSlices(chunks, 0), { objectMode: false });
  const got: Buffer[] = [];
  for await (const c of body) got.push(c as Buffer);
  loop.stop();
  assert.is(Buffer.concat(got).toString(), chunks.map(String).join(''));
  assert.ok(loop.turns() >= 10, `the loop turned ${loop.turns()} times while 50 chunks streamed`);
});

test('itemsJson is JSON.stringify({ items }) as UTF-8 bytes whatever the count, and the loop turns between its slices', async () => {
  for (const count of [0, 1, 3, 4, 7]) {
    const items = Array.from({ length: count }, (_, k) => ({ id: `a${k}`, bbox: [k, 1.5, 2, 3], label: k % 2 ? 'car' : 'a "quoted" name – ü' }));
    const loop = countLoopTurns();
    const bytes = await itemsJson(items, 3);
    loop.stop();
    assert.ok(Buffer.isBuffer(bytes), 'bytes, so Content-Length needs no encoding');
    assert.is(bytes.toString('utf8'), JSON.stringify({ items }), `${count} items`);
    if (count > 3) assert.ok(loop.turns() >= 1, `${count} items: the loop turned between slices`);
  }
});

test.run();
