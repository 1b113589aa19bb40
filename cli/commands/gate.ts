/**
 * `annosync gate`: compares a run with a baseline run on the same release and fails (exit 1)
 * when the run is worse by more than the allowed drop — overall, or for any label with
 * `--per-label`. A label the baseline has and the run lacks counts as a drop to 0.
 *
 *   annosync gate --run r2 --baseline r1 --metric ap50 --max-drop 0.01 --per-label
 */
import type { Context } from '../context.ts';
import { GateFailedError, UsageError } from '../errors.ts';
import { formatTable, signed } from '../table.ts';

/** Rates where higher is better; counts (tp, fp, fn) make no sense with one allowed drop. */
export const GATE_METRICS = ['ap50', 'ap', 'precision', 'recall', 'f1'] as const;
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

type Deltas = Partial<Record<GateMetric | 'tp' | 'fp' | 'fn', Delta>> & { onlyIn?: 'base' | 'head' };

interface Comparison {
  overall: Deltas;
  perLabel: Record<string, Deltas>;
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

/** The gate's decision on a comparison; pure, so it is tested without a server. */
export function judge(c: Comparison, metric: GateMetric, maxDrop: number, perLabel: boolean): GateVerdict {
  const failures: GateVerdict['failures'] = [];
  // A hair of float noise (1e-12) never fails a gate set exactly at the observed drop.
  const fails = (d: Delta): boolean => d.delta < -maxDrop - 1e-12;
  const overall = c.overall[metric];
  if (!overall) throw new UsageError(`the comparison has no metric '${metric}'`);
  if (fails(overall)) failures.push({ scope: 'overall', ...overall });
  if (perLabel) {
    for (const [label, deltas] of Object.entries(c.perLabel)) {
      const d = deltas[metric];
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
  if (ctx.json) ctx.emit({ verdict, comparison: c });
  else {
    const rows = [['(overall)', c.overall[o.metric]!] as const, ...Object.entries(c.perLabel).map(([l, d]) => [l + (d.onlyIn ? ` (only ${d.onlyIn})` : ''), d[o.metric]!] as const)];
    ctx.out(formatTable(['label', `base ${o.metric}`, `head ${o.metric}`, 'delta'], rows.map(([l, d]) => [l, d.base, d.head, signed(d.delta)])));
    if (c.regressions && c.fixes) ctx.out(`lost ${c.regressions.boxes} true positive(s) on ${c.regressions.frames} frame(s); gained ${c.fixes.boxes} on ${c.fixes.frames}`);
  }
  if (!verdict.passed) {
    const list = verdict.failures.map((f) => `${f.scope} ${signed(f.delta)}`).join(', ');
    throw new GateFailedError(`gate failed: ${o.metric} dropped by more than ${maxDrop}: ${list}`);
  }
  if (!ctx.json) ctx.out(`gate passed: ${o.metric} dropped by no more than ${maxDrop}${o.perLabel ? ' overall and per label' : ' overall'}`);
}
