/**
 * Mouse gestures on the canvas: drag on empty space draws a box, a click selects, dragging a box
 * moves it, dragging a corner of the selected box resizes it. While dragging only a preview
 * changes (drawn every animation frame); the document is written once, on release, so one
 * gesture is one update on the wire and one undo step.
 */
import type { BBox } from 'annosync/client';
import type { FrameBox } from './frame-boxes.ts';
import { clamp, hitTest, moved, resized, spanned, type Handle, type Point } from './geometry.ts';

export interface GestureTarget {
  boxes(): readonly FrameBox[];
  selectedKey(): string | null;
  select(key: string | null): void;
  preview(p: { key: string | null; bbox: BBox } | null): void;
  drew(bbox: BBox): void;
  changed(box: FrameBox, bbox: BBox): void;
}

/** Smallest box a drag draws, in image pixels (a click is not a box). */
const MIN_SIZE = 3;

type Drag =
  | { kind: 'draw'; from: Point; bbox: BBox | null }
  | { kind: 'move'; box: FrameBox; from: Point; bbox: BBox | null }
  | { kind: 'resize'; box: FrameBox; handle: Handle; bbox: BBox | null };

export function attachGestures(canvas: HTMLCanvasElement, target: GestureTarget): () => void {
  let drag: Drag | null = null;

  const toImage = (event: PointerEvent): Point => {
    const rect = canvas.getBoundingClientRect();
    return [((event.clientX - rect.left) * canvas.width) / rect.width, ((event.clientY - rect.top) * canvas.height) / rect.height];
  };
  const scale = () => canvas.width / Math.max(canvas.getBoundingClientRect().width, 1);

  const onDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    canvas.setPointerCapture(event.pointerId);
    const point = toImage(event);
    const hit = hitTest(target.boxes(), point, 7 * scale(), target.selectedKey());
    if (!hit) {
      target.select(null);
      drag = { kind: 'draw', from: point, bbox: null };
    } else if (hit.handle) {
      drag = { kind: 'resize', box: hit.box, handle: hit.handle, bbox: null };
    } else {
      target.select(hit.box.key);
      drag = { kind: 'move', box: hit.box, from: point, bbox: null };
    }
  };

  const onMove = (event: PointerEvent) => {
    if (!drag) return;
    const point = toImage(event);
    if (drag.kind === 'draw') drag.bbox = clamp(spanned(drag.from, point), canvas.width, canvas.height);
    else if (drag.kind === 'move') drag.bbox = clamp(moved(drag.box.bbox, point[0] - drag.from[0], point[1] - drag.from[1]), canvas.width, canvas.height);
    else drag.bbox = clamp(resized(drag.box.bbox, drag.handle, point), canvas.width, canvas.height);
    target.preview({ key: drag.kind === 'draw' ? null : drag.box.key, bbox: drag.bbox });
  };

  const onUp = () => {
    const done = drag;
    drag = null;
    target.preview(null);
    if (!done?.bbox) return;
    if (done.kind === 'draw') {
      if (done.bbox[2] >= MIN_SIZE && done.bbox[3] >= MIN_SIZE) target.drew(done.bbox);
    } else if (done.bbox[2] >= 1 && done.bbox[3] >= 1) {
      target.changed(done.box, done.bbox);
    }
  };

  canvas.addEventListener('pointerdown', onDown);
  canvas.addEventListener('pointermove', onMove);
  canvas.addEventListener('pointerup', onUp);
  canvas.addEventListener('pointercancel', onUp);
  return () => {
    canvas.removeEventListener('pointerdown', onDown);
    canvas.removeEventListener('pointermove', onMove);
    canvas.removeEventListener('pointerup', onUp);
    canvas.removeEventListener('pointercancel', onUp);
  };
}
