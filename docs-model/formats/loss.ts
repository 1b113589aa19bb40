/**
 * The loss report: what an export's format could not hold. It goes
 * into zips as `loss.json`, into the `X-Annosync-Loss` header as one line, and in full with
 * `?report=true`. Counters are filled while the exporter streams, so the report is complete
 * once the last chunk has been produced.
 *
 *   const loss = emptyLoss('yolo'); for (const c of exportYolo(content, {}, { loss })) …
 *   lossSummary(loss) // 'tracks-flattened=3; attributes-dropped=12; boxes-clipped=1; rounding<=0.00096px'
 */

export interface LossReport {
  format: string;
  /** Tracks written as unrelated per-frame boxes (the track id does not survive). */
  tracksFlattened: number;
  /** Track-level fields the format has no place for (track attributes, interpolation mode). */
  trackFieldsDropped: number;
  /** Boxes whose attributes the format cannot hold (or only as strings). */
  attributesDropped: number;
  /** Boxes whose review status the format cannot hold. */
  statusesDropped: number;
  /** Boxes whose detection link, occlusion, or annotation id the format cannot hold. */
  fieldsDropped: number;
  /** `outside` keyframes: they export as the absence of boxes and are rebuilt from gaps. */
  outsideKeyframes: number;
  /** Boxes clipped to the image (formats whose loaders drop out-of-range values). */
  boxesClipped: number;
  /** Largest coordinate error from decimal rounding, in pixels (0: exact). */
  roundingBoundPx: number;
  /** Session meta, label colours and attribute schemas the format cannot hold. */
  metaDropped: boolean;
  /** Human-readable notes, each once. */
  notes: string[];
  /** MOT only: the integer id each track and each box in no track was written with. */
  idMap?: { tracks: Record<string, number>; boxes: Record<string, number> };
}

export const emptyLoss = (format: string): LossReport => ({
  format,
  tracksFlattened: 0,
  trackFieldsDropped: 0,
  attributesDropped: 0,
  statusesDropped: 0,
  fieldsDropped: 0,
  outsideKeyframes: 0,
  boxesClipped: 0,
  roundingBoundPx: 0,
  metaDropped: false,
  notes: [],
});

export const addNote = (loss: LossReport, note: string): void => {
  if (!loss.notes.includes(note)) loss.notes.push(note);
};

export const isLossless = (loss: LossReport): boolean => lossSummary(loss) === 'none';

/** One header-safe line (ASCII, no newlines), `none` when nothing was lost. */
export const lossSummary = (loss: LossReport): string => {
  const parts: string[] = [];
  const count = (name: string, n: number): void => {
    if (n > 0) parts.push(`${name}=${n}`);
  };
  count('tracks-flattened', loss.tracksFlattened);
  count('track-fields-dropped', loss.trackFieldsDropped);
  count('attributes-dropped', loss.attributesDropped);
  count('statuses-dropped', loss.statusesDropped);
  count('fields-dropped', loss.fieldsDropped);
  count('outside-keyframes', loss.outsideKeyframes);
  count('boxes-clipped', loss.boxesClipped);
  if (loss.roundingBoundPx > 0) parts.push(`rounding<=${Number(loss.roundingBoundPx.toPrecision(3))}px`);
  if (loss.metaDropped) parts.push('meta-dropped');
  return parts.length ? parts.join('; ') : 'none';
};
