/**
 * MOTChallenge in (docs/formats.md, "MOTChallenge"): ground truth for a session (`parseMot`), and
 * tracker output or `det.txt` for a test run (`parseMotDetections`). Either a zip as CVAT's MOT 1.1
 * writes it (`gt/gt.txt`, `gt/labels.txt`) or a bare `gt.txt` / `det.txt` (text/plain).
 *
 *   parseMot(bytes, { meta, labels })            // ImportResult, all or nothing as every importer
 *   parseMotDetections(bytes, { meta, labels })  // { detections: [{ frame, bbox, label, score, trackId }], … }
 *
 * Rows are `frame,id,x,y,w,h` followed by, per variant:
 * - 9 columns (MOT16/17/20 gt, CVAT): not_ignored, class_id, visibility;
 * - 10 columns (MOT15, and det.txt / tracker output of every edition): conf, then world x, y, z
 *   (-1, ignored);
 * - 7 or 8 columns: not_ignored (or conf), class_id.
 * Separators are commas (spaces around them allowed) or whitespace; CRLF, trailing commas and blank
 * lines are fine. Frames are 1-based in the file and 0-based here. Coordinates are taken as written:
 * no ±1 shift, no clipping — a box reaching past the image edge is kept (MOT ground truth is full of
 * people half out of view, and py-motmetrics and TrackEval score them unclipped), flagged in a
 * warning and, for ground truth, in its `pastImageEdge` attribute; a box with nothing inside the
 * image is refused. `not_ignored = 0` rows are kept with `ignored: true`. Refused, each with its
 * `file:line` and field: a value that is no number, a frame below 1 or past the video, a width or
 * height ≤ 0, one id twice on one frame.
 */
import type { Attributes, BBox } from '../types.ts';
import type { CsvDetection } from './detections-csv.ts';
import type { ImportContext, ImportResult } from './content.ts';
import { buildContent, isMacMetadata, parseNumberText, textLines, type FlatBox } from './imported.ts';
import { problem, problemsOf, type Problem } from './problems.ts';
import { looksLikeZip, readZip, type SafeZipLimits } from './safe-zip.ts';

/** MOT16/17/20 class ids (Milan et al. 2016, "MOT16: A Benchmark for Multi-Object Tracking", table 3). */
export const MOT_CLASSES: readonly string[] = [
  'pedestrian',
  'person_on_vehicle',
  'car',
  'bicycle',
  'motorbike',
  'non_mot_vehicle',
  'static_person',
  'distractor',
  'occluder',
  'occluder_on_ground',
  'occluder_full',
  'reflection',
  'crowd',
];

/** One row as read, 0-based frame. */
export interface MotRow {
  place: string;
  line: number;
  frame: number;
  id: number;
  bbox: BBox;
  /** Column 7: not_ignored in ground truth, a confidence in det.txt and tracker output; null if absent. */
  flag: number | null;
  classId: number | null;
  visibility: number | null;
  pastEdge: boolean;
}

interface MotFile {
  name: string;
  bytes: Uint8Array;
  /** labels.txt beside it (or at the zip's root), one name a line. */
  labels: string[] | null;
}

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const dir = (path: string): string => path.slice(0, path.lastIndexOf('/') + 1);

/** The file to read: the zip's gt.txt (else det.txt), or the bare text. */
function motFile(input: Uint8Array, fallbackName: string, errors: Problem[], limits: SafeZipLimits): MotFile | null {
  if (!looksLikeZip(input)) return { name: fallbackName, bytes: input, labels: null };
  let files: Map<string, Uint8Array>;
  try {
    files = readZip(input, { ...limits, want: (n) => !isMacMetadata(n) && /\.txt$/i.test(n) });
  } catch (e) {
    errors.push(...problemsOf(e));
    return null;
  }
  const named = (n: string): string[] => [...files.keys()].filter((p) => base(p).toLowerCase() === n);
  const candidates = named('gt.txt').length ? named('gt.txt') : named('det.txt');
  if (candidates.length !== 1) {
    errors.push(problem('mot_no_sequence', candidates.length ? `${candidates.length} sequences (${candidates.join(', ')}): import one at a time` : 'no gt/gt.txt or det.txt in the zip', '/'));
    return null;
  }
  const name = candidates[0]!;
  const labelsFile = files.get(`${dir(name)}labels.txt`) ?? files.get('labels.txt');
  return { name, bytes: files.get(name)!, labels: labelsFile ? textLines(labelsFile).map((l) => l.text.trim()) : null };
}

