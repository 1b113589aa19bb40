import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import { emptyLoss } from '../../docs-model/formats/loss.ts';
import { exportUltralytics } from '../../docs-model/formats/ultralytics.ts';
import { exportYolo } from '../../docs-model/formats/yolo.ts';
import { parseYolo } from '../../docs-model/formats/yolo-import.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { asSession, boxesDiffer, frameBoxes, H, seedFromEnv, sessionArb, W } from '../helpers/format-sessions.ts';

const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: W, height: H, fps: 25, frameCount: 10 };
const ctx = { meta, labels: { car: {}, person: {} } };
const zip = (files: Record<string, string>): Uint8Array => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])) as Zippable);
const codes = (ps: { code: string }[]): string[] => ps.map((p) => p.code);
const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});
// YOLO keeps 6 decimals of a 640-pixel side.
const TOL = 1e-6 * Math.max(W, H) * 1.01;

const roundTrip = suite('yolo and ultralytics round trip');

for (const [name, exporter] of [['yolo', exportYolo], ['ultralytics', exportUltralytics]] as const) {
  roundTrip(`${name}: export then import gives the same labelled boxes per frame, up to 6 decimals`, () => {
    const seed = seedFromEnv(name);
    fc.assert(
      fc.property(sessionArb, (content) => {
        const loss = emptyLoss(name);
        const r = parseYolo(collect(exporter(content, {}, { loss })), { meta: content.meta, labels: content.labels });
        assert.equal(r.errors, []);
        assert.is(boxesDiffer(frameBoxes(content, ['label']), frameBoxes(asSession(r.content, content), ['label']), TOL), null);
        assert.is(loss.tracksFlattened, content.tracks.length);
        assert.ok(loss.roundingBoundPx > 0);
      }),
      { seed, numRuns: 60 },
    );
  });
}

roundTrip('darknet layout: obj.names, obj.data, train.txt and per-frame files; tracks expanded per frame', () => {
  const content: SessionContent = {
    meta, labels: { car: {} }, tracks: [{ id: 't', label: 'car', attributes: {}, interpolation: 'linear' }],
    annotations: [ann({ id: 'k0', trackId: 't', frame: 0, bbox: [0, 0, 64, 48] }), ann({ id: 'k1', trackId: 't', frame: 2, bbox: [64, 48, 64, 48] }), ann({ id: 'k2', trackId: 't', frame: 3, outside: true })],
  };
  const files = unzipSync(collect(exportYolo(content)));
  const names = Object.keys(files).sort();
  assert.equal(names, ['loss.json', 'obj.data', 'obj.names', 'obj_train_data/frame_000000.txt', 'obj_train_data/frame_000001.txt', 'obj_train_data/frame_000002.txt', 'train.txt']);
  const t = (n: string): string => new TextDecoder().decode(files[n]);
  assert.is(t('obj_train_data/frame_000001.txt'), '0 0.100000 0.100000 0.100000 0.100000\n');
  assert.is(t('train.txt').split('\n')[0], 'data/obj_train_data/frame_000000.jpg');
  const ul = unzipSync(collect(exportUltralytics(content, { allFrames: true })));
  assert.ok(new TextDecoder().decode(ul['data.yaml']).includes('  0: "car"'));
  assert.is(Object.keys(ul).filter((n) => n.startsWith('labels/train/')).length, 10);
});

roundTrip('boxes reaching outside the image are clamped to [0, 1] and counted', () => {
  const loss = emptyLoss('yolo');
  const content: SessionContent = { meta, labels: { car: {} }, tracks: [], annotations: [ann({ bbox: [-10, 470, 30, 30] })] };
  const files = unzipSync(collect(exportYolo(content, {}, { loss })));
  assert.is(new TextDecoder().decode(files['obj_train_data/frame_000000.txt']), '0 0.015625 0.989583 0.031250 0.020833\n');
  assert.is(loss.boxesClipped, 1);
});

const layouts = suite('yolo import: layouts real exporters write');

layouts('obj.data pointing at obj.names with a data/ prefix that is not in the zip', () => {
  const r = parseYolo(zip({ 'obj.data': 'classes = 2\nnames = data/obj.names\ntrain = data/train.txt\n', 'obj.names': 'car\nperson\n', 'train.txt': 'data/obj_train_data/frame_000004.jpg\n', 'obj_train_data/frame_000004.txt': '1 0.5 0.5 0.1 0.1\n' }), ctx);
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations.map((a) => [a.label, a.frame]), [['person', 4]]);
  assert.is(r.frameRule, 'file_name_number');
});

