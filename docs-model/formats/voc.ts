/**
 * Pascal VOC out and in: one XML per frame in a zip (`Annotations/`,
 * `ImageSets/Main/default.txt`, `loss.json`).
 *
 * Coordinates: with `vocOffset: 0` (default) xmin = x, ymin = y, xmax = x + w, ymax = y + h,
 * as-is in pixels — the convention CVAT, Datumaro and FiftyOne read and write. With
 * `vocOffset: 1`, xmin = x + 1 and ymin = y + 1 (the VOC devkit's 1-based pixel indices,
 * xmax/ymax unchanged): use it for tools that subtract 1 from xmin/ymin on reading (the original
 * devkit, detectron2's `load_voc_instances`). mmdetection's `XMLDataset` subtracts 1 from all four
 * and torchvision's `VOCDetection` returns the raw strings (docs/formats.md). The importer takes
 * the same option.
 * Track ids, annotation ids, statuses and user attributes travel CVAT-style in `<attributes>`.
 *
 *   for (const chunk of exportVoc(content, { vocOffset: 1 }, { loss })) res.write(chunk)
 */
import type { Attributes } from '../types.ts';
import type { ExportOptions, ExportSession, ImportContext, ImportResult, SessionContent } from './content.ts';
import { walkFrames, type ExportBox } from './frame-walk.ts';
import { frameName, mapFrames, stem, type FrameCandidate } from './frames.ts';
import { buildContent, clipBox, isMacMetadata, parseNumberText, textLines, type FlatBox } from './imported.ts';
import { isAnnotationStatus } from '../types.ts';
import { addNote, type LossReport } from './loss.ts';
import { problem, problemsOf, type Problem } from './problems.ts';
import { looksLikeZip, readZip, type SafeZipLimits } from './safe-zip.ts';
import { parseSafeXml, type SafeXmlLimits } from './safe-xml.ts';
import { singleSessionExport, zipProjectExport } from './zip-export.ts';
import type { ZipEntryInput } from './zip-writer.ts';

