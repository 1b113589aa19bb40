/**
 * A project's activity list (the dashboard's): read from the stored events (the outbox, see
 * persistence/repositories/events.ts), so it survives a restart and every process shows the same.
 * Presence notes (joined, left) are stored here too, in batches: a reconnect storm is one INSERT
 * per `flushMs`, not one per socket. A client that leaves and is back under the same client id
 * before its leave is written (a provider's `disconnect()` and `connect()`, as after a refreshed
 * token: docs/architecture.md, "Who hears a change") leaves no note at all: "Ada left, Ada
 * joined" within a fifth of a second is no activity, and 200 clients reconnecting wrote 400 rows.
 *
 *   const activity = createActivityLog({ events, logger })
 *   activity.presence(projectId, { type: 'joined', sessionId, user: 'Ada', clientId: 7 })
 *   await activity.recent(projectId) // → ActivityEvent[], oldest first
 */
import { ACTIVITY_LIMIT, type ActivityEvent } from '../../docs-model/index.ts';
import type { EventRecord, EventRepository, NewEvent, StoredEventType } from '../../persistence/repositories/events.ts';
import type { Logger } from '../../shared/logger.ts';

/** The stored event types the activity list shows. */
export const activityEventTypes: readonly StoredEventType[] = [
  'session.joined',
  'session.left',
  'import.completed',
  'test_run.started',
  'test_run.completed',
  'test_run.failed',
  'test_run.cancelled',
];

export interface PresenceNote {
  type: 'joined' | 'left';
  sessionId: string;
  user?: string;
  clientId: number;
}

export interface ActivityLog {
  presence(projectId: string, note: PresenceNote): void;
  /** The last ACTIVITY_LIMIT entries, oldest first. */
  recent(projectId: string): Promise<ActivityEvent[]>;
  /** Writes the presence notes noted so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** How a stored event reads in the activity list; null for types it does not show. */
export function toActivity(event: EventRecord & { seq: number }): ActivityEvent | null {
  const d = event.data;
  const base = { seq: event.seq, at: Date.parse(event.occurredAt) };
  const run = (d.run ?? {}) as Record<string, unknown>;
  const who = (name: unknown) => {
    const user = str(name) ?? event.actor ?? undefined;
    return user === undefined ? {} : { user };
  };
  switch (event.type) {
    case 'session.joined':
    case 'session.left':
      return {
        ...base,
        type: event.type === 'session.joined' ? 'joined' : 'left',
        ...(str(d.sessionId) ? { sessionId: str(d.sessionId)! } : {}),
        ...(str(d.name) ? { user: str(d.name)! } : {}),
        detail: { clientId: d.clientId },
      };
    case 'import.completed':
      return {
        ...base,
        type: 'imported',
        ...(str(d.sessionId) ? { sessionId: str(d.sessionId)! } : {}),
        ...who(undefined),
        detail: { format: d.format, mode: d.mode, imported: d.imported, updated: d.updated, deleted: d.deleted },
      };
    case 'test_run.started':
    case 'test_run.completed':
    case 'test_run.failed':
    case 'test_run.cancelled':
      return {
        ...base,
        type: event.type === 'test_run.started' ? 'run-started' : 'run-finished',
        ...(str(run.id) ? { runId: str(run.id)! } : {}),
        ...(str(run.sessionId) ? { sessionId: str(run.sessionId)! } : {}),
        ...who(undefined),
        detail: event.type === 'test_run.started' ? { model: run.model } : { status: run.status, model: run.model },
      };
    default:
      return null;
  }
}

export function createActivityLog(deps: { events: EventRepository; logger: Logger; flushMs?: number }): ActivityLog {
  const flushMs = deps.flushMs ?? 200;
  /** Notes not yet written, in order; null where a leave was taken back by its client's return. */
  let pending: Array<NewEvent | null> = [];
  /** Where each client's unwritten leave is in `pending`, by project, session and client id. */
  let leaves = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = pending.filter((note): note is NewEvent => note !== null);
    pending = [];
    leaves = new Map();
    writing = writing.then(() =>
      deps.events.appendMany(batch).catch((err: unknown) => deps.logger.warn({ err, notes: batch.length }, 'presence notes not stored')),
    );
    return writing;
  };

  return {
    presence(projectId, note) {
      if (closed) return;
      const client = `${projectId} ${note.sessionId} ${note.clientId}`;
      const left = leaves.get(client);
      if (note.type === 'joined' && left !== undefined) {
        pending[left] = null;
        leaves.delete(client);
        return;
      }
      if (note.type === 'left') leaves.set(client, pending.length);
      pending.push({
        projectId,
        type: note.type === 'joined' ? 'session.joined' : 'session.left',
        actor: null,
        data: { sessionId: note.sessionId, clientId: note.clientId, ...(note.user ? { name: note.user } : {}) },
      });
      timer ??= setTimeout(() => void flush(), flushMs);
      timer.unref();
    },
    async recent(projectId) {
      await flush();
      const rows = await deps.events.recent(projectId, activityEventTypes, ACTIVITY_LIMIT);
      return rows
        .map(toActivity)
        .filter((e): e is ActivityEvent => e !== null)
        .reverse();
    },
    flush,
    async close() {
      closed = true;
      await flush();
    },
  };
}
