/**
 * A large session, over real HTTP: a 100-track × 9 000-frame session (3 000 keyframes,
 * 900 000 interpolated boxes) exports whole in every format. Bodies are counted as they stream,
 * never held: 150 MB of COCO would otherwise sit in the test. Time and memory are measured by
 * `npm run bench:formats`, not here.
 */
import http, { type IncomingMessage } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Unzip, UnzipInflate } from 'fflate';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, startApiServer, type ApiTestServer } from '../../tools/api.ts';

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  sessionId: string;
}

const TRACKS = 100;
const FRAMES = 9000;
const BOXES = TRACKS * FRAMES;

/** Occurrences of `needle` in a streamed body, across chunk boundaries, holding one chunk at a time. */
async function countInStream(res: IncomingMessage, needle: string): Promise<number> {
  const decoder = new TextDecoder();
  let count = 0;
  let tail = '';
  for await (const chunk of res as AsyncIterable<Uint8Array>) {
    const text = tail + decoder.decode(chunk, { stream: true });
    let at = text.indexOf(needle);
    while (at >= 0) {
      count++;
      at = text.indexOf(needle, at + needle.length);
    }
    tail = text.slice(Math.max(0, text.length - needle.length + 1));
  }
  return count;
}

/** Files under `prefix` in a zip and the occurrences of `needle` in them, inflated one chunk at a time. */
function countInZip(zip: Uint8Array, prefix: string, needle: string): { files: number; count: number } {
  const decoder = new TextDecoder();
  let files = 0;
  let count = 0;
  const unzip = new Unzip((file) => {
    if (!file.name.startsWith(prefix)) return;
    files++;
    let tail = '';
    file.ondata = (err, chunk, final) => {
      if (err) throw err;
      const text = tail + decoder.decode(chunk, { stream: !final });
      count += text.split(needle).length - 1;
      tail = text.slice(Math.max(0, text.length - needle.length + 1));
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  // In slices: fflate recurses once per entry found in one push.
  for (let at = 0; at < zip.length; at += 16 * 1024) unzip.push(zip.subarray(at, at + 16 * 1024), at + 16 * 1024 >= zip.length);
  return { files, count };
}

const bytesOf = async (res: IncomingMessage): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
};

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`REST export of 900 000 boxes (${kind})`);
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
    const { session } = await linkedSession(ctx.t.http, { video: { width: 1920, height: 1080, frameCount: FRAMES } });
    ctx.sessionId = session.id;
    const tracks = Array.from({ length: TRACKS }, (_, t) => ({ id: `t${t}`, label: 'car', attributes: {}, interpolation: 'linear' }));
    const annotations = [];
    for (let t = 0; t < TRACKS; t++) {
      for (let f = 0; f < FRAMES; f += 300) {
        annotations.push({
          id: `t${t}k${f}`, frame: f, bbox: [(t * 17 + f / 10) % 1800, (t * 9) % 1000, 60, 40], label: 'car', trackId: `t${t}`,
          detectionId: null, attributes: {}, occluded: false, outside: false, status: 'validated', source: 'manual',
          createdBy: 'alice', updatedBy: 'alice', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000,
        });
      }
    }
    const file = JSON.stringify({ format: 'annosync-session', schemaVersion: 1, meta: {}, labels: { car: {}, person: {}, bike: {} }, tracks, annotations });
    const filled = await ctx.t.http.request('POST', `/api/sessions/${session.id}/import?format=json&mode=replace`, undefined, {
      headers: { 'content-type': 'application/json' },
      raw: file,
    });
    assert.is(filled.status, 200, filled.text);
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
  });

  // A new connection per export (agent: false): the client spends seconds counting a body, and a
  // kept-alive socket the server closes meanwhile made the next fetch fail now and then.
  const exportOf = (ctx: Ctx, format: string): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const req = http.get(`${ctx.t.url}/api/sessions/${ctx.sessionId}/export?format=${format}`, { agent: false, headers: { authorization: `Bearer ${ctx.t.adminToken}` } }, resolve);
      req.on('error', reject);
    });

  test('COCO streams one annotation per frame and track', async (ctx) => {
    const res = await exportOf(ctx, 'coco');
    assert.is(res.statusCode, 200);
    assert.is(await countInStream(res, '"category_id"'), BOXES);
  });

  test('YOLO and Ultralytics write one line per box, one file per frame', async (ctx) => {
    for (const [format, folder] of [['yolo', 'obj_train_data/'], ['ultralytics', 'labels/train/']] as const) {
      const res = await exportOf(ctx, format);
      assert.is(res.statusCode, 200, format);
      assert.equal(countInZip(await bytesOf(res), folder, '\n'), { files: FRAMES, count: BOXES }, format);
    }
  });

  test('VOC writes one object per box in one XML per frame', async (ctx) => {
    const res = await exportOf(ctx, 'voc');
    assert.is(res.statusCode, 200);
    const zip = await bytesOf(res);
    assert.equal(countInZip(zip, 'Annotations/', '<object>'), { files: FRAMES, count: BOXES });
    assert.equal(countInZip(zip, 'ImageSets/', '\n'), { files: 1, count: FRAMES });
  });

  test('MOT writes one gt.txt line per box, streamed as one deflated entry', async (ctx) => {
    const res = await exportOf(ctx, 'mot');
    assert.is(res.statusCode, 200);
    assert.equal(countInZip(await bytesOf(res), 'gt/gt.txt', '\n'), { files: 1, count: BOXES });
  });

  test('native JSON keeps the 3 000 keyframes, not the expansion', async (ctx) => {
    const res = await exportOf(ctx, 'json');
    assert.is(res.statusCode, 200);
    const file = JSON.parse((await bytesOf(res)).toString('utf8')) as { annotations: unknown[]; tracks: unknown[] };
    assert.is(file.annotations.length, TRACKS * (FRAMES / 300));
    assert.is(file.tracks.length, TRACKS);
  });

  test.run();
}
