/**
 * COCO instances JSON in, with or without the COCO-VID extension (`videos`,
 * `video_id`, `frame_id`, `track_id`/`instance_id`). Handles what real files contain (category ids
 * with gaps or from 0, annotation id 0, iscrowd as 0/1/true/false/"false", missing optional and
 * extra keys, boxes partly outside the image); refuses results arrays, duplicate ids, non-finite
 * numbers and rows that are not boxes, each with its JSON pointer. Every problem is collected.
 *
 *   const { content, errors, frameRule } = parseCoco(bytes, { labels: session.labels })
 */
import type { Attributes, BBox, Interpolation } from '../types.ts';
import type { ImportContext, ImportResult } from './content.ts';
import { mapFrames, type FrameCandidate } from './frames.ts';
import { buildContent, clipBox, isFiniteNumber, type FlatBox } from './imported.ts';
import { isAnnotationStatus } from '../types.ts';
import { problem, type Problem } from './problems.ts';
import { parseSafeJson, type SafeJsonLimits } from './safe-json.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys of `attributes` that annosync and CVAT/Datumaro use for fields, not user attributes. */
const FIELD_KEYS = new Set(['trackId', 'track_id', 'annotationId', 'detectionId', 'occluded', 'status', 'keyframe', 'trackInterpolation', 'outside']);

const emptyResult = (warnings: Problem[], errors: Problem[]): ImportResult => ({
  content: { labels: {}, addedLabels: [], tracks: [], annotations: [] },
  warnings,
  errors,
  frameRule: 'frame_id',
});

/** 0/1, true/false, and the strings of either in any case (`"False"` from Python's str()). */
const crowdFlag = (v: unknown): boolean | null => {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if (s === undefined || s === null || s === 0 || s === false || s === 'false' || s === '0') return false;
  if (s === 1 || s === true || s === 'true' || s === '1') return true;
  return null;
};

const idText = (v: unknown): string | null =>
  (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v !== '') ? String(v) : null;

