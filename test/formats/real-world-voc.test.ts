/**
 * Issue 4, hand-written Pascal VOC files: what LabelImg, CVAT, Datumaro and the VOC devkit write
 * and must be handled, and what must be refused with its place (`file:/annotation/object/k/…`).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { parseVoc } from '../../docs-model/formats/voc.ts';

const meta = { width: 640, height: 480, frameCount: 10 };
const ctx = { meta, labels: { car: {}, person: {} } };
const zip = (files: Record<string, string>): Uint8Array => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])) as Zippable);
const codes = (ps: { code: string }[]): string[] => ps.map((p) => p.code);
const box = (x0: number | string, y0: number | string, x1: number | string, y1: number | string): string =>
  `<bndbox><xmin>${x0}</xmin><ymin>${y0}</ymin><xmax>${x1}</xmax><ymax>${y1}</ymax></bndbox>`;
const obj = (inner: string, name = 'car'): string => `<object><name>${name}</name>${inner}</object>`;
const doc = (file: string, objects: string, size = '<size><width>640</width><height>480</height><depth>3</depth></size>'): string =>
  `<?xml version="1.0" encoding="utf-8"?>\n<annotation><folder>clip</folder><filename>${file}</filename>${size}${objects}</annotation>\n`;
const framesOf = (r: ReturnType<typeof parseVoc>): [string, number][] => r.content.annotations.map((a) => [a.label, a.frame]);

const handled = suite('voc import: what real files contain');

handled('a LabelImg file: verified attribute, path, source, segmented, pose, truncated, difficult and parts', () => {
  const xml = `<annotation verified="yes">
	<folder>images</folder>
	<filename>frame_000004.jpg</filename>
	<path>C:\\Users\\ann\\images\\frame_000004.jpg</path>
	<source><database>Unknown</database></source>
	<size><width>640</width><height>480</height><depth>3</depth></size>
	<segmented>0</segmented>
	<object><name>person</name><pose>Unspecified</pose><truncated>1</truncated><difficult>1</difficult>
		<bndbox><xmin>10</xmin><ymin>20</ymin><xmax>110</xmax><ymax>220</ymax></bndbox>
		<part><name>head</name><bndbox><xmin>40</xmin><ymin>20</ymin><xmax>70</xmax><ymax>50</ymax></bndbox></part>
	</object>
</annotation>`;
  const r = parseVoc(strToU8(xml), ctx);
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations.map((a) => [a.label, a.frame, a.bbox, a.attributes]), [['person', 4, [10, 20, 100, 200], { truncated: true, difficult: true }]]);
});

handled('missing optional keys: no size (the session size clips), no filename (the entry name), no pose or flags', () => {
  const r = parseVoc(zip({ 'Annotations/frame_000002.xml': `<annotation>${obj(box(600, 10, 700, 50))}</annotation>` }), ctx);
  assert.equal(r.errors, []);
  assert.equal(codes(r.warnings), ['box_clipped']);
  assert.equal(r.content.annotations.map((a) => [a.frame, a.bbox]), [[2, [600, 10, 40, 40]]]);
  const zero = parseVoc(doc('frame_000001.jpg', obj(box(1, 1, 5, 5)), '<size><width>0</width><height></height></size>'), ctx);
  assert.equal(zero.errors, [], 'a size of 0 or nothing means "unknown": the session size is used');
});

handled('BOM, CRLF, blank lines and whitespace around values', () => {
  const xml = '\uFEFF<?xml version="1.0"?>\r\n\r\n<annotation>\r\n  <filename> frame_000003.jpg </filename>  \r\n\r\n' +
    '  <object>\r\n    <name> car </name>  \r\n    <bndbox><xmin> 1 </xmin><ymin>2\r\n</ymin><xmax>11 </xmax><ymax>\t22</ymax></bndbox>\r\n  </object>   \r\n</annotation>\r\n\r\n';
  for (const input of [strToU8(xml), zip({ 'Annotations/frame_000003.xml': xml })]) {
    const r = parseVoc(input, ctx);
    assert.equal(r.errors, []);
    assert.equal(r.content.annotations.map((a) => [a.label, a.frame, a.bbox]), [['car', 3, [1, 2, 10, 20]]]);
  }
});

handled('object indices restart in each file without clashing ids; extra elements are ignored', () => {
  const r = parseVoc(zip({
    'Annotations/frame_000001.xml': doc('frame_000001.jpg', obj(box(1, 1, 5, 5) + '<score>1</score><extra><x>1</x></extra>')),
    'Annotations/frame_000002.xml': doc('frame_000002.jpg', obj(box(1, 1, 5, 5))),
  }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['car', 1], ['car', 2]]);
  assert.is(new Set(r.content.annotations.map((a) => a.id)).size, 2);
});

handled('images with no objects keep their frame: empty XMLs, JPEGImages without XML and ImageSets ids', () => {
  const r = parseVoc(zip({
    'Annotations/a.xml': doc('a.jpg', obj(box(1, 1, 5, 5))),
    'Annotations/b.xml': doc('b.jpg', ''),
    'Annotations/e.xml': doc('e.jpg', obj(box(1, 1, 5, 5))),
    'JPEGImages/a.jpg': 'jpeg', 'JPEGImages/c.jpg': 'jpeg', 'SegmentationClass/zz.png': 'png',
    'ImageSets/Main/default.txt': 'a\nb\nc\nd\ne\n',
    'ImageSets/Main/car_default.txt': 'a  1\nd -1\n',
  }), ctx);
  assert.equal(r.errors, []);
  assert.is(r.frameRule, 'name_order');
  assert.equal(framesOf(r), [['car', 0], ['car', 4]]);
});

handled('file numbers past the video (camera counters) fall back to name order, with a warning', () => {
  const r = parseVoc(zip({ 'Annotations/IMG_4033.xml': doc('IMG_4033.jpg', obj(box(1, 1, 5, 5))), 'Annotations/IMG_4032.xml': doc('IMG_4032.jpg', '') }), ctx);
  assert.is(r.frameRule, 'name_order');
  assert.equal(codes(r.warnings), ['frame_numbers_past_video']);
  assert.equal(framesOf(r), [['car', 1]]);
});

handled('vocOffset=1 reads a devkit file (1-based xmin/ymin); the default reads coordinates as-is', () => {
  const xml = doc('frame_000000.jpg', obj(box(1, 1, 100, 50)));
  assert.equal(parseVoc(xml, { ...ctx, vocOffset: 1 }).content.annotations[0]!.bbox, [0, 0, 100, 50]);
  assert.equal(parseVoc(xml, ctx).content.annotations[0]!.bbox, [1, 1, 99, 49]);
});

handled('Datumaro track_id and CVAT-style attributes become tracks with their fields; unknown labels are added', () => {
  const attrs = (pairs: [string, string][]): string => `<attributes>${pairs.map(([n, v]) => `<attribute><name>${n}</name><value>${v}</value></attribute>`).join('')}</attributes>`;
  const r = parseVoc(zip({
    'Annotations/frame_000000.xml': doc('frame_000000.jpg', obj(box(1, 1, 11, 11) + attrs([['track_id', '0'], ['keyframe', 'true'], ['occluded', 'true'], ['color', 'red']]), 'bus')),
    'Annotations/frame_000001.xml': doc('frame_000001.jpg', obj(box(3, 1, 13, 11) + attrs([['track_id', '0'], ['keyframe', 'true']]), 'bus')),
  }), ctx);
  assert.equal(r.errors, []);
  assert.equal(r.content.tracks.map((t) => [t.id, t.label]), [['0', 'bus']]);
  const first = r.content.annotations[0]!;
  assert.equal([first.trackId, first.occluded, first.attributes], ['0', true, { color: 'red' }]);
  assert.equal(r.content.addedLabels, ['bus']);
  assert.equal(codes(r.warnings), ['label_added']);
  assert.equal(codes(parseVoc(doc('frame_000000.jpg', obj(box(1, 1, 5, 5), 'bus')), { ...ctx, strictLabels: true }).errors), ['unknown_label']);
});

handled('a zip made by macOS Finder: __MACOSX and ._ entries are not annotations', () => {
  const r = parseVoc(zip({ 'Annotations/frame_000001.xml': doc('frame_000001.jpg', obj(box(1, 1, 5, 5))), '__MACOSX/Annotations/._frame_000001.xml': '\u0000\u0005\u0016\u0007', 'Annotations/._frame_000002.xml': '\u0000\u0005' }), ctx);
  assert.equal(r.errors, []);
  assert.equal(framesOf(r), [['car', 1]]);
});

const refused = suite('voc import: what must be refused');

refused('NaN, Infinity, 1e309 and 12abc are refused in a box and in the size, each at its place', () => {
  const objects = ['NaN', 'Infinity', '1e309', '12abc'].map((bad) => obj(box(bad, 1, 5, 5))).join('');
  const r = parseVoc(zip({ 'Annotations/frame_000001.xml': doc('frame_000001.jpg', objects, '<size><width>64O</width><height>480</height></size>') }), ctx);
  const f = 'Annotations/frame_000001.xml';
  assert.equal(r.errors.map((e) => `${e.code} ${e.place}`), [
    `bad_number ${f}:/annotation/size/width`,
    ...[0, 1, 2, 3].map((k) => `bad_number ${f}:/annotation/object/${k}/bndbox/xmin`),
  ]);
});

refused('polygons and keypoints are unsupported unless converted explicitly', () => {
  const r = parseVoc(doc('frame_000001.jpg', obj('<polygon><x1>1</x1><y1>1</y1></polygon>') + obj('<keypoints><x>1</x></keypoints>', 'person')), ctx);
  assert.equal(r.errors.map((e) => `${e.code} ${e.place}`), ['unsupported_shape annotation.xml:/annotation/object/0', 'unsupported_shape annotation.xml:/annotation/object/1']);
  assert.match(r.errors[1]!.message, /keypoints/);
});

refused('duplicate annotation ids across files are refused at the second place', () => {
  const id = '<attributes><attribute><name>annotationId</name><value>a1</value></attribute></attributes>';
  const r = parseVoc(zip({ 'Annotations/frame_000001.xml': doc('frame_000001.jpg', obj(box(1, 1, 5, 5) + id)), 'Annotations/frame_000002.xml': doc('frame_000002.jpg', obj(box(1, 1, 5, 5) + id)) }), ctx);
  assert.equal(r.errors.map((e) => `${e.code} ${e.place}`), ['duplicate_id Annotations/frame_000002.xml:/annotation/object/0']);
});

handled.run();
refused.run();
