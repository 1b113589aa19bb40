/**
 * Frame names and the rules that map imported image names back to frames.
 * Frames are 0-based everywhere in annosync; names carry six digits, more when needed.
 *
 *   frameName(123) // 'frame_000123'
 *   mapFrames([{ key: 'a', name: 'img_7.jpg' }]) // { rule: 'file_name_number', frames: Map{a → 7} }
 */
import type { FrameRule } from './content.ts';
import { problem, type Problem } from './problems.ts';

export const frameName = (frame: number, prefix = ''): string => `${prefix}frame_${String(frame).padStart(6, '0')}`;

/** The stem of a path: no folders, no extension. */
export const stem = (path: string): string => {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
};

/**
 * Roboflow renames every file `<stem>_<ext>.rf.<hex hash>.<ext>`; the hash's digits are no
 * frame number, so the suffix goes before the number is read.
 */
const ROBOFLOW_SUFFIX = /_(?:jpe?g|png|bmp|webp|tiff?|gif)\.rf\.[0-9a-f]+$/i;

/**
 * The frame number a file name carries: `frame_000123` first, else the last run of digits in
 * the stem (`video1_00042.jpg` → 42, `000017.txt` → 17). null when there is none.
 */
export const frameFromName = (path: string): number | null => {
  const s = stem(path).replace(ROBOFLOW_SUFFIX, '');
  const named = /frame_(\d+)$/.exec(s);
  const digits = named ?? /(\d+)(?!.*\d)/.exec(s);
  if (!digits) return null;
  const n = Number(digits[1]);
  return Number.isSafeInteger(n) ? n : null;
};

export interface FrameCandidate {
  key: string;
  name: string;
  /** COCO-VID frame_id, when the file has one. */
  frameId?: number | null;
}

/**
 * Made on first use: a collator loads ICU's collation tables, which a server that never maps frame
 * names would hold from start (the main thread's resident ICU data 2.7 → 1.1 MiB at "listening").
 */
let natural: Intl.Collator | null = null;
const naturalOrder = (a: string, b: string): number => (natural ??= new Intl.Collator('en', { numeric: true })).compare(a, b);

/**
 * COCO-VID `frame_id` when every image has one; else the number in every name when all names
 * have one inside the video (below `frameCount`, when known) and no two share it; else the
 * names' natural order. Numbers past the video are camera counters (`IMG_4032.jpg`) or
 * a 1-based dump that reaches the last frame, not frame indices; that fallback comes with a warning.
 */
export const mapFrames = (
  items: FrameCandidate[],
  frameCount?: number,
): { rule: FrameRule; frames: Map<string, number>; warning?: Problem } => {
  const frames = new Map<string, number>();
  const unique = (values: number[]): boolean => new Set(values).size === values.length;
  const ids = items.map((c) => c.frameId);
  if (items.length && ids.every((f): f is number => typeof f === 'number' && Number.isSafeInteger(f) && f >= 0) && unique(ids)) {
    items.forEach((c, k) => frames.set(c.key, ids[k]!));
    return { rule: 'frame_id', frames };
  }
  const numbers = items.map((c) => frameFromName(c.name));
  const inside = (n: number | null): n is number => n !== null && (!frameCount || n < frameCount);
  if (numbers.every(inside) && unique(numbers)) {
    items.forEach((c, k) => frames.set(c.key, numbers[k]!));
    return { rule: 'file_name_number', frames };
  }
  [...items].sort((a, b) => naturalOrder(a.name, b.name)).forEach((c, k) => frames.set(c.key, k));
  // Said aloud: the same file would have landed on other frames in a longer video.
  if (numbers.every((n) => n !== null) && unique(numbers)) {
    const warning = problem('frame_numbers_past_video', `file names number frames past the video's ${frameCount} frames: frames follow name order`, '/');
    return { rule: 'name_order', frames, warning };
  }
  return { rule: 'name_order', frames };
};
