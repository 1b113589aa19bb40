/**
 * `annosync gate`: compares a run with a baseline run on the same release and fails (exit 1)
 * when the run is worse by more than the allowed drop — overall, or for any label with
 * `--per-label`. A label the baseline has and the run lacks counts as a drop to 0.
 *
 *   annosync gate --run r2 --baseline r1 --metric ap50 --max-drop 0.01 --per-label
 *   annosync gate --run r2 --baseline r1 --metric hota --max-drop 0.02    # a tracker
 */
import type { Context } from '../context.ts';
import { GateFailedError, UsageError } from '../errors.ts';
import { formatTable, signed } from '../table.ts';

/** Rates where higher is better; counts (tp, fp, fn, ID switches) make no sense with one allowed drop. */
const DETECTION_METRICS = ['ap50', 'ap', 'precision', 'recall', 'f1'] as const;
/**
 * A tracker's rates, by the name given on the command line (lower case) → the comparison's field
 * (docs/formats.md, "Tracking metrics"). MOTP is TrackEval's mean IoU of the matches: higher is better.
 */
const TRACKING_FIELDS = { mota: 'mota', motp: 'motp', idf1: 'idf1', idp: 'idp', idr: 'idr', hota: 'hota', deta: 'deta', assa: 'assa', loca: 'locA' } as const;
export const GATE_METRICS = [...DETECTION_METRICS, ...(Object.keys(TRACKING_FIELDS) as Array<keyof typeof TRACKING_FIELDS>)] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

export interface GateOptions {
  run: string;
  baseline: string;
  metric: GateMetric;
  maxDrop: string;
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
  regressions?: { boxes: number; frames: number };
  fixes?: { boxes: number; frames: number };
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

const isTracking = (metric: GateMetric): metric is keyof typeof TRACKING_FIELDS => Object.hasOwn(TRACKING_FIELDS, metric);

/** The table the metric is read from and its field there: the detection metrics, or the tracking ones. */
function gatedOn(c: Comparison, metric: GateMetric): { table: Table; field: string } {
  if (!isTracking(metric)) return { table: c, field: metric };
  if (!c.tracking) throw new UsageError(`neither run carries track ids: no ${metric} to gate on (gate a detector on ${DETECTION_METRICS.join(', ')})`);
  return { table: c.tracking, field: TRACKING_FIELDS[metric] };
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

export async function gateCommand(ctx: Context, o: GateOptions): Promise<void> {
  const maxDrop = parseMaxDrop(o.maxDrop);
  if (o.run === o.baseline) throw new UsageError('--run and --baseline are the same run');
  const query = new URLSearchParams({ base: o.baseline, head: o.run, summary: 'true' });
  const c = await ctx.api.json<Comparison>('GET', `/api/test-runs/compare?${query}`, undefined, `compare run ${o.run} with baseline ${o.baseline}`);
  const verdict = judge(c, o.metric, maxDrop, o.perLabel ?? false);
  const { table, field } = gatedOn(c, o.metric);
  if (ctx.json) ctx.emit({ verdict, comparison: c });
  else {
    const rows = [['(overall)', deltaOf(table.overall, field)!] as const, ...Object.entries(table.perLabel).map(([l, d]) => [l + (d.onlyIn ? ` (only ${d.onlyIn})` : ''), deltaOf(d, field)!] as const)];
    ctx.out(formatTable(['label', `base ${o.metric}`, `head ${o.metric}`, 'delta'], rows.map(([l, d]) => [l, d.base, d.head, signed(d.delta)])));
    if (c.regressions && c.fixes) ctx.out(`lost ${c.regressions.boxes} true positive(s) on ${c.regressions.frames} frame(s); gained ${c.fixes.boxes} on ${c.fixes.frames}`);
  }
  if (!verdict.passed) {
    const list = verdict.failures.map((f) => `${f.scope} ${signed(f.delta)}`).join(', ');
    const untracked = isTracking(o.metric) && c.tracking?.onlyIn === 'base' ? ` (run ${o.run} carries no track ids)` : '';
    throw new GateFailedError(`gate failed: ${o.metric} dropped by more than ${maxDrop}: ${list}${untracked}`);
  }
  if (!ctx.json) ctx.out(`gate passed: ${o.metric} dropped by no more than ${maxDrop}${o.perLabel ? ' overall and per label' : ' overall'}`);
}
