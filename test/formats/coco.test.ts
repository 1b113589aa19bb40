import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { exportCoco, exportCocoProject } from '../../docs-model/formats/coco.ts';
import { parseCoco } from '../../docs-model/formats/coco-import.ts';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import { emptyLoss, lossSummary } from '../../docs-model/formats/loss.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { asSession, boxesDiffer, frameBoxes, H, seedFromEnv, sessionArb, W } from '../helpers/format-sessions.ts';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const cocoOf = (c: SessionContent, opts = {}): Record<string, unknown[]> => JSON.parse(text(collect(exportCoco(c, opts)))) as Record<string, unknown[]>;
const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: W, height: H, fps: 25, frameCount: 10 };
const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});
const codes = (ps: { code: string }[]): string[] => ps.map((p) => p.code);
const base = { categories: [{ id: 0, name: 'car' }, { id: 7, name: 'person' }], images: [{ id: 0, file_name: 'frame_000000.jpg', width: W, height: H }, { id: 1, file_name: 'frame_000001.jpg', width: W, height: H }] };
const parse = (doc: unknown, ctx = {}) => parseCoco(JSON.stringify(doc), { labels: { car: {}, person: {} }, ...ctx });

const roundTrip = suite('coco round trip');

roundTrip('export then import gives the same boxes on every frame, tracks and keyframes included', () => {
  const seed = seedFromEnv('coco');
  fc.assert(
    fc.property(sessionArb, (content) => {
      const r = parseCoco(collect(exportCoco(content)), { meta: content.meta, labels: content.labels });
      assert.equal(r.errors, []);
      if (r.content.annotations.length) assert.is(r.frameRule, 'frame_id');
      const fields = ['label', 'trackId', 'annotationId', 'keyframe', 'occluded', 'status', 'detectionId', 'attributes'] as const;
      const diff = boxesDiffer(frameBoxes(content, [...fields]), frameBoxes(asSession(r.content, content), [...fields]), 1e-6);
      assert.is(diff, null);
      const tracks = (c: { tracks: { id: string; label: string; interpolation: string }[] }) => c.tracks.map((t) => `${t.id}:${t.label}:${t.interpolation}`).sort();
      const visible = new Set(content.annotations.filter((a) => a.trackId).map((a) => a.trackId));
      assert.equal(tracks(r.content), tracks({ tracks: content.tracks.filter((t) => visible.has(t.id)) }));
    }),
    { seed, numRuns: 150 },
  );
});

roundTrip('keyframesOnly exports only what people drew, allFrames lists every frame', () => {
  const content: SessionContent = {
    meta, labels: { car: {} }, tracks: [{ id: 't', label: 'car', attributes: {}, interpolation: 'linear' }],
    annotations: [ann({ id: 'k0', trackId: 't', frame: 1 }), ann({ id: 'k1', trackId: 't', frame: 5, bbox: [50, 10, 20, 20] }), ann({ id: 'k2', trackId: 't', frame: 7, outside: true })],
  };
  const full = cocoOf(content);
  assert.is(full.annotations!.length, 6); // frames 1..6, none on/after the outside keyframe
  const mid = full.annotations![2] as { bbox: number[]; attributes: { keyframe: boolean; trackId: string } };
  assert.equal(mid.bbox, [30, 10, 20, 20]);
  assert.equal([mid.attributes.keyframe, mid.attributes.trackId], [false, 't']);
  assert.is(cocoOf(content, { keyframesOnly: true }).annotations!.length, 2);
  assert.is(full.images!.length, 6);
  assert.is(cocoOf(content, { allFrames: true }).images!.length, 10);
  const loss = emptyLoss('coco');
  collect(exportCoco(content, {}, { loss }));
  assert.is(loss.outsideKeyframes, 1);
  assert.match(lossSummary(loss), 'outside-keyframes=1');
});

roundTrip('categories keep label order as stable 1-based ids and images are named frame_000123', () => {
  const content: SessionContent = { meta, labels: { zebra: {}, car: {} }, tracks: [], annotations: [ann({ frame: 3, label: 'car' }), ann({ id: 'b', label: 'ant' })] };
  const coco = cocoOf(content);
  assert.equal(coco.categories!.map((c) => (c as { name: string }).name), ['zebra', 'car', 'ant']);
  assert.equal((coco.images as { file_name: string; frame_id: number }[]).map((i) => [i.file_name, i.frame_id]), [['frame_000000.jpg', 0], ['frame_000003.jpg', 3]]);
});

