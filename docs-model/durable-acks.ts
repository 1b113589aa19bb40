/**
 * Durable acknowledgements for a stock `WebsocketProvider` (browser-safe, no Node APIs).
 *
 * Connect with `params: { acks: '1' }` and the server sends, after each commit, how many of this
 * connection's update messages are now in the database (message type 100, a varUint count). This
 * helper counts the update messages the provider sends, listens for those counts, and tells the
 * frontend how many local edits are not yet safely stored — so it can show "saved" truthfully and
 * keep unacknowledged work locally (e.g. y-indexeddb) until they are.
 *
 *   const provider = new WebsocketProvider(url, 'session:' + id, ydoc, { params: { token, acks: '1' } })
 *   const acks = trackDurableAcks(provider)
 *   acks.on('change', (unsaved) => badge.textContent = unsaved === 0 ? 'saved' : `${unsaved} unsaved`)
 *
 * The tracker also keeps the updates of the edits not yet acknowledged (`pendingUpdates()`), in
 * order, so a page can keep them somewhere durable or warn before closing; `restore()` takes such
 * a list back after a reload (annosync/client does both with y-indexeddb).
 */
import * as decoding from 'lib0/decoding';
import type * as Y from 'yjs';
import { MessageType, SyncMessageType } from './protocol.ts';

/** The message type the server uses; above y-protocols' 0–3 (see protocol.ts). */
export const DURABLE_ACK_MESSAGE_TYPE = MessageType.durableAck;

/** Client → server: varUint 0 under the ack type, "count my update messages from here". */
const COUNT_FROM_HERE = new Uint8Array([DURABLE_ACK_MESSAGE_TYPE, 0]);

const SYNC = MessageType.sync;
const SYNC_STEP2 = SyncMessageType.step2;
const SYNC_UPDATE = SyncMessageType.update;

/** The parts of y-websocket's WebsocketProvider this helper uses. */
export interface ProviderLike {
  doc: Y.Doc;
  ws: { send(data: Uint8Array | ArrayBuffer | string): void } | null;
  wsconnected: boolean;
  messageHandlers: Array<(encoder: unknown, decoder: decoding.Decoder, provider: unknown, emitSynced: boolean, type: number) => void>;
  on(event: 'status', handler: (event: { status: string }) => void): void;
  off(event: 'status', handler: (event: { status: string }) => void): void;
}

export interface DurableAcksOptions {
  /**
   * Which document updates are this client's edits. Default: everything not applied by the
   * provider. Content replayed from a local store (y-indexeddb's origin) is not a new edit:
   * pass a predicate that excludes it, and `restore()` what was still unsaved instead.
   */
  isLocal?: (origin: unknown) => boolean;
}

export interface DurableAcks {
  /** Local edits not yet known to be stored. */
  readonly unsavedCount: number;
  /** The Yjs updates of those edits, oldest first (one per edit; restored ones as they were kept). */
  pendingUpdates(): Uint8Array[];
  /**
   * Counts edits kept from an earlier page (their updates, as `pendingUpdates()` gave them) as
   * unsaved: they are already in the document, and go out with the next connection's step 2.
   * Call it before the provider connects.
   */
  restore(updates: readonly Uint8Array[]): void;
  /** 'change' on every count change; 'saved' each time the count reaches 0. */
  on(event: 'change' | 'saved', handler: (unsavedCount: number) => void): void;
  off(event: 'change' | 'saved', handler: (unsavedCount: number) => void): void;
  destroy(): void;
}

