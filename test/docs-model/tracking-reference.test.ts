/**
 * docs-model/tracking against the reference implementations: every figure of 240 generated
 * sequences, as py-motmetrics (CLEAR MOT, identity) and TrackEval (HOTA) computed them
 * (test/fixtures/tracking/README.md says which versions and how).
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMot, parseMotDetections } from '../../docs-model/formats/mot-import.ts';
import { evaluateTracking, trackingDetections, trackingGroundTruth, type TrackingBox, type TrackingMetrics } from '../../docs-model/tracking/index.ts';
import type { Annotation } from '../../docs-model/types.ts';

type Row = [frame: number, id: number, x: number, y: number, w: number, h: number, label: number];
type MotFigures = Record<string, number | null>;
interface TrackEvalFigures {
  HOTA: number;
  DetA: number;
  AssA: number;
  LocA: number;
  MOTA: number;
  MOTP: number;
  IDF1: number;
  IDP: number;
  IDR: number;
}
interface Sequence {
  name: string;
  frames: number;
  gt: Row[];
  tracker: Row[];
  expected: { motmetrics: Record<string, MotFigures>; trackeval: Record<string, TrackEvalFigures> };
}
interface MotFiles {
  name: string;
  frames: number;
  width: number;
  height: number;
  gt: string;
  tracker: string;
  expected: { motmetrics: MotFigures; trackeval: TrackEvalFigures };
}
interface Reference {
  seed: number;
  labels: string[];
  iouThreshold: number;
  sequences: Sequence[];
  files: MotFiles[];
}

const reference = JSON.parse(readFileSync(new URL('../fixtures/tracking/reference.json', import.meta.url), 'utf8')) as Reference;
const boxes = (rows: Row[]): TrackingBox[] =>
  rows.map(([frame, id, x, y, w, h, label]) => ({ frame, bbox: [x, y, w, h], label: reference.labels[label]!, trackId: String(id) }));

const TOLERANCE = 1e-9;

/**
 * py-motmetrics' MOTP over labels (`motp_m`: each label's MOTP weighted by its matches) with the
 * labels that have no match left out: motmetrics multiplies their NaN by 0 and gets NaN overall.
 */
function overallMotp(perLabel: Record<string, MotFigures>): number | null {
  let sum = 0;
  let matches = 0;
  for (const [name, m] of Object.entries(perLabel)) {
    if (name === 'OVERALL' || m.motp === null) continue;
    sum += (1 - m.motp!) * (m.num_matches! + m.num_switches!);
    matches += m.num_matches! + m.num_switches!;
  }
  return matches > 0 ? sum / matches : null;
}

/** Every figure of one label (or OVERALL) against both references; the list of those that differ. */
function differences(ours: TrackingMetrics, mm: MotFigures, te: TrackEvalFigures, motp: number | null): string[] {
  const out: string[] = [];
  const near = (what: string, actual: number, expected: number): void => {
    if (!(Math.abs(actual - expected) <= TOLERANCE)) out.push(`${what}: ${actual} ≠ ${expected}`);
  };
  const same = (what: string, actual: number, expected: number | null): void => {
    if (actual !== expected) out.push(`${what}: ${actual} ≠ ${expected}`);
  };
  same('matches', ours.matches, mm.num_matches! + mm.num_switches!);
  same('idSwitches', ours.idSwitches, mm.num_switches!);
  same('misses', ours.misses, mm.num_misses!);
  same('falsePositives', ours.falsePositives, mm.num_false_positives!);
  same('fragmentations', ours.fragmentations, mm.num_fragmentations!);
  same('mostlyTracked', ours.mostlyTracked, mm.mostly_tracked!);
  same('partiallyTracked', ours.partiallyTracked, mm.partially_tracked!);
  same('mostlyLost', ours.mostlyLost, mm.mostly_lost!);
  same('groundTruthBoxes', ours.groundTruthBoxes, mm.num_objects!);
  same('trackerBoxes', ours.trackerBoxes, mm.num_predictions!);
  same('groundTruthTracks', ours.groundTruthTracks, mm.num_unique_objects!);
  same('idtp', ours.idtp, mm.idtp!);
  same('idfp', ours.idfp, mm.idfp!);
  same('idfn', ours.idfn, mm.idfn!);
  // py-motmetrics leaves NaN/inf where a denominator is 0; there the figure is TrackEval's.
  // No ground truth: py-motmetrics −inf, TrackEval 0 for a sequence (its early return), −FP once combined.
  near('mota', ours.mota, mm.mota ?? 0);
  near('motp', ours.motp, motp ?? 0);
  near('idf1', ours.idf1, mm.idf1 ?? te.IDF1);
  near('idp', ours.idp, mm.idp ?? te.IDP);
  near('idr', ours.idr, mm.idr ?? te.IDR);
  near('hota', ours.hota, te.HOTA);
  near('deta', ours.deta, te.DetA);
  near('assa', ours.assa, te.AssA);
  near('locA', ours.locA, te.LocA);
  return out;
}

