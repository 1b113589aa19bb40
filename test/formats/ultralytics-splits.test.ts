/**
 * Ultralytics train/val/test splits: the pure assignment of splits.ts (whole videos by
 * hash, or contiguous blocks of one video), its properties, and the zip layout it gives, read back
 * by the YOLO importer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { strFromU8, unzipSync } from 'fflate';
import type { ExportSession, SessionContent } from '../../docs-model/formats/content.ts';
import { emptyLoss } from '../../docs-model/formats/loss.ts';
import { describeSplits, fnv1a32, planSplits, splitCounts, splitOf, type SplitFractions, type SplitName, type SplitVideo } from '../../docs-model/formats/splits.ts';
import { exportUltralytics, exportUltralyticsProject } from '../../docs-model/formats/ultralytics.ts';
import { yoloLabelFiles } from '../../docs-model/formats/yolo.ts';
import { parseYolo } from '../../docs-model/formats/yolo-import.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import type { Annotation } from '../../docs-model/types.ts';
import { asSession, boxesDiffer, frameBoxes, H, seedFromEnv, sessionArb, W } from '../helpers/format-sessions.ts';

const ann = (over: Partial<Annotation>): Annotation => ({
  id: 'a', frame: 0, bbox: [10, 10, 20, 20], label: 'car', trackId: null, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt: 0, ...over,
});

const content = (videoId: string, frames: number[], frameCount = 10, sessionId = `s-${videoId}`): SessionContent => ({
  meta: { sessionId, projectId: 'p', videoId, width: 200, height: 100, fps: 25, frameCount },
  labels: { car: {} },
  tracks: [],
  annotations: frames.map((frame, k) => ann({ id: `${sessionId}-${k}`, frame })),
});

const files = (bytes: Uint8Array): Record<string, string> => Object.fromEntries(Object.entries(unzipSync(bytes)).map(([n, d]) => [n, strFromU8(d)]));
const splitsOf = (names: string[]): string[] => [...new Set(names.filter((n) => n.startsWith('labels/')).map((n) => n.split('/')[1]!))].sort();

const fractionsArb: fc.Arbitrary<SplitFractions> = fc
  .record({ valFraction: fc.double({ min: 0, max: 0.95, noNaN: true }), testFraction: fc.double({ min: 0, max: 0.95, noNaN: true }) })
  .filter((f) => f.valFraction + f.testFraction < 1);
const idsArb = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 30 });

/** How many of `n` a fraction gives, had nothing been trimmed to keep train. */
const share = (n: number, f: number): number => (f > 0 ? Math.max(1, Math.round(n * f)) : 0);

const assignment = suite('splits: assignment');

assignment('FNV-1a 32 matches the reference vectors', () => {
  assert.is(fnv1a32(''), 0x811c9dc5);
  assert.is(fnv1a32('a'), 0xe40c292c);
  assert.is(fnv1a32('foobar'), 0xbf9cf968);
});

assignment('counts round, give at least one to a requested split, and leave train at least one', () => {
  assert.equal(splitCounts(100, { valFraction: 0.1, testFraction: 0.1 }), { val: 10, test: 10 });
  assert.equal(splitCounts(10, { valFraction: 0.01, testFraction: 0 }), { val: 1, test: 0 });
  assert.equal(splitCounts(2, { valFraction: 0.3, testFraction: 0.3 }), { val: 1, test: 0 }, 'test gives way first');
  assert.equal(splitCounts(1, { valFraction: 0.5, testFraction: 0.4 }), { val: 0, test: 0 });
  assert.equal(splitCounts(0, { valFraction: 0.5, testFraction: 0.4 }), { val: 0, test: 0 });
});

assignment('one video: train, then val, then test at the end; frames past the end join the last block', () => {
  const plan = planSplits([{ videoId: 'v', frameCount: 100 }], { valFraction: 0.1, testFraction: 0.1 });
  const at = (f: number): SplitName => splitOf(plan, 'v', f);
  assert.equal([at(0), at(79), at(80), at(89), at(90), at(99), at(150)], ['train', 'train', 'val', 'val', 'test', 'test', 'test']);
  assert.is(describeSplits(plan), 'contiguous blocks of one video: frames 0-79 train, 80-89 val, 90-99 test');
  const noTest = planSplits([{ videoId: 'v', frameCount: 10 }], { valFraction: 0.2, testFraction: 0 });
  assert.equal(noTest.used, ['train', 'val']);
  assert.equal([splitOf(noTest, 'v', 7), splitOf(noTest, 'v', 8), splitOf(noTest, 'v', 12)], ['train', 'val', 'val']);
  assert.throws(() => splitOf(plan, 'other', 0), /not in the split plan/);
});

