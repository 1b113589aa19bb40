/**
 * Release content: equal ground truth gives equal canonical bytes whatever the edit history
 * (seeded property test, the seed printed on failure), different ground truth different bytes,
 * counts after track expansion, and exports of the frozen content byte-identical to exporting the
 * live document, in every format.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  addAnnotation,
  addTrack,
  deleteAnnotation,
  initSession,
  readSession,
  setLabel,
  updateAnnotation,
  type Annotation,
  type AnnotationInput,
  type LabelDef,
  type SessionMeta,
  type TrackInput,
} from '../../docs-model/index.ts';
import { canonicalJson } from '../../docs-model/canonical-json.ts';
import { collect, formats, emptyLoss, walkFrames, type FormatName, type SessionContent } from '../../docs-model/formats/index.ts';
import {
  canonicalReleaseBytes,
  decodeReleaseContent,
  encodeReleaseContent,
  freezeSession,
  releaseContentHash,
  releaseCounts,
  type ReleaseContent,
} from '../../docs-model/release-content.ts';
import { DocModelError } from '../../docs-model/errors.ts';
import { exchange } from './fixtures.ts';

const META: SessionMeta = { sessionId: 's1', projectId: 'p1', videoId: 'v1', width: 100, height: 50, fps: 25, frameCount: 20 };
const LABELS = ['car', 'truck', 'person', 'bike'] as const;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Target {
  labels: [string, LabelDef][];
  tracks: TrackInput[];
  annotations: AnnotationInput[];
}

/** Attributes with keys in a random order, so histories write them differently. */
const attributes = fc.dictionary(fc.constantFrom('kind', 'colour', 'z', 'a'), fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('x', 'é', '')), { maxKeys: 3 });

const targetArb: fc.Arbitrary<Target> = fc
  .record({
    labels: fc.uniqueArray(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 4 }),
    trackCount: fc.integer({ min: 0, max: 3 }),
    boxes: fc.array(
      fc.record({
        frame: fc.integer({ min: 0, max: 19 }),
        x: fc.integer({ min: 0, max: 60 }),
        y: fc.integer({ min: 0, max: 30 }),
        w: fc.double({ min: 1, max: 30, noNaN: true }),
        h: fc.integer({ min: 1, max: 15 }),
        labelIndex: fc.nat(),
        trackIndex: fc.integer({ min: -2, max: 2 }),
        attributes,
        occluded: fc.boolean(),
        outside: fc.boolean(),
        status: fc.constantFrom('draft', 'validated', 'rejected' as const),
      }),
      { maxLength: 14 },
    ),
  })
  .map(({ labels, trackCount, boxes }) => {
    const tracks: TrackInput[] = Array.from({ length: Math.min(trackCount, labels.length) }, (_, k) => ({ id: `t${k}`, label: labels[k]!, interpolation: k % 2 ? 'none' : 'linear', attributes: { n: k } }));
    const taken = new Set<string>();
    const annotations: AnnotationInput[] = [];
    boxes.forEach((b, k) => {
      const track = b.trackIndex >= 0 ? tracks[b.trackIndex] : undefined;
      if (track && taken.has(`${track.id}/${b.frame}`)) return; // one keyframe per track and frame
      if (track) taken.add(`${track.id}/${b.frame}`);
      annotations.push({
        id: `a${k}`,
        frame: b.frame,
        bbox: [b.x, b.y, b.w, b.h],
        label: track ? track.label : labels[b.labelIndex % labels.length]!,
        trackId: track ? track.id : null,
        attributes: b.attributes,
        occluded: b.occluded,
        outside: track ? b.outside : false,
        status: b.status,
      });
    });
    return { labels: labels.map((l): [string, LabelDef] => [l, l === 'car' ? { color: '#f00' } : {}]), tracks, annotations };
  });

const reversedKeys = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;

