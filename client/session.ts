/**
 * `openSession`: one annotation session in the browser — the Yjs document synced with the stock
 * y-websocket provider, durable acks, undo of this client's own edits, presence, and (with
 * `offline: true`) the document and its unsaved edits kept in IndexedDB, so a reload while the
 * network is down keeps every edit and sends it when the network returns.
 *
 *   const session = await openSession({ url: 'https://annosync.example.com', sessionId, token, offline: true, user: { name: 'Ada' } })
 *   session.on('tokenExpired', async () => session.setToken(await fetchFreshToken()))
 *   await session.whenLoaded          // content on screen (from IndexedDB, or the first sync)
 *   addAnnotation(session.doc, { frame: 0, bbox: [10, 10, 40, 30], label: 'car' }, { by: 'ada' })
 *   session.acks.on('change', (n) => (badge.textContent = n === 0 ? 'saved' : `${n} unsaved`))
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import { ObservableV2 } from 'lib0/observable';
import type { Awareness } from 'y-protocols/awareness';
import { trackDurableAcks, type DurableAcks, type ProviderLike } from '../docs-model/durable-acks.ts';
import { compactNewContent } from '../docs-model/compact-content.ts';
import { createPresence, type Peer, type Presence, type PresenceUser } from './presence.ts';
import { createUndo } from './undo.ts';
import { keepEdits, keptEdits } from './kept-edits.ts';
import { syncUrl } from './server-url.ts';

/** The server closes an open connection with this code when its token's `exp` has passed (README, "Close codes"). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4401;

export interface OpenSessionOptions {
  /** The server: `https://host`, `http://127.0.0.1:1234` or its `ws(s)://…/sync` endpoint. */
  url: string;
  sessionId: string;
  /** A JWT with a role on the session's project. */
  token: string;
  /** Keep the document and the unsaved edits in IndexedDB (y-indexeddb). */
  offline?: boolean;
  /** Who this is, for the others' presence list. Default: 'anonymous'. */
  user?: PresenceUser;
  /** Undo step length in ms (edits closer together are one step). Default 500. */
  captureTimeout?: number;
}

export interface SessionEvents {
  /** The server closed the connection because the token expired; answer with `setToken(fresh)`. */
  tokenExpired: () => void;
  /** The server closed the connection for good (4400–4499 other than 4401: no access, no such session). */
  closed: (code: number, reason: string) => void;
  /** Connected to the server or not. */
  connection: (connected: boolean) => void;
  /** Someone joined, left, changed frame or selection. */
  peers: (peers: Peer[]) => void;
}

export interface AnnotationSession extends Presence {
  doc: Y.Doc;
  provider: WebsocketProvider;
  awareness: Awareness;
  /** Undo/redo of this client's edits only. */
  undo: Y.UndoManager;
  /** Durable acknowledgements: `unsavedCount`, 'change' and 'saved' events, the pending updates. */
  acks: DurableAcks;
  /** The origin to pass to docs-model writes (`addAnnotation(…, origin)`); writes without one count as local too. */
  origin: object;
  /** The IndexedDB store when opened with `offline: true`. */
  persistence: IndexeddbPersistence | null;
  /** Resolves the first time the document has been synced with the server. */
  whenSynced: Promise<void>;
  /** Resolves once content can be shown: loaded from IndexedDB (offline) or synced. */
  whenLoaded: Promise<void>;
  /** Connected to the server now. */
  readonly connected: boolean;
  /** Unsaved edits are kept on this device (offline mode) rather than only in memory. */
  readonly keepsEditsOnDevice: boolean;
  /** Replaces the token and reconnects with it (after 'tokenExpired', or any time). */
  setToken(token: string): void;
  on<E extends keyof SessionEvents>(event: E, handler: SessionEvents[E]): void;
  off<E extends keyof SessionEvents>(event: E, handler: SessionEvents[E]): void;
  /** Disconnects and frees everything; what IndexedDB holds stays there. */
  destroy(): void;
}

/** The IndexedDB database name of a session (one per server and session). */
export const offlineStoreName = (url: string, sessionId: string): string => `annosync:${syncUrl(url)}:${sessionId}`;