assignment('several videos: whole videos, the lowest hashes to val, then test; sessions of one video together', () => {
  const videos: SplitVideo[] = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((videoId) => ({ videoId, frameCount: 50 }));
  const plan = planSplits([...videos, { videoId: 'c', frameCount: 80 }], { valFraction: 0.2, testFraction: 0.1 });
  assert.is(plan.mode, 'videos');
  const byHash = videos.map((v) => v.videoId).sort((x, y) => fnv1a32(x) - fnv1a32(y));
  assert.equal(byHash.map((id) => splitOf(plan, id, 0)), ['val', 'val', 'test', 'train', 'train', 'train', 'train', 'train', 'train', 'train']);
  for (const id of byHash) for (const frame of [0, 49, 500]) assert.is(splitOf(plan, id, frame), splitOf(plan, id, 0), 'a video is never cut');
  assert.is(describeSplits(plan), 'whole videos by FNV-1a hash of the video id: 7 train, 2 val, 1 test');
});

assignment('fractions out of range are refused', () => {
  assert.throws(() => planSplits([], { valFraction: 1, testFraction: 0 }), /valFraction/);
  assert.throws(() => planSplits([], { valFraction: 0, testFraction: -0.1 }), /testFraction/);
  assert.throws(() => planSplits([], { valFraction: 0.5, testFraction: 0.5 }), /below 1/);
  assert.throws(() => planSplits([], { valFraction: Number.NaN, testFraction: 0 }), /valFraction/);
});

assignment('adding a video can push at most one video out of val/test, and only by taking its place (exact counts allow no better)', () => {
  // Three videos at 0.2 have one val video, four have one too: if the fourth ranks first, the
  // first one's place is taken. No assignment with exact counts avoids this (see splits.ts).
  const three = ['v1', 'v2', 'v3'];
  const first = [...three].sort((a, b) => fnv1a32(a) - fnv1a32(b))[0]!;
  const newcomer = Array.from({ length: 200 }, (_, k) => `n${k}`).find((id) => fnv1a32(id) < fnv1a32(first))!;
  const f = { valFraction: 0.2, testFraction: 0 };
  const before = planSplits(three.map((videoId) => ({ videoId, frameCount: 10 })), f);
  const after = planSplits([...three, newcomer].map((videoId) => ({ videoId, frameCount: 10 })), f);
  assert.is(splitOf(before, first, 0), 'val');
  assert.is(splitOf(after, first, 0), 'train');
  assert.is(splitOf(after, newcomer, 0), 'val');
});

const properties = suite('splits: properties');

properties('one video: every frame gets exactly one split, in contiguous blocks, with the fractions within rounding', () => {
  const seed = seedFromEnv('frame blocks');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fractionsArb, (frameCount, f) => {
      const plan = planSplits([{ videoId: 'v', frameCount }], f);
      const order: SplitName[] = ['train', 'val', 'test'];
      const n: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
      let last = 0;
      for (let frame = 0; frame < frameCount; frame++) {
        const s = splitOf(plan, 'v', frame);
        assert.ok(order.indexOf(s) >= last, `frame ${frame}: ${s} after ${order[last]}`);
        last = order.indexOf(s);
        n[s]++;
      }
      assert.is(n.train + n.val + n.test, frameCount);
      if (frameCount > 0) assert.ok(n.train >= 1, 'train is never empty');
      assert.equal(plan.used, order.filter((s) => n[s] > 0 || (s === 'train' && frameCount === 0)));
      const wanted = { val: share(frameCount, f.valFraction), test: share(frameCount, f.testFraction) };
      if (wanted.val + wanted.test < frameCount) {
        // Nothing trimmed: round(n × f), or 1 for a fraction too small to round to one.
        for (const s of ['val', 'test'] as const) {
          const exact = frameCount * (s === 'val' ? f.valFraction : f.testFraction);
          assert.ok(Math.abs(n[s] - exact) <= 0.5 || (n[s] === 1 && exact < 0.5), `${s}: ${n[s]} for ${exact}`);
        }
      }
    }),
    { seed, numRuns: 300 },
  );
});

