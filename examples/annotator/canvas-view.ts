/**
 * Draws one frame on the canvas, in image pixels (the canvas is the session's size; CSS scales
 * it): the video frame or a placeholder with the frame number, the boxes (interpolated ones
 * dashed), the selection with its handles, and the other annotators' selections in their colors.
 */
import type { BBox } from 'annosync/client';
import type { FrameBox } from './frame-boxes.ts';
import { corners } from './geometry.ts';

export interface PeerMark {
  name: string;
  color: string;
}

export interface ViewState {
  frame: number;
  boxes: readonly FrameBox[];
  selectedKey: string | null;
  /** A box being drawn (key null) or dragged, drawn instead of its stored geometry. */
  preview: { key: string | null; bbox: BBox } | null;
  /** Box key → the annotators who have it selected. */
  peerSelections: ReadonlyMap<string, PeerMark[]>;
  labelColor(label: string): string;
  /** The video when it plays from the video's uri; else a placeholder is drawn. */
  video: HTMLVideoElement | null;
}

export function createCanvasView(canvas: HTMLCanvasElement) {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas context');
  /** Handle size and line width in image pixels, so they look the same at any scale. */
  const unit = () => canvas.width / Math.max(canvas.getBoundingClientRect().width, 1);

  const backdrop = (state: ViewState) => {
    if (state.video && state.video.readyState >= 2) {
      ctx.drawImage(state.video, 0, 0, canvas.width, canvas.height);
      return;
    }
    ctx.fillStyle = '#2b2f36';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#59606b';
    ctx.font = `${Math.round(canvas.height / 6)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(`frame ${state.frame}`, canvas.width / 2, canvas.height / 2);
    ctx.textAlign = 'start';
    ctx.textBaseline = 'alphabetic';
  };

  const box = (bbox: BBox, color: string, label: string, opts: { dashed: boolean; selected: boolean; u: number }) => {
    const [x, y, w, h] = bbox;
    ctx.strokeStyle = color;
    ctx.lineWidth = (opts.selected ? 3 : 1.5) * opts.u;
    ctx.setLineDash(opts.dashed ? [6 * opts.u, 4 * opts.u] : []);
    ctx.strokeRect(x, y, w, h);
    ctx.setLineDash([]);
    ctx.fillStyle = color;
    ctx.fillText(label, x + 2 * opts.u, y - 3 * opts.u);
    if (!opts.selected) return;
    const r = 4 * opts.u;
    for (const [cx, cy] of Object.values(corners(bbox))) ctx.fillRect(cx - r, cy - r, 2 * r, 2 * r);
  };

  return {
    render(state: ViewState): void {
      const u = unit();
      backdrop(state);
      ctx.font = `${Math.round(12 * u)}px system-ui, sans-serif`;
      for (const b of state.boxes) {
        const bbox = state.preview && state.preview.key === b.key ? state.preview.bbox : b.bbox;
        box(bbox, state.labelColor(b.label), b.interpolated ? `${b.label} ·` : b.label, { dashed: b.interpolated, selected: b.key === state.selectedKey, u });
        const peers = state.peerSelections.get(b.key);
        if (!peers) continue;
        peers.forEach((peer, i) => {
          const pad = (4 + 3 * i) * u;
          ctx.strokeStyle = peer.color;
          ctx.lineWidth = 2 * u;
          ctx.strokeRect(bbox[0] - pad, bbox[1] - pad, bbox[2] + 2 * pad, bbox[3] + 2 * pad);
          ctx.fillStyle = peer.color;
          ctx.fillText(peer.name, bbox[0] - pad, bbox[1] + bbox[3] + pad + 12 * u);
        });
      }
      if (state.preview && state.preview.key === null) box(state.preview.bbox, '#ffffff', 'new', { dashed: true, selected: false, u });
    },
  };
}
