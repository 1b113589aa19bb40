import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { strToU8, unzipSync, zipSync } from 'fflate';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import { walkFrames } from '../../docs-model/formats/frame-walk.ts';
import { exportLoss } from '../../docs-model/formats/loss-pass.ts';
import { emptyLoss } from '../../docs-model/formats/loss.ts';
import { exportMot, exportMotProject } from '../../docs-model/formats/mot.ts';
import { parseMot, parseMotDetections } from '../../docs-model/formats/mot-import.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { asSession, H, seedFromEnv, sessionArb, W } from '../helpers/format-sessions.ts';

const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: W, height: H, fps: 25, frameCount: 10 };
const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});
const text = (files: Record<string, Uint8Array>, name: string): string => new TextDecoder().decode(files[name]);
const codes = (ps: { code: string }[]): string[] => ps.map((p) => p.code);

/** Per frame, each box as [frame, MOT id, label, bbox, occluded], sorted: what MOT must keep. */
function views(content: SessionContent, idOf: (b: { trackId: string | null; annotationId: string | null }) => number): string[] {
  const out: string[] = [];
  for (const { frame, boxes } of walkFrames(content)) for (const b of boxes) out.push(JSON.stringify([frame, idOf(b), b.label, b.bbox, b.occluded]));
  return out.sort();
}

const roundTrip = suite('mot round trip');

roundTrip('export then import gives back the same tracks and per-frame boxes, ids as the loss report maps them', () => {
  const seed = seedFromEnv('mot round trip');
  fc.assert(
    fc.property(sessionArb, (content) => {
      const loss = emptyLoss('mot');
      const zip = collect(exportMot(content, {}, { loss }));
      const r = parseMot(zip, { meta: content.meta, labels: content.labels });
      assert.equal(r.errors, []);
      const map = loss.idMap!;
      const before = views(content, (b) => (b.trackId !== null && Object.hasOwn(map.tracks, b.trackId) ? map.tracks[b.trackId]! : map.boxes[b.annotationId!]!));
      const after = views(asSession(r.content, content), (b) => Number(b.trackId));
      assert.equal(after, before);
      // The cheap first pass the route sends as a header reports what the zip's loss.json says.
      assert.equal(exportLoss('mot', [content]), JSON.parse(text(unzipSync(zip), 'loss.json')));
    }),
    { seed, numRuns: 80 },
  );
});

roundTrip('lines are frame,id,x,y,w,h,not_ignored,class_id,visibility, 1-based, coordinates as stored', () => {
  const content: SessionContent = {
    meta,
    labels: { car: {}, person: {} },
    tracks: [{ id: 'zebra', label: 'person', attributes: {}, interpolation: 'linear' }, { id: 'alpha', label: 'car', attributes: { make: 'x' }, interpolation: 'linear' }],
    annotations: [
      ann({ id: 'k1', frame: 0, trackId: 'zebra', label: 'person', bbox: [-5.5, 10, 20, 40] }),
      ann({ id: 'k2', frame: 2, trackId: 'zebra', label: 'person', bbox: [-3.5, 10, 20, 40], occluded: true }),
      ann({ id: 'k3', frame: 3, trackId: 'zebra', label: 'person', outside: true }),
      ann({ id: 'c1', frame: 1, trackId: 'alpha', bbox: [600, 400, 60, 100], attributes: { ignored: true, visibility: 0.25 } }),
      ann({ id: 'c2', frame: 2, trackId: 'alpha', outside: true }),
      ann({ id: 'lone', frame: 4, bbox: [1, 2, 3, 4], status: 'validated', detectionId: 'd7' }),
    ],
  };
  const loss = emptyLoss('mot');
  const files = unzipSync(collect(exportMot(content, {}, { loss })));
  assert.equal(Object.keys(files).sort(), ['gt/gt.txt', 'gt/labels.txt', 'loss.json']);
  assert.is(text(files, 'gt/labels.txt'), 'car\nperson\n');
  assert.equal(loss.idMap, { tracks: { alpha: 1, zebra: 2 }, boxes: { lone: 3 } });
  assert.equal(text(files, 'gt/gt.txt').split('\n'), [
    '1,2,-5.5,10,20,40,1,2,1',
    '2,2,-4.5,10,20,40,1,2,1',
    '2,1,600,400,60,100,0,1,0.25',
    '3,2,-3.5,10,20,40,1,2,0',
    '5,3,1,2,3,4,1,1,1',
    '',
  ]);
  assert.equal([loss.trackFieldsDropped, loss.outsideKeyframes, loss.statusesDropped, loss.fieldsDropped, loss.attributesDropped], [1, 2, 4, 1, 0]);
  const keyframes = unzipSync(collect(exportMot(content, { keyframesOnly: true })));
  assert.equal(text(keyframes, 'gt/gt.txt').split('\n').map((l) => l.split(',').slice(0, 2).join(',')), ['1,2', '2,1', '3,2', '5,3', '']);
});

