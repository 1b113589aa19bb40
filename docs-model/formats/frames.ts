/**
 * Frame names and the rules that map imported image names back to frames (issue 4).
 * Frames are 0-based everywhere in annosync; names carry six digits, more when needed.
 *
 *   frameName(123) // 'frame_000123'
 *   mapFrames([{ key: 'a', name: 'img_7.jpg' }]) // { rule: 'file_name_number', frames: Map{a → 7} }
 */
import type { FrameRule } from './content.ts';

export const frameName = (frame: number, prefix = ''): string => `${prefix}frame_${String(frame).padStart(6, '0')}`;

/** The stem of a path: no folders, no extension. */
export const stem = (path: string): string => {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
};

/**
 * The frame number a file name carries: `frame_000123` first, else the last run of digits in
 * the stem (`video1_00042.jpg` → 42, `000017.txt` → 17). null when there is none.
 */
export const frameFromName = (path: string): number | null => {
  const s = stem(path);
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

const natural = new Intl.Collator('en', { numeric: true });

/**
 * COCO-VID `frame_id` when every image has one; else the number in every name when all names
 * have one and no two share it; else the names' natural order.
 */
export const mapFrames = (items: FrameCandidate[]): { rule: FrameRule; frames: Map<string, number> } => {
  const frames = new Map<string, number>();
  const unique = (values: number[]): boolean => new Set(values).size === values.length;
  const ids = items.map((c) => c.frameId);
  if (items.length && ids.every((f): f is number => typeof f === 'number' && Number.isSafeInteger(f) && f >= 0) && unique(ids)) {
    items.forEach((c, k) => frames.set(c.key, ids[k]!));
    return { rule: 'frame_id', frames };
  }
  const numbers = items.map((c) => frameFromName(c.name));
  if (numbers.every((n): n is number => n !== null) && unique(numbers)) {
    items.forEach((c, k) => frames.set(c.key, numbers[k]!));
    return { rule: 'file_name_number', frames };
  }
  [...items].sort((a, b) => natural.compare(a.name, b.name)).forEach((c, k) => frames.set(c.key, k));
  return { rule: 'name_order', frames };
};