const NAMES_9 = ['frame', 'id', 'x', 'y', 'w', 'h', 'not_ignored', 'class_id', 'visibility'];
const NAMES_10 = ['frame', 'id', 'x', 'y', 'w', 'h', 'conf', 'world_x', 'world_y', 'world_z'];

/** Every row of a MOT text, checked; problems go to `errors`, one per field (placed by the file's name). */
export function readMotRows(
  { bytes, name: file }: { bytes: Uint8Array; name: string },
  meta: ImportContext['meta'] = {},
  errors: Problem[] = [],
): MotRow[] {
  const rows: MotRow[] = [];
  const seen = new Map<string, number>();
  const { width, height, frameCount } = meta;
  for (const { line, text } of textLines(bytes)) {
    const place = `${file}:${line}`;
    const tokens = text.trim().split(/\s*,\s*|\s+/);
    while (tokens.length && tokens[tokens.length - 1] === '') tokens.pop();
    const n = tokens.length;
    if (n < 6 || n > 10) {
      errors.push(problem('mot_columns', `a row has frame,id,x,y,w,h and up to 4 more values, not ${n}`, place));
      continue;
    }
    const names = n === 10 ? NAMES_10 : NAMES_9;
    const values: number[] = [];
    let ok = true;
    tokens.forEach((t, k) => {
      const v = parseNumberText(t);
      if (v === null) {
        errors.push(problem('bad_number', `${names[k]} "${t}" is not a number`, `${place}:${names[k]}`));
        ok = false;
      }
      values.push(v ?? 0);
    });
    if (!ok) continue;
    const [frame, id, x, y, w, h] = values as [number, number, number, number, number, number];
    if (!Number.isInteger(frame) || frame < 1) {
      errors.push(problem('frame_out_of_range', `frame ${tokens[0]} is not a frame: frames are integers from 1`, `${place}:frame`));
      ok = false;
    } else if (frameCount && frame > frameCount) {
      errors.push(problem('frame_out_of_range', `frame ${frame} is past the video's ${frameCount} frames`, `${place}:frame`));
      ok = false;
    }
    if (!Number.isInteger(id) || (id < 1 && id !== -1)) {
      errors.push(problem('bad_id', `id ${tokens[1]} is not a track id: a positive integer, or -1 for none`, `${place}:id`));
      ok = false;
    }
    for (const [k, v] of [[4, w], [5, h]] as const) {
      if (v <= 0) {
        errors.push(problem('bad_bbox', `${names[k]} ${tokens[k]} must be > 0`, `${place}:${names[k]}`));
        ok = false;
      }
    }
    let pastEdge = false;
    if (ok && width && height) {
      const inside = Math.min(x + w, width) - Math.max(x, 0) > 0 && Math.min(y + h, height) - Math.max(y, 0) > 0;
      if (!inside) {
        errors.push(problem('box_outside', `the box lies entirely outside the ${width} × ${height} image`, `${place}:x`));
        ok = false;
      }
      pastEdge = x < 0 || y < 0 || x + w > width || y + h > height;
    }
    if (ok && id !== -1) {
      const key = `${id}:${frame}`;
      const first = seen.get(key);
      if (first !== undefined) {
        errors.push(problem('duplicate_id_frame', `id ${id} is on frame ${frame} twice (first on line ${first})`, `${place}:id`));
        ok = false;
      } else seen.set(key, line);
    }
    if (!ok) continue;
    rows.push({
      place,
      line,
      frame: frame - 1,
      id,
      bbox: [x, y, w, h],
      flag: n >= 7 ? values[6]! : null,
      classId: n >= 8 && n <= 9 ? values[7]! : null,
      visibility: n === 9 ? values[8]! : null,
      pastEdge,
    });
  }
  return rows;
}

/** The label of a row: labels.txt (1-based class ids), else MOT16's classes; files without a class column get `fallback`. */
function labelOf(row: MotRow, labels: readonly string[] | null, fallback: string, errors: Problem[]): string | null {
  if (row.classId === null) return fallback;
  const list = labels ?? MOT_CLASSES;
  const name = Number.isInteger(row.classId) ? list[row.classId - 1] : undefined;
  if (name === undefined || name === '') {
    errors.push(problem('class_out_of_range', `class_id ${row.classId} is not in 1…${list.length}${labels ? ' (labels.txt)' : ' (MOT16 classes)'}`, `${row.place}:class_id`));
    return null;
  }
  return name;
}

/** One warning for many rows: the count and the first place. */
const summary = (code: string, count: number, what: string, first: string | undefined, into: Problem[]): void => {
  if (count > 0) into.push(problem(code, `${count} ${count === 1 ? 'row' : 'rows'} ${what}`, first ?? '/'));
};

