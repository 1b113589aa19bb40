/**
 * Model detections as runners write them: CSV (RFC 4180: comma, optional "quoted" fields) or TSV
 * (IANA text/tab-separated-values: tab, no quoting), one detection per line under a header that
 * names the columns `frame,label,x,y,w,h,score`, optionally `trackId` and `detectionId`, in any
 * order (names are matched without regard to case). Checked by the rules of the detections
 * endpoint (server/api/detection-input.ts, test-run-schemas.ts): frame an integer ≥ 0 and below
 * the video's frameCount, the box through `checkBbox` (finite, w and h > 0, inside the frame or
 * clipped with `clip`), a label of 1–256 characters, a score in [0, 1], ids of 1–256 characters.
 * Every problem is reported with its place `<file>:<line>:<column>` (the first `maxErrors`), and
 * nothing is returned as valid while any remains, so a caller stores all or nothing.
 *
 *   const r = parseDetectionsCsv('frame,label,x,y,w,h,score\n0,car,1,2,30,40,0.9\n', { meta })
 *   r.errors   // []
 *   r.detections // [{ frame: 0, label: 'car', bbox: [1, 2, 30, 40], score: 0.9, trackId: null, detectionId: null }]
 */
import { checkBbox } from '../annotation-validation.ts';
import type { BBox, SessionMeta } from '../types.ts';
import { problem, type Problem } from './problems.ts';
import { repeatedTrackBox, TrackBoxKeys } from '../tracking/track-box-keys.ts';

export const DETECTION_COLUMNS = ['frame', 'label', 'x', 'y', 'w', 'h', 'score'] as const;
export const OPTIONAL_DETECTION_COLUMNS = ['trackId', 'detectionId'] as const;
const MAX_TEXT = 256;

export interface CsvDetection {
  frame: number;
  label: string;
  bbox: BBox;
  score: number;
  trackId: string | null;
  detectionId: string | null;
}

export interface DetectionsCsvOptions {
  /** The video: frames must be below frameCount and boxes inside width × height. */
  meta?: Pick<SessionMeta, 'width' | 'height' | 'frameCount'>;
  /** Clip boxes that cross the frame edge instead of refusing them. */
  clip?: boolean;
  /** Name in error places; default 'detections.csv'. */
  fileName?: string;
  /** Problems listed at most (the count goes on); default 100. */
  maxErrors?: number;
}

export interface DetectionsCsvResult {
  delimiter: ',' | '\t';
  /** Empty when there is any error. */
  detections: CsvDetection[];
  errors: Problem[];
  /** Every problem found, also past maxErrors. */
  errorCount: number;
}

/** Splits one CSV line into fields; a string is the problem when quotes are unbalanced. */
const splitCsv = (line: string): string[] | string => {
  const out: string[] = [];
  let k = 0;
  for (;;) {
    if (line[k] === '"') {
      let value = '';
      k++;
      for (;;) {
        const q = line.indexOf('"', k);
        if (q < 0) return 'a quoted field is not closed on its line';
        value += line.slice(k, q);
        if (line[q + 1] === '"') {
          value += '"';
          k = q + 2;
          continue;
        }
        k = q + 1;
        break;
      }
      if (k < line.length && line[k] !== ',') return 'text after a closing quote';
      out.push(value);
    } else {
      const c = line.indexOf(',', k);
      out.push(line.slice(k, c < 0 ? line.length : c));
      k = c < 0 ? line.length : c;
    }
    if (k >= line.length) return out;
    k++; // the comma
  }
};

