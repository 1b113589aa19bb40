/**
 * YOLO in, Darknet and Ultralytics alike. Recognises the layouts real exporters write:
 * `obj.data`/`obj.names`/`train.txt` (CVAT, Darknet), `classes.txt` + `labels/` (Label Studio,
 * older Roboflow), `_darknet.labels` (Roboflow's Darknet export), `data.yaml` with `names` as a
 * list or a map (Ultralytics, Roboflow), split folders before or after `images`/`labels`, and
 * list files whose paths carry prefixes that are not in the zip (`data/obj_train_data/…`).
 * Images without a label file (Ultralytics writes none for an empty image) and list entries keep
 * their place when frames follow name order. Every line is checked; every problem is reported
 * with `file:line`.
 *
 *   const r = parseYolo(zipBytes, { meta: { width: 1920, height: 1080 }, labels })
 */
import type { ImportContext, ImportResult } from './content.ts';
import { readDataYaml } from './data-yaml.ts';
import { mapFrames, stem, type FrameCandidate } from './frames.ts';
import { buildContent, isMacMetadata, parseNumberText, textLines, type FlatBox } from './imported.ts';
import { problem, problemsOf, type Problem } from './problems.ts';
import { readZip, type SafeZipLimits } from './safe-zip.ts';

const TEXT = /\.(txt|names|labels|data|ya?ml)$/i;
const IMAGE = /\.(jpe?g|png|bmp|webp|tiff?|gif)$/i;
const LIST_NAMES = new Set(['train.txt', 'val.txt', 'valid.txt', 'test.txt']);
/** Tolerance for normalised values a hair outside [0, 1] from rounding (clamped, not clipped). */
const HAIR = 1e-4;

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const dir = (path: string): string => path.slice(0, path.lastIndexOf('/') + 1);
const decoder = new TextDecoder('utf-8');

export const parseYolo = (input: Uint8Array, ctx: ImportContext = {}, limits: SafeZipLimits = {}): ImportResult => {
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  const empty = (): ImportResult => ({ content: { labels: {}, addedLabels: [], tracks: [], annotations: [] }, warnings, errors, frameRule: 'name_order' });
  let files: Map<string, Uint8Array>;
  // readZip asks `want` about every file once its names passed the checks: images are seen by
  // name here without being inflated.
  const images: string[] = [];
  try {
    files = readZip(input, {
      ...limits,
      want: (n) => {
        if (isMacMetadata(n)) return false;
        if (IMAGE.test(n)) images.push(n);
        return TEXT.test(n);
      },
    });
  } catch (e) {
    errors.push(...problemsOf(e));
    return empty();
  }
  const byBase = (name: string): string | undefined => [...files.keys()].find((n) => base(n) === base(name));

  // Class names: data.yaml, else the names file obj.data points at, else obj.names/*.names, else classes.txt.
  let names: string[] | null = null;
  let namesFile: string | undefined;
  const listFiles = new Set<string>();
  const yaml = [...files.keys()].filter((n) => /\.ya?ml$/i.test(n)).sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (yaml) {
    const y = readDataYaml(decoder.decode(files.get(yaml)!));
    for (const p of y.problems) errors.push(problem('yolo_names', p.message, `${yaml}:${p.line}`));
    if (y.names) [names, namesFile] = [y.names, yaml];
    for (const key of ['train', 'val', 'test']) {
      const p = y.paths[key];
      const hit = p?.endsWith('.txt') ? byBase(p) : undefined;
      if (hit) listFiles.add(hit);
    }
  }
  const objData = [...files.keys()].find((n) => /\.data$/i.test(n));
  if (objData) {
    for (const { text } of textLines(files.get(objData)!)) {
      const m = /^\s*(\w+)\s*=\s*(.+)$/.exec(text);
      if (!m) continue;
      const hit = byBase(m[2]!.trim());
      if (m[1] === 'names' && hit && !names) namesFile = hit;
      if ((m[1] === 'train' || m[1] === 'valid' || m[1] === 'test') && hit) listFiles.add(hit);
    }
  }
  namesFile ??=
    [...files.keys()].find((n) => /\.names$/i.test(n)) ??
    [...files.keys()].find((n) => base(n) === 'classes.txt') ??
    [...files.keys()].find((n) => /\.labels$/i.test(n));
  if (!names && namesFile) names = textLines(files.get(namesFile)!).map((l) => l.text.trim());
  if (!names) {
    errors.push(problem('yolo_no_names', 'no class names: expected data.yaml, obj.names (via obj.data), classes.txt or _darknet.labels', '/'));
    return empty();
  }
  for (const n of files.keys()) if (LIST_NAMES.has(base(n))) listFiles.add(n);

  const labelFiles = [...files.keys()].filter(
    (n) => n.toLowerCase().endsWith('.txt') && n !== namesFile && !listFiles.has(n) && !/readme/i.test(base(n)) && base(n) !== 'classes.txt',
  );
  const { width, height } = ctx.meta ?? {};
  if (!width || !height) {
    errors.push(problem('missing_image_size', 'YOLO boxes are normalised: the session needs width and height', '/'));
    return empty();
  }
  const { rule, frames, warning } = mapFrames(frameCandidates(labelFiles, images, listFiles, files), ctx.meta?.frameCount);
  if (warning) warnings.push(warning);
  const seenStems = new Map<string, string>();
  const boxes: FlatBox[] = [];
  for (const file of labelFiles) {
    const s = stem(file);
    if (seenStems.has(s)) warnings.push(problem('duplicate_frame_file', `${file} and ${seenStems.get(s)} name the same frame`, file));
    seenStems.set(s, file);
    for (const { line, text } of textLines(files.get(file)!)) {
      const box = yoloRow(text, `${file}:${line}`, names, width, height, warnings, errors);
      if (box) boxes.push({ id: `yolo:${file}:${line}`, frame: frames.get(file)!, ...box, trackId: null, keyframe: null, occluded: false, attributes: {}, place: `${file}:${line}` });
    }
  }
  const content = buildContent(boxes, ctx, { frameEnd: 0, warnings, errors });
  return { content, warnings, errors, frameRule: rule };
};

