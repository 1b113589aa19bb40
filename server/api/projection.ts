/**
 * The `annotations` table follows every session document within about a second (DESIGN.md
 * "Persistence"; issue 3). Each live session document gets a read index (session-index.ts) whose
 * observer reports the annotation ids a transaction touched; those are marked dirty, and a
 * coalescing flusher writes every dirty session's rows in one batch per window (upserts and
 * deletes only). The first time a document is seen in this process (its load, or its first change)
 * the session is re-projected in full, so whatever a crash left unprojected is repaired when the
 * document is next loaded.
 *
 * Rows are written only for sessions that exist in `sessions` (a socket may open any
 * `session:<id>`), and a failed write keeps its marks and retries, as the update log does.
 *
 *   const projection = createProjection({ annotations, sessions, logger })
 *   registry hooks: projection.hooks   // onLoad + onChange
 *   await projection.flush()           // tests: everything marked so far is in the table
 */
import type { LiveDocument, LiveDocumentHooks } from '../live-document.ts';
import type { Annotation } from '../../docs-model/index.ts';
import type { AnnotationRepository } from '../../persistence/repositories/annotations.ts';
import type { SessionRepository } from '../../persistence/repositories/sessions.ts';
import type { AnnotationProjectionRecord } from '../../persistence/rows.ts';
import type { Logger } from '../../persistence/logger.ts';
import { sessionIndex, type SessionIndex } from './session-index.ts';

export interface ProjectionHooks extends LiveDocumentHooks {
  /** After a document was loaded from the database (the server calls it once per load). */
  onLoad(doc: LiveDocument): void;
}

export interface Projection {
  readonly hooks: ProjectionHooks;
  /** Starts following a loaded session document (idempotent); REST calls it on every access. */
  track(doc: LiveDocument): SessionIndex | null;
  /** Resolves once everything marked so far is written. */
  flush(): Promise<void>;
  /** Flushes and stops. Idempotent. */
  close(): Promise<void>;
}

export interface ProjectionDeps {
  annotations: AnnotationRepository;
  sessions: SessionRepository;
  logger: Logger;
  /** Coalescing window: marks made within it share one write (default 50 ms). */
  windowMs?: number;
  /** Wait before retrying a failed write (default 1 s). */
  retryMs?: number;
}

interface Dirty {
  doc: LiveDocument;
  index: SessionIndex;
  full: boolean;
  ids: Set<string>;
}

export const toProjectionRecord = (sessionId: string, a: Annotation): AnnotationProjectionRecord => ({
  sessionId,
  annotationId: a.id,
  frame: a.frame,
  label: a.label,
  x: a.bbox[0],
  y: a.bbox[1],
  w: a.bbox[2],
  h: a.bbox[3],
  trackId: a.trackId,
  detectionId: a.detectionId,
  status: a.status,
  updatedAt: a.updatedAt,
});

/**
 * Waits until the document's latest update is committed, then one turn of the event loop, so a
 * projection write never goes ahead of that commit (issue 4). On PGlite (one connection, queries
 * run on this thread) a 10 000-row write that started first held the connection ~250 ms while the
 * commit an import answers after waited behind it; and once the commit is in, the answers that
 * waited for it go out before this thread spends that time in PGlite. A document edited without
 * pause is written after a few rounds anyway. (A commit rejects only when the log is closed.)
 */
async function behindCommits(doc: LiveDocument): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const commit = doc.lastCommit;
    await commit.catch(() => undefined);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (doc.lastCommit === commit) return;
  }
}

export function createProjection(deps: ProjectionDeps): Projection {
  const windowMs = deps.windowMs ?? 50;
  const retryMs = deps.retryMs ?? 1000;
  const tracked = new WeakSet<LiveDocument>();
  const dirty = new Map<string, Dirty>();
  const knownSessions = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | null = null;

  const mark = (doc: LiveDocument, index: SessionIndex, change: { full?: boolean; ids?: Iterable<string> }): void => {
    if (closed) return;
    const sessionId = doc.id;
    let entry = dirty.get(sessionId);
    if (!entry || entry.index !== index) {
      // A reloaded document has a new index: the new one is the truth, and a full pass follows.
      entry = { doc, index, full: entry?.full ?? false, ids: entry?.ids ?? new Set() };
      dirty.set(sessionId, entry);
    }
    if (change.full) entry.full = true;
    if (change.ids) for (const id of change.ids) entry.ids.add(id);
    schedule(windowMs);
  };

  const schedule = (delay: number): void => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      void runFlush();
    }, delay);
    timer.unref();
  };

  const sessionExists = async (sessionId: string): Promise<boolean> => {
    if (knownSessions.has(sessionId)) return true;
    const session = await deps.sessions.get(sessionId);
    if (session) knownSessions.add(sessionId);
    return session !== null;
  };

  const writeOne = async (sessionId: string, entry: Dirty): Promise<void> => {
    if (!(await sessionExists(sessionId))) return;
    await behindCommits(entry.doc);
    if (entry.full) {
      const records = [...entry.index.all()].map((a) => toProjectionRecord(sessionId, a));
      await deps.annotations.replace(sessionId, records);
      return;
    }
    const upsert: AnnotationProjectionRecord[] = [];
    const remove: string[] = [];
    for (const id of entry.ids) {
      const current = entry.index.get(id);
      if (current) upsert.push(toProjectionRecord(sessionId, current));
      else remove.push(id);
    }
    await deps.annotations.apply(sessionId, { upsert, remove });
  };

  const flushOnce = async (): Promise<void> => {
    if (dirty.size === 0) return;
    const batch = [...dirty];
    dirty.clear();
    let failed = false;
    for (const [sessionId, entry] of batch) {
      try {
        await writeOne(sessionId, entry);
      } catch (err) {
        failed = true;
        deps.logger.warn({ err, sessionId }, 'annotations projection write failed; will retry');
        const now = dirty.get(sessionId);
        // Put the marks back under whatever is newer, so nothing marked is ever dropped.
        if (!now) dirty.set(sessionId, entry);
        else {
          for (const id of entry.ids) now.ids.add(id);
          now.full ||= entry.full;
        }
      }
    }
    if (failed && !closed) schedule(retryMs);
  };

  const runFlush = (): Promise<void> => (running = running.then(flushOnce, flushOnce));

  const track = (doc: LiveDocument): SessionIndex | null => {
    if (doc.kind !== 'session' || doc.destroyed) return null;
    const index = sessionIndex(doc.ydoc);
    if (!tracked.has(doc)) {
      tracked.add(doc);
      index.onChange((ids) => mark(doc, index, { ids }));
      mark(doc, index, { full: true });
    }
    return index;
  };

  const flush = async (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    // Marks made while a write runs are flushed by the next pass; bounded, since a pass that
    // fails leaves them for the retry timer instead.
    for (let pass = 0; pass < 3 && dirty.size > 0; pass++) await runFlush();
    await running;
  };

  return {
    hooks: {
      onLoad: (doc) => void track(doc),
      // The index's observer already marked what changed; this only catches a document seen
      // for the first time (when the server does not call onLoad).
      onChange: (doc) => void track(doc),
    },
    track,
    flush,
    close: () =>
      (closing ??= (async () => {
        await flush();
        closed = true;
        if (timer) clearTimeout(timer);
        timer = null;
      })()),
  };
}
