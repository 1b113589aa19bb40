/**
 * Generated session content for the format tests: fast-check arbitraries with boxes
 * inside the frame, tracks whose first keyframe is visible, and a replayable seed; plus the
 * comparison views ("equal up to the loss report").
 */
import fc from 'fast-check';
import type { Annotation, Track } from '../../docs-model/types.ts';
import type { ImportedContent, SessionContent } from '../../docs-model/formats/content.ts';
import { walkFrames, type ExportBox } from '../../docs-model/formats/frame-walk.ts';

export const W = 640;
export const H = 480;

export const seedFromEnv = (name: string): number => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  console.log(`  ${name}: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  return seed;
};

const boxArb = fc
  .record({ x: fc.integer({ min: 0, max: W - 10 }), y: fc.integer({ min: 0, max: H - 10 }), fw: fc.double({ min: 0.05, max: 1, noNaN: true }), fh: fc.double({ min: 0.05, max: 1, noNaN: true }), frac: fc.boolean() })
  .map(({ x, y, fw, fh, frac }): [number, number, number, number] => {
    const w = Math.max(1, (W - x) * fw);
    const h = Math.max(1, (H - y) * fh);
    return frac ? [x + 0.25, y + 0.5, Math.min(w, W - x - 0.25), Math.min(h, H - y - 0.5)] : [x, y, Math.floor(w) || 1, Math.floor(h) || 1];
  });

const LABELS = ['car', 'person', 'bike & "co"'];
const fieldsArb = fc.record({
  status: fc.constantFrom('draft' as const, 'validated' as const, 'rejected' as const),
  occluded: fc.boolean(),
  detectionId: fc.option(fc.constantFrom('d1', 'd2', 'det-9'), { nil: null }),
  attributes: fc.constantFrom({}, { note: 'checked' }, { speed: 3, tags: ['a'] }),
});

export const sessionArb: fc.Arbitrary<SessionContent> = fc
  .record({
    frameCount: fc.integer({ min: 5, max: 40 }),
    standalone: fc.array(fc.record({ frame: fc.nat(), bbox: boxArb, label: fc.constantFrom(...LABELS), f: fieldsArb }), { maxLength: 8 }),
    tracks: fc.array(
      fc.record({
        label: fc.constantFrom(...LABELS),
        interpolation: fc.constantFrom('linear' as const, 'linear' as const, 'none' as const),
        kfs: fc.uniqueArray(fc.record({ frame: fc.nat(), bbox: boxArb, outside: fc.boolean(), f: fieldsArb }), { minLength: 1, maxLength: 5, selector: (k) => k.frame }),
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ frameCount, standalone, tracks }) => {
    const annotations: Annotation[] = [];
    const base = { source: 'manual' as const, createdBy: 'alice', updatedBy: 'bob', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_500 };
    standalone.forEach((s, k) => annotations.push({ id: `a${k}`, frame: s.frame % frameCount, bbox: s.bbox, label: s.label, trackId: null, outside: false, ...s.f, ...base }));
    const outTracks: Track[] = tracks.map((t, k) => ({ id: `t${k}`, label: t.label, attributes: {}, interpolation: t.interpolation }));
    tracks.forEach((t, k) => {
      const kfs = [...new Map(t.kfs.map((kf) => [kf.frame % frameCount, kf])).entries()].sort((a, b) => a[0] - b[0]);
      kfs.forEach(([frame, kf], n) =>
        annotations.push({ id: `t${k}k${n}`, frame, bbox: kf.bbox, label: t.label, trackId: `t${k}`, outside: n > 0 && kf.outside, ...kf.f, ...base }),
      );
    });
    return {
      meta: { sessionId: 's1', projectId: 'p1', videoId: 'v1', width: W, height: H, fps: 25, frameCount },
      labels: { car: { color: '#ff0000' }, person: {}, 'bike & "co"': {} },
      tracks: outTracks,
      annotations,
    };
  });

/** Imported content as a session would hold it (defaults for what the format did not carry). */
export const asSession = (imported: ImportedContent, like: SessionContent): SessionContent => ({
  meta: like.meta,
  labels: imported.labels,
  tracks: imported.tracks,
  annotations: imported.annotations.map((a) => ({
    id: a.id,
    frame: a.frame,
    bbox: a.bbox,
    label: a.label,
    trackId: a.trackId ?? null,
    detectionId: a.detectionId ?? null,
    attributes: a.attributes ?? {},
    occluded: a.occluded ?? false,
    outside: a.outside ?? false,
    status: a.status ?? 'draft',
    source: a.source ?? 'import',
    createdBy: a.createdBy ?? '',
    updatedBy: a.updatedBy ?? '',
    createdAt: a.createdAt ?? 0,
    updatedAt: a.updatedAt ?? 0,
  })),
});

/** Every exported box, with the chosen fields, ordered by frame, label and position. */
export const frameBoxes = (content: SessionContent, fields: (keyof ExportBox)[]): Record<string, unknown>[] => {
  const out: Record<string, unknown>[] = [];
  for (const { frame, boxes } of walkFrames(content)) {
    const views = boxes.map((b) => {
      const v: Record<string, unknown> = { frame, bbox: b.bbox };
      for (const f of fields) v[f] = b[f];
      return v;
    });
    const key = (v: Record<string, unknown>): string => `${String(v.label)}|${String(v.trackId)}|${(v.bbox as number[]).map((x) => x.toFixed(1).padStart(8)).join(',')}`;
    out.push(...views.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)));
  }
  return out;
};

/**
 * Null when equal (bboxes within `tol` px), else a description of the first difference. Boxes are
 * matched per frame, each to an unused box with the same fields and a bbox within `tol`: sorting by
 * rounded coordinates is not enough, since two boxes 0.02 px apart can swap order after YOLO's
 * 6-decimal rounding (FC_SEED=48514 did).
 */
export const boxesDiffer = (a: Record<string, unknown>[], b: Record<string, unknown>[], tol: number): string | null => {
  if (a.length !== b.length) return `${a.length} boxes vs ${b.length}`;
  const unused = new Map<unknown, Record<string, unknown>[]>();
  for (const y of b) unused.set(y.frame, [...(unused.get(y.frame) ?? []), y]);
  const rest = (v: Record<string, unknown>): string => JSON.stringify({ ...v, bbox: 0 });
  for (const [k, x] of a.entries()) {
    const candidates = unused.get(x.frame) ?? [];
    const bx = x.bbox as number[];
    const at = candidates.findIndex((y) => rest(y) === rest(x) && (y.bbox as number[]).every((v, i) => Math.abs(v - bx[i]!) <= tol));
    if (at < 0) return `box ${k}: ${JSON.stringify(x)} has no match among ${JSON.stringify(candidates)}`;
    candidates.splice(at, 1);
  }
  return null;
};