/**
 * Every frame the dataset names: label files, then images without one (beside the labels, or in
 * the `images` folder that mirrors a `labels` folder) and list entries without one, by base name
 * since list paths carry prefixes that are not in the zip.
 */
const frameCandidates = (labelFiles: string[], images: string[], listFiles: Set<string>, files: Map<string, Uint8Array>): FrameCandidate[] => {
  const out: FrameCandidate[] = labelFiles.map((n) => ({ key: n, name: base(n) }));
  const seen = new Set(labelFiles.map(stem));
  const labelDirs = new Set(labelFiles.map(dir));
  const add = (path: string): void => {
    const s = stem(path);
    if (seen.has(s)) return;
    seen.add(s);
    out.push({ key: `image:${path}`, name: base(path) });
  };
  for (const im of images) {
    const d = dir(im);
    if (labelDirs.has(d) || labelDirs.has(d.replace(/(^|\/)images\//, '$1labels/'))) add(im);
  }
  // Lists written on Windows carry backslashes.
  for (const list of listFiles) for (const { text } of textLines(files.get(list)!)) add(text.trim().replace(/\\/g, '/'));
  return out;
};

const yoloRow = (
  text: string,
  place: string,
  names: string[],
  width: number,
  height: number,
  warnings: Problem[],
  errors: Problem[],
): { bbox: [number, number, number, number]; label: string } | null => {
  const tokens = text.trim().split(/\s+/);
  const n = tokens.length;
  if (n !== 5) {
    const what = n === 6 ? 'a detection with a confidence (results, not ground truth)' : n === 9 ? 'an oriented box (OBB)' : n > 6 && (n - 1) % 2 === 0 ? 'a polygon or keypoints' : `a row of ${n} values`;
    errors.push(problem('unsupported_shape', `${what} is unsupported unless converted explicitly`, place));
    return null;
  }
  let ok = true;
  const values = tokens.map((t) => {
    const v = parseNumberText(t);
    if (v === null) {
      errors.push(problem('bad_number', `"${t}" is not a finite number`, place));
      ok = false;
    }
    return v ?? 0;
  });
  if (!ok) return null;
  const cls = values[0]!;
  if (!Number.isInteger(cls) || cls < 0 || cls >= names.length) {
    errors.push(problem('class_out_of_range', `class ${tokens[0]} is not in 0…${names.length - 1}`, place));
    return null;
  }
  let [cx, cy, w, h] = values.slice(1) as [number, number, number, number];
  const hair = [cx, cy, w, h].some((v) => (v < 0 && v > -HAIR) || (v > 1 && v < 1 + HAIR));
  if (hair) {
    [cx, cy, w, h] = [cx, cy, w, h].map((v) => Math.min(1, Math.max(0, v))) as [number, number, number, number];
    warnings.push(problem('clamped', 'values a hair outside [0, 1] were clamped', place));
  }
  if (w <= 0 || h <= 0) {
    errors.push(problem('bad_bbox', 'width and height must be positive', place));
    return null;
  }
  let x0 = cx - w / 2;
  let y0 = cy - h / 2;
  let x1 = cx + w / 2;
  let y1 = cy + h / 2;
  if (x0 < -HAIR || y0 < -HAIR || x1 > 1 + HAIR || y1 > 1 + HAIR) warnings.push(problem('box_clipped', 'the box reached outside the image and was clipped', place));
  else if (!hair && (x0 < 0 || y0 < 0 || x1 > 1 || y1 > 1)) warnings.push(problem('clamped', 'edges a hair outside [0, 1] were clamped', place));
  [x0, y0, x1, y1] = [x0, y0, x1, y1].map((v) => Math.min(1, Math.max(0, v))) as [number, number, number, number];
  if (x1 <= x0 || y1 <= y0) {
    errors.push(problem('box_outside', 'the box lies outside the image', place));
    return null;
  }
  return { bbox: [x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height], label: names[cls]! };
};
