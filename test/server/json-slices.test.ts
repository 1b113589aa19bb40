/**
 * parseJsonInSlices (server/base/json-slices.ts): a large JSON array parsed element by element with
 * turns of the event loop between slices, giving exactly what JSON.parse gives for the same text,
 * its value or its error message.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseJsonInSlices } from '../../server/base/json-slices.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';

const test = suite('json slices');

/** JSON.parse's outcome, as a value or as its error message. */
function native(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function sliced(text: string): Promise<{ value: unknown } | { error: string }> {
  try {
    return { value: await parseJsonInSlices(text, 0) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const valid = [
  '[]',
  ' \n\t[ ]\r\n ',
  '[1]',
  '[ 1 , 2 ,3 ]',
  '[{"a":[1,{"b":"]}"}]},"x",null,true,false,-1.5e3]',
  '["comma, inside", "bracket ] inside", "brace } inside", "quote \\" inside", "backslash \\\\", "\\u005d"]',
  '[[[]],[{}],{"":[[]]}]',
  '[{"__proto__":{"polluted":1}}]',
  '["\u00e9\u4e2d\ud83d\ude00"]',
  '{"items":[1,2]}',
  '"a string"',
  '42',
];

const invalid = [
  '',
  '[',
  '[1,]',
  '[,1]',
  '[1,,2]',
  '[1 2]',
  '[1]]',
  '[1] x',
  '[1}',
  '[}]',
  '[{"a":1}}, 2]',
  '[{"a":[1}]]',
  '["unterminated]',
  '[1,\u00a02]',
  '[1,\u00012]',
  '\ufeff[1]',
  '[01]',
  '[NaN]',
  "['single']",
  '[{"a":1,}]',
];

test('gives what JSON.parse gives for valid texts, arrays or not', async () => {
  for (const text of valid) assert.equal(await sliced(text), native(text), text);
});

test('refuses what JSON.parse refuses, with its message', async () => {
  for (const text of invalid) {
    const outcome = await sliced(text);
    assert.ok('error' in outcome, `${JSON.stringify(text)} was accepted`);
    assert.equal(outcome, native(text), text);
  }
});

test('50 000 detections come out as JSON.parse gives them, with the event loop turning meanwhile', async () => {
  const detections = Array.from({ length: 50_000 }, (_, i) => ({ frame: i % 1000, bbox: [i % 1700, 10.5, 30, 30], label: i % 7 ? 'car' : 'a "quoted", [bracketed] label', score: 0.5 }));
  const text = JSON.stringify(detections);
  const loop = countLoopTurns();
  const value = await parseJsonInSlices(text, 0);
  loop.stop();
  assert.equal(value, JSON.parse(text));
  assert.ok(loop.turns() > 10, `the loop turned ${loop.turns()} times`);
});

test('a bad element deep in a large array is refused with JSON.parse\'s message and position', async () => {
  const items = Array.from({ length: 20_000 }, (_, i) => `{"frame":${i}}`);
  items[17_321] = '{"frame":17321,}';
  const text = `[${items.join(',')}]`;
  const outcome = await sliced(text);
  assert.ok('error' in outcome);
  assert.equal(outcome, native(text));
});

test('a pretty-printed array is read as a compact one', async () => {
  const rows = Array.from({ length: 500 }, (_, i) => ({ frame: i, tags: ['a', 'b'], nested: { deep: [i, { x: 'y' }] } }));
  const text = JSON.stringify(rows, null, 2);
  assert.equal(await parseJsonInSlices(text, 0), rows);
});

test.run();
