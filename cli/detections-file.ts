/**
 * Reads a detections file the way model runners write them, for `annosync run`: a JSON array of
 * detections (`{ frame, bbox, label, score, trackId?, detectionId? }`), COCO results (`[{ image_id,
 * category_id, bbox, score }]`, recognised by `image_id`), CSV/TSV with a header
 * (docs-model/formats/detections-csv.ts), or MOTChallenge tracker output (`frame,id,x,y,w,h,conf,…`
 * with no header, recognised by its first line: docs-model/formats/mot-import.ts). Problems are
 * reported by line before anything is sent. The server checks frames and boxes against the video
 * (and, for MOT, class ids against the session's labels); the CLI only checks the file's shape.
 */
import { parseDetectionsCsv } from '../docs-model/formats/detections-csv.ts';
import { parseNumberText, textLines } from '../docs-model/formats/imported.ts';
import { readMotRows } from '../docs-model/formats/mot-import.ts';
import { looksLikeZip } from '../docs-model/formats/safe-zip.ts';
import type { Problem } from '../docs-model/formats/problems.ts';
import { InputFileError } from './errors.ts';

/** One line of a MOTChallenge text as the file has it, with its 1-based line number and 0-based frame. */
export interface MotLine {
  line: number;
  text: string;
  frame: number;
}

export interface DetectionsFile {
  /**
   * `coco` items go to the server with ?format=coco; `mot` items are lines (MotLine) sent as text
   * with ?format=mot, which keeps boxes past the image edge as MOT scoring wants; the rest as they are.
   */
  format: 'native' | 'coco' | 'mot';
  items: unknown[];
}

/** How a MOT line's values are separated (commas, or blanks), as docs-model's `readMotRows` reads them. */
const MOT_SEPARATOR = /\s*,\s*|\s+/;

/** The first line of MOTChallenge text: 6 to 10 numbers, no header. */
const looksLikeMot = (line: string): boolean => {
  const tokens = line.trim().split(MOT_SEPARATOR);
  return tokens.length >= 6 && tokens.length <= 10 && tokens.every((t) => parseNumberText(t) !== null);
};

/** A file refused before anything is sent: `count` problems (the list may hold fewer), the first named. */
const refused = (file: string, errors: readonly Problem[], count = errors.length): InputFileError => {
  const first = errors[0]!;
  return new InputFileError(`${file}: ${count} problem(s), first at ${first.place}: ${first.message}`, errors.map(({ code, message, place }) => ({ code, message, place })));
};

function readMot(bytes: Uint8Array, file: string): DetectionsFile {
  const errors: Problem[] = [];
  readMotRows({ bytes, name: file }, {}, errors);
  if (errors.length > 0) throw refused(file, errors);
  const items: MotLine[] = textLines(bytes).map(({ line, text }) => ({ line, text, frame: Number(text.trim().split(MOT_SEPARATOR)[0]) - 1 }));
  return { format: 'mot', items };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readDetections(bytes: Uint8Array, file: string): DetectionsFile {
  // A zip (CVAT's MOT 1.1 export, a MOTChallenge submission) would otherwise read as a CSV without a header.
  if (looksLikeZip(bytes)) throw new InputFileError(`${file} is a zip: pass the file inside it (a tracker's <sequence>.txt, a detections JSON or CSV)`);
  const text = new TextDecoder('utf-8').decode(bytes);
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (/\.json$/i.test(file) || trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new InputFileError(`${file} is not JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new InputFileError(`${file}: detections are a JSON array`);
    const bad = parsed.findIndex((d) => !isObject(d));
    if (bad >= 0) throw new InputFileError(`${file}: [${bad}] is not an object`, [{ code: 'invalid_value', message: 'not an object', place: `${file}:/${bad}` }]);
    const coco = parsed.length > 0 && 'image_id' in (parsed[0] as object);
    return { format: coco ? 'coco' : 'native', items: parsed };
  }
  const firstLine = trimmed.slice(0, trimmed.indexOf('\n') + 1 || undefined);
  if (looksLikeMot(firstLine)) return readMot(bytes, file);
  const r = parseDetectionsCsv(text, { fileName: file });
  if (r.errorCount > 0) throw refused(file, r.errors, r.errorCount);
  return {
    format: 'native',
    // trackId kept: a tracker's CSV is scored with its tracks (CLEAR MOT, identity, HOTA).
    items: r.detections.map((d) => ({
      frame: d.frame,
      bbox: d.bbox,
      label: d.label,
      score: d.score,
      ...(d.trackId === null ? {} : { trackId: d.trackId }),
      ...(d.detectionId === null ? {} : { detectionId: d.detectionId }),
    })),
  };
}

/** The highest frame a detection names (image_id - 1 for COCO), or -1. */
export const lastFrame = (f: DetectionsFile, items: readonly unknown[]): number => {
  let max = -1;
  for (const d of items) {
    // A MOT line's frame is 0-based already (MotLine); COCO numbers images from 1.
    const frame = f.format === 'coco' ? Number((d as { image_id?: unknown }).image_id) - 1 : Number((d as { frame?: unknown }).frame);
    if (Number.isFinite(frame) && frame > max) max = frame;
  }
  return max;
};

/**
 * The request body of a chunk of the file's items: JSON, or for MOT the lines as text, preceded by
 * as many empty lines as the file has before the chunk's first, so the server's refusals
 * (`tracker.txt:<line>:<field>`) and warnings name the line of the whole file.
 */
export function chunkBody(f: DetectionsFile, chunk: readonly unknown[]): { body: string; contentType: string } {
  if (f.format !== 'mot') return { body: JSON.stringify(chunk), contentType: 'application/json' };
  const lines = chunk as readonly MotLine[];
  return { body: '\n'.repeat(Math.max(0, (lines[0]?.line ?? 1) - 1)) + lines.map((l) => l.text).join('\n') + '\n', contentType: 'text/plain' };
}