properties('several videos: each video in one split, counts within rounding, the same whatever the input order', () => {
  const seed = seedFromEnv('video splits');
  fc.assert(
    fc.property(idsArb, fractionsArb, fc.integer(), (ids, f, shuffleSeed) => {
      const videos = ids.map((videoId, k) => ({ videoId, frameCount: 10 + k }));
      const plan = planSplits(videos, f);
      const shuffled = [...videos].sort((a, b) => fnv1a32(a.videoId + shuffleSeed) - fnv1a32(b.videoId + shuffleSeed));
      const again = planSplits(shuffled, f);
      const n: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
      for (const id of ids) {
        const s = splitOf(plan, id, 0);
        assert.is(splitOf(plan, id, 10_000), s);
        assert.is(splitOf(again, id, 0), s, 'input order changes nothing');
        n[s]++;
      }
      assert.ok(n.train >= 1);
      assert.equal({ val: n.val, test: n.test }, splitCounts(ids.length, f));
      const wanted = { val: share(ids.length, f.valFraction), test: share(ids.length, f.testFraction) };
      if (wanted.val + wanted.test < ids.length) assert.equal({ val: n.val, test: n.test }, wanted);
    }),
    { seed, numRuns: 300 },
  );
});

properties('adding a video moves at most one other video out of val/test, and only when the new one takes a val/test place', () => {
  const seed = seedFromEnv('adding a video');
  fc.assert(
    fc.property(idsArb, fc.string({ minLength: 1, maxLength: 12 }), fractionsArb, (ids, extra, f) => {
      fc.pre(!ids.includes(extra));
      const plan = (list: string[]) => planSplits(list.map((videoId) => ({ videoId, frameCount: 10 })), f);
      const [before, after] = [plan(ids), plan([...ids, extra])];
      const held = (p: ReturnType<typeof plan>, id: string): boolean => splitOf(p, id, 0) !== 'train';
      const pushedOut = ids.filter((id) => held(before, id) && !held(after, id));
      assert.ok(pushedOut.length <= 1, `${pushedOut.length} videos left val/test`);
      if (pushedOut.length) assert.ok(held(after, extra), 'only a newcomer in val/test takes a place');
    }),
    { seed, numRuns: 300 },
  );
});

const layout = suite('ultralytics: split layout');

layout('without fractions (or with both 0) the export is the train-only layout, byte for byte', () => {
  const c = content('v', [1, 5, 8]);
  const plain = collect(exportUltralytics(c, {}));
  assert.equal(collect(exportUltralytics(c, { splits: { valFraction: 0, testFraction: 0 } })), plain);
  const out = files(plain);
  assert.equal(Object.keys(out).sort(), ['data.yaml', 'images/train/', 'labels/train/frame_000001.txt', 'labels/train/frame_000005.txt', 'labels/train/frame_000008.txt', 'loss.json']);
  assert.is(out['data.yaml'], '# annosync export: put the frames in images/train/ (frame_000000.jpg …)\npath: .\ntrain: images/train\nval: images/train\nnc: 1\nnames:\n  0: "car"\n');
});

