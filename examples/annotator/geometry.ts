/**
 * Box geometry in image pixels: which box or handle is under the pointer, and the box a move or
 * a resize gives. Handles are the four corners.
 *
 *   hitTest(boxes, [12, 12], 6) // → { box, handle: 'nw' } | { box, handle: null } | null
 */
import type { BBox } from 'annosync/client';

export type Handle = 'nw' | 'ne' | 'sw' | 'se';
export type Point = [x: number, y: number];

export const corners = ([x, y, w, h]: BBox): Record<Handle, Point> => ({
  nw: [x, y],
  ne: [x + w, y],
  sw: [x, y + h],
  se: [x + w, y + h],
});

/** The selected box's handle under the point, else the smallest box containing it. */
export function hitTest<T extends { key: string; bbox: BBox }>(
  boxes: readonly T[],
  point: Point,
  handleRadius: number,
  selectedKey: string | null,
): { box: T; handle: Handle | null } | null {
  const selected = boxes.find((b) => b.key === selectedKey);
  if (selected) {
    for (const [handle, [cx, cy]] of Object.entries(corners(selected.bbox)) as [Handle, Point][]) {
      if (Math.abs(point[0] - cx) <= handleRadius && Math.abs(point[1] - cy) <= handleRadius) return { box: selected, handle };
    }
  }
  let best: T | null = null;
  for (const box of boxes) {
    const [x, y, w, h] = box.bbox;
    if (point[0] < x || point[0] > x + w || point[1] < y || point[1] > y + h) continue;
    if (!best || w * h < best.bbox[2] * best.bbox[3]) best = box;
  }
  return best ? { box: best, handle: null } : null;
}

/** The box spanned by two points, in either order. */
export const spanned = (a: Point, b: Point): BBox => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1])];

export const moved = ([x, y, w, h]: BBox, dx: number, dy: number): BBox => [x + dx, y + dy, w, h];

/** The box after dragging `handle` to `to`: the opposite corner stays. */
export function resized(bbox: BBox, handle: Handle, to: Point): BBox {
  const c = corners(bbox);
  const opposite: Record<Handle, Handle> = { nw: 'se', ne: 'sw', sw: 'ne', se: 'nw' };
  return spanned(c[opposite[handle]], to);
}

/** Keeps a box inside the frame, shrinking it if needed. */
export function clamp([x, y, w, h]: BBox, width: number, height: number): BBox {
  const cw = Math.min(w, width);
  const ch = Math.min(h, height);
  return [Math.min(Math.max(x, 0), width - cw), Math.min(Math.max(y, 0), height - ch), cw, ch];
}