roundTrip('a project export prefixes frames by video so names never collide', () => {
  const a: SessionContent = { meta: { ...meta, videoId: 'va' }, labels: { car: {} }, tracks: [], annotations: [ann({})] };
  const b: SessionContent = { meta: { ...meta, videoId: 'vb' }, labels: { car: {} }, tracks: [], annotations: [ann({})] };
  const coco = JSON.parse(text(collect(exportCocoProject([{ content: a }, { content: b }])))) as { images: { id: number; file_name: string }[]; annotations: { image_id: number }[] };
  assert.equal(coco.images.map((i) => i.file_name), ['va/frame_000000.jpg', 'vb/frame_000000.jpg']);
  assert.is(new Set(coco.images.map((i) => i.id)).size, 2);
  assert.equal(coco.annotations.map((x) => x.image_id), coco.images.map((i) => i.id));
});

roundTrip('a 100-track × 9 000-frame session streams in many small chunks', () => {
  const annotations: Annotation[] = [];
  const tracks = Array.from({ length: 100 }, (_, t) => ({ id: `t${t}`, label: 'car', attributes: {}, interpolation: 'linear' as const }));
  for (let t = 0; t < 100; t++) for (let f = 0; f < 9000; f += 1000) annotations.push(ann({ id: `t${t}k${f}`, trackId: `t${t}`, frame: f, bbox: [t, f / 100, 30, 30] }));
  const content: SessionContent = { meta: { ...meta, frameCount: 9000 }, labels: { car: {} }, tracks, annotations };
  let chunks = 0;
  let biggest = 0;
  let bytes = 0;
  const it = exportCoco(content);
  for (const c of it) {
    chunks++;
    bytes += c.length;
    biggest = Math.max(biggest, c.length);
    if (chunks === 20) break; // the first chunks arrive before the walk is done: nothing is built whole
  }
  assert.is(chunks, 20);
  assert.ok(biggest < 256 * 1024, `chunks stay small (${biggest})`);
  assert.ok(bytes < 2 * 1024 * 1024);
});

const handled = suite('coco import: what real files contain');

handled('category ids with gaps or from 0, annotation id 0, iscrowd spellings, extra and missing keys', () => {
  const r = parse({
    ...base, info: { x: 1 }, extra: true,
    annotations: [
      { id: 0, image_id: 0, category_id: 0, bbox: [1, 2, 3, 4], iscrowd: 'false', foo: 'bar' },
      { id: 1, image_id: 1, category_id: 7, bbox: [1, 2, 3, 4], iscrowd: false },
      { id: 2, image_id: 1, category_id: 7, bbox: [5, 2, 3, 4] },
      { id: 3, image_id: 1, category_id: 0, bbox: [9, 2, 3, 4], iscrowd: 1 },
    ],
  });
  assert.equal(r.errors, []);
  assert.is(r.content.annotations.length, 4);
  assert.equal(r.content.annotations.map((a) => a.label), ['car', 'person', 'person', 'car']);
  assert.equal(r.content.annotations[3]!.attributes, { iscrowd: true });
  assert.ok(codes(r.warnings).includes('iscrowd_kept'));
  assert.is(r.frameRule, 'file_name_number');
});

handled('BOM, CRLF and images without annotations are fine', () => {
  const json = '\uFEFF' + JSON.stringify({ ...base, annotations: [{ id: 5, image_id: 1, category_id: 0, bbox: [1, 1, 2, 2] }] }, null, 2).replace(/\n/g, '\r\n');
  const r = parseCoco(new TextEncoder().encode(json), { labels: { car: {}, person: {} } });
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations.map((a) => a.frame), [1]);
});

handled('boxes partly outside the image are clipped and reported', () => {
  const r = parse({ ...base, annotations: [{ id: 1, image_id: 0, category_id: 0, bbox: [-5, 470, 20, 20] }] });
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations[0]!.bbox, [0, 470, 15, 10]);
  assert.equal(codes(r.warnings), ['box_clipped']);
});