roundTrip('a project export puts each video in its own folder, ids numbered on across sessions', () => {
  const one: SessionContent = { meta, labels: { car: {} }, tracks: [], annotations: [ann({ id: 'x', frame: 0 })] };
  const loss = emptyLoss('mot');
  const files = unzipSync(collect(exportMotProject([{ content: one, videoPrefix: 'v1/' }, { content: one, videoPrefix: 'v2/' }], {}, { loss })));
  assert.equal(Object.keys(files).sort(), ['loss.json', 'v1/gt/gt.txt', 'v1/gt/labels.txt', 'v2/gt/gt.txt', 'v2/gt/labels.txt']);
  assert.is(text(files, 'v2/gt/gt.txt'), '1,2,10,10,20,20,1,1,1\n');
});

const imports = suite('mot import');
const bytes = (s: string): Uint8Array => strToU8(s);
const ctx = { meta: { ...meta, width: 1920, height: 1080, frameCount: 600 }, labels: { pedestrian: {} } };

imports('MOT16/17 gt (9 columns): classes by MOT16 ids, not_ignored = 0 kept and flagged, visibility kept', () => {
  const gt = '1,1,912,484,97,109,0,7,1\n2,1,912,484,97,109,0,7,1\n1,2,1338,418,167,379,1,1,0.35\n2,2,1342,417,168,380,1,1,1\n';
  const r = parseMot(bytes(gt), ctx);
  assert.equal(r.errors, []);
  assert.equal(r.frameRule, 'frame_id');
  const byTrack = (t: string) => r.content.annotations.filter((a) => a.trackId === t && !a.outside);
  assert.equal(byTrack('1').map((a) => [a.label, a.attributes]), [['static_person', { ignored: true }], ['static_person', { ignored: true }]]);
  assert.equal(byTrack('2').map((a) => [a.frame, a.bbox, a.occluded, a.attributes]), [
    [0, [1338, 418, 167, 379], true, { visibility: 0.35 }],
    [1, [1342, 417, 168, 380], false, {}],
  ]);
  assert.ok(codes(r.warnings).includes('mot_ignored'));
  assert.equal(r.content.addedLabels, ['static_person']);
});

imports('MOT15 (10 columns, -1 world coordinates), CRLF, trailing commas, spaces and blank lines', () => {
  const gt = '1, 1, 1367, 393, 74, 226, 1, -1, -1, -1,\r\n\r\n2, 1, 1368, 394, 74, 226, 1, -1, -1, -1,\r\n';
  const r = parseMot(bytes(gt), ctx);
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations.filter((a) => !a.outside).map((a) => [a.frame, a.label, a.bbox]), [
    [0, 'pedestrian', [1367, 393, 74, 226]],
    [1, 'pedestrian', [1368, 394, 74, 226]],
  ]);
});

imports('MOT20 gt in a CVAT zip with labels.txt: class ids are lines of labels.txt; a gap becomes an outside keyframe', () => {
  const zip = zipSync({
    'gt/gt.txt': strToU8('1,1,199,813,140,268,1,1,0.83643\n2,1,201,812,140,268,1,1,0.84015\n5,1,210,810,140,268,1,1,0.9\n1,2,10,10,50,50,1,2,1\n'),
    'gt/labels.txt': strToU8('person\nbicycle\n'),
  });
  const r = parseMot(zip, { meta: ctx.meta, labels: { person: {}, bicycle: {} } });
  assert.equal(r.errors, []);
  const t1 = r.content.annotations.filter((a) => a.trackId === '1').map((a) => [a.frame, a.outside]);
  assert.equal(t1, [[0, false], [1, false], [2, true], [4, false], [5, true]]);
  assert.equal(r.content.annotations.find((a) => a.trackId === '2')?.label, 'bicycle');
});

imports('boxes past the image edge are kept as written and flagged; a box entirely outside is refused', () => {
  const r = parseMot(bytes('1,1,-40,500,97,109,1,1,1\n1,2,1900,1000,97,109,1,1,1\n'), ctx);
  assert.equal(r.errors, []);
  assert.equal(r.content.annotations.filter((a) => !a.outside).map((a) => [a.bbox, a.attributes]), [
    [[-40, 500, 97, 109], { pastImageEdge: true }],
    [[1900, 1000, 97, 109], { pastImageEdge: true }],
  ]);
  assert.equal(codes(r.warnings), ['box_past_edge']);
  const out = parseMot(bytes('1,1,1920,10,50,50,1,1,1\n'), ctx);
  assert.equal(out.errors.map((e) => [e.code, e.place]), [['box_outside', 'gt.txt:1:x']]);
});

