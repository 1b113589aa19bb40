/**
 * An in-memory read index of one live session document: every annotation as plain data, by id and
 * by frame, kept current by a deep observer that notes the annotations a transaction touched; they
 * are re-read at the next read of the index, not inside the transaction (an import of 10 000
 * annotations spent ~30 ms there before its update could even be queued for commit).
 * REST reads answer from it (one frame of a 10 000-box session without walking 10 000 Y.Maps:
 * the target is p99 < 20 ms under 50 concurrent readers), and the projection learns from it which
 * rows to write. The first walk over the document waits for the first read: the projection makes
 * the index when a document loads, and walking 10 000 annotations there (~40 ms) held back the
 * load itself, and with it the first client's sync step 2.
 *
 * It reads the document only through docs-model (`getAnnotation`); the one structural fact it
 * uses is that annotations live in one Y.Map per id (`annotationsMap`).
 *
 *   const index = sessionIndex(ydoc)
 *   index.query({ frame: 12 }, { limit: 100 })  // → { items, nextCursor }
 */
import type * as Y from 'yjs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { getAnnotation, type Annotation, type AnnotationFilter } from '../../docs-model/index.ts';
import { annotationsMap } from '../../docs-model/annotations.ts';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../persistence/page.ts';

export type ChangeListener = (changedIds: ReadonlySet<string>) => void;

const byFrameThenId = (a: Annotation, b: Annotation): number => a.frame - b.frame || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The filter's non-frame conditions (frames are the caller's range). */
function matchesFilter(a: Annotation, filter: AnnotationFilter): boolean {
  return (
    (filter.label === undefined || a.label === filter.label) &&
    (filter.trackId === undefined || a.trackId === filter.trackId) &&
    (filter.detectionId === undefined || a.detectionId === filter.detectionId) &&
    (filter.status === undefined || a.status === filter.status)
  );
}

function hasConditions(filter: AnnotationFilter): boolean {
  return filter.label !== undefined || filter.trackId !== undefined || filter.detectionId !== undefined || filter.status !== undefined;
}

const NO_ANNOTATIONS: readonly Annotation[] = Object.freeze([]);

/** A page of the index: `items` may be the index's own (frozen) array of a frame. */
export interface ReadPage {
  items: readonly Annotation[];
  nextCursor: string | null;
}

/** First index in `sorted` whose (frame, id) is after `key` (or at/after `frame` when id is null). */
function lowerBound(sorted: readonly Annotation[], frame: number, afterId: string | null): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const a = sorted[mid] as Annotation;
    const before = a.frame < frame || (a.frame === frame && afterId !== null && a.id <= afterId);
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function addToFrame(byFrame: Map<number, Map<string, Annotation>>, annotation: Annotation): void {
  let frame = byFrame.get(annotation.frame);
  if (!frame) byFrame.set(annotation.frame, (frame = new Map()));
  frame.set(annotation.id, annotation);
}

export class SessionIndex {
  private readonly byId = new Map<string, Annotation>();
  /**
   * Made by the first one-frame query and kept current from then on: a session only edited over
   * sockets never needs it, and a Map per frame held for every loaded document took ~19 KB per
   * 100 annotations (one per frame) (docs/architecture.md, "Memory").
   */
  private byFrame: Map<number, Map<string, Annotation>> | null = null;
  /**
   * A frame's annotations sorted, made by the first query of that frame and dropped when one of
   * them changes: frozen, so a page that is a whole frame hands out this very array and readers
   * may keep what they derive from it (the route's page JSON) for as long as it is handed out.
   */
  private readonly frameSorted = new Map<number, readonly Annotation[]>();
  private sorted: Annotation[] | null = null;
  /** False until the first read walks the whole document. */
  private filled = false;
  /** Ids changed since the last read, re-read from the document by `refresh`. */
  private readonly stale = new Set<string>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly ydoc: Y.Doc;

  constructor(ydoc: Y.Doc) {
    this.ydoc = ydoc;
    annotationsMap(ydoc).observeDeep(this.onEvents);
  }

  /** How many annotations the next read re-reads first (all of them before the first read). */
  get behind(): number {
    return this.filled ? this.stale.size : Number.POSITIVE_INFINITY;
  }

  get size(): number {
    this.refresh();
    return this.byId.size;
  }

  get(id: string): Annotation | undefined {
    this.refresh();
    return this.byId.get(id);
  }

  all(): IterableIterator<Annotation> {
    this.refresh();
    return this.byId.values();
  }

  /** Called after every transaction that changed annotations, with the ids it touched. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly onEvents = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>): void => {
    const root = annotationsMap(this.ydoc);
    const changed = new Set<string>();
    for (const event of events) {
      if (event.target === root) for (const key of (event as Y.YMapEvent<unknown>).keysChanged) changed.add(key);
      else if (typeof event.path[0] === 'string') changed.add(event.path[0]);
    }
    if (changed.size === 0) return;
    for (const id of changed) this.stale.add(id);
    for (const listener of this.listeners) listener(changed);
  };

  /** Re-reads the annotations changed since the last read (every reader calls it first). */
  private refresh(): void {
    this.fill();
    this.readStale(Number.POSITIVE_INFINITY);
  }

  /**
   * Re-reads what is stale in slices of about `sliceMs`, with a turn of the event loop between
   * them: after a 10 000-annotation write, re-reading everything at once held the loop (and every
   * socket) for ~0.1-0.5 s. The projection and REST reads await this first; a reader that comes
   * while it runs finishes the rest itself (`refresh`), so nobody reads a half-caught-up index.
   */
  async catchUp(sliceMs = 5): Promise<void> {
    this.fill();
    while (!this.readStale(performance.now() + sliceMs)) await nextTurn();
  }

