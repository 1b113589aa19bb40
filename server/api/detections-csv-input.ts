/**
 * Detections posted as CSV or TSV (`POST /api/test-runs/:id/detections?format=csv`, text/csv or
 * text/tab-separated-values), the way model runners write them: a header naming
 * frame,label,x,y,w,h,score[,trackId,detectionId] (docs-model/formats/detections-csv.ts). Checked
 * against the run's video as JSON detections are; all or nothing, every problem placed at
 * `detections.csv:line:column` (422).
 *
 *   await csvDetections(importParser, body, { video, clip: false })  // → DetectionRecord[], read in the import parser's worker
 */
import type { ImportParser } from '../services/import-parser.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import type { VideoRecord } from '../../persistence/rows.ts';
import { ValidationError } from '../base/errors.ts';
import type { BodyLimits } from './body.ts';
import { MAX_BULK_DETECTIONS } from './test-run-schemas.ts';

/** 50 000 rows of CSV are ~2.5 MB; room for long labels and ids. */
export const CSV_DETECTION_LIMITS: BodyLimits = {
  'text/csv': 16 * 1024 * 1024,
  'text/tab-separated-values': 16 * 1024 * 1024,
};

export async function csvDetections(parser: Pick<ImportParser, 'parseDetections'>, body: Uint8Array, opts: { video: VideoRecord; clip: boolean }): Promise<DetectionRecord[]> {
  const { video } = opts;
  const r = await parser.parseDetections('csv', body, { meta: { width: video.width, height: video.height, frameCount: video.frameCount }, clip: opts.clip });
  if (r.errorCount > 0) {
    const first = r.errors[0]!;
    throw new ValidationError(
      `detections are not valid: ${r.errorCount} problem(s), first at ${first.place}: ${first.message}`,
      r.errors.map(({ code, message, place }) => ({ code, message, place })),
      'invalid_detections',
    );
  }
  if (r.detections.length === 0) throw new ValidationError('the file holds no detections', [{ code: 'empty', message: 'no rows after the header', place: 'detections.csv:2' }], 'invalid_detections');
  if (r.detections.length > MAX_BULK_DETECTIONS) {
    throw new ValidationError(`${r.detections.length} detections in one request: at most ${MAX_BULK_DETECTIONS}`, [
      { code: 'too_many', message: `send at most ${MAX_BULK_DETECTIONS} rows per request`, place: `detections.csv:${MAX_BULK_DETECTIONS + 2}` },
    ], 'invalid_detections');
  }
  return r.detections;
}