/** The straightforward history: everything added once, in order. */
const straight = (t: Target): Y.Doc => {
  const doc = new Y.Doc();
  initSession(doc, { meta: META, labels: Object.fromEntries(t.labels) });
  for (const track of t.tracks) addTrack(doc, track);
  for (const a of t.annotations) addAnnotation(doc, a, { by: 'alice', now: 1 });
  return doc;
};

/** Another history: labels and keys in other orders, annotations drawn elsewhere first, a decoy added and deleted, other authors and times. */
const winding = (t: Target, order: number[]): Y.Doc => {
  const doc = new Y.Doc();
  initSession(doc, { meta: { ...META, sessionId: 'other-session', projectId: 'other-project' }, labels: {} });
  for (const [name, def] of [...t.labels].reverse()) setLabel(doc, name, def);
  for (const track of [...t.tracks].reverse()) addTrack(doc, { ...track, attributes: reversedKeys(track.attributes ?? {}) });
  const decoy = addAnnotation(doc, { frame: 3, bbox: [1, 1, 2, 2], label: t.labels[0]![0] }, { by: 'bob', now: 5 });
  for (const k of order) {
    const a = t.annotations[k]!;
    const start = { ...a, bbox: [0, 0, 5, 5] as Annotation['bbox'], occluded: !a.occluded, attributes: { stale: true } };
    addAnnotation(doc, start, { by: 'bob', now: 10 + k });
    updateAnnotation(doc, a.id!, { bbox: a.bbox, occluded: a.occluded ?? false, attributes: reversedKeys(a.attributes ?? {}) }, { by: 'carol', now: 100 + k });
  }
  deleteAnnotation(doc, decoy.id);
  return doc;
};

/** Two peers each adding part of the content while apart, then syncing. */
const concurrent = (t: Target): Y.Doc => {
  const a = new Y.Doc();
  const b = new Y.Doc();
  initSession(a, { meta: META, labels: Object.fromEntries(t.labels) });
  initSession(b, { meta: META, labels: Object.fromEntries([...t.labels].reverse()) });
  for (const track of t.tracks) addTrack(a, track);
  exchange(a, b);
  t.annotations.forEach((ann, k) => addAnnotation(k % 2 ? a : b, ann, { by: k % 2 ? 'a' : 'b', now: k }));
  exchange(a, b);
  return b;
};

/** Counts the slow, obvious way: every box the export walk yields. */
const walkedCounts = (c: ReleaseContent) => {
  const perLabel: Record<string, { annotations: number; boxes: number }> = {};
  const of = (l: string) => (perLabel[l] ??= { annotations: 0, boxes: 0 });
  for (const a of c.annotations) of(a.label).annotations++;
  let boxes = 0;
  for (const f of walkFrames(c)) for (const b of f.boxes) (boxes++, of(b.label).boxes++);
  const sorted = Object.fromEntries(Object.keys(perLabel).sort().map((l) => [l, perLabel[l]!]));
  return { annotations: c.annotations.length, tracks: c.tracks.length, boxes, perLabel: sorted };
};

const bytesOf = (doc: Y.Doc): string => text(canonicalReleaseBytes(freezeSession(doc)));

const canonical = suite('release content: canonical form');

canonical('equal ground truth gives equal bytes and hashes through different histories and concurrent peers', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const property = fc.property(targetArb, fc.func(fc.integer()), (t, shuffle) => {
    const order = t.annotations.map((_, k) => k).sort((x, y) => shuffle(x) - shuffle(y) || x - y);
    const reference = bytesOf(straight(t));
    const frozen = freezeSession(straight(t));
    assert.equal(releaseCounts(frozen), walkedCounts(frozen), 'counted by segment = walked frame by frame');
    assert.is(bytesOf(winding(t, order)), reference);
    assert.is(bytesOf(concurrent(t)), reference);
  });
  try {
    fc.assert(property, { seed, numRuns: 60 });
  } catch (err) {
    throw new Error(`property failed with SEED=${seed}: ${(err as Error).message}`);
  }
  const t = fc.sample(targetArb, { seed, numRuns: 1 })[0]!;
  assert.is(await releaseContentHash(freezeSession(straight(t))), await releaseContentHash(freezeSession(concurrent(t))));
});

