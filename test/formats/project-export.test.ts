/**
 * Project-level exports: several sessions in one file, frame names prefixed by video,
 * one class list for all; and the server's node:zlib zip encoder writing the same files as the
 * browser-safe fflate one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strFromU8, unzipSync } from 'fflate';
import { formats, type ExportSession, type FormatName } from '../../docs-model/formats/index.ts';
import { emptyLoss } from '../../docs-model/formats/loss.ts';
import { collect, zipChunks } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { zipChunksNative } from '../../server/http/zip-writer.ts';

const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});

const session = (videoId: string, label: string, frames: number[], tracked = false): ExportSession => ({
  videoPrefix: `${videoId}/`,
  content: {
    meta: { sessionId: `s-${videoId}`, projectId: 'p', videoId, width: 200, height: 100, fps: 25, frameCount: 10 },
    labels: { [label]: {} },
    tracks: tracked ? [{ id: `t-${videoId}`, label, attributes: {}, interpolation: 'linear' }] : [],
    annotations: frames.map((frame, k) => ann({ id: `${videoId}-${k}`, frame, label, trackId: tracked ? `t-${videoId}` : null })),
  },
});

const files = (bytes: Uint8Array): Record<string, string> =>
  Object.fromEntries(Object.entries(unzipSync(bytes)).map(([name, data]) => [name, strFromU8(data)]));

const test = suite('project export');

test('YOLO gives every session one class list and its own folder', () => {
  const out = files(collect(formats.yolo.exportProject([session('v1', 'car', [2]), session('v2', 'person', [2])], {}, { loss: emptyLoss('yolo') })));
  assert.is(out['obj.names'], 'car\nperson\n');
  assert.is(out['obj_train_data/v1/frame_000002.txt'], '0 0.100000 0.200000 0.100000 0.200000\n');
  assert.is(out['obj_train_data/v2/frame_000002.txt'], '1 0.100000 0.200000 0.100000 0.200000\n', 'person keeps its project-wide index');
  assert.is(out['train.txt'], 'data/obj_train_data/v1/frame_000002.jpg\ndata/obj_train_data/v2/frame_000002.jpg\n');
});

test('Ultralytics names every class of the project in data.yaml', () => {
  const out = files(collect(formats.ultralytics.exportProject([session('v1', 'car', [1]), session('v2', 'person', [1])], {}, { loss: emptyLoss('ultralytics') })));
  assert.match(out['data.yaml']!, /names:\n {2}0: "car"\n {2}1: "person"\n/);
  assert.ok(out['labels/train/v2/frame_000001.txt']!.startsWith('1 '));
});

test('VOC writes one XML per frame and video, one image set, and the loss of every session', () => {
  const loss = emptyLoss('voc');
  const out = files(collect(formats.voc.exportProject([session('v1', 'car', [0, 4], true), session('v2', 'car', [3])], {}, { loss })));
  assert.equal(Object.keys(out).filter((n) => n.startsWith('Annotations/')).sort(), [
    // a track goes on after its last keyframe until the video ends (no outside keyframe here)
    ...Array.from({ length: 10 }, (_, f) => `Annotations/v1/frame_00000${f}.xml`),
    'Annotations/v2/frame_000003.xml',
  ]);
  assert.match(out['Annotations/v2/frame_000003.xml']!, /<folder>v2<\/folder>/);
  assert.is(out['ImageSets/Main/default.txt']!.split('\n').filter(Boolean).length, 11);
  assert.equal(JSON.parse(out['loss.json']!), JSON.parse(JSON.stringify(loss)));
});

test('COCO numbers images of different videos apart', () => {
  const coco = JSON.parse(strFromU8(collect(formats.coco.exportProject([session('v1', 'car', [0]), session('v2', 'car', [0])], {}, { loss: emptyLoss('coco') })))) as {
    images: { id: number; file_name: string; video_id: number }[];
  };
  assert.equal(coco.images.map((i) => [i.file_name, i.video_id]), [['v1/frame_000000.jpg', 1], ['v2/frame_000000.jpg', 2]]);
  assert.is(new Set(coco.images.map((i) => i.id)).size, 2);
});

test('the server zip encoder writes the same files as the browser one', () => {
  const parts = [session('v1', 'car', [0, 9], true), session('v2', 'person', [5])];
  for (const format of ['yolo', 'ultralytics', 'voc'] as FormatName[]) {
    const browser = files(collect(formats[format].exportProject(parts, { allFrames: true }, { loss: emptyLoss(format), zip: zipChunks })));
    const server = files(collect(formats[format].exportProject(parts, { allFrames: true }, { loss: emptyLoss(format), zip: zipChunksNative })));
    assert.equal(server, browser, format);
    assert.is(Object.keys(server).length > 20, true, `${format}: every frame of both videos`);
  }
});

test.run();