/** Session labels: a single one is what a file without classes means; else MOTChallenge's pedestrian. */
const defaultLabel = (ctx: { labels?: Record<string, unknown> | readonly string[] }): string => {
  const names = Array.isArray(ctx.labels) ? ctx.labels : Object.keys(ctx.labels ?? {});
  return names.length === 1 ? names[0]! : 'pedestrian';
};

export const parseMot = (input: Uint8Array, ctx: ImportContext = {}, limits: SafeZipLimits = {}): ImportResult => {
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  const result = (content: ImportResult['content']): ImportResult => ({ content, warnings, errors, frameRule: 'frame_id' });
  const file = motFile(input, 'gt.txt', errors, limits);
  if (!file) return result({ labels: {}, addedLabels: [], tracks: [], annotations: [] });
  const rows = readMotRows(file, ctx.meta, errors);
  const fallback = defaultLabel(ctx);
  const boxes: FlatBox[] = [];
  let ignored = 0;
  let past = 0;
  let firstIgnored: string | undefined;
  let firstPast: string | undefined;
  for (const r of rows) {
    const label = labelOf(r, file.labels, fallback, errors);
    if (label === null) continue;
    const attributes: Attributes = {};
    if (r.flag === 0) {
      attributes.ignored = true;
      ignored++;
      firstIgnored ??= r.place;
    }
    if (r.pastEdge) {
      attributes.pastImageEdge = true;
      past++;
      firstPast ??= r.place;
    }
    const v = r.visibility;
    if (v !== null && v !== 0 && v !== 1) attributes.visibility = v;
    boxes.push({
      id: r.id === -1 ? `mot-line-${r.line}` : `mot-${r.id}-${r.frame + 1}`,
      frame: r.frame,
      bbox: r.bbox,
      label,
      trackId: r.id === -1 ? null : String(r.id),
      keyframe: null,
      occluded: v !== null && v < 0.5,
      attributes,
      place: r.place,
    });
  }
  summary('mot_ignored', ignored, 'with not_ignored = 0 kept, with the attribute ignored: true', firstIgnored, warnings);
  summary('box_past_edge', past, 'reaching past the image edge kept as written, with the attribute pastImageEdge: true', firstPast, warnings);
  let frameEnd = ctx.meta?.frameCount ?? 0;
  for (const b of boxes) frameEnd = Math.max(frameEnd, b.frame + 1);
  return result(buildContent(boxes, ctx, { frameEnd, warnings, errors }));
};

/** A tracker's box, shaped as the detections of the CSV upload, so both are stored alike. */
export type MotDetection = CsvDetection;

export interface MotDetectionsContext {
  meta?: ImportContext['meta'];
  /** The session's label names: class ids are 1-based positions in it (else labels.txt, else MOT16's). */
  labels?: readonly string[];
}

/**
 * Tracker output (`<sequence>.txt` of a MOTChallenge submission) or `det.txt`: one detection per
 * row, the tracker id as `trackId`. Column 7 is the confidence; one outside [0, 1] (raw detector
 * scores, the -1 of some trackers) is stored as 1, with a warning.
 */
export const parseMotDetections = (
  input: Uint8Array,
  ctx: MotDetectionsContext = {},
  limits: SafeZipLimits = {},
): { detections: MotDetection[]; warnings: Problem[]; errors: Problem[] } => {
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  const file = motFile(input, 'tracker.txt', errors, limits);
  if (!file) return { detections: [], warnings, errors };
  const rows = readMotRows(file, ctx.meta, errors);
  const labels = file.labels ?? (ctx.labels?.length ? ctx.labels : null);
  const fallback = defaultLabel({ labels: ctx.labels ?? [] });
  const detections: MotDetection[] = [];
  let rescored = 0;
  let past = 0;
  let firstRescored: string | undefined;
  let firstPast: string | undefined;
  for (const r of rows) {
    const label = labelOf(r, labels, fallback, errors);
    if (label === null) continue;
    let score = r.flag ?? 1;
    if (!(score >= 0 && score <= 1)) {
      score = 1;
      rescored++;
      firstRescored ??= r.place;
    }
    if (r.pastEdge) {
      past++;
      firstPast ??= r.place;
    }
    detections.push({ frame: r.frame, label, bbox: r.bbox, score, trackId: r.id === -1 ? null : String(r.id), detectionId: null });
  }
  summary('score_out_of_range', rescored, 'with a confidence outside [0, 1] stored with score 1', firstRescored, warnings);
  summary('box_past_edge', past, 'reaching past the image edge kept as written', firstPast, warnings);
  return { detections: errors.length ? [] : detections, warnings, errors };
};