canonical('a one-pixel move, a relabel or a status change gives other bytes', () => {
  const t: Target = { labels: [['car', {}], ['truck', {}]], tracks: [], annotations: [{ id: 'a', frame: 1, bbox: [1, 2, 3, 4], label: 'car' }] };
  const base = bytesOf(straight(t));
  const changed = (patch: Partial<AnnotationInput>): string => bytesOf(straight({ ...t, annotations: [{ ...t.annotations[0]!, ...patch }] }));
  assert.is.not(changed({ bbox: [1, 2, 3, 5] }), base);
  assert.is.not(changed({ label: 'truck' }), base);
  assert.is.not(changed({ status: 'rejected' }), base);
  assert.is.not(changed({ attributes: { a: 1 } }), base);
});

canonical('sorts keys by code units, writes numbers in shortest form and -0 as 0', () => {
  assert.is(canonicalJson({ b: [1.5, -0, 1e21, 0.1 + 0.2], a: 'é"', A: null }), '{"A":null,"a":"é\\"","b":[1.5,0,1e+21,0.30000000000000004]}');
  assert.throws(() => canonicalJson({ x: Number.NaN }), (e: unknown) => e instanceof DocModelError && e.field === '/x');
  assert.throws(() => canonicalJson({ '7': { x: Number.POSITIVE_INFINITY } }), (e: unknown) => e instanceof DocModelError && e.field === '/7/x');
});

canonical('orders array-index keys by code units too, and keeps a key named __proto__', () => {
  assert.is(canonicalJson({ b: 1, '9': [{ '10': 1, '9': 2 }], '10': null }), '{"10":null,"9":[{"10":1,"9":2}],"b":1}');
  assert.is(canonicalJson(JSON.parse('{"z":0,"__proto__":{"b":1,"a":2}}')), '{"__proto__":{"a":2,"b":1},"z":0}');
});

canonical('leaves authorship out but marks the keyframe a track does not show', () => {
  const content = freezeSession(straight({ labels: [['car', {}]], tracks: [{ id: 't', label: 'car' }], annotations: [] }));
  const kf = (id: string, updatedAt: number): Annotation => ({
    id, frame: 2, bbox: [1, 1, 5, 5], label: 'car', trackId: 't', detectionId: null, attributes: {}, occluded: false, outside: false,
    status: 'draft', source: 'manual', createdBy: 'x', updatedBy: 'x', createdAt: 0, updatedAt,
  });
  const older = text(canonicalReleaseBytes({ ...content, annotations: [kf('k1', 1), kf('k2', 2)] }));
  const newer = text(canonicalReleaseBytes({ ...content, annotations: [kf('k1', 3), kf('k2', 2)] }));
  assert.ok(older.includes('"id":"k1","label":"car","occluded":false,"outside":false,"status":"draft","superseded":true'));
  assert.is.not(older, newer, 'which keyframe shows is ground truth');
  assert.not.ok(older.includes('createdBy'));
});

canonical('freezing a session without meta is refused', () => {
  assert.throws(() => freezeSession(new Y.Doc()), (e: unknown) => e instanceof DocModelError && e.code === 'invalid_meta');
});

const counts = suite('release content: counts');

counts('count annotations, tracks and per-frame boxes after expansion, nothing after an outside keyframe', () => {
  const doc = straight({
    labels: [['car', {}], ['person', {}]],
    tracks: [{ id: 't', label: 'car' }],
    annotations: [
      { id: 'k0', frame: 2, bbox: [0, 0, 10, 10], label: 'car', trackId: 't' },
      { id: 'k1', frame: 5, bbox: [10, 0, 10, 10], label: 'car', trackId: 't' },
      { id: 'k2', frame: 8, bbox: [10, 0, 10, 10], label: 'car', trackId: 't', outside: true },
      { id: 'p', frame: 1, bbox: [0, 0, 5, 5], label: 'person' },
    ],
  });
  // Track boxes on frames 2..7 (6), the person box (1).
  assert.equal(releaseCounts(freezeSession(doc)), {
    annotations: 4,
    tracks: 1,
    boxes: 7,
    perLabel: { car: { annotations: 3, boxes: 6 }, person: { annotations: 1, boxes: 1 } },
  });
});