layouts('classes.txt + labels/, with BOM, CRLF, blank lines and trailing whitespace', () => {
  const r = parseYolo(zip({ 'classes.txt': '\uFEFFcar\r\nperson\r\n', 'labels/img_b.txt': '\uFEFF0 0.5 0.5 0.2 0.2 \r\n\r\n1 0.25 0.25 0.1 0.1\t\r\n', 'labels/img_a.txt': '' }), ctx);
  assert.equal(r.errors, []);
  assert.is(r.frameRule, 'name_order');
  assert.equal(r.content.annotations.map((a) => [a.label, a.frame]), [['car', 1], ['person', 1]]);
});

layouts('data.yaml names as a list, a flow list or a map; split folders before or after images/labels', () => {
  const yamls = ['names:\n  - car\n  - person\n', "names: ['car', \"person\"]\n", 'train: ../train/images\nnames:\n  0: car\n  1: person\n', 'names: {0: car, 1: person}\n'];
  for (const y of yamls) {
    const r = parseYolo(zip({ 'data.yaml': y, 'train/labels/frame_000001.txt': '1 0.5 0.5 0.2 0.2\n', 'labels/val/frame_000002.txt': '0 0.5 0.5 0.2 0.2\n', 'README.roboflow.txt': 'hello' }), ctx);
    assert.equal(r.errors, [], y);
    assert.equal(r.content.annotations.map((a) => [a.label, a.frame]).sort(), [['car', 2], ['person', 1]], y);
  }
});

layouts('normalised values a hair below 0 are clamped; boxes partly outside are clipped and reported', () => {
  const r = parseYolo(zip({ 'classes.txt': 'car\n', 'labels/frame_000000.txt': '0 0.05 0.5 0.1000001 -0.0000001\n0 0.5 0.5 0.2 0.2\n0 0.95 0.5 0.2 0.2\n' }), ctx);
  assert.equal(codes(r.errors), ['bad_bbox']); // h clamped to 0 is no box
  const ok = parseYolo(zip({ 'classes.txt': 'car\n', 'labels/frame_000000.txt': '0 0.0499999 0.5 0.1 0.1\n0 0.95 0.5 0.2 0.2\n' }), ctx);
  assert.equal(ok.errors, []);
  assert.equal(codes(ok.warnings), ['clamped', 'box_clipped']);
  const [x, y, w, h] = ok.content.annotations[1]!.bbox;
  assert.ok(Math.abs(x - 544) < 1e-9 && Math.abs(w - 96) < 1e-9 && Math.abs(y - 192) < 1e-9 && Math.abs(h - 96) < 1e-9);
  assert.is(ok.content.annotations[0]!.bbox[0], 0);
});

const refused = suite('yolo import: what must be refused');

refused('class out of range, bad numbers and rows that are not boxes, all reported with file:line', () => {
  const r = parseYolo(zip({ 'classes.txt': 'car\nperson\n', 'labels/frame_000000.txt': '2 0.5 0.5 0.1 0.1\n0 NaN 0.5 0.1 0.1\n0 12abc 0.5 0.1 0.1\n0 1e309 0.5 0.1 0.1\n0 0.5 0.5 0.1 0.1 0.9\n0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n0 0.1 0.1 0.2 0.1 0.2 0.2\n-1 0.5 0.5 0.1 0.1\n0 Infinity 0.5 0.1 0.1\n' }), ctx);
  assert.equal(
    r.errors.map((e) => `${e.code} ${e.place}`),
    [
      'class_out_of_range labels/frame_000000.txt:1', 'bad_number labels/frame_000000.txt:2', 'bad_number labels/frame_000000.txt:3', 'bad_number labels/frame_000000.txt:4',
      'unsupported_shape labels/frame_000000.txt:5', 'unsupported_shape labels/frame_000000.txt:6', 'unsupported_shape labels/frame_000000.txt:7',
      'class_out_of_range labels/frame_000000.txt:8', 'bad_number labels/frame_000000.txt:9',
    ],
  );
});

refused('a zip without class names, or a session without a size, is refused', () => {
  assert.equal(codes(parseYolo(zip({ 'labels/frame_000000.txt': '0 0.5 0.5 0.1 0.1\n' }), ctx).errors), ['yolo_no_names']);
  assert.equal(codes(parseYolo(zip({ 'classes.txt': 'car\n' }), {}).errors), ['missing_image_size']);
});

roundTrip.run();
layouts.run();
refused.run();
