/**
 * annosync/client: what a browser frontend needs to annotate a session together — the docs-model
 * functions, durable acks, and `openSession` (provider, IndexedDB, undo, presence, token refresh).
 * Browser-safe: yjs, y-websocket, y-protocols, lib0 and y-indexeddb only (peer dependencies, so
 * the app and the client share one Yjs).
 *
 *   import { openSession, addAnnotation, listAnnotations } from 'annosync/client'
 *   const session = await openSession({ url: 'https://annosync.example.com', sessionId, token, offline: true, user: { name: 'Ada' } })
 *   addAnnotation(session.doc, { frame: 0, bbox: [10, 10, 40, 30], label: 'car' }, { by: 'ada' })
 */
export * from '../docs-model/index.ts';
export {
  DURABLE_ACK_MESSAGE_TYPE,
  trackDurableAcks,
  type DurableAcks,
  type DurableAcksOptions,
  type ProviderLike,
} from '../docs-model/durable-acks.ts';
export {
  openSession,
  offlineStoreName,
  TOKEN_EXPIRED_CLOSE_CODE,
  type AnnotationSession,
  type OpenSessionOptions,
  type SessionEvents,
} from './session.ts';
export { colorFor, createPresence, type Peer, type Presence, type PresenceUser } from './presence.ts';
export { createUndo, type UndoOptions } from './undo.ts';
export { keepEdits, keptEdits } from './kept-edits.ts';
export { warnBeforeUnload } from './before-unload.ts';
export { describeSaveState, saveState, type SaveState } from './save-state.ts';
export { apiUrl, syncUrl } from './server-url.ts';
