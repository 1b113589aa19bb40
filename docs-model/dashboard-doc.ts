/**
 * The `dashboard:<projectId>` document (docs/architecture.md, "Documents"): what a project
 * dashboard shows, written by the server only and synced read-only by clients.
 *
 *   writeDashboard(doc, state)   // only the parts that changed; activity appended, last 50 kept
 *   readDashboard(doc)           // → DashboardState or null before the first write
 *   readPresence(awarenessState) // → { name, userId, frame } from a client's awareness state
 *
 * Layout: a Y.Map `dashboard` (one key per part, each an atomic plain value, so a changed count
 * resends that part only) and a Y.Array `activity` of events, oldest first, at most
 * ACTIVITY_LIMIT long: appending is cheap for every watcher, and the oldest fall off.
 */
import type * as Y from 'yjs';
import { isFiniteNumber, isPlainObject, sameValue } from './values.ts';

export const ACTIVITY_LIMIT = 50;

export type ActivityType = 'joined' | 'left' | 'imported' | 'run-started' | 'run-finished';

export interface ActivityEvent {
  /** Increasing per project; a reader keeps its place with it. */
  seq: number;
  type: ActivityType;
  /** ms since epoch. */
  at: number;
  sessionId?: string;
  runId?: string;
  /** Who: a participant's name, or the actor of an import or run. */
  user?: string;
  /** Type-specific facts (a run's status, an import's counts). */
  detail?: Record<string, unknown>;
}

export interface Participant {
  sessionId: string;
  videoId: string | null;
  clientId: number;
  userId: string | null;
  name: string;
  /** The frame the person is on, when their client says. */
  frame: number | null;
  /** When this client joined (ms since epoch). */
  since: number;
}

export interface DashboardRun {
  id: string;
  sessionId: string;
  videoId: string;
  model: { name: string; version: string };
  status: string;
  processedFrames: number;
  totalFrames: number;
  progress: number;
}

export interface DashboardState {
  projectId: string;
  /** open / review / complete → count (archived sessions left out). */
  sessionsByStatus: Record<string, number>;
  /** label → status → count. */
  annotationsByLabel: Record<string, Record<string, number>>;
  /** none / in_progress / complete → linked videos. */
  videosByGroundTruthStatus: Record<string, number>;
  participants: Participant[];
  runningRuns: DashboardRun[];
  /** Oldest first, at most ACTIVITY_LIMIT. */
  activity: ActivityEvent[];
  /** When the server computed it (ms since epoch). */
  updatedAt: number;
}

const ROOT = 'dashboard';
const ACTIVITY = 'activity';
const PARTS = [
  'projectId',
  'sessionsByStatus',
  'annotationsByLabel',
  'videosByGroundTruthStatus',
  'participants',
  'runningRuns',
  'updatedAt',
] as const satisfies readonly (keyof DashboardState)[];

const partsMap = (doc: Y.Doc): Y.Map<unknown> => doc.getMap(ROOT);
const activityArray = (doc: Y.Doc): Y.Array<ActivityEvent> => doc.getArray(ACTIVITY);

/**
 * Writes the dashboard in one transaction: parts that changed, events newer than the newest one
 * held (by `seq`), then trims the oldest beyond ACTIVITY_LIMIT. `updatedAt` alone never causes a
 * write: a refresh that found nothing new costs the watchers nothing.
 */
export const writeDashboard = (doc: Y.Doc, state: DashboardState, origin?: unknown): boolean => {
  let changed = false;
  doc.transact(() => {
    const map = partsMap(doc);
    for (const key of PARTS) {
      if (key === 'updatedAt') continue;
      if (!sameValue(map.get(key), state[key])) {
        map.set(key, state[key]);
        changed = true;
      }
    }
    const list = activityArray(doc);
    const last = list.length > 0 ? list.get(list.length - 1) : undefined;
    const newest = last && isFiniteNumber(last.seq) ? last.seq : -Infinity;
    const fresh = state.activity.filter((e) => e.seq > newest).slice(-ACTIVITY_LIMIT);
    if (fresh.length > 0) {
      list.push(fresh);
      changed = true;
    }
    if (list.length > ACTIVITY_LIMIT) list.delete(0, list.length - ACTIVITY_LIMIT);
    if (changed) map.set('updatedAt', state.updatedAt);
  }, origin);
  return changed;
};

const record = <T>(v: unknown): Record<string, T> => (isPlainObject(v) ? (v as Record<string, T>) : {});
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** The dashboard as plain data, or null before the server wrote it. */
export const readDashboard = (doc: Y.Doc): DashboardState | null => {
  const map = partsMap(doc);
  const projectId = map.get('projectId');
  if (typeof projectId !== 'string') return null;
  const updatedAt = map.get('updatedAt');
  return {
    projectId,
    sessionsByStatus: record<number>(map.get('sessionsByStatus')),
    annotationsByLabel: record<Record<string, number>>(map.get('annotationsByLabel')),
    videosByGroundTruthStatus: record<number>(map.get('videosByGroundTruthStatus')),
    participants: list<Participant>(map.get('participants')),
    runningRuns: list<DashboardRun>(map.get('runningRuns')),
    activity: activityArray(doc).toArray(),
    updatedAt: isFiniteNumber(updatedAt) ? updatedAt : 0,
  };
};

export interface Presence {
  name: string | null;
  userId: string | null;
  frame: number | null;
}

const firstString = (...values: unknown[]): string | null => {
  for (const v of values) if (typeof v === 'string' && v.length > 0) return v;
  return null;
};
const firstFrame = (...values: unknown[]): number | null => {
  for (const v of values) if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  return null;
};

/**
 * Who and where, from a client's awareness state. Reads the y-websocket convention
 * (`{ user: { name, id? } }`) and the frame an annotator is on as `frame`, `user.frame` or
 * `cursor.frame`; anything else is ignored, so a client with its own shape still counts.
 */
export const readPresence = (state: unknown): Presence => {
  if (!isPlainObject(state)) return { name: null, userId: null, frame: null };
  const user = isPlainObject(state.user) ? state.user : {};
  const cursor = isPlainObject(state.cursor) ? state.cursor : {};
  return {
    name: firstString(user.name, state.name),
    userId: firstString(user.id, state.userId),
    frame: firstFrame(state.frame, user.frame, cursor.frame, state.currentFrame),
  };
};
