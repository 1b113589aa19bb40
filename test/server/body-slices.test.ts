/**
 * parseInputInSlices (server/api/body.ts): a large JSON body's array parsed a slice at a time, with
 * the same output and the same 422 as parsing it at once; and posted detections checked so
 * (server/api/detection-input.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { parseInput, parseInputInSlices } from '../../server/api/body.ts';
import { AnnotationCreate, MAX_BULK_ANNOTATIONS } from '../../server/api/schemas.ts';
import { ValidationError } from '../../server/base/errors.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';
import { toDetections } from '../../server/api/detection-input.ts';
import type { VideoRecord } from '../../persistence/rows.ts';

const test = suite('body slices');

const box = (k: number): Record<string, unknown> => ({ id: `a${k}`, frame: k % 50, bbox: [k % 100, 2, 30.5, 40], label: k % 2 ? 'car' : 'person' });

/** What `parse` refused with, as status, message and details. */
async function refusal(parse: () => unknown): Promise<unknown> {
  try {
    await parse();
  } catch (err) {
    assert.instance(err, ValidationError);
    const e = err as ValidationError;
    return { status: e.status, message: e.message, details: e.details };
  }
  assert.unreachable('it was accepted');
  return undefined;
}

test('a long array comes out as parseInput gives it, and the event loop turns between slices', async () => {
  const Item = z.object({ id: z.string(), n: z.number().default(7) });
  const Body = z.union([Item, z.array(Item).max(200_000)]);
  const items = Array.from({ length: 100_000 }, (_, k) => ({ id: `i${k}` }));
  const loop = countLoopTurns();
  const sliced = await parseInputInSlices(Body, items);
  loop.stop();
  assert.equal(sliced, parseInput(Body, items));
  assert.ok(loop.turns() >= 1, 'the loop turned while 100 000 items were parsed');
});

test('a bad item deep in a bulk create is refused with the same 422 as parsing at once, naming it', async () => {
  const body = Array.from({ length: 3000 }, (_, k) => box(k));
  body[2500] = { ...box(2500), bbox: [1, 2, 'w', 4] };
  body[2900] = { ...box(2900), frame: 'x' };
  const sliced = await refusal(() => parseInputInSlices(AnnotationCreate, body));
  assert.equal(sliced, await refusal(() => parseInput(AnnotationCreate, body)));
  const fields = (sliced as { details: { field: string }[] }).details.map((d) => d.field);
  assert.equal(fields, ['[2500].bbox[2]', '[2900].frame']);
});

test('an array past its length limit, or empty, is refused as parsing at once refuses it', async () => {
  for (const body of [Array.from({ length: MAX_BULK_ANNOTATIONS + 1 }, (_, k) => box(k)), []]) {
    const sliced = await refusal(() => parseInputInSlices(AnnotationCreate, body));
    assert.equal(sliced, await refusal(() => parseInput(AnnotationCreate, body)), `${body.length} items`);
  }
});

test('one annotation, not an array, is parsed as a whole', async () => {
  assert.equal(await parseInputInSlices(AnnotationCreate, box(1)), parseInput(AnnotationCreate, box(1)));
});

const video: VideoRecord = {
  id: 'v', name: 'v', uri: 's3://v', width: 1920, height: 1080, fps: 25, frameCount: 1000, durationSec: 40,
  tags: [], metadata: {}, checksum: null, createdAt: '', updatedAt: '',
};
const detection = (k: number): Record<string, unknown> => ({ frame: k % 1000, bbox: [k % 1700, 10, 30, 30], label: 'car', score: 0.5 });

test('50 000 posted detections are checked with the event loop turning, and a bad one deep in them is named', async () => {
  const body = Array.from({ length: 50_000 }, (_, k) => detection(k));
  const loop = countLoopTurns();
  const out = await toDetections(body, { format: 'native', video });
  loop.stop();
  assert.ok(loop.turns() >= 1, 'the loop turned while 50 000 detections were checked');
  assert.is(out.length, 50_000);
  assert.equal(out[49_999], { frame: 999, bbox: [699, 10, 30, 30], label: 'car', score: 0.5, detectionId: null, trackId: null });
  body[40_000] = { ...detection(40_000), frame: 1000 };
  const refused = (await refusal(() => toDetections(body, { format: 'native', video }))) as { status: number; details: { field: string }[] };
  assert.is(refused.status, 422);
  assert.equal(refused.details.map((d) => d.field), ['[40000].frame']);
});

test.run();
