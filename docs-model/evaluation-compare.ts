/**
 * Two runs scored against the same ground truth, side by side: every metric of the evaluation,
 * overall and per label, with its delta (head − base); the frames where head lost a true
 * positive base had (regressions) and where it gained one (fixes), paged by frame; and both runs'
 * confusion matrices and precision–recall curves. A label only one run has (detections under a
 * label the ground truth lacks, say) is compared with zeros and marked `onlyIn`. When either run
 * carries track ids, `tracking` compares the tracking metrics the same way (a run without them
 * counts zeros, and `tracking.onlyIn` says which has them), so a tracker is gated on HOTA or MOTA as
 * a detector is on AP.
 *
 *   const c = compareEvaluations({ evaluation: e1, details: d1 }, { evaluation: e2, details: d2 }, { groundTruth })
 *   c.overall.ap50          // { base: 0.71, head: 0.69, delta: -0.02 }
 *   c.regressions.items[0]  // { frame: 12, boxes: [{ groundTruth: 40, label: 'car', annotationId, bbox, score }] }
 */
import type { ConfusionMatrix } from './confusion-matrix.ts';
import { invalidValue } from './errors.ts';
import type { Evaluation, GroundTruthBox, LabelMetrics } from './evaluation.ts';
import type { EvaluationDetails, TruePositives } from './evaluation-details.ts';
import type { PrecisionRecallCurves } from './precision-recall.ts';
import type { TrackingEvaluation, TrackingMetrics } from './tracking/index.ts';
import type { BBox } from './types.ts';
import { compareStrings } from './values.ts';

export const METRICS = ['tp', 'fp', 'fn', 'precision', 'recall', 'f1', 'ap50', 'ap'] as const satisfies readonly (keyof LabelMetrics)[];
export type MetricName = (typeof METRICS)[number];

export interface MetricDelta {
  base: number;
  head: number;
  delta: number;
}

export type MetricDeltas = Record<MetricName, MetricDelta>;

/** Set when only one run has the label (or the tracking metrics); the other side counts zeros. */
type OnlyIn = { onlyIn?: 'base' | 'head' };

export type LabelComparison = MetricDeltas & OnlyIn;

/** Every figure of the tracking metrics, rates and counts, in the order the evaluation gives them. */
export const TRACKING_METRICS = [
  'mota', 'motp', 'idf1', 'idp', 'idr', 'hota', 'deta', 'assa', 'locA',
  'idSwitches', 'fragmentations', 'mostlyTracked', 'partiallyTracked', 'mostlyLost',
  'groundTruthBoxes', 'groundTruthTracks', 'trackerBoxes', 'trackerTracks',
  'matches', 'misses', 'falsePositives', 'idtp', 'idfp', 'idfn',
] as const satisfies readonly (keyof TrackingMetrics)[];
export type TrackingMetricName = (typeof TRACKING_METRICS)[number];

export type TrackingDeltas = Record<TrackingMetricName, MetricDelta>;

export interface TrackingComparison extends OnlyIn {
  overall: TrackingDeltas;
  perLabel: Record<string, TrackingDeltas & OnlyIn>;
}

export interface ChangedBox {
  /** Index into the ground truth. */
  groundTruth: number;
  label: string;
  annotationId: string | null;
  bbox: BBox;
  /** The score of the detection that found the box, in the run that found it. */
  score: number;
}

export interface FrameChanges {
  frame: number;
  boxes: ChangedBox[];
}

export interface FramePage {
  /** Boxes and frames in the whole list, not only this page. */
  boxes: number;
  frames: number;
  items: FrameChanges[];
  nextCursor: string | null;
}

export interface RunResult {
  /** `tracking` when the run's detections carry track ids. */
  evaluation: Evaluation & { tracking?: TrackingEvaluation };
  details: EvaluationDetails;
}

export interface EvaluationComparison {
  overall: MetricDeltas;
  perLabel: Record<string, LabelComparison>;
  /** When either run carries track ids. */
  tracking?: TrackingComparison;
  regressions: FramePage;
  fixes: FramePage;
  base: { confusion: ConfusionMatrix; curves: PrecisionRecallCurves };
  head: { confusion: ConfusionMatrix; curves: PrecisionRecallCurves };
}

export interface CompareOptions {
  /** The ground truth both runs were scored against (what their details index). */
  groundTruth: readonly GroundTruthBox[];
  /** Frames per page of each list; default 100. */
  limit?: number;
  regressionsCursor?: string;
  fixesCursor?: string;
}

/** A run's figures, overall and per label: its detection metrics, or its tracking metrics. */
interface Table<N extends string> {
  overall: Record<N, number>;
  perLabel: Record<string, Record<N, number>>;
}