layout('a session export splits its video into blocks: labels/<split>/, images/<split>/ and data.yaml', () => {
  const out = files(collect(exportUltralytics(content('v', [0, 7, 8, 9], 10), { splits: { valFraction: 0.1, testFraction: 0.2 } })));
  assert.equal(Object.keys(out).sort(), [
    'data.yaml', 'images/test/', 'images/train/', 'images/val/',
    'labels/test/frame_000008.txt', 'labels/test/frame_000009.txt', 'labels/train/frame_000000.txt', 'labels/val/frame_000007.txt', 'loss.json',
  ]);
  const yaml = out['data.yaml']!;
  assert.match(yaml, /^# annosync export: .*\n# splits: contiguous blocks of one video: frames 0-6 train, 7-7 val, 8-9 test\npath: \.\ntrain: images\/train\nval: images\/val\ntest: images\/test\nnc: 1\n/);
});

layout('data.yaml names no test without a test split, and val: images/train without a val split', () => {
  const valOnly = files(collect(exportUltralytics(content('v', [9]), { splits: { valFraction: 0.2, testFraction: 0 } })));
  assert.match(valOnly['data.yaml']!, /val: images\/val\nnc:/);
  assert.not.ok('images/test/' in valOnly);
  const testOnly = files(collect(exportUltralytics(content('v', [9]), { splits: { valFraction: 0, testFraction: 0.2 } })));
  assert.match(testOnly['data.yaml']!, /val: images\/train\ntest: images\/test\n/);
  assert.equal(Object.keys(testOnly).filter((n) => n.startsWith('images/')).sort(), ['images/test/', 'images/train/']);
});

layout('a project on several videos puts whole videos in a split, every session of a video in the same one', () => {
  const ids = ['v1', 'v2', 'v3', 'v4', 'v5'];
  const sessions: ExportSession[] = ids.map((id) => ({ content: content(id, [0, 9]), videoPrefix: `${id}/` }));
  // A second session on v3: prefixed by session too, as the route does.
  sessions.push({ content: content('v3', [4], 10, 's-v3b'), videoPrefix: 'v3/s-v3b/' });
  const f = { valFraction: 0.2, testFraction: 0.2 };
  const out = files(collect(exportUltralyticsProject(sessions, { splits: f })));
  const plan = planSplits(ids.map((videoId) => ({ videoId, frameCount: 10 })), f);
  for (const s of sessions) {
    const split = splitOf(plan, s.content.meta.videoId, 0);
    for (const a of s.content.annotations) assert.ok(`labels/${split}/${s.videoPrefix}frame_00000${a.frame}.txt` in out, `${s.videoPrefix} ${a.frame} in ${split}`);
  }
  assert.equal(splitsOf(Object.keys(out)), ['test', 'train', 'val']);
  assert.match(out['data.yaml']!, /# splits: whole videos by FNV-1a hash of the video id: 3 train, 1 val, 1 test\n/);
});

layout('a project whose sessions are all on one video splits that video into blocks', () => {
  const sessions: ExportSession[] = [
    { content: content('v', [0, 9], 10, 's1'), videoPrefix: 'v/s1/' },
    { content: content('v', [0, 9], 10, 's2'), videoPrefix: 'v/s2/' },
  ];
  const out = files(collect(exportUltralyticsProject(sessions, { splits: { valFraction: 0, testFraction: 0.1 } })));
  assert.equal(Object.keys(out).filter((n) => n.startsWith('labels/')).sort(), ['labels/test/v/s1/frame_000009.txt', 'labels/test/v/s2/frame_000009.txt', 'labels/train/v/s1/frame_000000.txt', 'labels/train/v/s2/frame_000000.txt']);
});

layout('yoloLabelFiles takes a folder per frame, and writes the same text as with one folder', () => {
  const sessions: ExportSession[] = [{ content: content('v', [1, 2, 3]), videoPrefix: '' }];
  const one = [...yoloLabelFiles(sessions, {}, { loss: emptyLoss('yolo'), classes: ['car'], folder: 'x/', listed: [] })];
  const per = [...yoloLabelFiles(sessions, {}, { loss: emptyLoss('yolo'), classes: ['car'], folder: (s, frame) => `${s.content.meta.videoId}/${frame % 2 ? 'odd' : 'even'}/`, listed: [] })];
  assert.equal(one.map((e) => e.name), ['x/frame_000001.txt', 'x/frame_000002.txt', 'x/frame_000003.txt']);
  assert.equal(per.map((e) => e.name), ['v/odd/frame_000001.txt', 'v/even/frame_000002.txt', 'v/odd/frame_000003.txt']);
  assert.equal(per.map((e) => e.data), one.map((e) => e.data));
});

layout('export with splits, then import: the same boxes on the same frames, whatever the fractions', () => {
  const seed = seedFromEnv('split round trip');
  const TOL = 1e-6 * Math.max(W, H) * 1.01;
  fc.assert(
    fc.property(sessionArb, fractionsArb, (c, f) => {
      const r = parseYolo(collect(exportUltralytics(c, { splits: f })), { meta: c.meta, labels: c.labels });
      assert.equal(r.errors, []);
      assert.is(boxesDiffer(frameBoxes(c, ['label']), frameBoxes(asSession(r.content, c), ['label']), TOL), null);
    }),
    { seed, numRuns: 60 },
  );
});

assignment.run();
properties.run();
layout.run();