const exportsSuite = suite('release content: exports');

/** A session whose labels and attribute keys are not in sorted order, with tracks of both kinds. */
const richDoc = (): Y.Doc => {
  const doc = new Y.Doc();
  initSession(doc, { meta: META, labels: { truck: {}, car: { color: '#0f0', attributes: { z: 1, a: 2 } }, 'é-person': {} } });
  addTrack(doc, { id: 'tr', label: 'truck', attributes: { speed: 'slow', axle: 3 } });
  addTrack(doc, { id: 'held', label: 'car', interpolation: 'none' });
  addAnnotation(doc, { id: 'k1', frame: 1, bbox: [1.25, 2, 10, 10], label: 'truck', trackId: 'tr', attributes: { z: 'last', a: 'first' } }, { by: 'a', now: 1 });
  addAnnotation(doc, { id: 'k2', frame: 6, bbox: [20, 10, 12.5, 10], label: 'truck', trackId: 'tr' }, { by: 'a', now: 2 });
  addAnnotation(doc, { id: 'k3', frame: 9, bbox: [20, 10, 12.5, 10], label: 'truck', trackId: 'tr', outside: true }, { by: 'a', now: 3 });
  addAnnotation(doc, { id: 'h1', frame: 3, bbox: [5, 5, 5, 5], label: 'car', trackId: 'held', occluded: true }, { by: 'a', now: 4 });
  addAnnotation(doc, { id: 's1', frame: 4, bbox: [0, 0, 99, 49.5], label: 'é-person', status: 'rejected', detectionId: 'd7' }, { by: 'a', now: 5 });
  return doc;
};

const EXPORT_OPTIONS = [{}, { keyframesOnly: true }, { allFrames: true }, { vocOffset: 1 as const }];

exportsSuite('every format exports the stored release byte for byte as the live session', () => {
  const doc = richDoc();
  const live = readSession(doc);
  const liveContent: SessionContent = { ...live, meta: live.meta! };
  const stored = decodeReleaseContent(encodeReleaseContent(freezeSession(doc)));
  for (const format of Object.keys(formats) as FormatName[]) {
    for (const opts of EXPORT_OPTIONS) {
      const a = collect(formats[format].export(liveContent, opts, { loss: emptyLoss(format) }));
      const b = collect(formats[format].export(stored, opts, { loss: emptyLoss(format) }));
      assert.ok(a.length > 0 && Buffer.from(a).equals(Buffer.from(b)), `${format} ${JSON.stringify(opts)}`);
    }
    const project = (c: ReleaseContent): Uint8Array => collect(formats[format].exportProject([{ content: c, videoPrefix: 'v1/' }, { content: { ...c, meta: { ...c.meta, videoId: 'v2' } }, videoPrefix: 'v2/' }], {}, { loss: emptyLoss(format) }));
    assert.ok(Buffer.from(project(liveContent)).equals(Buffer.from(project(stored))), `${format} project`);
  }
});

exportsSuite('decoding refuses bytes that are not stored release content', () => {
  const refused = (b: Uint8Array): boolean => {
    try {
      decodeReleaseContent(b);
      return false;
    } catch (e) {
      return e instanceof DocModelError && e.code === 'invalid_content';
    }
  };
  assert.ok(refused(new TextEncoder().encode('{"format":"annosync-release","version":2,"content":{}}')));
  assert.ok(refused(new TextEncoder().encode('not json')));
  assert.ok(refused(new Uint8Array([0xff, 0xfe])));
});

canonical.run();
counts.run();
exportsSuite.run();
