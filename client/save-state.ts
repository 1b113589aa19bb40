/**
 * What a status badge says about the session's edits: all stored on the server, some on their way,
 * or offline with some kept on this device (or only in memory, without `offline: true`).
 *
 *   describeSaveState(saveState(session)) // → 'saved' | '3 unsaved' | 'offline — 3 kept on this device'
 */
import type { AnnotationSession } from './session.ts';

export type SaveState =
  | { kind: 'saved' }
  | { kind: 'unsaved'; count: number }
  | { kind: 'offline'; count: number; keptOnDevice: boolean };

export const saveState = (session: Pick<AnnotationSession, 'acks' | 'connected' | 'keepsEditsOnDevice'>): SaveState => {
  const count = session.acks.unsavedCount;
  if (!session.connected) return { kind: 'offline', count, keptOnDevice: session.keepsEditsOnDevice };
  return count === 0 ? { kind: 'saved' } : { kind: 'unsaved', count };
};

export const describeSaveState = (state: SaveState): string => {
  switch (state.kind) {
    case 'saved':
      return 'saved';
    case 'unsaved':
      return `${state.count} unsaved`;
    case 'offline':
      return state.keptOnDevice ? `offline — ${state.count} kept on this device` : `offline — ${state.count} unsaved`;
  }
};
