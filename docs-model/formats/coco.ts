/**
 * COCO instances JSON out: `categories` with stable ids (label order, 1-based),
 * `annotations` with `bbox` [x, y, w, h], `area`, `iscrowd` and the `attributes` CVAT and
 * Datumaro carry ({ trackId, track_id, annotationId, detectionId, occluded, status, keyframe, … }),
 * then `images` (frames with a box; every frame with allFrames), with the COCO-VID `video_id`
 * and `frame_id`. Written in that order so one pass over the frames suffices: JSON readers do
 * not care about key order.
 *
 *   for (const chunk of exportCoco(content, {}, { loss })) res.write(chunk)
 */
import type { Attributes } from '../types.ts';
import type { ExportOptions, ExportSession, ExportTarget, SessionContent } from './content.ts';
import { chunked } from './chunker.ts';
import { projectLabelOrder, walkFrames, type ExportBox } from './frame-walk.ts';
import { frameName } from './frames.ts';
import { addNote, emptyLoss, type LossReport } from './loss.ts';

/** A session of a COCO export; `videoPrefix` defaults to `${videoId}/` when more than one session is exported. */
export type CocoSession = Omit<ExportSession, 'videoPrefix'> & { videoPrefix?: string };

const cocoAttributes = (b: ExportBox, trackNumber: number | undefined, interpolationNone: boolean): Attributes => {
  const out: Attributes = { ...b.attributes, occluded: b.occluded, keyframe: b.keyframe };
  if (b.trackId !== null) {
    out.trackId = b.trackId;
    if (trackNumber !== undefined) out.track_id = trackNumber; // Datumaro/CVAT read an integer
    if (interpolationNone && b.keyframe) out.trackInterpolation = 'none';
  }
  if (b.annotationId !== null) out.annotationId = b.annotationId;
  if (b.detectionId !== null) out.detectionId = b.detectionId;
  if (b.status !== null) out.status = b.status;
  return out;
};

/** A whole project (several sessions) in one COCO file; frame names are prefixed by video. */
export function* exportCocoProject(
  sessions: CocoSession[],
  opts: ExportOptions = {},
  { loss = emptyLoss('coco') }: ExportTarget = {},
): Generator<Uint8Array> {
  yield* chunked(cocoText(sessions, opts, loss));
}

export const exportCoco = (content: SessionContent, opts: ExportOptions = {}, target: ExportTarget = {}): Generator<Uint8Array> =>
  exportCocoProject([{ content, videoPrefix: opts.videoPrefix ?? '' }], opts, target);

function* cocoText(sessions: CocoSession[], opts: ExportOptions, loss: LossReport): Generator<string> {
  const ext = opts.imageExt ?? '.jpg';
  const labels = projectLabelOrder(sessions);
  const categoryId = new Map(labels.map((l, k) => [l, k + 1]));
  const videos = sessions.map((s, k) => ({
    id: k + 1,
    name: s.content.meta.videoId,
    width: s.content.meta.width,
    height: s.content.meta.height,
    fps: s.content.meta.fps,
    frame_count: s.content.meta.frameCount,
  }));
  yield `{"info":${JSON.stringify({ description: 'annosync export', version: '1.0' })},"licenses":[],`;
  yield `"categories":${JSON.stringify(labels.map((name, k) => ({ id: k + 1, name, supercategory: '' })))},`;
  yield `"videos":${JSON.stringify(videos)},"annotations":[`;

  let annId = 0;
  let imageBase = 0;
  const images: { frames: number[]; base: number }[] = [];
  for (const [k, s] of sessions.entries()) {
    const { content } = s;
    countCocoLoss(content, loss);
    const trackNumber = new Map(content.tracks.map((t, n) => [t.id, n + 1]));
    const none = new Set(content.tracks.filter((t) => t.interpolation === 'none').map((t) => t.id));
    const frames: number[] = [];
    let maxFrame = -1;
    for (const { frame, boxes } of walkFrames(content, opts)) {
      maxFrame = frame;
      if (boxes.length || opts.allFrames) frames.push(frame);
      for (const b of boxes) {
        const [x, y, w, h] = b.bbox;
        const ann = {
          id: ++annId,
          image_id: imageBase + frame + 1,
          category_id: categoryId.get(b.label)!,
          bbox: [x, y, w, h],
          area: w * h,
          iscrowd: b.attributes.iscrowd === true ? 1 : 0,
          attributes: cocoAttributes(b, b.trackId === null ? undefined : trackNumber.get(b.trackId), b.trackId !== null && none.has(b.trackId)),
        };
        yield (annId === 1 ? '' : ',') + JSON.stringify(ann);
      }
    }
    images.push({ frames, base: imageBase });
    imageBase += maxFrame + 1;
    void k;
  }
  yield '],"images":[';
  let first = true;
  for (const [k, s] of sessions.entries()) {
    const prefix = s.videoPrefix ?? (sessions.length > 1 ? `${s.content.meta.videoId}/` : '');
    const { width, height } = s.content.meta;
    for (const frame of images[k]!.frames) {
      const image = {
        id: images[k]!.base + frame + 1,
        file_name: frameName(frame, prefix) + ext,
        width,
        height,
        video_id: k + 1,
        frame_id: frame,
      };
      yield (first ? '' : ',') + JSON.stringify(image);
      first = false;
    }
  }
  yield ']}';
}

/** Everything COCO loses is known from the content alone (loss-pass.ts counts with this too). */
export const countCocoLoss = (content: SessionContent, loss: LossReport): void => {
  for (const t of content.tracks) if (Object.keys(t.attributes).length) loss.trackFieldsDropped++;
  for (const a of content.annotations) {
    if (a.outside) loss.outsideKeyframes++;
  }
  if (loss.outsideKeyframes) addNote(loss, 'outside keyframes export as the absence of boxes; import rebuilds them from gaps');
  if (Object.values(content.labels).some((d) => d.color !== undefined || d.attributes !== undefined)) loss.metaDropped = true;
  addNote(loss, 'annotation source, authors and timestamps are not written');
};
