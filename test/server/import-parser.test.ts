/**
 * The import parser (server/services/import-parser.ts) answers exactly what the converter answers
 * on the main thread — the result, or the same error class with the same fields — from a worker.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strToU8 } from 'fflate';
import { formats, InputTooLargeError, parseMotDetections, UnsafeInputError, type FormatName, type ImportContext } from '../../docs-model/formats/index.ts';
import { parseDetectionsCsv } from '../../docs-model/formats/detections-csv.ts';
import { createImportParser, ImportParserClosedError, type ImportParser } from '../../server/services/import-parser.ts';
import { overlapBomb } from '../../tools/zip-bombs.ts';
import { rawZip } from '../helpers/zips.ts';
import { assertLowersOneThread } from '../helpers/threads.ts';
import { waitFor } from '../../tools/databases.ts';

const test = suite<{ parser: ImportParser }>('import parser');
test.before((ctx) => {
  ctx.parser = createImportParser();
});
test.after(async ({ parser }) => {
  await parser.close();
});

const ctx: ImportContext = { meta: { width: 640, height: 480, frameCount: 5000 }, labels: { car: {} }, strictLabels: false };

/** Rejection or result, as a comparable value. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (e) {
    return { threw: e };
  }
}

const direct = (format: FormatName, body: Uint8Array): unknown => {
  try {
    return { ok: formats[format].parse(body, ctx) };
  } catch (e) {
    return { threw: e };
  }
};

function sameOutcome(worker: unknown, main: unknown, what: string): void {
  const w = worker as { ok?: unknown; threw?: Error };
  const m = main as { ok?: unknown; threw?: Error };
  if (m.threw) {
    assert.ok(w.threw, `${what}: the worker threw too`);
    assert.is(w.threw!.constructor, m.threw.constructor, `${what}: the same class`);
    assert.equal({ ...w.threw, message: w.threw!.message }, { ...m.threw, message: m.threw.message }, `${what}: the same fields`);
  } else assert.equal(w.ok, m.ok, `${what}: the same result`);
}

test('a COCO file of 5 000 boxes (several batches) parses to the same result', async ({ parser }) => {
  const coco = {
    images: Array.from({ length: 100 }, (_, k) => ({ id: k + 1, file_name: `frame_${String(k).padStart(6, '0')}.jpg`, width: 640, height: 480 })),
    categories: [{ id: 1, name: 'car' }, { id: 2, name: 'truck' }],
    annotations: Array.from({ length: 5000 }, (_, k) => ({ id: k + 1, image_id: (k % 100) + 1, category_id: (k % 2) + 1, bbox: [k % 600, k % 400, 20, 30] })),
  };
  const body = strToU8(JSON.stringify(coco));
  const main = direct('coco', body);
  assert.is((main as { ok: { content: { annotations: unknown[] } } }).ok.content.annotations.length, 5000);
  sameOutcome(await outcome(parser.parse('coco', body.slice(), ctx)), main, 'coco');
});

test('unsafe and oversized inputs throw the same classes with the same fields', async ({ parser }) => {
  const cases: Array<[FormatName, Uint8Array]> = [
    ['yolo', rawZip([['../x.txt', '0 0.5 0.5 0.1 0.1\n']])],
    ['yolo', overlapBomb({ entries: 20, inflatedBytes: 1024, name: (k) => `obj_train_data/f${k}.txt` })],
    ['coco', strToU8(`{"images":${'['.repeat(200)}${']'.repeat(200)}}`)],
    ['voc', strToU8('<!DOCTYPE a [<!ENTITY x "y">]><annotation/>')],
  ];
  for (const [format, body] of cases) sameOutcome(await outcome(parser.parse(format, body.slice(), ctx)), direct(format, body), format);
  // Past the per-entry cap: 413's error, rebuilt.
  const big = rawZip([['obj_train_data/f.txt', ' '.repeat(80 * 1024 * 1024)]]);
  const e = (await outcome(parser.parse('yolo', big, ctx))) as { threw: unknown };
  assert.instance(e.threw, InputTooLargeError);
  assert.is((e.threw as InputTooLargeError).code, 'zip_entry_too_large');
  // A rebuilt UnsafeInputError, where a converter lets one out (safe-json's callers do not catch it).
  const deep = (await outcome(parser.parse('json', strToU8(`{"schemaVersion":1,"labels":${'['.repeat(200)}${']'.repeat(200)}}`), ctx))) as { ok?: { errors: unknown[] }; threw?: unknown };
  assert.ok(deep.threw instanceof UnsafeInputError || (deep.ok?.errors.length ?? 0) > 0, 'refused either way');
});

test('a small zip refused from its layout (the overlap bomb) gets the same answer without a worker; a larger one, or a real import, goes to it', async () => {
  const parser = createImportParser();
  try {
    const bomb = overlapBomb({ entries: 1000, inflatedBytes: 16 * 1024 * 1024, name: (k) => `obj_train_data/frame_${String(k).padStart(6, '0')}.txt` });
    for (const format of ['yolo', 'ultralytics', 'voc', 'mot'] as const) {
      sameOutcome(await outcome(parser.parse(format, bomb.slice(), ctx)), direct(format, bomb), format);
    }
    assert.is(parser.stats().workersStarted, 0, 'no worker for a refused layout');
    // Past 256 kB the layout is not read on the main thread: the worker refuses it, the same way.
    const big = overlapBomb({ entries: 4000, inflatedBytes: 1024 * 1024, name: (k) => `obj_train_data/frame_${String(k).padStart(6, '0')}.txt` });
    assert.ok(big.length > 256 * 1024, `${big.length} bytes`);
    // A copy of its own: the parser transfers the body it is given (a Buffer's slice is a view).
    sameOutcome(await outcome(parser.parse('yolo', Uint8Array.from(big), ctx)), direct('yolo', big), 'a bomb past 256 kB');
    assert.is(parser.stats().workersStarted, 1, 'the worker read that one');
    const yolo = rawZip([['obj_train_data/frame_000000.txt', '0 0.5 0.5 0.1 0.1\n']]);
    sameOutcome(await outcome(parser.parse('yolo', yolo.slice(), ctx)), direct('yolo', yolo), 'a one-box yolo zip');
    assert.is(parser.stats().workersStarted, 1, 'the same worker');
  } finally {
    await parser.close();
  }
});

test('a worker left idle is ended, and the next import starts a new one that answers the same', async () => {
  const parser = createImportParser({ idleMs: 20 });
  try {
    const yolo = rawZip([['obj_train_data/frame_000000.txt', '0 0.5 0.5 0.1 0.1\n']]);
    const first = await outcome(parser.parse('yolo', yolo.slice(), ctx));
    await waitFor(() => parser.stats().workersEnded === 1, { message: 'the idle worker was not ended' });
    assert.equal(await outcome(parser.parse('yolo', yolo.slice(), ctx)), first);
    assert.equal(parser.stats(), { workersStarted: 2, workersEnded: 1 });
  } finally {
    await parser.close();
  }
});

test('the parsing thread runs at a lower priority than the event loop, which keeps its own', async () => {
  if (process.platform !== 'linux') {
    console.log('  skipped: thread priorities are read from /proc (Linux only)');
    return;
  }
  const parser = createImportParser();
  try {
    await assertLowersOneThread(async () => {
      // A real import, so the worker starts (a small zip refused from its layout would not need it).
      const body = strToU8(JSON.stringify({ images: [{ id: 1, file_name: 'frame_000000.jpg', width: 640, height: 480 }], categories: [{ id: 1, name: 'car' }], annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 2, 3, 4] }] }));
      const result = await parser.parse('coco', body, ctx);
      assert.is(result.content.annotations.length, 1);
    });
  } finally {
    await parser.close();
  }
});

test('a detections file (MOT or CSV) reads in the worker as on the main thread, its problems placed the same', async ({ parser }) => {
  const meta = { width: 640, height: 480, frameCount: 100 };
  const mot = strToU8(Array.from({ length: 300 }, (_, i) => `${(i % 100) + 1},${Math.floor(i / 100) + 1},${i % 600},10,30,30,${i % 7 === 0 ? 1.5 : 0.5},1,1`).join('\n') + '\n');
  const here = parseMotDetections(mot, { meta, labels: ['car'] });
  const there = await parser.parseDetections('mot', mot.slice(), { meta, labels: ['car'] });
  assert.equal(there.detections, here.detections);
  assert.equal([there.warnings, there.errors], [here.warnings, here.errors]);
  assert.ok(here.warnings.length > 0, 'the rescored confidences are a warning');

  const csv = strToU8('frame,label,x,y,w,h,score,trackId,detectionId\n0,car,1,1,5,5,0.5,7,d0\n1,car,1,1,5,5,high,,\n1,car,1,1,0,5,0.5,,\n');
  const csvHere = parseDetectionsCsv(csv, { meta, clip: false, fileName: 'detections.csv' });
  const csvThere = await parser.parseDetections('csv', csv.slice(), { meta });
  assert.equal([csvThere.errors, csvThere.errorCount, csvThere.detections], [csvHere.errors, csvHere.errorCount, []]);
  assert.is(csvThere.errorCount, 2);
});

test('after close, parse rejects with ImportParserClosedError', async () => {
  const parser = createImportParser();
  await parser.close();
  const e = (await outcome(parser.parse('coco', strToU8('{}'), ctx))) as { threw: unknown };
  assert.instance(e.threw, ImportParserClosedError);
});

test.run();
