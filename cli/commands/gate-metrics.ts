/**
 * What `annosync gate` can gate on, and the shape of one check (a drop against a baseline run,
 * gate.ts; a floor, gate-floor.ts). Rates where higher is better only: counts (tp, fp, fn, ID
 * switches) make no sense with one allowed drop or one floor.
 *
 *   gatedField('loca') // { field: 'locA', tracking: true }
 */
export const DETECTION_METRICS = ['ap50', 'ap', 'precision', 'recall', 'f1'] as const;
/**
 * A tracker's rates, by the name given on the command line (lower case) → the evaluation's field
 * (docs/formats.md, "Tracking metrics"). MOTP is TrackEval's mean IoU of the matches: higher is better.
 */
const TRACKING_FIELDS = { mota: 'mota', motp: 'motp', idf1: 'idf1', idp: 'idp', idr: 'idr', hota: 'hota', deta: 'deta', assa: 'assa', loca: 'locA' } as const;
export const GATE_METRICS = [...DETECTION_METRICS, ...(Object.keys(TRACKING_FIELDS) as Array<keyof typeof TRACKING_FIELDS>)] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

/** Where the metric is read: its field, in the tracking figures or the detection ones. */
export function gatedField(metric: GateMetric): { field: string; tracking: boolean } {
  return Object.hasOwn(TRACKING_FIELDS, metric) ? { field: TRACKING_FIELDS[metric as keyof typeof TRACKING_FIELDS], tracking: true } : { field: metric, tracking: false };
}

/** One check's outcome, as the command reports it. */
export interface GateCheck {
  passed: boolean;
  /** Merged into the command's --json document. */
  json: Record<string, unknown>;
  /** Printed before the verdict. */
  table: string;
  /** What failed, after "gate failed: ". */
  failure: string;
  /** What held, after "gate passed: ". */
  success: string;
}
