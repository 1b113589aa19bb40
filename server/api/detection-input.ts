/**
 * Detections posted to a run, checked as annotations are: the frame within the video,
 * a finite box with w, h > 0 inside the frame (clipped instead with `clip`), 0 ≤ score ≤ 1. Every
 * problem is reported at once (the first MAX_DETAILS), naming `[index].field`; nothing is stored
 * unless all pass.
 *
 * COCO results (`[{ image_id, category_id, bbox, score }]`, what pycocotools' loadRes reads) map
 * back the way annosync's COCO export numbers things: image_id = frame + 1, category_id = the
 * label's 1-based position in the session's label order (`labelOrder`).
 *
 *   await toDetections(body, { format: 'coco', video, labels: ['car', 'person'] })  // → DetectionRecord[]
 *
 * In slices with a turn of the event loop between them (base/loop-slices.ts): parsed and checked
 * at once, 50 000 detections held the loop ~0.2-0.4 s (`npm run bench:detections-upload`, the
 * longest wait of another client's GET, on either database).
 */
import { checkBbox, type SessionMeta } from '../../docs-model/index.ts';
import { InputTooLargeError, UnsafeInputError, type Problem } from '../../docs-model/formats/index.ts';
import type { DetectionsFile, ImportParser } from '../services/import-parser.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import type { VideoRecord } from '../../persistence/rows.ts';
import { PayloadTooLargeError, ValidationError, type ErrorDetail } from '../base/errors.ts';
import { parseInputInSlices } from './body.ts';
import { finishInSlices } from '../base/loop-slices.ts';
import { repeatedTrackBox, TrackBoxKeys } from '../../docs-model/tracking/track-box-keys.ts';
import { CocoResultList, DetectionList } from './test-run-schemas.ts';

const MAX_DETAILS = 100;

export interface DetectionInputOptions {
  format: 'native' | 'coco';
  video: VideoRecord;
  /** The session's labels in COCO export order (coco only). */
  labels?: readonly string[];
  clip?: boolean;
}

export async function toDetections(body: unknown[], opts: DetectionInputOptions): Promise<DetectionRecord[]> {
  const { video } = opts;
  const meta: SessionMeta = { sessionId: '', projectId: '', videoId: video.id, width: video.width, height: video.height, fps: video.fps, frameCount: video.frameCount };
  const details: ErrorDetail[] = [];
  const problem = (index: number, field: string, code: string, message: string): void => {
    if (details.length < MAX_DETAILS) details.push({ field: `[${index}].${field}`, code, message, index });
  };
  type Raw = { frame: number; bbox: [number, number, number, number]; label: string | null; score: number; detectionId: string | null; trackId: string | null };
  // Each item is read into its record inside the sliced steps below: mapped over all 50 000 at
  // once (an object spread each), the mapping alone held the loop ~80 ms (a CPU profile under
  // `npm run bench:detections-upload`).
  let count: number;
  let rawAt: (i: number) => Raw;
  if (opts.format === 'coco') {
    const labels = opts.labels ?? [];
    const parsed = await parseInputInSlices(CocoResultList, body);
    count = parsed.length;
    rawAt = (i) => {
      const r = parsed[i]!;
      const label = labels[r.category_id - 1] ?? null;
      if (label === null) problem(i, 'category_id', 'unknown_category', `no category ${r.category_id}: the session's COCO export has ${labels.length}`);
      return { frame: r.image_id - 1, bbox: r.bbox, label, score: r.score, detectionId: r.id === undefined ? null : String(r.id), trackId: r.track_id ?? null };
    };
  } else {
    const parsed = await parseInputInSlices(DetectionList, body);
    count = parsed.length;
    rawAt = (i) => {
      const d = parsed[i]!;
      return { frame: d.frame, bbox: d.bbox, label: d.label, score: d.score, detectionId: d.detectionId ?? null, trackId: d.trackId ?? null };
    };
  }
  const out: DetectionRecord[] = [];
  const frameField = opts.format === 'coco' ? 'image_id' : 'frame';
  const trackField = opts.format === 'coco' ? 'track_id' : 'trackId';
  const repeats = new TrackBoxKeys<number>();
  // One step per detection, run in slices (a generator's steps: no promise per item).
  function* checks(): Generator<void> {
    for (let i = 0; i < count; i++) {
      const d = rawAt(i);
      if (d.frame >= video.frameCount) problem(i, frameField, 'invalid_frame', `frame must be < frameCount (${video.frameCount})`);
      const box = checkBbox(d.bbox, meta, { clip: opts.clip ?? false });
      if (box.error) problem(i, 'bbox', box.error.code, box.error.message);
      if (box.bbox && d.label !== null && d.frame < video.frameCount) {
        const earlier = repeats.add(d.label, d.frame, d.trackId, i);
        if (earlier === undefined) out.push({ frame: d.frame, bbox: box.bbox, label: d.label, score: d.score, detectionId: d.detectionId, trackId: d.trackId });
        else problem(i, trackField, 'repeated_track_box', repeatedTrackBox({ trackId: d.trackId!, label: d.label, on: opts.format === 'coco' ? `image_id ${d.frame + 1}` : `frame ${d.frame}` }, `[${earlier}]`));
      }
      yield;
    }
  }
  await finishInSlices(checks());
  if (details.length > 0) {
    const first = details[0] as ErrorDetail;
    throw new ValidationError(`detections are not valid (${first.field}: ${first.message})`, details);
  }
  return out;
}

/**
 * Tracker output or det.txt (MOTChallenge, docs/formats.md): the MOT id becomes `trackId`, class
 * ids are positions in the session's label order (else labels.txt in a zip, else MOT16's classes).
 * Boxes reaching past the image edge are kept as written (MOT scores them unclipped) and come back
 * as a warning; every refusal is placed `file:line:field`, and nothing is stored unless all pass.
 * Read in the import parser's worker: on the event loop, 50 000 rows held it 145-245 ms (and a CSV
 * of as many 160-260 ms).
 */
export async function motDetections(
  parser: Pick<ImportParser, 'parseDetections'>,
  body: Uint8Array,
  opts: { video: VideoRecord; labels: readonly string[] },
): Promise<{ detections: DetectionRecord[]; warnings: Problem[] }> {
  const { video } = opts;
  let parsed: Pick<DetectionsFile, 'detections' | 'warnings' | 'errors'>;
  try {
    parsed = await parser.parseDetections('mot', body, { meta: { width: video.width, height: video.height, frameCount: video.frameCount }, labels: opts.labels });
  } catch (err) {
    if (err instanceof InputTooLargeError) throw new PayloadTooLargeError(err.message, { code: err.code, place: err.place });
    if (err instanceof UnsafeInputError) parsed = { detections: [], warnings: [], errors: err.problems };
    else throw err;
  }
  const { errors } = parsed;
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new ValidationError(
      `detections are not valid: ${errors.length} problem(s), first: ${first.message} (${first.place})`,
      errors.slice(0, MAX_DETAILS).map(({ code, message, place }) => ({ code, message, place })),
    );
  }
  if (parsed.detections.length === 0) throw new ValidationError('the file holds no detections', [{ code: 'empty', message: 'no rows', place: '/' }]);
  return { detections: parsed.detections, warnings: parsed.warnings };
}