  /** The first walk: every annotation of the document is read as it is when it is read. */
  private fill(): void {
    if (this.filled) return;
    this.filled = true;
    for (const id of annotationsMap(this.ydoc).keys()) this.stale.add(id);
  }

  /** Reads stale ids until none is left (true) or `deadline` has passed (false). */
  private readStale(deadline: number): boolean {
    let n = 0;
    for (const id of this.stale) {
      // Deleting the entry being visited is safe: a Set iterator skips only what it has not reached.
      this.stale.delete(id);
      this.remove(id);
      const current = getAnnotation(this.ydoc, id);
      if (current) this.put(current);
      if (++n % 64 === 0 && performance.now() >= deadline) return this.stale.size === 0;
    }
    return true;
  }

  private put(annotation: Annotation): void {
    this.byId.set(annotation.id, annotation);
    if (this.byFrame) addToFrame(this.byFrame, annotation);
    this.frameSorted.delete(annotation.frame);
    this.sorted = null;
  }

  private remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    const frame = this.byFrame?.get(old.frame);
    frame?.delete(id);
    if (frame?.size === 0) this.byFrame?.delete(old.frame);
    this.frameSorted.delete(old.frame);
    this.sorted = null;
  }

  private frames(): Map<number, Map<string, Annotation>> {
    if (this.byFrame) return this.byFrame;
    const byFrame = new Map<number, Map<string, Annotation>>();
    for (const a of this.byId.values()) addToFrame(byFrame, a);
    return (this.byFrame = byFrame);
  }

  /** Only frames that hold annotations are kept: a client asking for every frame number it can think of makes the index hold nothing. */
  private sortedFrame(frame: number): readonly Annotation[] {
    let sorted = this.frameSorted.get(frame);
    if (sorted === undefined) {
      const annotations = this.frames().get(frame);
      if (!annotations) return NO_ANNOTATIONS;
      sorted = Object.freeze([...annotations.values()].sort(byFrameThenId));
      this.frameSorted.set(frame, sorted);
    }
    return sorted;
  }

  private sortedAll(): Annotation[] {
    return (this.sorted ??= [...this.byId.values()].sort(byFrameThenId));
  }

  /** Counts by status, as the projection will show them. */
  counts(): { total: number; byStatus: Record<string, number> } {
    this.refresh();
    const byStatus: Record<string, number> = {};
    for (const a of this.byId.values()) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    return { total: this.byId.size, byStatus };
  }

  /**
   * Annotations matching the filter, sorted by frame then id, one page at a time. The cursor is
   * the (frame, id) of the last item handed out, so edits between pages never repeat or skip an
   * annotation that exists throughout. A page that is one whole frame is the index's own frozen
   * array of it (the same array until that frame changes).
   */
  query(filter: AnnotationFilter, page: { limit: number; cursor?: string }): ReadPage {
    let after: [number, string] | null = null;
    if (page.cursor !== undefined) {
      const key = decodeCursor(page.cursor);
      if (!key || typeof key[0] !== 'number') throw new InvalidCursorError();
      after = [key[0], key[1]];
    }
    this.refresh();
    let from = filter.fromFrame ?? 0;
    let to = filter.toFrame ?? Number.POSITIVE_INFINITY;
    if (filter.frame !== undefined) {
      from = Math.max(from, filter.frame);
      to = Math.min(to, filter.frame);
    }
    // No closures made per call: under tsx (how the server runs) every named local arrow is
    // wrapped in `__name(…)`, an Object.defineProperty per call, ~2 % of a one-frame GET's CPU.
    const items: Annotation[] = [];
    let more = false;
    if (from === to) {
      // One frame: only its annotations, not a walk over the session.
      const candidates = this.sortedFrame(from);
      if (after === null && candidates.length <= page.limit && !hasConditions(filter)) return { items: candidates, nextCursor: null };
      for (const a of candidates) {
        if (after && (a.frame < after[0] || (a.frame === after[0] && a.id <= after[1]))) continue;
        if (!matchesFilter(a, filter)) continue;
        if (items.length === page.limit) {
          more = true;
          break;
        }
        items.push(a);
      }
    } else if (from <= to) {
      const sorted = this.sortedAll();
      const start = after && after[0] >= from ? lowerBound(sorted, after[0], after[1]) : lowerBound(sorted, from, null);
      for (let i = start; i < sorted.length; i++) {
        const a = sorted[i] as Annotation;
        if (a.frame > to) break;
        if (!matchesFilter(a, filter)) continue;
        if (items.length === page.limit) {
          more = true;
          break;
        }
        items.push(a);
      }
    }
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor([last.frame, last.id]) : null };
  }

  /** Every annotation, sorted by frame then id (as `listAnnotations` sorts them): a copy. */
  inOrder(): Annotation[] {
    this.refresh();
    return this.sortedAll().slice();
  }

  /** The keyframes of one track (annotations carrying its id), by frame. */
  keyframes(trackId: string): Annotation[] {
    this.refresh();
    const out: Annotation[] = [];
    for (const a of this.byId.values()) if (a.trackId === trackId) out.push(a);
    return out.sort(byFrameThenId);
  }
}

const indexes = new WeakMap<Y.Doc, SessionIndex>();

/** The index of a live document, built on first use and kept current from then on. */
export function sessionIndex(ydoc: Y.Doc): SessionIndex {
  let index = indexes.get(ydoc);
  if (!index) indexes.set(ydoc, (index = new SessionIndex(ydoc)));
  return index;
}
