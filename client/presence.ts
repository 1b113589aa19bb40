/**
 * Presence over the provider's awareness: who is in the session, on which frame, with what
 * selected. Each client publishes one `user` field `{ name, color, frame, selection }`; the server
 * relays it (and reports it as the session's participants).
 *
 *   const presence = createPresence(provider.awareness, { name: 'Ada' })
 *   presence.setFrame(120)
 *   presence.setSelection(['a1'])
 *   presence.peers() // → [{ clientId, name: 'Bob', color: '#…', frame: 7, selection: [] }]
 */
import type { Awareness } from 'y-protocols/awareness';

export interface PresenceUser {
  name: string;
  /** A CSS color; derived from the name when not given. */
  color?: string;
}

export interface Peer {
  clientId: number;
  name: string;
  color: string;
  frame: number;
  selection: string[];
}

export interface Presence {
  setFrame(frame: number): void;
  setSelection(ids: readonly string[]): void;
  /** Everyone else in the session now (this client left out), by client id. */
  peers(): Peer[];
}

/** A stable, readable color per name: the same annotator has the same color everywhere. */
export const colorFor = (name: string): string => {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${hash % 360}, 70%, 45%)`;
};

/** One peer from an awareness state another client published; null when it carries no user. */
const readPeer = (clientId: number, state: unknown): Peer | null => {
  const user = (state as { user?: unknown } | null)?.user;
  if (typeof user !== 'object' || user === null) return null;
  const { name, color, frame, selection } = user as Record<string, unknown>;
  const displayName = typeof name === 'string' ? name : `client ${clientId}`;
  return {
    clientId,
    name: displayName,
    color: typeof color === 'string' ? color : colorFor(displayName),
    frame: typeof frame === 'number' && Number.isInteger(frame) ? frame : 0,
    selection: Array.isArray(selection) ? selection.filter((id): id is string => typeof id === 'string') : [],
  };
};

export function createPresence(awareness: Awareness, user: PresenceUser): Presence {
  const color = user.color ?? colorFor(user.name);
  let frame = 0;
  let selection: string[] = [];
  const publish = () => awareness.setLocalStateField('user', { name: user.name, color, frame, selection });
  publish();
  return {
    setFrame: (n) => {
      if (n === frame) return;
      frame = n;
      publish();
    },
    setSelection: (ids) => {
      selection = [...ids];
      publish();
    },
    peers: () => {
      const out: Peer[] = [];
      for (const [clientId, state] of awareness.getStates()) {
        if (clientId === awareness.clientID) continue;
        const peer = readPeer(clientId, state);
        if (peer) out.push(peer);
      }
      return out.sort((a, b) => a.clientId - b.clientId);
    },
  };
}