export const parseCoco = (input: string | Uint8Array, ctx: ImportContext = {}, limits: SafeJsonLimits = {}): ImportResult => {
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  const parsed = parseSafeJson(input, limits);
  errors.push(...parsed.problems);
  const root = parsed.value;
  const reported = new Set(parsed.problems.map((p) => p.place));
  if (Array.isArray(root)) {
    errors.push(problem('coco_results', 'a COCO results array (detections with scores) belongs to a test run, not to ground truth', '/'));
    return emptyResult(warnings, errors);
  }
  if (!isObj(root)) {
    if (parsed.value !== undefined) errors.push(problem('coco_invalid', 'a COCO file is a JSON object', '/'));
    return emptyResult(warnings, errors);
  }
  const list = (key: string): unknown[] => {
    const v = root[key];
    if (v === undefined) return [];
    if (Array.isArray(v)) return v;
    errors.push(problem('coco_invalid', `"${key}" must be an array`, `/${key}`));
    return [];
  };

  const categories = new Map<string, string>();
  list('categories').forEach((c, k) => {
    const at = `/categories/${k}`;
    const id = isObj(c) ? idText(c.id) : null;
    if (!isObj(c) || id === null || typeof c.name !== 'string' || c.name === '') {
      errors.push(problem('coco_invalid', 'a category needs an integer id and a name', at));
    } else if (categories.has(id)) errors.push(problem('duplicate_id', `category id ${id} appears twice`, `${at}/id`));
    else categories.set(id, c.name);
  });

  const images = new Map<string, { at: string; width: number | null; height: number | null; video: string | null }>();
  const candidates: FrameCandidate[] = [];
  list('images').forEach((im, k) => {
    const at = `/images/${k}`;
    const id = isObj(im) ? idText(im.id) : null;
    if (!isObj(im) || id === null) return void errors.push(problem('coco_invalid', 'an image needs an integer id', at));
    if (images.has(id)) return void errors.push(problem('duplicate_id', `image id ${id} appears twice`, `${at}/id`));
    const size = (key: 'width' | 'height'): number | null => {
      const v = im[key];
      if (v === undefined || v === null) return null;
      if (isFiniteNumber(v) && v > 0) return v;
      errors.push(problem('bad_number', `${key} must be a positive number`, `${at}/${key}`));
      return null;
    };
    images.set(id, { at, width: size('width'), height: size('height'), video: idText(im.video_id) });
    const frameId = im.frame_id ?? im.frame_index;
    candidates.push({ key: id, name: typeof im.file_name === 'string' ? im.file_name : id, frameId: typeof frameId === 'number' ? frameId : null });
  });
  if (new Set([...images.values()].map((i) => i.video)).size > 1) {
    warnings.push(problem('multiple_videos', 'images of several videos are imported into one session', '/images'));
  }
  const { rule, frames, warning } = mapFrames(candidates, ctx.meta?.frameCount);
  if (warning) warnings.push(warning);

  const boxes: FlatBox[] = [];
  const annIds = new Map<string, string>();
  list('annotations').forEach((a, k) => {
    const at = `/annotations/${k}`;
    if (!isObj(a)) return void errors.push(problem('coco_invalid', 'an annotation is an object', at));
    const id = idText(a.id);
    if (id === null) errors.push(problem('coco_invalid', 'an annotation needs an integer id', `${at}/id`));
    else if (annIds.has(id)) return void errors.push(problem('duplicate_id', `annotation id ${id} appears twice (first at ${annIds.get(id)})`, `${at}/id`));
    else annIds.set(id, at);
    const imageId = idText(a.image_id);
    const image = imageId === null ? undefined : images.get(imageId);
    if (!image) errors.push(problem('unknown_image', `image_id ${String(a.image_id)} is not in images`, `${at}/image_id`));
    const label = categories.get(idText(a.category_id) ?? '');
    if (label === undefined) errors.push(problem('unknown_category', `category_id ${String(a.category_id)} is not in categories`, `${at}/category_id`));
    const raw = a.bbox;
    if (raw === undefined && (a.segmentation !== undefined || a.keypoints !== undefined)) {
      return void errors.push(problem('unsupported_shape', 'polygons and keypoints without a bbox are unsupported unless converted explicitly', at));
    }
    if (!Array.isArray(raw) || raw.length !== 4) return void errors.push(problem('bad_bbox', 'bbox must be [x, y, w, h]', `${at}/bbox`));
    const bad = raw.findIndex((v) => !isFiniteNumber(v));
    if (bad >= 0 && reported.has(`${at}/bbox/${bad}`)) return;
    if (bad >= 0) return void errors.push(problem('bad_number', `${JSON.stringify(raw[bad])} is not a finite number`, `${at}/bbox/${bad}`));
    let bbox = raw as BBox;
    if (bbox[2] <= 0 || bbox[3] <= 0) return void errors.push(problem('bad_bbox', 'bbox width and height must be positive', `${at}/bbox`));
    if (a.score !== undefined) warnings.push(problem('score_ignored', 'a ground-truth annotation with a score: the score is ignored', `${at}/score`));
    const crowd = crowdFlag(a.iscrowd);
    if (crowd === null) errors.push(problem('bad_value', `iscrowd ${JSON.stringify(a.iscrowd)} is not 0/1/true/false`, `${at}/iscrowd`));

    const attrs: Obj = isObj(a.attributes) ? a.attributes : {};
    if (a.attributes !== undefined && !isObj(a.attributes)) warnings.push(problem('attributes_ignored', 'attributes is not an object', `${at}/attributes`));
    const user: Attributes = {};
    for (const [key, v] of Object.entries(attrs)) if (!FIELD_KEYS.has(key)) user[key] = v;
    if (crowd) {
      user.iscrowd = true;
      warnings.push(problem('iscrowd_kept', 'an iscrowd box is kept and flagged in attributes', `${at}/iscrowd`));
    }
    const trackId = idText(attrs.trackId) ?? idText(attrs.track_id) ?? idText(a.track_id) ?? idText(a.instance_id);
    const status = attrs.status;
    if (status !== undefined && !isAnnotationStatus(status)) {
      warnings.push(problem('status_ignored', `status ${JSON.stringify(status)} is not draft/validated/rejected`, `${at}/attributes/status`));
    }
    if (!image || label === undefined || id === null) return;
    const width = image.width ?? ctx.meta?.width ?? null;
    const height = image.height ?? ctx.meta?.height ?? null;
    if (width !== null && height !== null) {
      const clipped = clipBox(bbox, width, height);
      if (!clipped) return void errors.push(problem('box_outside', 'the box lies outside the image', `${at}/bbox`));
      if (clipped.some((v, i) => v !== bbox[i])) {
        warnings.push(problem('box_clipped', 'the box reached outside the image and was clipped', `${at}/bbox`));
        bbox = clipped;
      }
    }
    const box: FlatBox = {
      id: typeof attrs.annotationId === 'string' && attrs.annotationId ? attrs.annotationId : `coco-${id}`,
      frame: frames.get(imageId!)!,
      bbox: [bbox[0], bbox[1], bbox[2], bbox[3]],
      label,
      trackId,
      keyframe: typeof attrs.keyframe === 'boolean' ? attrs.keyframe : null,
      occluded: attrs.occluded === true || attrs.occluded === 1 || attrs.occluded === 'true',
      detectionId: typeof attrs.detectionId === 'string' ? attrs.detectionId : null,
      attributes: user,
      place: at,
    };
    if (isAnnotationStatus(status)) box.status = status as FlatBox['status'] & string;
    if (attrs.trackInterpolation === 'none') box.interpolation = 'none' satisfies Interpolation;
    boxes.push(box);
  });

  // The session's frame count, else the one our exports write in `videos`, else the last image.
  let frameEnd = ctx.meta?.frameCount ?? 0;
  if (!frameEnd) for (const v of list('videos')) if (isObj(v) && isFiniteNumber(v.frame_count)) frameEnd = Math.max(frameEnd, v.frame_count);
  for (const f of frames.values()) frameEnd = Math.max(frameEnd, f + 1);
  const content = buildContent(boxes, ctx, { frameEnd, warnings, errors });
  return { content, warnings, errors, frameRule: rule };
};
