/**
 * `annosync gate --min`: one run's metric against a floor, with no baseline run — the first gate a
 * CI job has ("AP50 at least 0.5"). Read from the run's evaluation; with `--per-label`, every label
 * that has ground truth must reach it too (a label the ground truth lacks has nothing to find).
 * A tracking metric of a run whose detections carry no track ids counts 0: a tracker that lost its
 * ids fails the gate rather than escaping it.
 *
 *   annosync gate --run r2 --min 0.5                     # ap50 ≥ 0.5 overall
 *   annosync gate --run r2 --metric hota --min 0.6 --per-label
 */
import type { LabelMetrics } from '../../docs-model/evaluation.ts';
import type { TrackingMetrics } from '../../docs-model/tracking/index.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { seg } from '../http.ts';
import { formatTable } from '../table.ts';
import type { EvaluationBody } from './run.ts';
import { gatedField, type GateCheck, type GateMetric } from './gate-metrics.ts';

export interface FloorVerdict {
  metric: GateMetric;
  min: number;
  perLabel: boolean;
  passed: boolean;
  failures: Array<{ scope: string; value: number }>;
}

export const parseMin = (text: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < -1 || v > 1) throw new UsageError(`--min must be a number in [-1, 1] (MOTA can be below 0), got '${text}'`);
  return v;
};

interface Figures {
  overall: object | undefined;
  perLabel: Record<string, object>;
  /** Whether the label has ground truth: one without has nothing to find. */
  hasTruth(row: object): boolean;
}

const valueOf = (row: object | undefined, field: string): number => {
  const v = row === undefined ? undefined : (row as Record<string, unknown>)[field];
  return typeof v === 'number' ? v : 0;
};

/** The figures the metric is read from: the detection metrics, or the tracking ones (none: zeros). */
function figuresOf(e: EvaluationBody, metric: GateMetric): Figures {
  if (!gatedField(metric).tracking) return { overall: e.overall, perLabel: e.perLabel, hasTruth: (r) => (r as LabelMetrics).tp + (r as LabelMetrics).fn > 0 };
  return { overall: e.tracking?.overall, perLabel: e.tracking?.perLabel ?? {}, hasTruth: (r) => (r as TrackingMetrics).groundTruthBoxes > 0 };
}

/** The floor's decision on an evaluation; pure, so it is tested without a server. */
export function judgeFloor(e: EvaluationBody, metric: GateMetric, min: number, perLabel: boolean): FloorVerdict {
  const { field } = gatedField(metric);
  const figures = figuresOf(e, metric);
  const failures: FloorVerdict['failures'] = [];
  // The same hair of float noise as the drop gate: a floor set at the observed value passes.
  const below = (v: number): boolean => v < min - 1e-12;
  const overall = valueOf(figures.overall, field);
  if (below(overall)) failures.push({ scope: 'overall', value: overall });
  if (perLabel) {
    for (const [label, row] of Object.entries(figures.perLabel)) {
      const v = valueOf(row, field);
      if (figures.hasTruth(row) && below(v)) failures.push({ scope: label, value: v });
    }
  }
  return { metric, min, perLabel, passed: failures.length === 0, failures };
}

export async function floorCheck(ctx: Context, o: { run: string; metric: GateMetric; perLabel?: boolean }, min: number): Promise<GateCheck> {
  const e = await ctx.api.json<EvaluationBody>('GET', `/api/test-runs/${seg(o.run)}/evaluation`, undefined, `evaluate run ${o.run}`);
  const verdict = judgeFloor(e, o.metric, min, o.perLabel ?? false);
  const { field, tracking } = gatedField(o.metric);
  const untracked = tracking && !e.tracking ? ` (run ${o.run} carries no track ids)` : '';
  const figures = figuresOf(e, o.metric);
  const rows = [['(overall)', valueOf(figures.overall, field)] as const, ...Object.entries(figures.perLabel).map(([label, row]) => [label, valueOf(row, field)] as const)];
  return {
    passed: verdict.passed,
    json: { floor: verdict, evaluation: e },
    table: formatTable(['label', o.metric, 'min'], rows.map(([label, v]) => [label, v, min])),
    failure: `${o.metric} below ${min}: ${verdict.failures.map((f) => `${f.scope} ${Number.isInteger(f.value) ? f.value : f.value.toFixed(4)}`).join(', ')}${untracked}`,
    success: `${o.metric} at least ${min}${o.perLabel ? ' overall and per label' : ' overall'}`,
  };
}
