/**
 * Project dashboards: the `dashboard:<projectId>` documents, kept current while someone
 * has one loaded, and the same content computed on demand for `GET /projects/:id/dashboard`.
 *
 * Costs nothing while nobody watches: a change to a session only looks up whether its project's
 * dashboard document is loaded (one Map lookup). A loaded one is refreshed at most once per
 * `minIntervalMs` (default 250 ms: a few updates per second whatever the edit rate), and only the
 * parts that changed are written, so watchers receive a few bytes. Presence (who is where) comes
 * from memory; the activity list and the counts need database queries, which run at most once per
 * `countsIntervalMs` (default 1 s) and only after a session, run or import changed them — the
 * queries share the event loop with every annotator's fan-out (PGlite runs in-process), and a
 * moving cursor must not cost them. Its writes go to the live
 * document directly rather than through `registry.transact`, which would hold the document and
 * so keep a dashboard nobody watches loaded (and refreshed) forever; it unloads as any document
 * does once its last peer left.
 *
 * Presence comes from the session documents' awareness (presence.ts); its joins and leaves are
 * noted in the activity log (activity-log.ts), which reads the activity list from the stored
 * events — the imports and run starts and ends the services store — so it survives a restart and
 * is the same on every process. It is read again with the counts, or after a local join or leave.
 * This module keeps the watched dashboards current: throttled counts and refreshes.
 *
 *   const dashboards = createDashboards({ registry, sources, activity, logger })   // follows load, change, awareness
 *   dashboards.touch(projectId)             // an import or a run changed what it shows
 *   await dashboards.compute(projectId)     // → DashboardState
 */
import {
  getMeta,
  writeDashboard,
  type ActivityEvent,
  type DashboardRun,
  type DashboardState,
  type Participant,
} from '../../docs-model/index.ts';
import type { Logger } from '../../shared/logger.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { LiveDocument } from '../documents/live-document.ts';
import { serverOrigin } from '../documents/origins.ts';
import type { ActivityLog } from './activity-log.ts';
import { createPresence } from './presence.ts';
import { docName } from '../../docs-model/protocol.ts';

export interface DashboardSources {
  sessionsByStatus(projectId: string): Promise<Record<string, number>>;
  annotationsByLabel(projectId: string): Promise<Record<string, Record<string, number>>>;
  videosByGroundTruthStatus(projectId: string): Promise<Record<string, number>>;
  runningRuns(projectId: string): Promise<DashboardRun[]>;
  /** Resolves once the annotations table holds every change made so far (the projection). */
  settle(): Promise<void>;
}

export interface Dashboards {
  compute(projectId: string): Promise<DashboardState>;
  /** Who is in a session now (empty when its document is not loaded: nobody is connected). */
  participants(sessionId: string): Participant[];
  /** Something the project's dashboard shows changed (refreshes it if loaded); `counts`: a database count. */
  touch(projectId: string, counts?: boolean): void;
  /** Resolves once every refresh scheduled so far has been written (tests, shutdown). */
  settled(): Promise<void>;
  close(): void;
}

export interface DashboardDeps {
  /** The documents: their events keep the dashboards current; presence is read off them. */
  registry: DocRegistry;
  sources: DashboardSources;
  /** The stored activity list, and where joins and leaves are noted. */
  activity: ActivityLog;
  logger: Logger;
  minIntervalMs?: number;
  countsIntervalMs?: number;
}

type Counts = Pick<DashboardState, 'sessionsByStatus' | 'annotationsByLabel' | 'videosByGroundTruthStatus' | 'runningRuns'>;

interface Watched {
  doc: LiveDocument;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  again: boolean;
  lastAt: number;
  /** The counts need querying again. */
  countsDirty: boolean;
  countsAt: number;
  counts: Counts | null;
  /** The activity list needs reading again. */
  activityDirty: boolean;
  activity: ActivityEvent[];
}

const DASHBOARD_ACTOR = 'dashboard';

