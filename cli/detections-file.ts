/**
 * Reads a detections file the way model runners write them, for `annosync run`: a JSON array of
 * detections (`{ frame, bbox, label, score, trackId?, detectionId? }`), COCO results (`[{ image_id,
 * category_id, bbox, score }]`, recognised by `image_id`), or CSV/TSV with a header
 * (docs-model/formats/detections-csv.ts; problems are reported by line before anything is sent).
 * The server checks frames and boxes against the video; the CLI only checks the file's shape.
 */
import { parseDetectionsCsv } from '../docs-model/formats/detections-csv.ts';
import { InputFileError } from './errors.ts';

export interface DetectionsFile {
  /** `coco` items go to the server with ?format=coco, the rest as they are. */
  format: 'native' | 'coco';
  items: unknown[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readDetections(bytes: Uint8Array, file: string): DetectionsFile {
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
  const r = parseDetectionsCsv(text, { fileName: file });
  if (r.errorCount > 0) {
    const first = r.errors[0]!;
    throw new InputFileError(`${file}: ${r.errorCount} problem(s), first at ${first.place}: ${first.message}`, r.errors);
  }
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
    const frame = f.format === 'coco' ? Number((d as { image_id?: unknown }).image_id) - 1 : Number((d as { frame?: unknown }).frame);
    if (Number.isFinite(frame) && frame > max) max = frame;
  }
  return max;
};
