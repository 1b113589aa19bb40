/**
 * The annotation workspace of one open session: frame stepping, the canvas with its gestures,
 * labels and track mode, undo/redo, the others' presence (a list, and their selections outlined
 * in their colors), and the save-status badge.
 */
import {
  describeSaveState,
  getLabels,
  getMeta,
  saveState,
  warnBeforeUnload,
  type AnnotationSession,
  type Peer,
} from 'annosync/client';
import { createCanvasView, type PeerMark, type ViewState } from './canvas-view.ts';
import { deleteBox, drawBox, endTrack, relabel, setBox } from './edits.ts';
import { frameBoxes, type FrameBox } from './frame-boxes.ts';
import { attachGestures } from './gestures.ts';

export interface WorkspaceElements {
  canvas: HTMLCanvasElement;
  frameInput: HTMLInputElement;
  frameCount: HTMLElement;
  labelSelect: HTMLSelectElement;
  trackMode: HTMLInputElement;
  buttons: { prev: HTMLButtonElement; next: HTMLButtonElement; undo: HTMLButtonElement; redo: HTMLButtonElement; del: HTMLButtonElement; outside: HTMLButtonElement };
  peers: HTMLUListElement;
  status: HTMLElement;
}

export interface Workspace {
  frame(): number;
  setFrame(frame: number): void;
  boxes(): readonly FrameBox[];
  selectedKey(): string | null;
  select(key: string | null): void;
  /** Plays the frames from this video (once it loaded) instead of the placeholder. */
  setVideo(video: HTMLVideoElement): void;
  /** Draws now (also used by the benchmark to time one render). */
  renderNow(): void;
  /** Renders done so far; the time of the first one with the session's content (performance.now()). */
  stats: { renders: number; firstContentRenderAt: number | null };
  destroy(): void;
}

