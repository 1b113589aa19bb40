/**
 * The last ACTIVITY_LIMIT events of each project (joined, left, imported, run-started,
 * run-finished), kept in memory: a restart forgets them. Each gets the project's next `seq`.
 *
 *   const log = createActivityLog()
 *   log.add(projectId, { type: 'imported', sessionId, user: 'ada' })
 *   log.events(projectId)   // → oldest first
 */
import { ACTIVITY_LIMIT, type ActivityEvent } from '../../docs-model/index.ts';

export interface ActivityLog {
  add(projectId: string, event: Omit<ActivityEvent, 'seq' | 'at'> & { at?: number }): void;
  events(projectId: string): ActivityEvent[];
}

export function createActivityLog(limit = ACTIVITY_LIMIT): ActivityLog {
  const activity = new Map<string, { seq: number; events: ActivityEvent[] }>();
  return {
    add(projectId, event) {
      let log = activity.get(projectId);
      if (!log) activity.set(projectId, (log = { seq: 0, events: [] }));
      log.events.push({ ...event, seq: ++log.seq, at: event.at ?? Date.now() });
      if (log.events.length > limit) log.events.splice(0, log.events.length - limit);
    },
    events: (projectId) => [...(activity.get(projectId)?.events ?? [])],
  };
}
