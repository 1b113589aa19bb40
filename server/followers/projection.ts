/**
 * The `annotations` table follows every session document within about a second
 * (docs/architecture.md, "The annotations projection"). Each live session document gets a read index (session-index.ts) whose
 * observer reports the annotation ids a transaction touched; those are marked dirty, and a
 * coalescing flusher writes every dirty session's rows in one batch per window (upserts and
 * deletes only). The first time a document is seen in this process (its load, or its first change)
 * the session is re-projected in full, so whatever a crash left unprojected is repaired when the
 * document is next loaded.
 *
 * That repair reads the table back and writes only the rows that differ from the document: after
 * a clean shutdown there are none. Rewriting all of them cost ~250 ms of PGlite on the event loop
 * (~200 ms of Postgres) on every load of a 10 000-annotation session; reading them back costs
 * ~150 ms (~25 ms), and leaves no 10 000 dead rows behind. It also waits
 * `repairDelayMs` after the load, so the first clients' sync exchanges (whose 4 MB step 2 the
 * event loop still has to write out) go first; edits in the meantime are projected as
 * usual, and `flush()` runs waiting repairs at once.
 *
 * Rows are written only for sessions that exist in `sessions` (a socket may open any
 * `session:<id>`), and a failed write keeps its marks and retries, as the update log does.
 *
 *   const projection = createProjection({ annotations, sessions, logger, documents: registry })
 *   projection.indexOf(doc)            // the read index of a loaded session document
 *   await projection.flush()           // tests: everything marked so far is in the table
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LiveDocument } from '../documents/live-document.ts';
import type { DocumentEventSource } from '../documents/events.ts';
import type { Annotation } from '../../docs-model/index.ts';
import type { AnnotationRepository } from '../../persistence/repositories/annotations.ts';
import type { SessionRepository } from '../../persistence/repositories/sessions.ts';
import type { AnnotationProjectionRecord } from '../../persistence/rows.ts';
import type { Logger } from '../../shared/logger.ts';
import { sessionIndex, type SessionIndex } from './session-index.ts';

export interface Projection {
  /**
   * The read index of a session document this projection follows (every session document the
   * event source loaded); null for other documents.
   */
  indexOf(doc: LiveDocument): SessionIndex | null;
  /** Resolves once everything marked so far, and every waiting full re-projection, is written. */
  flush(): Promise<void>;
  /** Flushes and stops. Idempotent. */
  close(): Promise<void>;
}

export interface ProjectionDeps {
  /** Whose `load` and `change` events start the following (the registry). */
  documents: DocumentEventSource;
  annotations: AnnotationRepository;
  sessions: SessionRepository;
  logger: Logger;
  /** Coalescing window: marks made within it share one write (default 50 ms). */
  windowMs?: number;
  /** Wait before retrying a failed write (default 1 s). */
  retryMs?: number;
  /** Wait between a document's first sighting and its full re-projection (default 1 s). */
  repairDelayMs?: number;
}

interface Dirty {
  doc: LiveDocument;
  index: SessionIndex;
  full: boolean;
  ids: Set<string>;
}

/** What a flush read ahead for a full re-projection: the session's stored rows, and whether it exists. */
interface ReadAhead {
  rows?: AnnotationProjectionRecord[];
  exists?: boolean;
}

interface PendingRepair {
  doc: LiveDocument;
  index: SessionIndex;
  timer: NodeJS.Timeout;
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

/** Longest stretch of the repair's comparison before it lets the event loop turn. */
const REPAIR_SLICE_MS = 5;
/** Full re-projections whose stored rows are read by one query (a 10 000-annotation session is ~1.5 MB of rows). */
const REPAIR_BATCH = 16;

const sameRecord = (a: AnnotationProjectionRecord, b: AnnotationProjectionRecord): boolean =>
  a.frame === b.frame &&
  a.label === b.label &&
  a.x === b.x &&
  a.y === b.y &&
  a.w === b.w &&
  a.h === b.h &&
  a.trackId === b.trackId &&
  a.detectionId === b.detectionId &&
  a.status === b.status &&
  a.updatedAt === b.updatedAt;

/**
 * Waits until the document's latest update is committed, then one turn of the event loop, so a
 * projection write never goes ahead of that commit. On PGlite (one connection, queries
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
  const repairDelayMs = deps.repairDelayMs ?? 1000;
  const tracked = new WeakSet<LiveDocument>();
  const dirty = new Map<string, Dirty>();
  /** Full re-projections waiting for their delay, by session id (a reload replaces its entry). */
  const repairs = new Map<string, PendingRepair>();
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