export function trackDurableAcks(provider: ProviderLike, options: DurableAcksOptions = {}): DurableAcks {
  const isLocal = options.isLocal ?? ((origin: unknown) => origin !== provider);
  const handlers = { change: new Set<(n: number) => void>(), saved: new Set<(n: number) => void>() };
  /** Local edits made since the last update message that carried them. */
  let notSent = 0;
  /** For each update message sent on the current socket (index = its 1-based number - 1): the edits it carried. */
  let inFlight: number[] = [];
  let acked = 0;
  let unsaved = 0;
  /** The update of each unsaved edit, oldest first: acks credit the oldest edits first. */
  let pending: Uint8Array[] = [];
  /** Between our "count from here" and the server's count-0 answer: acks are for older messages. */
  let awaitingReset = false;

  const emit = () => {
    for (const handler of handlers.change) handler(unsaved);
    if (unsaved === 0) for (const handler of handlers.saved) handler(0);
  };

  const onLocalUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === provider || !isLocal(origin)) return; // remote or replayed content, not a new edit
    pending.push(update);
    // Connected, the provider has already sent it as one update message (its listener runs first);
    // offline, it waits for the step 2 of the next connection.
    if (!provider.wsconnected) notSent++;
    unsaved++;
    emit();
  };

  /**
   * Counts update messages on their way out, as the server counts them on their way in. First it
   * tells the server to count from here, and ignores acks until the server answers with a count of
   * 0: a tracker attached to an open connection has not seen the update messages sent before (at
   * least the initial sync's step 2), and their acks — already on the way, too — would otherwise
   * be credited to later edits: "saved" while the last edit was not stored yet.
   */
  const patchSocket = () => {
    const ws = provider.ws;
    if (!ws || (ws as { __annosyncAcks?: boolean }).__annosyncAcks) return;
    (ws as { __annosyncAcks?: boolean }).__annosyncAcks = true;
    const send = ws.send.bind(ws);
    if (provider.wsconnected) {
      inFlight = [];
      acked = 0;
      awaitingReset = true;
      send(COUNT_FROM_HERE);
    }
    ws.send = (data) => {
      if (data instanceof Uint8Array && data[0] === SYNC && (data[1] === SYNC_STEP2 || data[1] === SYNC_UPDATE)) {
        // An update message carries one local edit; a step 2 carries every edit made offline.
        inFlight.push(data[1] === SYNC_UPDATE ? 1 : notSent);
        if (data[1] === SYNC_STEP2) notSent = 0;
      }
      send(data);
    };
  };

  const onStatus = ({ status }: { status: string }) => {
    if (status === 'connected') {
      patchSocket();
      return;
    }
    if (status === 'disconnected') {
      // Whatever the old socket did not get acknowledged goes out again in the next step 2.
      for (const edits of inFlight.slice(acked)) notSent += edits;
      inFlight = [];
      acked = 0;
    }
  };

  provider.messageHandlers[DURABLE_ACK_MESSAGE_TYPE] = (_encoder, decoder) => {
    const count = decoding.readVarUint(decoder);
    if (awaitingReset) {
      if (count === 0) awaitingReset = false;
      return;
    }
    let saved = 0;
    for (let i = acked; i < Math.min(count, inFlight.length); i++) saved += inFlight[i]!;
    acked = Math.max(acked, Math.min(count, inFlight.length));
    if (saved > 0) {
      unsaved = Math.max(0, unsaved - saved);
      pending = pending.slice(pending.length - unsaved);
      emit();
    }
  };

  provider.doc.on('update', onLocalUpdate);
  provider.on('status', onStatus);
  patchSocket();

  return {
    get unsavedCount() {
      return unsaved;
    },
    pendingUpdates: () => pending.slice(),
    restore: (updates) => {
      if (updates.length === 0) return;
      pending = [...updates, ...pending];
      unsaved += updates.length;
      notSent += updates.length;
      emit();
    },
    on: (event, handler) => void handlers[event].add(handler),
    off: (event, handler) => void handlers[event].delete(handler),
    destroy: () => {
      provider.doc.off('update', onLocalUpdate);
      provider.off('status', onStatus);
      delete provider.messageHandlers[DURABLE_ACK_MESSAGE_TYPE];
    },
  };
}
