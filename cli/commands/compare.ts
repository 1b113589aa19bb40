/**
 * `annosync compare`: two runs scored against the same release, side by side — base, head and
 * delta of every detection figure overall, the rates' deltas per label, and the tracking figures
 * when either run carries track ids — for a CI log or a pull request comment. It decides nothing
 * (`annosync gate` does): exit 0 with the tables, 2 when the runs cannot be compared (runs on
 * different releases: the server's 409 naming both).
 *
 *   annosync compare --base r1 --head r2
 *   annosync compare --base r1 --head r2 --json > comparison.json
 */
import type { LabelComparison, MetricDelta, MetricDeltas, TrackingComparison } from '../../docs-model/evaluation-compare.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatTable, signed, type Cell } from '../table.ts';

export interface CompareOptions {
  base: string;
  head: string;
}

/** `GET /api/test-runs/compare?summary=true`: the deltas, and how many boxes head lost and gained. */
export interface ComparisonSummary {
  base: { runId: string };
  head: { runId: string };
  groundTruth: { sessionId: string; releaseId: string; contentHash: string };
  overall: MetricDeltas;
  perLabel: Record<string, LabelComparison>;
  /** When either run carries track ids; `onlyIn` when one of them does not. */
  tracking?: TrackingComparison;
  regressions: { boxes: number; frames: number };
  fixes: { boxes: number; frames: number };
}

/** The server's comparison of head with base (both must be scored against one release). */
export function fetchComparison(ctx: Context, base: string, head: string, what: string): Promise<ComparisonSummary> {
  const query = new URLSearchParams({ base, head, summary: 'true' });
  return ctx.api.json<ComparisonSummary>('GET', `/api/test-runs/compare?${query}`, undefined, what);
}

/** The boxes head lost and gained against base, in one line. */
export const changesLine = (c: Pick<ComparisonSummary, 'regressions' | 'fixes'>): string =>
  `lost ${c.regressions.boxes} true positive(s) on ${c.regressions.frames} frame(s); gained ${c.fixes.boxes} on ${c.fixes.frames}`;

/** The rates a per-label table shows the deltas of (counts are in the overall table). */
const DETECTION_RATES = ['ap50', 'ap', 'precision', 'recall', 'f1'] as const;
const DETECTION_SHOWN = [...DETECTION_RATES, 'tp', 'fp', 'fn'] as const;
/** The tracking figures shown: the rates, then the counts a tracker is judged by. */
const TRACKING_SHOWN = ['mota', 'motp', 'idf1', 'idp', 'idr', 'hota', 'deta', 'assa', 'locA', 'idSwitches', 'fragmentations', 'mostlyTracked', 'mostlyLost'] as const;
const TRACKING_PER_LABEL = ['hota', 'mota', 'idf1', 'idSwitches'] as const;

const labelled = (label: string, onlyIn: 'base' | 'head' | undefined): string => label + (onlyIn ? ` (only ${onlyIn})` : '');

function sideBySide<F extends string>(fields: readonly F[], overall: Record<F, MetricDelta>): string {
  return formatTable(['metric', 'base', 'head', 'delta'], fields.map((f) => [f, overall[f].base, overall[f].head, signed(overall[f].delta)]));
}

function deltasPerLabel<F extends string>(fields: readonly F[], perLabel: Record<string, Record<F, MetricDelta> & { onlyIn?: 'base' | 'head' }>): string {
  const rows: Cell[][] = Object.entries(perLabel).map(([label, d]) => [labelled(label, d.onlyIn), ...fields.map((f) => signed(d[f].delta))]);
  return formatTable(['label', ...fields.map((f) => `Δ${f}`)], rows);
}

/** The tables as printed: the overall figures, the changed boxes, the deltas per label, then the tracking ones. */
export function comparisonText(c: ComparisonSummary): string {
  const parts = [
    `run ${c.head.runId} (head) against run ${c.base.runId} (base), both on release ${c.groundTruth.releaseId} (${c.groundTruth.contentHash})`,
    sideBySide(DETECTION_SHOWN, c.overall),
    changesLine(c),
  ];
  if (Object.keys(c.perLabel).length > 0) parts.push(`per label:\n${deltasPerLabel(DETECTION_RATES, c.perLabel)}`);
  if (c.tracking) {
    const untracked = c.tracking.onlyIn ? ` (run ${c.tracking.onlyIn === 'base' ? c.head.runId : c.base.runId} carries no track ids: its figures count 0)` : '';
    parts.push(`tracking${untracked}:\n${sideBySide(TRACKING_SHOWN, c.tracking.overall)}`);
    if (Object.keys(c.tracking.perLabel).length > 0) parts.push(`tracking per label:\n${deltasPerLabel(TRACKING_PER_LABEL, c.tracking.perLabel)}`);
  }
  return parts.join('\n\n');
}

export async function compareCommand(ctx: Context, o: CompareOptions): Promise<void> {
  if (o.base === o.head) throw new UsageError('--base and --head are the same run');
  const c = await fetchComparison(ctx, o.base, o.head, `compare run ${o.head} with ${o.base}`);
  if (ctx.json) return ctx.emit(c);
  ctx.out(comparisonText(c));
}