imports('refuses with line and field: no number, frame 0 or past the video, w or h ≤ 0, one id twice on a frame', () => {
  const r = parseMot(bytes(['1,1,10,10,5,5,1,1,1', '1,1,11,10,5,5,1,1,1', '0,2,10,10,5,5,1,1,1', '601,3,10,10,5,5,1,1,1', '1,4,1O,10,5,5,1,1,1', '1,5,10,10,0,5,1,1,1', '1,6,10,10,5,-1,1,1,1', '1,7,10,10,5'].join('\n')), ctx);
  assert.equal(r.errors.map((e) => [e.code, e.place]), [
    ['duplicate_id_frame', 'gt.txt:2:id'],
    ['frame_out_of_range', 'gt.txt:3:frame'],
    ['frame_out_of_range', 'gt.txt:4:frame'],
    ['bad_number', 'gt.txt:5:x'],
    ['bad_bbox', 'gt.txt:6:w'],
    ['bad_bbox', 'gt.txt:7:h'],
    ['mot_columns', 'gt.txt:8'],
  ]);
});

imports('a zip with two sequences, or none, is refused', () => {
  const two = zipSync({ 'a/gt/gt.txt': strToU8('1,1,1,1,5,5,1,1,1\n'), 'b/gt/gt.txt': strToU8('1,1,1,1,5,5,1,1,1\n') });
  assert.equal(codes(parseMot(two, ctx).errors), ['mot_no_sequence']);
  assert.equal(codes(parseMot(zipSync({ 'readme.txt': strToU8('hi') }), ctx).errors), ['mot_no_sequence']);
});

const detections = suite('mot tracker output and det.txt');

detections('tracker output rows become detections with their track id; det.txt rows (id -1) have none', () => {
  const r = parseMotDetections(bytes('1,3,794.2,47.5,71.2,174.8,0.9,-1,-1,-1\n2,3,795,48,71,175,1,-1,-1,-1\n1,-1,10,10,20,20,37.4,-1,-1,-1\n'), { meta: ctx.meta, labels: ['pedestrian'] });
  assert.equal(r.errors, []);
  assert.equal(r.detections.map((d) => [d.frame, d.trackId, d.score, d.label]), [
    [0, '3', 0.9, 'pedestrian'],
    [1, '3', 1, 'pedestrian'],
    [0, null, 1, 'pedestrian'],
  ]);
  assert.equal(codes(r.warnings), ['score_out_of_range']);
});

detections('one bad row refuses the whole file, with its place', () => {
  const r = parseMotDetections(bytes('1,3,1,1,5,5,1,-1,-1,-1\n1,3,2,2,5,5,1,-1,-1,-1\n'), { meta: ctx.meta });
  assert.equal([r.detections.length, r.errors.map((e) => e.place)], [0, ['tracker.txt:2:id']]);
});

roundTrip.run();
imports.run();
detections.run();

const stored = suite('mot boxes past the edge in the session');

stored('writeSession keeps a box past the edge with keepPastEdge (MOT imports), refuses it without, refuses one entirely outside', async () => {
  const Y = await import('yjs');
  const { initSession, listAnnotations, writeSession, DocModelError } = await import('../../docs-model/index.ts');
  const r = parseMot(bytes('1,1,-40,500,97,109,1,1,1\n'), ctx);
  const doc = new Y.Doc();
  initSession(doc, { meta: ctx.meta, labels: { pedestrian: {} } });
  assert.throws(() => writeSession(doc, { annotations: r.content.annotations, tracks: r.content.tracks }, { mode: 'merge' }), (e: unknown) => e instanceof DocModelError);
  assert.throws(() => writeSession(doc, { annotations: [{ ...r.content.annotations[0]!, bbox: [1920, 10, 5, 5] }], tracks: r.content.tracks }, { mode: 'merge', keepPastEdge: true }), (e: unknown) => e instanceof DocModelError);
  writeSession(doc, { annotations: r.content.annotations, tracks: r.content.tracks }, { mode: 'merge', keepPastEdge: true });
  assert.equal(listAnnotations(doc).filter((a) => !a.outside).map((a) => a.bbox), [[-40, 500, 97, 109]]);
});

stored.run();
