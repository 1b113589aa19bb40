/**
 * The changes of each test run as events, for `GET /test-runs/:id/events`. They are read off the
 * `test-run:<id>` document itself (the registry's `change` event), so every change that
 * reaches the document in this process — from a REST call here, or from another process through
 * Redis — becomes an event, and the document stays the one source of what changed.
 *
 * Kept in memory: a bounded ring per run (the last `capacity` events), dropped `retainMs` after
 * the run ended. An event's id is the run's `revision`, which the database counts, so ids keep
 * increasing across restarts; a client resuming after an id older than the ring (or after a
 * restart) receives the current state as one event instead of the ones it missed. Each event
 * carries the whole run, so nothing a client needs is lost that way.
 *
 *   const events = createRunEvents({ documents: registry })
 *   const stop = events.subscribe(runId, (event) => write(event))
 *   events.since(runId, lastEventId)   // retained events with a greater id, oldest first
 */
import { readTestRun, type TestRunView } from '../../docs-model/index.ts';
import type { LiveDocument } from '../documents/live-document.ts';
import type { DocumentEventSource } from '../documents/events.ts';

export type RunEventType = 'created' | 'progress' | 'status' | 'detections' | 'evaluation' | 'snapshot';

export interface RunEvent {
  /** The run's revision after this change. */
  id: number;
  type: RunEventType;
  run: TestRunView;
}

export type RunEventListener = (event: RunEvent) => void;

export interface RunEvents {
  /** Retained events with an id greater than `afterId`, oldest first. */
  since(runId: string, afterId: number): RunEvent[];
  subscribe(runId: string, listener: RunEventListener): () => void;
  close(): void;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
export const isFinished = (run: Pick<TestRunView, 'status'>): boolean => TERMINAL.has(run.status);

interface Ring {
  events: RunEvent[];
  listeners: Set<RunEventListener>;
  dropTimer: NodeJS.Timeout | null;
}

function typeOf(previous: TestRunView | undefined, run: TestRunView): RunEventType {
  if (!previous) return run.revision <= 1 ? 'created' : 'snapshot';
  if (previous.status !== run.status) return 'status';
  if (JSON.stringify(previous.evaluation) !== JSON.stringify(run.evaluation)) return 'evaluation';
  if (previous.detectionCount !== run.detectionCount) return 'detections';
  return 'progress';
}

export function createRunEvents(opts: { documents: DocumentEventSource; capacity?: number; retainMs?: number }): RunEvents {
  const capacity = opts.capacity ?? 512;
  const retainMs = opts.retainMs ?? 5 * 60_000;
  const rings = new Map<string, Ring>();
  /** Runs whose document is loaded but has not changed since: their state at load. */
  const baselines = new Map<string, TestRunView>();

  const ringOf = (runId: string): Ring => {
    let ring = rings.get(runId);
    if (!ring) rings.set(runId, (ring = { events: [], listeners: new Set(), dropTimer: null }));
    return ring;
  };

  const scheduleDrop = (runId: string, ring: Ring): void => {
    if (ring.dropTimer) clearTimeout(ring.dropTimer);
    ring.dropTimer = setTimeout(() => {
      if (ring.listeners.size === 0) rings.delete(runId);
    }, retainMs);
    ring.dropTimer.unref();
  };

  /** Reads the run off its document after a change. */
  const observe = (doc: LiveDocument): void => {
    if (doc.kind !== 'test-run') return;
    const run = readTestRun(doc.ydoc);
    if (!run) return;
    const ring = ringOf(run.id);
    const previous = ring.events[ring.events.length - 1]?.run ?? baselines.get(run.id);
    // A write the document skipped as older produces no change; anything else is new.
    if (previous && previous.revision >= run.revision) return;
    baselines.delete(run.id);
    const event: RunEvent = { id: run.revision, type: typeOf(previous, run), run };
    ring.events.push(event);
    if (ring.events.length > capacity) ring.events.splice(0, ring.events.length - capacity);
    for (const listener of [...ring.listeners]) listener(event);
    if (isFinished(run)) scheduleDrop(run.id, ring);
  };
  /**
   * Notes the run as its document was loaded, without an event, so the first change after it is
   * typed against it (a `progress` that arrives from another process is a progress, not a snapshot).
   */
  opts.documents.on('load', (doc) => {
    if (doc.kind !== 'test-run') return;
    const run = readTestRun(doc.ydoc);
    if (run && !rings.get(run.id)?.events.length) baselines.set(run.id, run);
  });
  opts.documents.on('change', observe);
  // The document left memory: its load-time state is no longer a baseline.
  opts.documents.on('unload', (doc) => {
    if (doc.kind === 'test-run') baselines.delete(doc.id);
  });

  return {
    since(runId, afterId) {
      const events = rings.get(runId)?.events ?? [];
      return events.filter((e) => e.id > afterId);
    },
    subscribe(runId, listener) {
      const ring = ringOf(runId);
      ring.listeners.add(listener);
      return () => {
        ring.listeners.delete(listener);
        if (ring.listeners.size === 0 && ring.events.length === 0) rings.delete(runId);
      };
    },
    close() {
      for (const ring of rings.values()) if (ring.dropTimer) clearTimeout(ring.dropTimer);
      rings.clear();
      baselines.clear();
    },
  };
}
