/**
 * The YOLO label line shared by Darknet and Ultralytics: class index, then normalised
 * cx cy w h with 6 decimals, clamped to [0, 1] so that no loader drops the image.
 */
import type { BBox } from '../types.ts';
import type { ExportBox } from './frame-walk.ts';
import type { LossReport } from './loss.ts';
import { addNote } from './loss.ts';
import type { SessionContent } from './content.ts';

export const YOLO_DECIMALS = 6;

/** The image a line is written for, and the report its clipping is counted in. */
export interface YoloImage {
  width: number;
  height: number;
  loss: LossReport;
}

/** The line for one box, or null when nothing of it is inside the image. */
export const yoloLine = (cls: number, bbox: BBox, { width, height, loss }: YoloImage): string | null => {
  const x0 = Math.max(0, bbox[0]);
  const y0 = Math.max(0, bbox[1]);
  const x1 = Math.min(width, bbox[0] + bbox[2]);
  const y1 = Math.min(height, bbox[1] + bbox[3]);
  if (x0 !== bbox[0] || y0 !== bbox[1] || x1 !== bbox[0] + bbox[2] || y1 !== bbox[1] + bbox[3]) loss.boxesClipped++;
  if (x1 <= x0 || y1 <= y0) {
    addNote(loss, 'boxes entirely outside the image are not written');
    return null;
  }
  const f = (v: number): string => Math.min(1, Math.max(0, v)).toFixed(YOLO_DECIMALS);
  return `${cls} ${f((x0 + x1) / 2 / width)} ${f((y0 + y1) / 2 / height)} ${f((x1 - x0) / width)} ${f((y1 - y0) / height)}`;
};

/** What YOLO cannot hold of one box. */
export const countYoloLoss = (b: ExportBox, loss: LossReport): void => {
  if (Object.keys(b.attributes).length) loss.attributesDropped++;
  if (b.status !== null) loss.statusesDropped++;
  if (b.detectionId !== null || b.occluded || b.annotationId !== null) loss.fieldsDropped++;
};

/** Loss known before the walk: tracks, meta, rounding. */
export const countYoloSessionLoss = (content: SessionContent, loss: LossReport): void => {
  loss.tracksFlattened += content.tracks.length;
  loss.trackFieldsDropped += content.tracks.filter((t) => Object.keys(t.attributes).length).length;
  loss.outsideKeyframes += content.annotations.filter((a) => a.outside).length;
  loss.metaDropped = true;
  // cx and w are each rounded by half a unit in the 6th decimal; an edge moves by at most both.
  loss.roundingBoundPx = Math.max(loss.roundingBoundPx, 10 ** -YOLO_DECIMALS * Math.max(content.meta.width, content.meta.height));
  addNote(loss, 'YOLO holds class and box only: track ids, annotation ids, attributes, statuses and occlusion are not written');
};