export function createDashboards(deps: DashboardDeps): Dashboards {
  const minIntervalMs = deps.minIntervalMs ?? 250;
  const countsIntervalMs = deps.countsIntervalMs ?? 1000;
  const watched = new Map<string, Watched>();
  const presence = createPresence();
  /** Project of each session document, read once from its meta. */
  const projectOfDoc = new WeakMap<LiveDocument, string | null>();
  let closed = false;

  const projectOf = (doc: LiveDocument): string | null => {
    let projectId = projectOfDoc.get(doc);
    if (projectId === undefined) {
      projectId = getMeta(doc.ydoc)?.projectId ?? null;
      if (projectId !== null) projectOfDoc.set(doc, projectId);
    }
    return projectId;
  };

  const queryCounts = async (projectId: string): Promise<Counts> => {
    await deps.sources.settle();
    const [sessionsByStatus, annotationsByLabel, videosByGroundTruthStatus, runningRuns] = await Promise.all([
      deps.sources.sessionsByStatus(projectId),
      deps.sources.annotationsByLabel(projectId),
      deps.sources.videosByGroundTruthStatus(projectId),
      deps.sources.runningRuns(projectId),
    ]);
    return { sessionsByStatus, annotationsByLabel, videosByGroundTruthStatus, runningRuns };
  };

  const compute = async (projectId: string, known?: Counts, knownActivity?: ActivityEvent[]): Promise<DashboardState> => {
    const [counts, activity] = await Promise.all([known ?? queryCounts(projectId), knownActivity ?? deps.activity.recent(projectId)]);
    const participants: Participant[] = [];
    for (const doc of deps.registry.all()) {
      if (doc.kind === 'session' && !doc.destroyed && doc.awareness.size > 0 && projectOf(doc) === projectId) participants.push(...presence.participants(doc));
    }
    participants.sort((a, b) => a.since - b.since || a.clientId - b.clientId);
    return {
      projectId,
      ...counts,
      participants,
      activity,
      updatedAt: Date.now(),
    };
  };

  const alive = (w: Watched): boolean => !w.doc.destroyed && deps.registry.get(w.doc.name) === w.doc;

  const refresh = async (projectId: string, w: Watched): Promise<void> => {
    w.timer = null;
    w.lastAt = Date.now();
    try {
      if (w.countsDirty || !w.counts) {
        w.countsDirty = false;
        w.activityDirty = true;
        w.countsAt = Date.now();
        w.counts = await queryCounts(projectId);
      }
      if (w.activityDirty) {
        w.activityDirty = false;
        w.activity = await deps.activity.recent(projectId);
      }
      const state = await compute(projectId, w.counts, w.activity);
      if (!alive(w)) return;
      w.doc.ydoc.transact(() => writeDashboard(w.doc.ydoc, state), serverOrigin(DASHBOARD_ACTOR));
    } catch (err) {
      deps.logger.warn({ err, projectId }, 'dashboard refresh failed');
    }
  };

  const schedule = (projectId: string, w: Watched): void => {
    if (closed) return;
    if (w.running) {
      w.again = true;
      return;
    }
    if (w.timer) return;
    const countsDue = w.countsDirty && w.counts ? w.countsAt + countsIntervalMs : 0;
    const delay = Math.max(0, w.lastAt + minIntervalMs - Date.now(), countsDue - Date.now());
    w.timer = setTimeout(() => {
      const run = refresh(projectId, w).finally(() => {
        w.running = null;
        if (!alive(w)) {
          if (watched.get(projectId) === w) watched.delete(projectId);
          return;
        }
        if (w.again) {
          w.again = false;
          schedule(projectId, w);
        }
      });
      w.running = run;
    }, delay);
    w.timer.unref();
  };

  /** `counts`: something the database counts changed (not just presence or activity). */
  function touch(projectId: string, counts = true): void {
    const w = watched.get(projectId);
    if (!w) return;
    if (counts) w.countsDirty = true;
    if (!alive(w)) {
      if (w.timer) clearTimeout(w.timer);
      watched.delete(projectId);
      return;
    }
    schedule(projectId, w);
  }

  const watch = (doc: LiveDocument): void => {
    const previous = watched.get(doc.id);
    if (previous?.timer) clearTimeout(previous.timer);
    const w: Watched = {
      doc,
      timer: null,
      running: null,
      again: false,
      lastAt: 0,
      countsDirty: true,
      countsAt: 0,
      counts: null,
      activityDirty: true,
      activity: [],
    };
    watched.set(doc.id, w);
    schedule(doc.id, w);
  };

  const onAwareness = (doc: LiveDocument, message: Uint8Array): void => {
    if (doc.kind !== 'session') return;
    const projectId = projectOf(doc);
    if (projectId === null) return;
    const changes = presence.changes(doc, message);
    for (const { type, clientId, name } of changes) {
      deps.activity.presence(projectId, { type, sessionId: doc.id, ...(name ? { user: name } : {}), clientId });
    }
    const w = watched.get(projectId);
    if (w && changes.length > 0) w.activityDirty = true;
    // A join or leave changes the activity list; a moved cursor only the "where" column.
    touch(projectId, false);
  };

  deps.registry.on('load', (doc) => {
    if (doc.kind === 'dashboard' && !closed) watch(doc);
  });
  deps.registry.on('change', (doc) => {
    if (doc.kind !== 'session') return;
    const projectId = projectOf(doc);
    if (projectId !== null) touch(projectId);
  });
  deps.registry.on('awareness', (doc, message) => {
    try {
      onAwareness(doc, message);
    } catch (err) {
      deps.logger.warn({ err, doc: doc.name }, 'dashboard presence update failed');
    }
  });

  return {
    compute: (projectId) => compute(projectId),
    participants: (sessionId) => {
      const doc = deps.registry.get(docName('session', sessionId)?.name ?? '');
      return doc && !doc.destroyed ? presence.participants(doc).sort((a, b) => a.since - b.since || a.clientId - b.clientId) : [];
    },
    touch,
    settled: async () => {
      for (let pass = 0; pass < 3; pass++) {
        const pending = [...watched.values()].map((w) => w.running).filter((p): p is Promise<void> => p !== null);
        if (pending.length === 0) return;
        await Promise.all(pending);
      }
    },
    close: () => {
      closed = true;
      for (const w of watched.values()) if (w.timer) clearTimeout(w.timer);
      watched.clear();
    },
  };
}
