import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import { exportVoc, parseVoc } from '../../docs-model/formats/voc.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { asSession, boxesDiffer, frameBoxes, H, seedFromEnv, sessionArb, W } from '../helpers/format-sessions.ts';

const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: W, height: H, fps: 25, frameCount: 10 };
const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});
const xml = (objects: string, file = 'frame_000003.jpg'): string =>
  `<?xml version="1.0"?>\r\n<annotation><filename>${file}</filename><size><width>640</width><height>480</height></size>${objects}</annotation>`;
const obj = (box: string, name = 'car'): string => `<object><name>${name}</name><bndbox>${box}</bndbox></object>`;
const codes = (ps: { code: string }[]): string[] => ps.map((p) => p.code);

const roundTrip = suite('voc round trip');

for (const vocOffset of [0, 1] as const) {
  roundTrip(`vocOffset ${vocOffset}: export then import gives the same boxes, tracks and fields`, () => {
    const seed = seedFromEnv(`voc offset ${vocOffset}`);
    fc.assert(
      fc.property(sessionArb, (content) => {
        const r = parseVoc(collect(exportVoc(content, { vocOffset })), { meta: content.meta, labels: content.labels, vocOffset });
        assert.equal(r.errors, []);
        const fields = ['label', 'trackId', 'annotationId', 'keyframe', 'occluded', 'status', 'detectionId'] as const;
        assert.is(boxesDiffer(frameBoxes(content, [...fields]), frameBoxes(asSession(r.content, content), [...fields]), 1e-6), null);
      }),
      { seed, numRuns: 60 },
    );
  });
}

roundTrip('coordinates are written as-is by default and 1-based with vocOffset=1', () => {
  const content: SessionContent = { meta, labels: { car: {} }, tracks: [], annotations: [ann({ frame: 2, bbox: [10, 20, 30, 40] })] };
  const t = (o: 0 | 1): string => new TextDecoder().decode(unzipSync(collect(exportVoc(content, { vocOffset: o })))['Annotations/frame_000002.xml']);
  assert.ok(t(0).includes('<xmin>10</xmin><ymin>20</ymin><xmax>40</xmax><ymax>60</ymax>'));
  assert.ok(t(1).includes('<xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>60</ymax>'));
  const files = unzipSync(collect(exportVoc(content, { allFrames: true })));
  assert.is(new TextDecoder().decode(files['ImageSets/Main/default.txt']).split('\n').filter(Boolean).length, 10);
});

const imports = suite('voc import');

imports('a single XML is accepted, with CRLF and a single object; frame from the file name', () => {
  const r = parseVoc(xml(obj('<xmin>1</xmin><ymin>2</ymin><xmax>11</xmax><ymax>22</ymax>')), { labels: { car: {} } });
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations.map((a) => [a.frame, a.bbox]), [[3, [1, 2, 10, 20]]]);
});

imports('boxes partly outside are clipped and reported; bad numbers and polygons are refused with place', () => {
  const files: Zippable = {
    'Annotations/frame_000001.xml': strToU8(xml(obj('<xmin>-5</xmin><ymin>2</ymin><xmax>11</xmax><ymax>22</ymax>') + obj('<xmin>12abc</xmin><ymin>2</ymin><xmax>11</xmax><ymax>22</ymax>'), 'frame_000001.jpg')),
    'Annotations/frame_000002.xml': strToU8(xml('<object><name>car</name><polygon><x1>1</x1></polygon></object>', 'frame_000002.jpg')),
  };
  const r = parseVoc(zipSync(files), { labels: { car: {} } });
  assert.equal(r.errors.map((e) => `${e.code} ${e.place}`), ['bad_number Annotations/frame_000001.xml:/annotation/object/1/bndbox/xmin', 'unsupported_shape Annotations/frame_000002.xml:/annotation/object/0']);
  assert.equal(codes(r.warnings), ['box_clipped']);
  assert.equal(r.content.annotations[0]!.bbox, [0, 2, 11, 20]);
});

imports('XML with a DOCTYPE or ENTITY is refused before parsing', () => {
  const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><annotation><filename>&lol2;</filename></annotation>';
  const r = parseVoc(bomb);
  assert.equal(codes(r.errors), ['xml_doctype']);
  const zipped = parseVoc(zipSync({ 'Annotations/a.xml': strToU8(bomb), 'Annotations/b.xml': strToU8(xml('')) }));
  assert.equal(r.errors[0]!.place, 'annotation.xml:1');
  assert.equal(zipped.errors.map((e) => e.place), ['Annotations/a.xml:1']);
});

roundTrip.run();
imports.run();
