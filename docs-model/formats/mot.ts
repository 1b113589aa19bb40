/**
 * MOTChallenge ground truth out, in CVAT's "MOT 1.1" layout: a zip with `gt/gt.txt`, `gt/labels.txt`
 * and `loss.json` (docs/formats.md, "MOTChallenge").
 *
 *   frame,id,x,y,w,h,not_ignored,class_id,visibility     1,3,794.2,47.5,71.2,174.8,1,1,1
 *
 * One line per visible box, frames 1-based, in frame order. Tracks keep their identity: each track
 * gets a positive integer id (tracks in id order, 1, 2, …), and every box in no track an id of its
 * own after them; the mapping is the loss report's `idMap`. `class_id` is the 1-based line of the
 * label in `labels.txt`. Coordinates are written as stored, with no ±1 shift and no clipping, in
 * JavaScript's shortest exact decimal form (a re-import reads the same numbers). `not_ignored` is 0
 * for a box whose attributes say `ignored: true` (an imported `not_ignored = 0` row), else 1;
 * `visibility` is the box's `visibility` attribute when it is a number in [0, 1], else 0 for an
 * occluded box and 1 otherwise.
 *
 *   for (const chunk of exportMot(content, {}, { loss })) res.write(chunk)
 */
import { compareStrings } from '../values.ts';
import type { ExportOptions, ExportSession, SessionContent } from './content.ts';
import { projectLabelOrder, walkFrames, type ExportBox } from './frame-walk.ts';
import { addNote, type LossReport } from './loss.ts';
import { singleSessionExport, zipProjectExport } from './zip-export.ts';
import type { ZipEntryInput } from './zip-writer.ts';
import { TextChunker } from './chunker.ts';

/** Attributes MOT itself carries (columns 7 and 9, and the import's edge flag): not counted as lost. */
export const MOT_ATTRIBUTES: ReadonlySet<string> = new Set(['ignored', 'visibility', 'pastImageEdge']);

/** Our ids → MOT ids: tracks first (in id order), then boxes in no track (by frame, then id). */
export interface MotIdMap {
  tracks: Record<string, number>;
  boxes: Record<string, number>;
}

/** The ids one session's export writes; `start` is the first id (1, or past a previous session's). */
export function motIdMap(content: SessionContent, start = 1): MotIdMap {
  let next = start;
  const tracks: [string, number][] = [];
  const known = new Set(content.tracks.map((t) => t.id));
  for (const id of [...known].sort(compareStrings)) tracks.push([id, next++]);
  const lone = content.annotations
    .filter((a) => !a.outside && (a.trackId === null || !known.has(a.trackId)))
    .sort((a, b) => a.frame - b.frame || compareStrings(a.id, b.id));
  const boxes: [string, number][] = lone.map((a) => [a.id, next++]);
  return { tracks: Object.fromEntries(tracks), boxes: Object.fromEntries(boxes) };
}

const hasOwnAttributes = (b: ExportBox): boolean => Object.keys(b.attributes).some((k) => !MOT_ATTRIBUTES.has(k));

/** What MOT cannot hold of one box (gtLines counts the same, with its per-segment cache). */
export const countMotBoxLoss = (b: ExportBox, loss: LossReport): void => {
  if (hasOwnAttributes(b)) loss.attributesDropped++;
  if (b.status !== null) loss.statusesDropped++;
  if (b.detectionId !== null) loss.fieldsDropped++;
};

/** Loss known before the walk; also fills `idMap`. */
export const countMotSessionLoss = (content: SessionContent, loss: LossReport): MotIdMap => {
  loss.trackFieldsDropped += content.tracks.filter((t) => Object.keys(t.attributes).length || t.interpolation === 'none').length;
  loss.outsideKeyframes += content.annotations.filter((a) => a.outside).length;
  loss.metaDropped ||= Object.values(content.labels).some((d) => d.color !== undefined || d.attributes !== undefined);
  const start = loss.idMap ? Object.keys(loss.idMap.tracks).length + Object.keys(loss.idMap.boxes).length + 1 : 1;
  const ids = motIdMap(content, start);
  loss.idMap = { tracks: { ...loss.idMap?.tracks, ...ids.tracks }, boxes: { ...loss.idMap?.boxes, ...ids.boxes } };
  addNote(loss, 'MOT writes every frame of a track: which boxes were keyframes is not kept (each becomes one on import)');
  addNote(loss, 'annotation ids, statuses, detection links and attributes other than ignored/visibility are not written');
  return ids;
};

const visibilityOf = (b: ExportBox): number => {
  const v = b.attributes.visibility;
  return typeof v === 'number' && v >= 0 && v <= 1 ? v : b.occluded ? 0 : 1;
};

/** What a box's line ends with, and whether it drops attributes: computed once per attributes object. */
interface Tail {
  attributes: object;
  occluded: boolean;
  label: string;
  text: string;
  dropsAttributes: boolean;
}

/** One session's `gt.txt`, in chunks. */
function* gtLines(content: SessionContent, opts: ExportOptions, loss: LossReport, classes: Map<string, number>): Generator<Uint8Array> {
  const ids = countMotSessionLoss(content, loss);
  const chunker = new TextChunker();
  // Interpolated boxes of one track segment share their attributes object: their line ends alike,
  // so 900 000 boxes cost a few thousand attribute checks, not 900 000.
  const tails = new Map<number, Tail>();
  for (const { frame, boxes } of walkFrames(content, opts)) {
    const head = `${frame + 1},`;
    for (const b of boxes) {
      const id = b.trackId !== null && Object.hasOwn(ids.tracks, b.trackId) ? ids.tracks[b.trackId]! : ids.boxes[b.annotationId!]!;
      let tail = tails.get(id);
      if (!tail || tail.attributes !== b.attributes || tail.occluded !== b.occluded || tail.label !== b.label) {
        tail = {
          attributes: b.attributes,
          occluded: b.occluded,
          label: b.label,
          text: `,${b.attributes.ignored === true ? 0 : 1},${classes.get(b.label)},${visibilityOf(b)}\n`,
          dropsAttributes: hasOwnAttributes(b),
        };
        tails.set(id, tail);
      }
      if (tail.dropsAttributes) loss.attributesDropped++;
      if (b.status !== null) loss.statusesDropped++;
      if (b.detectionId !== null) loss.fieldsDropped++;
      const out = chunker.add(`${head}${id},${b.bbox[0]},${b.bbox[1]},${b.bbox[2]},${b.bbox[3]}${tail.text}`);
      if (out) yield out;
    }
  }
  const rest = chunker.flush();
  if (rest) yield rest;
}

export function* motEntries(sessions: ExportSession[], opts: ExportOptions, loss: LossReport): Generator<ZipEntryInput> {
  const labels = projectLabelOrder(sessions);
  const classes = new Map(labels.map((l, k) => [l, k + 1]));
  const labelsText = labels.map((l) => l + '\n').join('');
  for (const { content, videoPrefix } of sessions) {
    yield { name: `${videoPrefix}gt/gt.txt`, data: gtLines(content, opts, loss, classes) };
    yield { name: `${videoPrefix}gt/labels.txt`, data: [labelsText] };
  }
  yield { name: 'loss.json', data: [JSON.stringify(loss, null, 2)] };
}

/** Several sessions in one zip: `<videoId>/gt/gt.txt` each, ids numbered on across sessions, one label list. */
export const exportMotProject = zipProjectExport('mot', motEntries);

export const exportMot = singleSessionExport(exportMotProject);