/**
 * `names` of two tables side by side, overall and per label (every label of either, in order); a
 * table or label one side lacks counts zeros there and is marked with the side that has it.
 */
function sideBySide<N extends string>(names: readonly N[], base: Table<N> | undefined, head: Table<N> | undefined): { overall: Record<N, MetricDelta>; perLabel: Record<string, Record<N, MetricDelta> & OnlyIn> } {
  const zero = Object.fromEntries(names.map((m) => [m, 0])) as Record<N, number>;
  const row = (b: Record<N, number>, h: Record<N, number>) => Object.fromEntries(names.map((m) => [m, { base: b[m], head: h[m], delta: h[m] - b[m] }])) as Record<N, MetricDelta>;
  const labelRow = (label: string): Record<N, MetricDelta> & OnlyIn => {
    const [b, h] = [base, head].map((table) => (table && Object.hasOwn(table.perLabel, label) ? table.perLabel[label] : undefined));
    const out: Record<N, MetricDelta> & OnlyIn = row(b ?? zero, h ?? zero);
    if (!b) out.onlyIn = 'head';
    if (!h) out.onlyIn = 'base';
    return out;
  };
  const labels = [...new Set([...Object.keys(base?.perLabel ?? {}), ...Object.keys(head?.perLabel ?? {})])].sort(compareStrings);
  // fromEntries defines own properties, so a label named '__proto__' stays a label.
  return { overall: row(base?.overall ?? zero, head?.overall ?? zero), perLabel: Object.fromEntries(labels.map((label) => [label, labelRow(label)])) };
}

/** The tracking metrics side by side, when either run has them. */
function trackingSideBySide(base: TrackingEvaluation | undefined, head: TrackingEvaluation | undefined): TrackingComparison | undefined {
  if (!base && !head) return undefined;
  const out: TrackingComparison = sideBySide(TRACKING_METRICS, base, head);
  if (!base) out.onlyIn = 'head';
  if (!head) out.onlyIn = 'base';
  return out;
}

/** The boxes `had` found and `has` did not, grouped by frame, with the score `had` found them at. */
function lost(had: TruePositives, has: TruePositives, groundTruth: readonly GroundTruthBox[]): Map<number, ChangedBox[]> {
  const kept = new Set(has.groundTruth);
  const byFrame = new Map<number, ChangedBox[]>();
  had.groundTruth.forEach((g, k) => {
    if (kept.has(g)) return;
    const box = groundTruth[g]!;
    const list = byFrame.get(box.frame);
    const item: ChangedBox = { groundTruth: g, label: box.label, annotationId: box.annotationId ?? null, bbox: box.bbox, score: had.scores[k]! };
    if (list) list.push(item);
    else byFrame.set(box.frame, [item]);
  });
  return byFrame;
}

function page(byFrame: Map<number, ChangedBox[]>, limit: number, cursor: string | undefined, field: string): FramePage {
  let after = -1;
  if (cursor !== undefined) {
    if (!/^\d{1,15}$/.test(cursor)) throw invalidValue(field, `${field} is not a cursor this comparison gave`);
    after = Number(cursor);
  }
  const frames = [...byFrame.keys()].sort((a, b) => a - b);
  let boxes = 0;
  for (const list of byFrame.values()) boxes += list.length;
  const rest = frames.filter((f) => f > after);
  const items = rest.slice(0, limit).map((frame) => ({ frame, boxes: byFrame.get(frame)! }));
  const last = items[items.length - 1];
  return { boxes, frames: frames.length, items, nextCursor: rest.length > limit && last ? String(last.frame) : null };
}

export function compareEvaluations(base: RunResult, head: RunResult, opts: CompareOptions): EvaluationComparison {
  const { groundTruth } = opts;
  const limit = opts.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalidValue('limit', 'limit must be a positive integer');
  for (const [side, run] of [['base', base], ['head', head]] as const) {
    if (run.details.groundTruthCount !== groundTruth.length) {
      throw invalidValue('groundTruth', `${side} was scored against ${run.details.groundTruthCount} ground-truth boxes, not the ${groundTruth.length} given`);
    }
  }
  const { overall, perLabel } = sideBySide(METRICS, base.evaluation, head.evaluation);
  const tracking = trackingSideBySide(base.evaluation.tracking, head.evaluation.tracking);
  return {
    overall,
    perLabel,
    ...(tracking ? { tracking } : {}),
    regressions: page(lost(base.details.truePositives, head.details.truePositives, groundTruth), limit, opts.regressionsCursor, 'regressionsCursor'),
    fixes: page(lost(head.details.truePositives, base.details.truePositives, groundTruth), limit, opts.fixesCursor, 'fixesCursor'),
    base: { confusion: base.details.confusion, curves: base.details.curves },
    head: { confusion: head.details.confusion, curves: head.details.curves },
  };
}
