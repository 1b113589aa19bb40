/**
 * `annosync gate`: compares a run with a baseline run on the same release and fails (exit 1)
 * when the run is worse by more than the allowed drop — overall, or for any label with
 * `--per-label`. A label the baseline has and the run lacks counts as a drop to 0. With `--min`
 * it also (or, without `--baseline`, only) fails when the metric is below a floor (gate-floor.ts).
 *
 *   annosync gate --run r2 --baseline r1 --metric ap50 --max-drop 0.01 --per-label
 *   annosync gate --run r2 --baseline r1 --metric hota --max-drop 0.02    # a tracker
 *   annosync gate --run r2 --min 0.5                                       # no baseline yet
 */
import type { Context } from '../context.ts';
import { GateFailedError, UsageError } from '../errors.ts';
import { formatTable, signed } from '../table.ts';
import { changesLine, fetchComparison } from './compare.ts';
import { floorCheck, parseMin } from './gate-floor.ts';
import { DETECTION_METRICS, gatedField, type GateCheck, type GateMetric } from './gate-metrics.ts';

export { GATE_METRICS, type GateMetric } from './gate-metrics.ts';

export interface GateOptions {
  run: string;
  baseline?: string;
  metric: GateMetric;
  maxDrop: string;
  min?: string;
  perLabel?: boolean;
}

interface Delta {
  base: number;
  head: number;
  delta: number;
}

/** A metric's delta by its field, and `onlyIn` for a label (or tracking) only one run has. */
type Deltas = { readonly [field: string]: Delta | 'base' | 'head' | undefined; onlyIn?: 'base' | 'head' };

const deltaOf = (d: Deltas, field: string): Delta | undefined => {
  const v = d[field];
  return typeof v === 'object' ? v : undefined;
};

interface Table {
  overall: Deltas;
  perLabel: Record<string, Deltas>;
}

interface Comparison extends Table {
  /** When either run carries track ids; `onlyIn` when one of them does not. */
  tracking?: Table & { onlyIn?: 'base' | 'head' };
}

export interface GateVerdict {
  metric: GateMetric;
  maxDrop: number;
  perLabel: boolean;
  passed: boolean;
  failures: Array<{ scope: string; base: number; head: number; delta: number }>;
}

export const parseMaxDrop = (text: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw new UsageError(`--max-drop must be a number in [0, 1], got '${text}'`);
  return v;
};

/** The table the metric is read from and its field there: the detection metrics, or the tracking ones. */
function gatedOn(c: Comparison, metric: GateMetric): { table: Table; field: string } {
  const { field, tracking } = gatedField(metric);
  if (!tracking) return { table: c, field };
  if (!c.tracking) throw new UsageError(`neither run carries track ids: no ${metric} to gate on (gate a detector on ${DETECTION_METRICS.join(', ')})`);
  return { table: c.tracking, field };
}

/** The gate's decision on a comparison; pure, so it is tested without a server. */
export function judge(c: Comparison, metric: GateMetric, maxDrop: number, perLabel: boolean): GateVerdict {
  const failures: GateVerdict['failures'] = [];
  // A hair of float noise (1e-12) never fails a gate set exactly at the observed drop.
  const fails = (d: Delta): boolean => d.delta < -maxDrop - 1e-12;
  const { table, field } = gatedOn(c, metric);
  const overall = deltaOf(table.overall, field);
  if (!overall) throw new UsageError(`the comparison has no metric '${metric}'`);
  if (fails(overall)) failures.push({ scope: 'overall', ...overall });
  if (perLabel) {
    for (const [label, deltas] of Object.entries(table.perLabel)) {
      const d = deltaOf(deltas, field);
      if (d && deltas.onlyIn !== 'head' && fails(d)) failures.push({ scope: label, ...d });
    }
  }
  return { metric, maxDrop, perLabel, passed: failures.length === 0, failures };
}

/** The run against the baseline: the comparison's deltas, and the drop allowed. */
async function dropCheck(ctx: Context, o: GateOptions, baseline: string, maxDrop: number): Promise<GateCheck> {
  const c = await fetchComparison(ctx, baseline, o.run, `compare run ${o.run} with baseline ${baseline}`);
  const verdict = judge(c, o.metric, maxDrop, o.perLabel ?? false);
  const { table, field } = gatedOn(c, o.metric);
  const rows = [['(overall)', deltaOf(table.overall, field)!] as const, ...Object.entries(table.perLabel).map(([l, d]) => [l + (d.onlyIn ? ` (only ${d.onlyIn})` : ''), deltaOf(d, field)!] as const)];
  const lines = [formatTable(['label', `base ${o.metric}`, `head ${o.metric}`, 'delta'], rows.map(([l, d]) => [l, d.base, d.head, signed(d.delta)]))];
  lines.push(changesLine(c));
  const untracked = gatedField(o.metric).tracking && c.tracking?.onlyIn === 'base' ? ` (run ${o.run} carries no track ids)` : '';
  return {
    passed: verdict.passed,
    json: { verdict, comparison: c },
    table: lines.join('\n'),
    failure: `${o.metric} dropped by more than ${maxDrop}: ${verdict.failures.map((f) => `${f.scope} ${signed(f.delta)}`).join(', ')}${untracked}`,
    success: `${o.metric} dropped by no more than ${maxDrop}${o.perLabel ? ' overall and per label' : ' overall'}`,
  };
}

export async function gateCommand(ctx: Context, o: GateOptions): Promise<void> {
  if (o.baseline === undefined && o.min === undefined) throw new UsageError('give --baseline RUN (fail on a drop against it), --min VALUE (fail below it), or both');
  // Every argument is checked before any request is made.
  const min = o.min === undefined ? undefined : parseMin(o.min);
  const maxDrop = o.baseline === undefined ? undefined : parseMaxDrop(o.maxDrop);
  if (o.run === o.baseline) throw new UsageError('--run and --baseline are the same run');
  const checks: GateCheck[] = [];
  if (o.baseline !== undefined && maxDrop !== undefined) checks.push(await dropCheck(ctx, o, o.baseline, maxDrop));
  if (min !== undefined) checks.push(await floorCheck(ctx, o, min));
  if (ctx.json) ctx.emit(Object.assign({}, ...checks.map((c) => c.json)));
  else for (const c of checks) ctx.out(c.table);
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0) throw new GateFailedError(`gate failed: ${failed.map((c) => c.failure).join('; ')}`);
  if (!ctx.json) ctx.out(`gate passed: ${checks.map((c) => c.success).join('; ')}`);
}
