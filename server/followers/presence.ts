/**
 * Who is in which session document, read off its awareness: a client id that appears has joined,
 * one that goes (closed socket, timeout) has left. Joins are remembered with their time, so a
 * participant's `since` survives cursor moves; a state is parsed once per join, never per move.
 *
 *   const presence = createPresence()
 *   presence.changes(doc, awarenessMessage)   // → [{ type: 'joined', clientId: 7, name: 'ada' }]
 *   presence.participants(doc)                // → Participant[]
 */
import { getMeta, readPresence, type Participant } from '../../docs-model/index.ts';
import { awarenessUpdateOf, readAwarenessUpdate } from '../../docs-model/awareness.ts';
import type { LiveDocument } from '../documents/live-document.ts';

export interface PresenceChange {
  type: 'joined' | 'left';
  clientId: number;
  name: string | null;
}

interface Seen {
  name: string | null;
  since: number;
}

export interface Presence {
  /** Applies an awareness message of `doc`; the joins and leaves it made (a moved cursor makes none). */
  changes(doc: LiveDocument, message: Uint8Array): PresenceChange[];
  participants(doc: LiveDocument): Participant[];
}

export function createPresence(): Presence {
  /** Clients seen per session document, with when they joined. */
  const present = new WeakMap<LiveDocument, Map<number, Seen>>();
  return {
    changes(doc, message) {
      const update = awarenessUpdateOf(message);
      if (!update) return [];
      let seen = present.get(doc);
      if (!seen) present.set(doc, (seen = new Map()));
      const out: PresenceChange[] = [];
      for (const { clientId, json } of readAwarenessUpdate(update)) {
        const known = seen.get(clientId);
        if (json === 'null') {
          if (!known) continue;
          seen.delete(clientId);
          out.push({ type: 'left', clientId, name: known.name });
        } else if (!known) {
          const name = readPresence(JSON.parse(json) as unknown).name;
          seen.set(clientId, { name, since: Date.now() });
          out.push({ type: 'joined', clientId, name });
        }
      }
      return out;
    },
    participants(doc) {
      const seen = present.get(doc);
      const videoId = getMeta(doc.ydoc)?.videoId ?? null;
      return doc.awareness.states().map(({ clientId, state, updatedAt }) => {
        const p = readPresence(state);
        return {
          sessionId: doc.id,
          videoId,
          clientId,
          userId: p.userId,
          name: p.name ?? `client ${clientId}`,
          frame: p.frame,
          since: seen?.get(clientId)?.since ?? updatedAt,
        };
      });
    },
  };
}
