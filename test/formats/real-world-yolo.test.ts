/**
 * Issue 4, hand-written YOLO files: what real Darknet and Ultralytics zips contain and must be
 * handled, and what must be refused with its `file:line`. Line-level cases run on both layouts
 * (one importer reads both); layout cases reproduce what CVAT, Datumaro, Roboflow, Label Studio
 * and Ultralytics write.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import { emptyLoss } from '../../docs-model/formats/loss.ts';
import { exportUltralytics } from '../../docs-model/formats/ultralytics.ts';
import { exportYolo } from '../../docs-model/formats/yolo.ts';
import { parseYolo } from '../../docs-model/formats/yolo-import.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';

const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount: 10 };
const ctx = { meta, labels: { car: {}, person: {} } };
const zip = (files: Record<string, string>): Uint8Array => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])) as Zippable);
const codes = (ps: { code: string }[]): string[] => ps.map((p) => p.code);
const framesOf = (r: ReturnType<typeof parseYolo>): [string, number][] => r.content.annotations.map((a) => [a.label, a.frame]);
const near = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - b[i]!) < 1e-6);

/** The two layouts, from class names and label files by frame stem; `raw` text goes in as written. */
const layouts = {
  darknet: (names: string, labels: Record<string, string>) =>
    zip({
      'obj.names': names,
      'obj.data': 'classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n',
      'train.txt': Object.keys(labels).map((s) => `data/obj_train_data/${s}.jpg\n`).join(''),
      ...Object.fromEntries(Object.entries(labels).map(([s, t]) => [`obj_train_data/${s}.txt`, t])),
    }),
  ultralytics: (names: string, labels: Record<string, string>) =>
    zip({
      'data.yaml': `path: .\ntrain: images/train\nval: images/train\nnames:\n${names.split(/\r?\n/).map((n) => n.replace(/^\uFEFF/, '').trim()).filter(Boolean).map((n, k) => `  ${k}: ${n}`).join('\n')}\n`,
      ...Object.fromEntries(Object.entries(labels).map(([s, t]) => [`labels/train/${s}.txt`, t])),
    }),
};
const at = (layout: keyof typeof layouts, s: string): string => (layout === 'darknet' ? `obj_train_data/${s}.txt` : `labels/train/${s}.txt`);

const lines = suite('yolo import: what real label files contain, Darknet and Ultralytics');

for (const [layout, make] of Object.entries(layouts) as [keyof typeof layouts, (typeof layouts)['darknet']][]) {
  lines(`${layout}: BOM, CRLF, blank lines and trailing whitespace in names and label files are handled`, () => {
    const r = parseYolo(make('\uFEFFcar \r\nperson\t\r\n\r\n', { frame_000002: '\uFEFF0 0.5 0.5 0.2 0.2  \r\n\r\n   \r\n1 0.25 0.25 0.1 0.1\t\r\n' }), ctx);
    assert.equal(r.errors, []);
    assert.equal(framesOf(r), [['car', 2], ['person', 2]]);
  });

  lines(`${layout}: an empty label file is an image without annotations; line ids restart per file without clashing`, () => {
    const r = parseYolo(make('car\n', { frame_000001: '0 0.5 0.5 0.2 0.2\n', frame_000002: '', frame_000003: '0 0.5 0.5 0.2 0.2\n' }), ctx);
    assert.equal(r.errors, []);
    assert.equal(framesOf(r), [['car', 1], ['car', 3]]);
    assert.is(new Set(r.content.annotations.map((a) => a.id)).size, 2);
  });

  lines(`${layout}: values a hair outside [0, 1] from rounding are clamped; a box partly outside is clipped and reported`, () => {
    // x_min = 0.0499996 - 0.05 is a hair below 0; w = 1.0000004 a hair above 1; the third box really crosses the edge.
    const r = parseYolo(make('car\n', { frame_000000: '0 0.0499996 0.5 0.1 0.1\n0 0.5 0.5 1.0000004 0.2\n0 0.95 0.5 0.2 0.2\n' }), ctx);
    assert.equal(r.errors, []);
    const f = at(layout, 'frame_000000');
    assert.equal(r.warnings.map((w) => `${w.code} ${w.place}`), [`clamped ${f}:1`, `clamped ${f}:2`, `box_clipped ${f}:3`]);
    const [edge, wide, outside] = r.content.annotations.map((a) => a.bbox);
    assert.is(edge![0], 0);
    assert.ok(near(wide!, [0, 192, 640, 96]), String(wide));
    assert.ok(near(outside!, [544, 192, 96, 96]), String(outside));
  });

  lines(`${layout}: class index out of range, NaN, Infinity, 1e309, 12abc and OBB/polygon/keypoint rows are refused at file:line`, () => {
    const rows = ['2 0.5 0.5 0.1 0.1', '1.5 0.5 0.5 0.1 0.1', '0 NaN 0.5 0.1 0.1', '0 0.5 Infinity 0.1 0.1', '0 0.5 0.5 1e309 0.1', '0 0.5 0.5 0.1 12abc',
      '0 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3', '0 0.1 0.1 0.3 0.1 0.2 0.3', '0 0.5 0.5 0.2 0.2 0.45 0.45 2 0.55 0.55 2', '0 0.5 0.5 0.1 0.1'];
    const r = parseYolo(make('car\nperson\n', { frame_000000: rows.join('\n') }), ctx);
    const f = at(layout, 'frame_000000');
    assert.equal(r.errors.map((e) => `${e.code} ${e.place}`), [
      `class_out_of_range ${f}:1`, `class_out_of_range ${f}:2`, `bad_number ${f}:3`, `bad_number ${f}:4`, `bad_number ${f}:5`, `bad_number ${f}:6`,
      `unsupported_shape ${f}:7`, `unsupported_shape ${f}:8`, `unsupported_shape ${f}:9`,
    ]);
    assert.match(r.errors[6]!.message, /OBB/);
  });

  lines(`${layout}: an unknown class name is added and reported; strictLabels refuses it`, () => {
    const file = make('car\ntruck\n', { frame_000004: '1 0.5 0.5 0.1 0.1\n' });
    const r = parseYolo(file, ctx);
    assert.equal(r.errors, []);
    assert.equal(r.content.addedLabels, ['truck']);
    assert.equal(r.warnings.map((w) => w.code), ['label_added']);
    assert.equal(codes(parseYolo(file, { ...ctx, strictLabels: true }).errors), ['unknown_label']);
  });
}