/** A number as CSV writes it: decimal or exponent notation, nothing else ('' is no number). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const toNumber = (text: string): number | null => (NUMBER.test(text.trim()) ? Number(text.trim()) : null);

export function parseDetectionsCsv(input: string | Uint8Array, opts: DetectionsCsvOptions = {}): DetectionsCsvResult {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
  const file = opts.fileName ?? 'detections.csv';
  const maxErrors = opts.maxErrors ?? 100;
  const errors: Problem[] = [];
  let errorCount = 0;
  const fail = (line: number, column: string | null, code: string, message: string): void => {
    errorCount++;
    if (errors.length < maxErrors) errors.push(problem(code, column === null ? message : `${column}: ${message}`, `${file}:${line}${column === null ? '' : `:${column}`}`));
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0] ?? '';
  const delimiter: ',' | '\t' = header.includes('\t') ? '\t' : ',';
  const split = (line: string): string[] | string => (delimiter === '\t' ? line.split('\t') : splitCsv(line));
  const result = (detections: CsvDetection[]): DetectionsCsvResult => ({ delimiter, detections: errorCount ? [] : detections, errors, errorCount });

  const names = split(header);
  if (typeof names === 'string' || header.trim() === '') {
    fail(1, null, 'csv_header', `the first line must be a header naming ${DETECTION_COLUMNS.join(', ')}`);
    return result([]);
  }
  const known = new Map<string, string>([...DETECTION_COLUMNS, ...OPTIONAL_DETECTION_COLUMNS].map((c) => [c.toLowerCase(), c]));
  const column = new Map<string, number>();
  names.forEach((raw, k) => {
    const name = known.get(raw.trim().toLowerCase());
    if (!name) fail(1, raw.trim() || `column ${k + 1}`, 'csv_header', `unknown column (expected ${[...DETECTION_COLUMNS, ...OPTIONAL_DETECTION_COLUMNS].join(', ')})`);
    else if (column.has(name)) fail(1, name, 'csv_header', 'the column appears twice');
    else column.set(name, k);
  });
  for (const name of DETECTION_COLUMNS) if (!column.has(name)) fail(1, name, 'csv_header', 'required column missing from the header');
  if (errorCount) return result([]);

  const meta = opts.meta;
  const detections: CsvDetection[] = [];
  const repeats = new TrackBoxKeys<number>();
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k]!;
    const at = k + 1;
    if (line.trim() === '') continue;
    const fields = split(line);
    if (typeof fields === 'string') {
      fail(at, null, 'csv_syntax', fields);
      continue;
    }
    if (fields.length !== names.length) {
      fail(at, null, 'csv_columns', `${fields.length} field(s), the header has ${names.length}`);
      continue;
    }
    const get = (name: string): string => fields[column.get(name)!]!;
    const before = errorCount;
    const num = (name: string): number => {
      const v = toNumber(get(name));
      if (v === null || !Number.isFinite(v)) fail(at, name, 'invalid_number', `${JSON.stringify(get(name))} is not a finite number`);
      return v ?? Number.NaN;
    };
    const frame = num('frame');
    if (Number.isFinite(frame) && (!Number.isSafeInteger(frame) || frame < 0)) fail(at, 'frame', 'invalid_frame', 'frame must be an integer >= 0');
    else if (Number.isFinite(frame) && meta && frame >= meta.frameCount) fail(at, 'frame', 'invalid_frame', `frame must be < frameCount (${meta.frameCount})`);
    const label = get('label').trim();
    if (label.length === 0 || label.length > MAX_TEXT) fail(at, 'label', 'invalid_label', `label must be 1–${MAX_TEXT} characters`);
    const bbox: BBox = [num('x'), num('y'), num('w'), num('h')];
    const score = num('score');
    if (Number.isFinite(score) && (score < 0 || score > 1)) fail(at, 'score', 'invalid_score', 'score must be in [0, 1]');
    const optional = (name: string): string | null => {
      if (!column.has(name)) return null;
      const v = get(name).trim();
      if (v.length > MAX_TEXT) fail(at, name, 'invalid_value', `${name} must be at most ${MAX_TEXT} characters`);
      return v === '' ? null : v;
    };
    const trackId = optional('trackId');
    const detectionId = optional('detectionId');
    if (bbox.every(Number.isFinite)) {
      const check = checkBbox(bbox, meta ? { sessionId: '', projectId: '', videoId: '', fps: 1, ...meta } : null, { clip: opts.clip ?? false });
      if (check.error) fail(at, 'x,y,w,h', check.error.code, check.error.message);
      else if (errorCount === before) {
        const earlier = repeats.add(label, frame, trackId, at);
        if (earlier !== undefined) fail(at, 'trackId', 'repeated_track_box', repeatedTrackBox({ trackId: trackId!, label, on: `frame ${frame}` }, `line ${earlier}`));
        else detections.push({ frame, label, bbox: check.bbox!, score, trackId, detectionId });
      }
    }
  }
  return result(detections);
}