handled('COCO-VID frame_id wins; names without numbers fall back to name order', () => {
  const vid = parse({ categories: base.categories, images: [{ id: 9, file_name: 'x_000001.jpg', frame_id: 40 }], annotations: [{ id: 1, image_id: 9, category_id: 0, bbox: [1, 1, 2, 2] }] });
  assert.is(vid.frameRule, 'frame_id');
  assert.is(vid.content.annotations[0]!.frame, 40);
  const named = parse({ categories: base.categories, images: [{ id: 1, file_name: 'b.jpg' }, { id: 2, file_name: 'a.jpg' }], annotations: [{ id: 1, image_id: 1, category_id: 0, bbox: [1, 1, 2, 2] }] });
  assert.is(named.frameRule, 'name_order');
  assert.is(named.content.annotations[0]!.frame, 1);
});

handled('track_id and instance_id become tracks; unknown labels are added and reported', () => {
  const r = parseCoco(JSON.stringify({
    ...base,
    annotations: [
      { id: 1, image_id: 0, category_id: 0, bbox: [1, 1, 2, 2], track_id: 3 },
      { id: 2, image_id: 1, category_id: 0, bbox: [2, 1, 2, 2], track_id: 3 },
      { id: 3, image_id: 1, category_id: 7, bbox: [2, 1, 2, 2], instance_id: 'p' },
    ],
  }), { labels: { car: {} } });
  assert.equal(r.errors, []);
  assert.equal(r.content.tracks.map((t) => t.id).sort(), ['3', 'p']);
  assert.equal(r.content.addedLabels, ['person']);
  assert.ok(codes(r.warnings).includes('label_added'));
  const strict = parseCoco(JSON.stringify({ ...base, annotations: [{ id: 3, image_id: 1, category_id: 7, bbox: [2, 1, 2, 2] }] }), { labels: { car: {} }, strictLabels: true });
  assert.equal(codes(strict.errors), ['unknown_label']);
});

const refused = suite('coco import: what must be refused');

refused('a results array is refused as belonging to a test run', () => {
  const r = parseCoco(JSON.stringify([{ image_id: 1, category_id: 1, bbox: [1, 1, 2, 2], score: 0.9 }]));
  assert.equal(codes(r.errors), ['coco_results']);
  assert.is(r.errors[0]!.place, '/');
});

refused('every problem is reported with its JSON pointer, not only the first', () => {
  const json = `{"categories":[{"id":0,"name":"car"}],"images":[{"id":0,"file_name":"f0.jpg","width":640,"height":480}],"annotations":[
    {"id":1,"image_id":0,"category_id":0,"bbox":[1,1,2,2]},
    {"id":1,"image_id":0,"category_id":0,"bbox":[1,1,2,2]},
    {"id":2,"image_id":0,"category_id":0,"bbox":[1e309,1,2,2]},
    {"id":3,"image_id":0,"category_id":0,"bbox":["12abc",1,2,2]},
    {"id":4,"image_id":0,"category_id":0,"segmentation":[[1,1,5,5,1,5]]},
    {"id":5,"image_id":0,"category_id":9,"bbox":[1,1,2,2]}
  ]}`;
  const r = parseCoco(json, { labels: { car: {} } });
  assert.equal(
    r.errors.map((e) => `${e.code} ${e.place}`),
    ['bad_number /annotations/2/bbox/0', 'duplicate_id /annotations/1/id', 'bad_number /annotations/3/bbox/0', 'unsupported_shape /annotations/4', 'unknown_category /annotations/5/category_id'],
  );
});

refused('NaN and Infinity are not JSON numbers', () => {
  for (const bad of ['NaN', 'Infinity', '-Infinity']) {
    const r = parseCoco(`{"categories":[],"images":[],"annotations":[{"id":1,"bbox":[${bad},1,2,2]}]}`);
    assert.equal(codes(r.errors), ['bad_number'], bad);
    assert.is(r.errors[0]!.place, '/annotations/0/bbox/0');
  }
});

refused('__proto__ keys are dropped and reported, never reaching an object', () => {
  const r = parseCoco('{"__proto__":{"polluted":1},"categories":[{"id":1,"name":"car","constructor":{"x":1}}],"images":[],"annotations":[]}');
  assert.equal(codes(r.errors), ['forbidden_key', 'forbidden_key']);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

roundTrip.run();
handled.run();
refused.run();