const esc = (s: string): string => (!/[&<>"]/.test(s) ? s : s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'));
const FIELD_KEYS = new Set(['trackId', 'track_id', 'annotationId', 'keyframe', 'status', 'detectionId', 'trackInterpolation']);

const objectXml = (b: ExportBox, offset: number, interpolationNone: boolean, loss: LossReport): string => {
  const [x, y, w, h] = b.bbox;
  countVocBoxLoss(b, loss);
  const attrs: [string, string][] = [];
  for (const [k, v] of Object.entries(b.attributes)) attrs.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  if (b.trackId !== null) attrs.push(['trackId', b.trackId], ['keyframe', String(b.keyframe)]);
  if (interpolationNone && b.keyframe) attrs.push(['trackInterpolation', 'none']);
  if (b.annotationId !== null) attrs.push(['annotationId', b.annotationId]);
  if (b.status !== null) attrs.push(['status', b.status]);
  if (b.detectionId !== null) attrs.push(['detectionId', b.detectionId]);
  return (
    `  <object>\n    <name>${esc(b.label)}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n` +
    `    <occluded>${b.occluded ? 1 : 0}</occluded>\n` +
    `    <bndbox><xmin>${x + offset}</xmin><ymin>${y + offset}</ymin><xmax>${x + w}</xmax><ymax>${y + h}</ymax></bndbox>\n` +
    (attrs.length ? `    <attributes>${attrs.map(([k, v]) => `<attribute><name>${esc(k)}</name><value>${esc(v)}</value></attribute>`).join('')}</attributes>\n` : '') +
    '  </object>\n'
  );
};

/** What VOC cannot hold of a session, known before the walk (loss-pass.ts counts with this too). */
export const countVocSessionLoss = (content: SessionContent, opts: ExportOptions, loss: LossReport): void => {
  loss.trackFieldsDropped += content.tracks.filter((t) => Object.keys(t.attributes).length).length;
  loss.outsideKeyframes += content.annotations.filter((a) => a.outside).length;
  loss.metaDropped ||= Object.values(content.labels).some((d) => d.color !== undefined || d.attributes !== undefined);
  if (opts.vocOffset) addNote(loss, 'vocOffset=1: xmin/ymin are written 1-based (devkit convention)');
};

/** VOC attributes are text: values of other types are written as JSON strings. */
export const countVocBoxLoss = (b: ExportBox, loss: LossReport): void => {
  for (const v of Object.values(b.attributes)) if (typeof v !== 'string') loss.attributesDropped++;
};

/**
 * One frame's XML piece by piece, made as the zip writer asks: one object's text is alive at a
 * time. Built whole, a frame's 40 KB outlived young-generation collections and a 900 000-box
 * export promoted ~45 MB of it (RSS < 200 MB).
 */
function* frameXml(head: string, boxes: ExportBox[], offset: number, none: Set<string>, loss: LossReport): Generator<string> {
  yield head;
  for (const b of boxes) yield objectXml(b, offset, b.trackId !== null && none.has(b.trackId), loss);
  yield '</annotation>\n';
}

export function* vocEntries(sessions: ExportSession[], opts: ExportOptions, loss: LossReport): Generator<ZipEntryInput> {
  const offset = opts.vocOffset ?? 0;
  const ext = opts.imageExt ?? '.jpg';
  const listed: string[] = [];
  for (const { content, videoPrefix } of sessions) {
    const { width, height, videoId } = content.meta;
    const none = new Set(content.tracks.filter((t) => t.interpolation === 'none').map((t) => t.id));
    countVocSessionLoss(content, opts, loss);
    const size = `  <source><database>annosync</database></source>\n  <size><width>${width}</width><height>${height}</height><depth>3</depth></size>\n  <segmented>0</segmented>\n`;
    for (const { frame, boxes } of walkFrames(content, opts)) {
      if (!boxes.length && !opts.allFrames) continue;
      const name = frameName(frame, videoPrefix);
      listed.push(name);
      const head = `<?xml version="1.0" encoding="utf-8"?>\n<annotation>\n  <folder>${esc(videoId)}</folder>\n  <filename>${esc(name + ext)}</filename>\n${size}`;
      yield { name: `Annotations/${name}.xml`, data: frameXml(head, boxes, offset, none, loss) };
    }
  }
  yield { name: 'ImageSets/Main/default.txt', data: [listed.map((n) => n + '\n').join('')] };
  yield { name: 'loss.json', data: [JSON.stringify(loss, null, 2)] };
}

/** Several sessions in one zip: `Annotations/<videoId>/frame_000123.xml`, one image set listing all. */
export const exportVocProject = zipProjectExport('voc', vocEntries);

export const exportVoc = singleSessionExport(exportVocProject);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

const IMAGE = /\.(jpe?g|png|bmp|webp|tiff?|gif)$/i;
const IMAGE_SET = /(^|\/)ImageSets\/Main\/[^/]+\.txt$/i;
/** Segmentation masks share their image's name; they are not frames of their own. */
const SEGMENTATION = /(^|\/)Segmentation\w*\//i;
/** Attributes read as fields on import: the exported ones, and `occluded` as CVAT writes it. */
const FIELD_ATTRIBUTES = new Set([...FIELD_KEYS, 'occluded']);
const baseOf = (path: string): string => path.slice(path.replace(/\\/g, '/').lastIndexOf('/') + 1);

/**
 * A single VOC XML, or a zip of them (any folder; `Annotations/` as written by every tool).
 * Images without an XML (`JPEGImages/`) and ids listed in `ImageSets/Main/*.txt` keep their
 * place when frames follow name order, as an image with no objects does.
 */
export const parseVoc = (input: string | Uint8Array, ctx: ImportContext = {}, limits: SafeZipLimits & SafeXmlLimits = {}): ImportResult => {
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  let files: Map<string, Uint8Array | string>;
  const images: string[] = [];
  const imageSets = new Map<string, Uint8Array>();
  try {
    files =
      typeof input !== 'string' && looksLikeZip(input)
        ? new Map([
            ...readZip(input, {
              ...limits,
              // Asked once per file after the names were checked: images are noted, not inflated.
              want: (n) => {
                if (isMacMetadata(n)) return false;
                if (IMAGE.test(n) && !SEGMENTATION.test(n)) images.push(n);
                return /\.xml$/i.test(n) || IMAGE_SET.test(n);
              },
            }),
          ])
        : new Map([['annotation.xml', input]]);
    for (const [n, bytes] of files) {
      if (!IMAGE_SET.test(n)) continue;
      imageSets.set(n, bytes as Uint8Array);
      files.delete(n);
    }
  } catch (e) {
    errors.push(...problemsOf(e));
    return { content: { labels: {}, addedLabels: [], tracks: [], annotations: [] }, warnings, errors, frameRule: 'name_order' };
  }
  const docs: { file: string; root: Obj; name: string }[] = [];
  for (const [file, bytes] of files) {
    let tree: unknown;
    try {
      tree = parseSafeXml(bytes, file, { ...limits, arrays: ['object', 'attribute'] });
    } catch (e) {
      errors.push(...problemsOf(e));
      continue;
    }
    const root = isObj(tree) ? tree.annotation : undefined;
    if (!isObj(root)) {
      errors.push(problem('voc_invalid', 'no <annotation> root element', file));
      continue;
    }
    docs.push({ file, root, name: text(root.filename) ?? file });
  }
  // By base name: `<filename>` may carry a folder, image-set ids carry none.
  const candidates: FrameCandidate[] = docs.map((d) => ({ key: d.file, name: baseOf(d.name) }));
  const seen = new Set(candidates.map((c) => stem(c.name)));
  const add = (name: string): void => {
    if (!name || seen.has(stem(name))) return;
    seen.add(stem(name));
    candidates.push({ key: `image:${name}`, name });
  };
  for (const im of images) add(baseOf(im));
  // Lines are image ids, in per-class sets followed by a 1/-1/0 flag.
  for (const bytes of imageSets.values()) for (const { text } of textLines(bytes)) add(text.trim().split(/\s+/)[0]!);
  const { rule, frames, warning } = mapFrames(candidates, ctx.meta?.frameCount);
  if (warning) warnings.push(warning);
  const offset = ctx.vocOffset ?? 0;
  const boxes: FlatBox[] = [];
  for (const { file, root } of docs) {
    const size = isObj(root.size) ? root.size : {};
    // An empty or 0 size (tools that did not know it) falls back to the session's; text that is no number is refused.
    const dimension = (key: 'width' | 'height'): number | null => {
      const raw = (text(size[key]) ?? '').trim();
      const v = parseNumberText(raw);
      if (raw !== '' && (v === null || v < 0)) errors.push(problem('bad_number', `<${key}> "${raw}" is not a size`, `${file}:/annotation/size/${key}`));
      return v || ctx.meta?.[key] || null;
    };
    const width = dimension('width');
    const height = dimension('height');
    const objects = Array.isArray(root.object) ? root.object : [];
    objects.forEach((o: unknown, k) => {
      const at = `${file}:/annotation/object/${k}`;
      if (!isObj(o) || !text(o.name)) return void errors.push(problem('voc_invalid', 'an object needs a <name>', at));
      if (!isObj(o.bndbox)) {
        const shape = o.polygon !== undefined ? 'a polygon' : o.keypoints !== undefined ? 'keypoints' : 'an object without <bndbox>';
        return void errors.push(problem('unsupported_shape', `${shape} is unsupported unless converted explicitly`, at));
      }
      const bb = o.bndbox;
      const num = (key: string): number | null => {
        const raw = text(bb[key]) ?? '';
        const v = parseNumberText(raw.trim());
        if (v === null) errors.push(problem('bad_number', `<${key}> "${raw}" is not a finite number`, `${at}/bndbox/${key}`));
        return v;
      };
      const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map(num);
      if (xmin === null || ymin === null || xmax === null || ymax === null) return;
      const x = xmin! - offset;
      const y = ymin! - offset;
      let bbox: [number, number, number, number] = [x, y, xmax! - x, ymax! - y];
      if (bbox[2] <= 0 || bbox[3] <= 0) return void errors.push(problem('bad_bbox', 'xmax/ymax must be past xmin/ymin', `${at}/bndbox`));
      if (width && height) {
        const clipped = clipBox(bbox, width, height);
        if (!clipped) return void errors.push(problem('box_outside', 'the box lies outside the image', `${at}/bndbox`));
        if (clipped.some((v, i) => v !== bbox[i])) {
          warnings.push(problem('box_clipped', 'the box reached outside the image and was clipped', `${at}/bndbox`));
          bbox = clipped;
        }
      }
      const attrs: Record<string, string> = {};
      const list = isObj(o.attributes) && Array.isArray(o.attributes.attribute) ? o.attributes.attribute : [];
      for (const a of list) if (isObj(a) && text(a.name)) attrs[text(a.name)!] = text(a.value) ?? '';
      const user: Attributes = {};
      for (const [key, v] of Object.entries(attrs)) if (!FIELD_ATTRIBUTES.has(key)) user[key] = v;
      for (const flag of ['truncated', 'difficult'] as const) if (text(o[flag]) === '1') user[flag] = true;
      const box: FlatBox = {
        id: attrs.annotationId || `voc:${file}:${k}`,
        frame: frames.get(file)!,
        bbox,
        label: text(o.name)!,
        trackId: attrs.trackId || attrs.track_id || null,
        keyframe: attrs.keyframe === undefined ? null : attrs.keyframe === 'true',
        occluded: text(o.occluded) === '1' || attrs.occluded === 'true',
        detectionId: attrs.detectionId || null,
        attributes: user,
        place: at,
      };
      if (attrs.status !== undefined && isAnnotationStatus(attrs.status)) box.status = attrs.status as FlatBox['status'] & string;
      if (attrs.trackInterpolation === 'none') box.interpolation = 'none';
      boxes.push(box);
    });
  }
  let frameEnd = ctx.meta?.frameCount ?? 0;
  for (const f of frames.values()) frameEnd = Math.max(frameEnd, f + 1);
  return { content: buildContent(boxes, ctx, { frameEnd, warnings, errors }), warnings, errors, frameRule: rule };
};