export async function openSession(options: OpenSessionOptions): Promise<AnnotationSession> {
  const doc = new Y.Doc();
  // What arrives from the server or IndexedDB, decoded, held at its own size: a quarter less memory
  // for a large session (docs-model/compact-content.ts).
  doc.on('afterTransactionCleanup', compactNewContent);
  const events = new ObservableV2<SessionEvents>();
  const origin = { annosyncLocalEdit: true };
  const provider = new WebsocketProvider(syncUrl(options.url), `session:${options.sessionId}`, doc, {
    connect: false,
    params: { token: options.token, acks: '1' },
  });
  const persistence = options.offline ? new IndexeddbPersistence(offlineStoreName(options.url, options.sessionId), doc) : null;
  const acks = trackDurableAcks(provider as unknown as ProviderLike, { isLocal: (o) => persistence === null || o !== persistence });
  const undo = createUndo(doc, origin, options.captureTimeout === undefined ? {} : { captureTimeout: options.captureTimeout });
  const presence = createPresence(provider.awareness, options.user ?? { name: 'anonymous' });

  let resolveSynced!: () => void;
  const whenSynced = new Promise<void>((resolve) => (resolveSynced = resolve));
  const onSync = (synced: boolean) => {
    if (synced) resolveSynced();
  };
  const onStatus = ({ status }: { status: string }) => events.emit('connection', [status === 'connected']);
  /** Closed for good by the server (4400–4499): only a new token (setToken) dials again. */
  let halted = false;
  const onClose = (event: CloseEvent | null) => {
    if (!event || event.code < 4400 || event.code >= 4500) return;
    halted = true;
    if (event.code === TOKEN_EXPIRED_CLOSE_CODE) events.emit('tokenExpired', []);
    else events.emit('closed', [event.code, event.reason]);
  };
  const onAwareness = () => events.emit('peers', [presence.peers()]);
  provider.on('sync', onSync);
  provider.on('status', onStatus);
  provider.on('connection-close', onClose);
  provider.awareness.on('change', onAwareness);

  let stopKeeping = () => {};
  if (persistence) {
    // Local content first: what the page showed before the reload, and the count of its edits
    // the server has not acknowledged (they go out in the first step 2).
    await persistence.whenSynced;
    acks.restore(await keptEdits(persistence));
    stopKeeping = keepEdits(persistence, acks);
  }
  // The browser knows about a lost network long before a silent socket times out (y-websocket
  // waits 30 s for a message): follow its online/offline events, and do not dial while offline.
  const onOffline = () => provider.disconnect();
  const onOnline = () => {
    if (!halted) provider.connect();
  };
  const win = typeof window === 'undefined' ? null : window;
  win?.addEventListener('offline', onOffline);
  win?.addEventListener('online', onOnline);
  if (typeof navigator === 'undefined' || navigator.onLine !== false) provider.connect();
  const whenLoaded = persistence ? Promise.resolve() : whenSynced;

  return {
    doc,
    provider,
    awareness: provider.awareness,
    undo,
    acks,
    origin,
    persistence,
    whenSynced,
    whenLoaded,
    get connected() {
      return provider.wsconnected;
    },
    keepsEditsOnDevice: persistence !== null,
    ...presence,
    setToken: (token) => {
      provider.params = { ...provider.params, token };
      halted = false;
      // A closed or closing socket reconnects with the new token; an open one is replaced.
      provider.disconnect();
      if (typeof navigator === 'undefined' || navigator.onLine !== false) provider.connect();
    },
    on: (event, handler) => events.on(event, handler),
    off: (event, handler) => events.off(event, handler),
    destroy: () => {
      stopKeeping();
      win?.removeEventListener('offline', onOffline);
      win?.removeEventListener('online', onOnline);
      provider.off('sync', onSync);
      provider.off('status', onStatus);
      provider.off('connection-close', onClose);
      provider.awareness.off('change', onAwareness);
      acks.destroy();
      undo.destroy();
      provider.destroy();
      void persistence?.destroy();
      events.destroy();
      doc.destroy();
    },
  };
}
