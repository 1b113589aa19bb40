/**
 * decodeReleaseText (server/services/release-text.ts): a release's stored text read back with its
 * annotations parsed in slices gives exactly what decodeReleaseContent gives (key order included),
 * for content whose strings hold what could fool a scan; a text of any other shape gives its
 * value or error too; and the loop turns while 10 000 annotations are read.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DocModelError } from '../../docs-model/errors.ts';
import { decodeReleaseContent, encodeReleaseContent, releaseAnnotationsSpan, type ReleaseContent } from '../../docs-model/release-content.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { decodeReleaseText } from '../../server/services/release-text.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';

const test = suite('release text in slices');

const annotation = (i: number, attributes: Record<string, unknown> = {}): Annotation => ({
  id: `a${i}`,
  frame: i % 300,
  bbox: [i % 100, 5, 10, 20],
  label: i % 2 ? 'car' : 'person',
  trackId: i % 3 ? null : 't"1',
  detectionId: null,
  attributes,
  occluded: false,
  outside: false,
  status: 'draft',
  source: 'manual',
  createdBy: 'u',
  updatedBy: 'u',
  createdAt: 1,
  updatedAt: 2,
});

const content = (annotations: Annotation[]): ReleaseContent => ({
  meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount: 300 },
  // Keys that look like the member the scan looks for, at other depths and inside strings.
  labels: { car: { attributes: { annotations: { type: 'text' } } }, '"annotations":[': {} } as unknown as ReleaseContent['labels'],
  tracks: [{ id: 't"1', label: 'car', attributes: { note: '"annotations":[1]}}' }, interpolation: 'linear' }] as unknown as ReleaseContent['tracks'],
  annotations,
});

const text = (c: ReleaseContent): string => new TextDecoder().decode(encodeReleaseContent(c));

/** decodeReleaseContent's outcome, as a value or as its error. */
function whole(t: string): { value: unknown } | { error: string } {
  try {
    return { value: decodeReleaseContent(new TextEncoder().encode(t)) };
  } catch (err) {
    return { error: `${(err as DocModelError).code}: ${(err as Error).message}` };
  }
}

async function sliced(t: string): Promise<{ value: unknown } | { error: string }> {
  try {
    return { value: await decodeReleaseText(t) };
  } catch (err) {
    return { error: `${(err as DocModelError).code}: ${(err as Error).message}` };
  }
}

test('content whose strings and keys hold brackets, quotes and "annotations" reads back as decodeReleaseContent reads it, key order kept', async () => {
  const tricky = [
    annotation(0, { annotations: ['x', { annotations: [] }] }),
    annotation(1, { note: 'a ] } , " \\ \u00e9 \ud83d\ude00' }),
    annotation(2, { '"annotations":[': '}}]' }),
    ...Array.from({ length: 500 }, (_, i) => annotation(i + 3)),
  ];
  const t = text(content(tricky));
  assert.ok(releaseAnnotationsSpan(t), 'the span is found');
  const value = await decodeReleaseText(t);
  assert.is(JSON.stringify(value), JSON.stringify(decodeReleaseContent(encodeReleaseContent(content(tricky)))));
  assert.is(JSON.stringify(value.annotations), JSON.stringify(tricky));
  const empty = text(content([]));
  assert.equal(await decodeReleaseText(empty), decodeReleaseContent(new TextEncoder().encode(empty)));
});

test('a text of another shape gives decodeReleaseContent\'s value or error', async () => {
  const good = text(content([annotation(1)]));
  const cases = [
    good.slice(0, -2) + ',"extra":1}}',
    good.replace('"annotations":[', '"annotations":[}'),
    good.replace('"format":"annosync-release"', '"format":"other"'),
    good.replace('"version":1', '"version":2'),
    good.replace(',"tracks":', ',"tracks":{},"x":'),
    '{"format":"annosync-release","version":1,"content":{"annotations":[]}}',
    'not json',
    '',
    good.slice(0, -1),
  ];
  for (const t of cases) assert.equal(await sliced(t), whole(t), t.slice(0, 120));
});

test('10 000 annotations are read with the loop turning', async () => {
  const t = text(content(Array.from({ length: 10_000 }, (_, i) => annotation(i, { n: i }))));
  const loop = countLoopTurns();
  const value = await decodeReleaseText(t, 0);
  loop.stop();
  assert.is(value.annotations.length, 10_000);
  assert.equal(value, decodeReleaseContent(new TextEncoder().encode(t)));
  assert.ok(loop.turns() > 10, `the loop turned ${loop.turns()} times`);
});

test.run();