const test = suite('tracking metrics against py-motmetrics and TrackEval');

test(`the fixture holds at least 200 sequences (seed ${reference.seed})`, () => {
  assert.ok(reference.sequences.length >= 200);
});

test('every figure of every sequence, per label and overall, equals the references to 1e-9', () => {
  const failures: string[] = [];
  let compared = 0;
  for (const seq of reference.sequences) {
    const result = evaluateTracking(boxes(seq.gt), boxes(seq.tracker), { iouThreshold: reference.iouThreshold });
    const { motmetrics, trackeval } = seq.expected;
    for (const name of Object.keys(motmetrics)) {
      const ours = name === 'OVERALL' ? result.overall : result.perLabel[name];
      if (!ours) {
        failures.push(`${seq.name} ${name}: missing`);
        continue;
      }
      compared++;
      const mm = motmetrics[name]!;
      const motp = name === 'OVERALL' ? overallMotp(motmetrics) : mm.motp === null ? null : 1 - mm.motp!;
      for (const d of differences(ours, mm, trackeval[name]!, motp)) failures.push(`${seq.name} ${name} ${d}`);
    }
  }
  assert.ok(compared > 400, `compared ${compared} label groups`);
  assert.equal(failures, [], `${failures.length} differences:\n${failures.slice(0, 40).join('\n')}`);
});

test('MOT15/17/20-like files read by the MOT importer score what py-motmetrics (eval_motchallenge’s reading) and TrackEval score on the same files', () => {
  assert.ok(reference.files.length >= 12);
  const failures: string[] = [];
  for (const f of reference.files) {
    const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: f.width, height: f.height, fps: 25, frameCount: f.frames };
    const gt = parseMot(new TextEncoder().encode(f.gt), { meta, labels: { pedestrian: {} } });
    const tr = parseMotDetections(new TextEncoder().encode(f.tracker), { meta, labels: ['pedestrian'] });
    if (gt.errors.length || tr.errors.length) {
      failures.push(`${f.name}: ${JSON.stringify([...gt.errors, ...tr.errors].slice(0, 3))}`);
      continue;
    }
    // As the session holds them once imported (writeSession fills the rest in).
    const annotations: Annotation[] = gt.content.annotations.map((a) => ({
      ...a,
      trackId: a.trackId ?? null,
      detectionId: null,
      attributes: a.attributes ?? {},
      occluded: a.occluded ?? false,
      outside: a.outside ?? false,
      status: 'draft',
      source: 'import',
      createdBy: 'x',
      updatedBy: 'x',
      createdAt: 0,
      updatedAt: 0,
    }));
    const result = evaluateTracking(trackingGroundTruth(annotations, gt.content.tracks, f.frames), trackingDetections(tr.detections));
    const mm = f.expected.motmetrics;
    for (const d of differences(result.overall, mm, f.expected.trackeval, mm.motp === null ? null : 1 - mm.motp!)) failures.push(`${f.name} ${d}`);
  }
  assert.equal(failures, [], failures.slice(0, 20).join('\n'));
});

test.run();