  const scheduleRepair = (doc: LiveDocument, index: SessionIndex): void => {
    if (closed) return;
    const previous = repairs.get(doc.id);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => startRepair(doc.id), repairDelayMs);
    timer.unref();
    repairs.set(doc.id, { doc, index, timer });
  };

  const startRepair = (sessionId: string): void => {
    const repair = repairs.get(sessionId);
    if (!repair) return;
    repairs.delete(sessionId);
    clearTimeout(repair.timer);
    mark(repair.doc, repair.index, { full: true });
  };

  /**
   * The stored rows of the full re-projections in one flush, read REPAIR_BATCH sessions per query
   * (and which of them exist, in one more) when the first of each group is reached: opening 1 000
   * documents at once re-projects each a second later, which was two queries per document.
   * Nothing else writes these rows meanwhile: flushes run one at a time. A failed batch read
   * leaves each session to its own reads.
   */
  const repairReads = (batch: readonly [string, Dirty][]) => {
    const fulls = batch.filter(([, entry]) => entry.full).map(([sessionId]) => sessionId);
    const read = new Map<string, AnnotationProjectionRecord[]>();
    const absent = new Set<string>();
    let next = 0;
    return async (sessionId: string): Promise<ReadAhead> => {
      const at = fulls.indexOf(sessionId, next);
      if (at >= 0 && !read.has(sessionId)) {
        const group = fulls.slice(at, at + REPAIR_BATCH);
        next = at + group.length;
        try {
          const unknown = group.filter((id) => !knownSessions.has(id));
          const [rows, existing] = await Promise.all([deps.annotations.listMany(group), deps.sessions.existing(unknown)]);
          for (const id of existing) knownSessions.add(id);
          for (const id of unknown) if (!existing.has(id)) absent.add(id);
          for (const [id, list] of rows) read.set(id, list);
        } catch (err) {
          deps.logger.debug({ err }, 'batched projection reads failed; reading session by session');
        }
      }
      const rows = read.get(sessionId);
      read.delete(sessionId);
      if (absent.delete(sessionId)) return { exists: false };
      return rows ? { rows, exists: true } : {};
    };
  };

  /** Makes the session's rows match the index, writing only the rows that differ. */
  const repairRows = async (sessionId: string, index: SessionIndex, read?: AnnotationProjectionRecord[]): Promise<void> => {
    const stored = new Map<string, AnnotationProjectionRecord>();
    for (const row of read ?? (await deps.annotations.list(sessionId))) stored.set(row.annotationId, row);
    const upsert: AnnotationProjectionRecord[] = [];
    // A copy, compared in slices with turns of the event loop between them (10 000 comparisons
    // held it ~20-60 ms at once); edits meanwhile are marked and projected by the next pass.
    const annotations = [...index.all()];
    let since = performance.now();
    for (let k = 0; k < annotations.length; k++) {
      const annotation = annotations[k]!;
      const record = toProjectionRecord(sessionId, annotation);
      const row = stored.get(annotation.id);
      stored.delete(annotation.id);
      if (!row || !sameRecord(row, record)) upsert.push(record);
      if (k % 256 === 255 && performance.now() - since >= REPAIR_SLICE_MS) {
        await nextTurn();
        since = performance.now();
      }
    }
    // What is left in `stored` is no longer in the document.
    await deps.annotations.apply(sessionId, { upsert, remove: [...stored.keys()] });
  };

  const writeOne = async (sessionId: string, entry: Dirty, readAhead: (sessionId: string) => Promise<ReadAhead>): Promise<void> => {
    const ahead = entry.full ? await readAhead(sessionId) : {};
    let read = ahead.rows;
    if (!(ahead.exists ?? (await sessionExists(sessionId)))) return;
    await behindCommits(entry.doc);
    // Not while a staged change holds the document: its rows would be half of that change.
    while (entry.doc.busy) {
      await entry.doc.busy;
      read = undefined;
    }
    // In slices: the first read after a big write re-reads every annotation it touched.
    await entry.index.catchUp();
    if (entry.full) {
      await repairRows(sessionId, entry.index, read);
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
    const readAhead = repairReads(batch);
    let failed = false;
    for (const [sessionId, entry] of batch) {
      try {
        await writeOne(sessionId, entry, readAhead);
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

  /**
   * `loadedEmpty`: the document was loaded with nothing stored for it (a session just created), so
   * no process can have left its rows behind, and everything it will hold is marked as it comes: no
   * repair (which read back the 10 000 rows a bulk create had just written, a second later).
   */
  const track = (doc: LiveDocument, loadedEmpty = false): SessionIndex | null => {
    if (doc.kind !== 'session' || doc.destroyed) return null;
    const index = sessionIndex(doc.ydoc);
    if (!tracked.has(doc)) {
      tracked.add(doc);
      index.onChange((ids) => mark(doc, index, { ids }));
      if (!loadedEmpty) scheduleRepair(doc, index);
    }
    return index;
  };

  const flush = async (): Promise<void> => {
    for (const sessionId of [...repairs.keys()]) startRepair(sessionId);
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    // Marks made while a write runs are flushed by the next pass; bounded, since a pass that
    // fails leaves them for the retry timer instead.
    for (let pass = 0; pass < 3 && dirty.size > 0; pass++) await runFlush();
    await running;
  };

  deps.documents.on('load', (doc) => void track(doc, doc.ydoc.store.clients.size === 0));
  // The index's observer already marks what changed; this only catches a document changed before
  // its load was announced (the Redis fan-out's catch-up during `prepare`).
  deps.documents.on('change', (doc) => void track(doc));

  return {
    indexOf: (doc) => (tracked.has(doc) ? track(doc) : null),
    flush,
    close: () =>
      (closing ??= (async () => {
        await flush();
        closed = true;
        if (timer) clearTimeout(timer);
        timer = null;
        for (const repair of repairs.values()) clearTimeout(repair.timer);
        repairs.clear();
      })()),
  };
}