const layout = suite('yolo import: layouts real exporters write');

layout('YOLOv5 data.yaml: names as a flow list over several lines, with nc and download keys', () => {
  const yaml = "path: ../datasets/clip\ntrain: images/train\nval: images/train\nnc: 3\nnames: ['car', 'person',\n        'traffic light']  # classes\ndownload: |\n  from utils import x\n";
  const r = parseYolo(zip({ 'data.yaml': yaml, 'labels/train/frame_000001.txt': '2 0.5 0.5 0.1 0.1\n' }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['traffic light', 1]]);
});

layout('data.yaml: a names map with blank lines and comments between classes', () => {
  const yaml = 'names:\n  # vehicles\n  0: car\n\n  # people\n  1: person\n# end of classes\nroboflow:\n  workspace: w\n';
  const r = parseYolo(zip({ 'data.yaml': yaml, 'labels/train/frame_000001.txt': '1 0.5 0.5 0.1 0.1\n' }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['person', 1]]);
});

layout('Roboflow YOLOv8: split folders, renamed files with .rf. hashes, README files and a roboflow block', () => {
  const r = parseYolo(zip({
    'data.yaml': "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: 2\nnames: ['car', 'person']\n\nroboflow:\n  workspace: acme\n  project: street\n  version: 3\n  license: CC BY 4.0\n  url: https://universe.roboflow.com/acme/street/dataset/3\n",
    'README.dataset.txt': '# street > 2024\nhttps://universe.roboflow.com\n',
    'README.roboflow.txt': 'Exported via roboflow.com\n',
    'train/images/frame_000003_jpg.rf.0a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg': 'jpeg',
    'train/labels/frame_000003_jpg.rf.0a1b2c3d4e5f60718293a4b5c6d7e8f9.txt': '0 0.5 0.5 0.1 0.1\n',
    'valid/labels/frame_000007_jpg.rf.ffe1d2c3b4a5968778695a4b3c2d1e0f.txt': '1 0.5 0.5 0.1 0.1\n',
  }), ctx);
  assert.equal(r.errors, []);
  assert.is(r.frameRule, 'file_name_number');
  assert.equal(framesOf(r), [['car', 3], ['person', 7]], 'frames from the original names, not the hashes');
});

layout('Roboflow YOLO Darknet: class names in _darknet.labels beside images and labels', () => {
  const r = parseYolo(zip({ 'train/_darknet.labels': 'car\nperson\n', 'train/frame_000001.jpg': 'jpeg', 'train/frame_000001.txt': '1 0.5 0.5 0.1 0.1\n' }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['person', 1]]);
});