export function openWorkspace(session: AnnotationSession, el: WorkspaceElements, by: string): Workspace {
  let video: HTMLVideoElement | null = null;
  const view = createCanvasView(el.canvas);
  const stats: Workspace['stats'] = { renders: 0, firstContentRenderAt: null };
  let frame = 0;
  let boxes: FrameBox[] = [];
  let selectedKey: string | null = null;
  let preview: ViewState['preview'] = null;
  let peerSelections = new Map<string, PeerMark[]>();
  let frameCount = 1;
  let scheduled = false;

  const labelColor = (label: string) => getLabels(session.doc)[label]?.color ?? '#4caf50';

  const renderNow = () => {
    scheduled = false;
    view.render({ frame, boxes, selectedKey, preview, peerSelections, labelColor, video });
    stats.renders++;
    if (stats.firstContentRenderAt === null && getMeta(session.doc)) stats.firstContentRenderAt = performance.now();
  };
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(renderNow);
  };

  const selectedBox = () => boxes.find((b) => b.key === selectedKey) ?? null;

  const refreshMeta = () => {
    const meta = getMeta(session.doc);
    if (!meta) return;
    if (el.canvas.width !== meta.width || el.canvas.height !== meta.height) {
      el.canvas.width = meta.width;
      el.canvas.height = meta.height;
    }
    frameCount = Math.max(meta.frameCount, 1);
    el.frameInput.max = String(frameCount - 1);
    el.frameCount.textContent = `/ ${frameCount - 1}`;
    const labels = Object.keys(getLabels(session.doc));
    const current = [...el.labelSelect.options].map((o) => o.value);
    if (labels.join('\n') !== current.join('\n')) {
      const keep = el.labelSelect.value;
      el.labelSelect.replaceChildren(...labels.map((name) => Object.assign(document.createElement('option'), { value: name, textContent: name })));
      if (labels.includes(keep)) el.labelSelect.value = keep;
    }
  };

  const refreshBoxes = () => {
    boxes = frameBoxes(session.doc, frame);
    if (selectedKey && !boxes.some((b) => b.key === selectedKey)) select(null);
    const box = selectedBox();
    if (box) el.labelSelect.value = box.label;
    render();
  };

  const refreshPeers = (peers: Peer[] = session.peers()) => {
    peerSelections = new Map();
    for (const peer of peers) {
      for (const key of peer.selection) peerSelections.set(key, [...(peerSelections.get(key) ?? []), { name: peer.name, color: peer.color }]);
    }
    el.peers.replaceChildren(
      ...peers.map((peer) => {
        const li = document.createElement('li');
        li.dataset.clientId = String(peer.clientId);
        li.dataset.frame = String(peer.frame);
        li.innerHTML = `<span class="swatch"></span><b></b> on frame <a href="#"></a><span class="sel"></span>`;
        (li.querySelector('.swatch') as HTMLElement).style.background = peer.color;
        (li.querySelector('b') as HTMLElement).textContent = peer.name;
        const link = li.querySelector('a') as HTMLAnchorElement;
        link.textContent = String(peer.frame);
        link.addEventListener('click', (event) => {
          event.preventDefault();
          setFrame(peer.frame);
        });
        (li.querySelector('.sel') as HTMLElement).textContent = peer.selection.length ? ` · ${peer.selection.length} selected` : '';
        return li;
      }),
    );
    render();
  };

  const refreshStatus = () => {
    const text = describeSaveState(saveState(session));
    el.status.textContent = text;
    el.status.dataset.state = saveState(session).kind;
  };

  const select = (key: string | null) => {
    selectedKey = key;
    session.setSelection(key ? [key] : []);
    const box = selectedBox();
    if (box) el.labelSelect.value = box.label;
    render();
  };

  const setFrame = (n: number) => {
    frame = Math.min(Math.max(Math.round(n), 0), frameCount - 1);
    el.frameInput.value = String(frame);
    session.setFrame(frame);
    if (video && video.readyState >= 1) {
      const meta = getMeta(session.doc);
      if (meta) video.currentTime = frame / meta.fps;
    }
    refreshBoxes();
  };

  const tryEdit = (write: () => void) => {
    try {
      write();
    } catch (error) {
      el.status.textContent = (error as Error).message;
    }
  };

  const detachGestures = attachGestures(el.canvas, {
    boxes: () => boxes,
    selectedKey: () => selectedKey,
    select,
    preview: (p) => {
      preview = p;
      render();
    },
    drew: (bbox) => tryEdit(() => select(drawBox(session, by, frame, bbox, el.labelSelect.value, el.trackMode.checked))),
    changed: (box, bbox) => tryEdit(() => select(setBox(session, by, frame, box, bbox))),
  });

  const removeSelected = () => {
    const box = selectedBox();
    if (box) tryEdit(() => deleteBox(session, box));
  };

  const onKey = (event: KeyboardEvent) => {
    const t = event.target;
    if ((t instanceof HTMLInputElement && t.type !== 'checkbox') || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
    const mod = event.ctrlKey || event.metaKey;
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      setFrame(frame + (event.key === 'ArrowRight' ? 1 : -1) * (event.shiftKey ? 10 : 1));
    } else if (event.key === 'Escape') {
      select(null);
    } else if (event.key === 'Delete' || event.key === 'Backspace') {
      removeSelected();
    } else if (mod && event.key.toLowerCase() === 'z') {
      if (event.shiftKey) session.undo.redo();
      else session.undo.undo();
    } else if (mod && event.key.toLowerCase() === 'y') {
      session.undo.redo();
    } else return;
    event.preventDefault();
  };

  const onDocUpdate = () => {
    refreshMeta();
    refreshBoxes();
  };

  const listen = <K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, fn: (e: HTMLElementEventMap[K]) => void) => {
    target.addEventListener(type, fn);
    return () => target.removeEventListener(type, fn);
  };
  const unlisten = [
    listen(el.buttons.prev, 'click', () => setFrame(frame - 1)),
    listen(el.buttons.next, 'click', () => setFrame(frame + 1)),
    listen(el.buttons.undo, 'click', () => session.undo.undo()),
    listen(el.buttons.redo, 'click', () => session.undo.redo()),
    listen(el.buttons.del, 'click', removeSelected),
    listen(el.buttons.outside, 'click', () => {
      const box = selectedBox();
      if (box) tryEdit(() => endTrack(session, by, frame, box));
    }),
    listen(el.frameInput, 'change', () => setFrame(Number(el.frameInput.value) || 0)),
    listen(el.labelSelect, 'change', () => {
      el.labelSelect.blur(); // the keys step frames again, instead of changing the label
      const box = selectedBox();
      if (box && box.label !== el.labelSelect.value) tryEdit(() => relabel(session, by, box, el.labelSelect.value));
    }),
  ];
  const stopWarning = warnBeforeUnload(session);
  document.addEventListener('keydown', onKey);
  session.doc.on('update', onDocUpdate);
  session.on('peers', refreshPeers);
  session.on('connection', refreshStatus);
  session.acks.on('change', refreshStatus);
  const onResize = () => render();
  window.addEventListener('resize', onResize);

  refreshMeta();
  setFrame(0);
  refreshPeers();
  refreshStatus();

  return {
    frame: () => frame,
    setFrame,
    boxes: () => boxes,
    selectedKey: () => selectedKey,
    select,
    setVideo: (v) => {
      video = v;
      v.addEventListener('seeked', render);
      setFrame(frame);
    },
    renderNow,
    stats,
    destroy: () => {
      detachGestures();
      for (const off of unlisten) off();
      stopWarning();
      document.removeEventListener('keydown', onKey);
      window.removeEventListener('resize', onResize);
      session.doc.off('update', onDocUpdate);
      session.off('peers', refreshPeers);
      session.off('connection', refreshStatus);
      session.acks.off('change', refreshStatus);
    },
  };
}