layout('Ultralytics: an image without a label file keeps its place when frames follow name order', () => {
  const r = parseYolo(zip({
    'data.yaml': 'names:\n  0: car\n',
    'images/train/a.jpg': 'jpeg', 'images/train/b.jpg': 'jpeg', 'images/train/c.jpg': 'jpeg', 'images/other/cover.png': 'png',
    'labels/train/a.txt': '0 0.5 0.5 0.1 0.1\n', 'labels/train/c.txt': '0 0.5 0.5 0.1 0.1\n',
  }), ctx);
  assert.equal(r.errors, []);
  assert.is(r.frameRule, 'name_order');
  assert.equal(framesOf(r), [['car', 0], ['car', 2]]);
});

layout('Darknet: list entries with prefixes not in the zip (and Windows separators) place frames without a label file', () => {
  const r = parseYolo(zip({
    'obj.data': 'classes = 1\r\ntrain = data/train.txt\r\nnames = data/obj.names\r\n',
    'obj.names': 'car\n',
    'train.txt': 'data/obj_train_data/a.jpg\r\ndata\\obj_train_data\\b.jpg\r\n/content/data/obj_train_data/c.jpg\r\n',
    'obj_train_data/a.txt': '0 0.5 0.5 0.1 0.1\n', 'obj_train_data/c.txt': '0 0.5 0.5 0.1 0.1\n',
  }), ctx);
  assert.equal(r.errors, []);
  assert.is(r.frameRule, 'name_order');
  assert.equal(framesOf(r), [['car', 0], ['car', 2]]);
});

layout('Label Studio: classes.txt + labels/ beside notes.json and images/', () => {
  const r = parseYolo(zip({ 'classes.txt': 'car\nperson\n', 'notes.json': '{"categories":[]}', 'images/3f2a-frame_000005.jpg': 'jpeg', 'labels/3f2a-frame_000005.txt': '1 0.5 0.5 0.1 0.1\n' }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['person', 5]]);
});

layout('a zip made by macOS Finder: __MACOSX and ._ entries are not label files', () => {
  const r = parseYolo(zip({
    'clip/classes.txt': 'car\n', 'clip/labels/frame_000001.txt': '0 0.5 0.5 0.1 0.1\n',
    '__MACOSX/clip/labels/._frame_000001.txt': '\u0000\u0005\u0016\u0007Mac OS X', 'clip/labels/._frame_000002.txt': '\u0000\u0005\u0016\u0007',
  }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['car', 1]]);
});

layout('numbers past the video (camera counters) are no frame numbers: name order is used and said', () => {
  const r = parseYolo(zip({ 'classes.txt': 'car\n', 'labels/IMG_4032.txt': '0 0.5 0.5 0.1 0.1\n', 'labels/IMG_4033.txt': '0 0.5 0.5 0.1 0.1\n' }), ctx);
  assert.equal(r.errors, []);
  assert.is(r.frameRule, 'name_order');
  assert.equal(codes(r.warnings), ['frame_numbers_past_video']);
  assert.equal(framesOf(r), [['car', 0], ['car', 1]]);
  assert.is(parseYolo(zip({ 'classes.txt': 'car\n', 'labels/IMG_4032.txt': '0 0.5 0.5 0.1 0.1\n' }), { ...ctx, meta: { ...meta, frameCount: 5000 } }).frameRule, 'file_name_number');
});

const exported = suite('yolo export: label lines');

const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});

exported('Darknet and Ultralytics write class index and cx cy w h with 6 decimals, clamped to [0, 1]', () => {
  const content: SessionContent = { meta, labels: { car: {}, person: {} }, tracks: [], annotations: [ann({ label: 'person', bbox: [-10, 470, 30, 30] }), ann({ id: 'b', bbox: [100.123456789, 50, 33.3333, 20] })] };
  for (const [name, exporter, file] of [['yolo', exportYolo, 'obj_train_data/frame_000000.txt'], ['ultralytics', exportUltralytics, 'labels/train/frame_000000.txt']] as const) {
    const loss = emptyLoss(name);
    const text = new TextDecoder().decode(unzipSync(collect(exporter(content, {}, { loss })))[file]);
    assert.is(text, '1 0.015625 0.989583 0.031250 0.020833\n0 0.182485 0.125000 0.052083 0.041667\n', name);
    for (const v of text.trim().split(/\s+/).filter((_, k) => k % 5)) assert.ok(Number(v) >= 0 && Number(v) <= 1, name);
    assert.is(loss.boxesClipped, 1, name);
  }
});

lines.run();
layout.run();
exported.run();
