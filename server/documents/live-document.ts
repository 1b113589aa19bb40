/**
 * One document held in memory: its Y.Doc, its presence, the peers connected to it, and the
 * encodings many joiners share. It owns no sockets: peers are anything that can `send`.
 *
 * Every change goes through `onUpdate`, which switches on the typed origin: stored in the update
 * log unless it came from the database or is another process's to store (origins.ts), sent to
 * every peer but the one it came from, then emitted as `change` on the event source (the
 * registry). When it leaves memory is the registry's business: holds, the unload timer and the
 * compaction count live there.
 */
import * as Y from 'yjs';
import { binaryFrame } from './frames.ts';
import { encodeSyncMessage, syncPrefix } from './sync-messages.ts';
import { DocAwareness, type AwarenessLimits, type AwarenessOwner } from './doc-awareness.ts';
import { PresenceBatch } from './presence-batch.ts';
import { UpdateBatch } from './update-batch.ts';
import { HeldBack, type HeldBackUpdates } from './update-chain.ts';
import { SyncMessageType, type CloseCodeValue, type DocName } from '../../docs-model/protocol.ts';
import { compactNewContent } from '../../docs-model/compact-content.ts';
import { asChangeOrigin, persistenceOrigin, type ChangeOrigin, type ConnectionOrigin } from './origins.ts';
import { updateKeyText, type KeyedRow, type UpdateKey, type UpdateKeys } from './update-keys.ts';
import type { UpdateLog } from '../../persistence/update-log.ts';

export interface Peer extends ConnectionOrigin, AwarenessOwner {
  /** `frame`, when given, is `message` already framed for the wire (see frames.ts). */
  send(message: Uint8Array, frame?: Buffer): void;
  /** Ends the peer's session (a discarded document, see DocRegistry.discard). */
  close(code: CloseCodeValue, reason: string): void;
}

/** Joiners with an empty document all get the same full state; keep a few other state vectors too. */
const STEP2_CACHE_ENTRIES = 4;
const EMPTY_STATE_VECTOR_KEY = '\u0000';

const isEmptyStateVector = (stateVector: Uint8Array): boolean => stateVector.length === 1 && stateVector[0] === 0;

/** Where a document reports its changes and presence: the registry's event source (events.ts). */
export interface DocumentEventSink {
  emit(name: 'change', args: [doc: LiveDocument, update: Uint8Array, origin: ChangeOrigin, row: KeyedRow | null]): void;
  emit(name: 'awareness', args: [doc: LiveDocument, message: Uint8Array, source: 'local' | 'remote']): void;
}

/** Resolves once both did; rejects as either does. Marked handled: a caller may never await it. */
function settledTogether(a: Promise<void>, b: Promise<void>): Promise<void> {
  const both = Promise.all([a, b]).then(() => undefined);
  both.catch(() => undefined);
  return both;
}

/** Whether a finished transaction changed the document: what Yjs asks before it emits 'update'. */
function changedAnything(transaction: Y.Transaction): boolean {
  if (transaction.deleteSet.clients.size > 0) return true;
  for (const [client, clock] of transaction.afterState) if (transaction.beforeState.get(client) !== clock) return true;
  return false;
}

export class LiveDocument {
  readonly name: string;
  readonly kind: DocName['kind'];
  readonly id: string;
  readonly ydoc: Y.Doc;
  readonly awareness: DocAwareness;
  readonly peers = new Set<Peer>();

  private readonly log: UpdateLog;
  private readonly keys: UpdateKeys | null;
  private readonly events: DocumentEventSink | null;
  private latestCommit: Promise<void> = Promise.resolve();
  /** Resolves once every update another process stores (origins.ts, `sender`) received so far is durable; null when all are. */
  private storedElsewhere: Promise<void> | null = null;
  private isDestroyed = false;
  private step1Message: Uint8Array | null = null;
  private readonly step2Cache = new Map<string, Uint8Array>();
  /** The stored state (one update) until `integrate` applies it; joiners are answered from it meanwhile. */
  private stored: Uint8Array | null = null;
  private requestIntegrationOnce: () => void = () => undefined;
  /** Presence changes made here (peers, their leaving, the sweep), sent once per turn. */
  private readonly presence: PresenceBatch<Peer>;
  /** Updates for the peers, sent once per turn (update-batch.ts). */
  private readonly outgoing = new UpdateBatch((payload, except, frame) => this.broadcast(payload, except, frame));
  /** While a staged change holds the document (`takeExclusive`): resolves when it lets go. */
  private exclusiveEnd: Promise<void> | null = null;
  /** The staged change's origin and the updates it made so far, held back (`holdBack`). */
  private heldBack: HeldBack | null = null;
  /** Resolves once something asked for the stored state to be integrated (see `requestIntegration`). */
  readonly integrationRequested: Promise<void>;

  /**
   * `stored`, when given, is what the database holds as one update, kept apart until `integrate`:
   * integrating 10 000 annotations blocks the event loop for hundreds of milliseconds, and the
   * bytes alone already answer a joiner's sync step 1 (they are a Yjs update; Y.diffUpdate cuts
   * them to a state vector without a Y.Doc).
   * `keys`: with Redis, this process's update keys (update-keys.ts); every row it writes for its
   * own changes carries one.
   */
  constructor(
    docName: DocName,
    deps: { log: UpdateLog; limits: AwarenessLimits; events?: DocumentEventSink; stored?: Uint8Array; keys?: UpdateKeys | null },
  ) {
    this.name = docName.name;
    this.kind = docName.kind;
    this.id = docName.id;
    this.log = deps.log;
    this.keys = deps.keys ?? null;
    this.events = deps.events ?? null;
    // The guid is the document's name: Yjs draws a random uuid otherwise, one getRandomValues call
    // per hex digit (lib0/random.js): 0.1-0.25 ms per document, 85 ms of the server's CPU when
    // bench:sync opens 1 000 documents at once. The sync protocol never sends it; only subdocuments
    // are told apart by it, and we have none.
    this.ydoc = new Y.Doc({ gc: true, guid: this.name });
    this.awareness = new DocAwareness(deps.limits);
    this.presence = new PresenceBatch(this.awareness, this.peers, (message) => this.events?.emit('awareness', [this, message, 'local']));
    this.ydoc.on('update', this.onUpdate);
    // Every decoded value at its own size: a quarter less memory per loaded document.
    this.ydoc.on('afterTransactionCleanup', compactNewContent);
    this.integrationRequested = new Promise((resolve) => (this.requestIntegrationOnce = resolve));
    if (deps.stored) this.stored = deps.stored;
    else this.requestIntegrationOnce();
  }

  /** False while the stored state waits in `stored`: `ydoc` is still empty then. */
  get integrated(): boolean {
    return this.stored === null;
  }

  /** Someone (a joiner whose answer is on its way, a caller that needs the Y.Doc) wants `integrate` now. */
  requestIntegration(): void {
    this.requestIntegrationOnce();
  }

  /** Resolves once someone asked for `integrate`, or after `ms`, whichever comes first. */
  integrationRequestedWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const elapsed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    return Promise.race([this.integrationRequested, elapsed]).finally(() => clearTimeout(timer));
  }

  /** Applies the stored state given to the constructor (the registry calls it once, before `load`). */
  integrate(): void {
    const stored = this.stored;
    if (!stored) return;
    this.applyStored([stored]);
    this.stored = null;
  }

  /**
   * The commit of the latest stored update: once it resolves, everything before it is durable too,
   * including what other processes store (their notice came, or this process stored it for them).
   */
  get lastCommit(): Promise<void> {
    return this.latestCommit;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /**
   * Applies what the database holds (snapshot, then log rows) as one transaction. With no 'update'
   * listener attached Yjs does not encode the whole applied state again for the event (~100 ms
   * for 10 000 annotations), which `onUpdate` would drop anyway (persistence origin).
   */
  applyStored(updates: Uint8Array[]): void {
    if (updates.length === 0) return;
    this.ydoc.off('update', this.onUpdate);
    try {
      Y.transact(
        this.ydoc,
        () => {
          for (const update of updates) Y.applyUpdate(this.ydoc, update);
        },
        persistenceOrigin,
      );
    } finally {
      this.ydoc.on('update', this.onUpdate);
      this.step1Message = null;
      this.step2Cache.clear();
    }
    // A single stored update is the whole state (the store merges snapshot and rows into one): it
    // serves as the first empty joiner's step 2 without encoding the document again.
    if (updates.length === 1) this.step2Cache.set(EMPTY_STATE_VECTOR_KEY, encodeSyncMessage(SyncMessageType.step2, updates[0]!));
  }

  /**
   * Non-null while a staged change holds the document; resolves when it lets go. Until then its
   * content is half-written: peers' messages (server/sync/connection.ts) and every other reader and
   * writer wait for it (docs/architecture.md, "Large writes").
   */
  get busy(): Promise<void> | null {
    return this.exclusiveEnd;
  }

  /** Waits until no staged change holds the document, then holds it; call the returned function to let go. */
  async takeExclusive(): Promise<() => void> {
    while (this.exclusiveEnd) await this.exclusiveEnd;
    let end!: () => void;
    this.exclusiveEnd = new Promise<void>((resolve) => (end = resolve));
    return () => {
      this.heldBack = null;
      this.exclusiveEnd = null;
      end();
    };
  }

  /** From now, updates with `origin` (this very object) are kept, not stored, sent or told, until `takeHeldBack`. */
  holdBack(origin: ChangeOrigin, expectedSteps = 0): void {
    this.heldBack = new HeldBack(origin, this.ydoc.clientID, expectedSteps);
  }

  /** The updates held back since `holdBack`, which ends holding back. */
  takeHeldBack(): HeldBackUpdates {
    const held = this.heldBack;
    this.heldBack = null;
    return held?.take() ?? { updates: [], joined: null };
  }

  /** A held-back change, merged into one update: stored, sent and told as `onUpdate` does every update. */
  acceptHeldBack(update: Uint8Array, origin: ChangeOrigin): void {
    this.onUpdate(update, origin);
  }

  /**
   * Applies an update a peer made (a sync `update` message; a step 2 carries the sender's whole
   * delete set). Yjs would encode the change once more for its 'update' event: ~7 % of the server's
   * CPU in a fan-out to 10 clients. When the update integrates whole, the received bytes say the
   * same, so they are what is stored and sent, with the event muted while they apply; one that
   * changed nothing goes nowhere, as with Yjs. Whatever waits for missing dependencies, before or
   * after, takes Yjs's own path: what waits is neither stored nor sent until it integrates.
   */
  applyPeerUpdate(update: Uint8Array, from: Peer): void {
    const store = this.ydoc.store;
    if (this.heldBack || store.pendingStructs !== null || store.pendingDs !== null) return Y.applyUpdate(this.ydoc, update, from);
    let applied: Y.Transaction | null = null;
    let whole = false;
    this.ydoc.off('update', this.onUpdate);
    try {
      Y.transact(this.ydoc, (transaction) => {
        applied = transaction;
        Y.applyUpdate(this.ydoc, update, from);
        whole = true;
      }, from);
    } finally {
      this.ydoc.on('update', this.onUpdate);
      const done = applied as Y.Transaction | null;
      if (done !== null && changedAnything(done)) {
        whole &&= store.pendingStructs === null && store.pendingDs === null;
        // Broken off or partly waiting: what did integrate, as Yjs would have told it.
        this.onUpdate(whole ? update : Y.encodeStateAsUpdate(this.ydoc, Y.encodeStateVector(done.beforeState)), from);
      }
    }
  }

  private readonly onUpdate = (update: Uint8Array, rawOrigin: unknown, _doc?: Y.Doc, transaction?: Y.Transaction): void => {
    this.step1Message = null;
    this.step2Cache.clear();
    if (this.heldBack && rawOrigin === this.heldBack.origin) return this.heldBack.add(update, transaction);
    const origin = asChangeOrigin(rawOrigin);
    if (origin.kind === 'persistence') return;
    let row: KeyedRow | null = null;
    if (origin.kind !== 'redis') {
      const key = this.keys?.next() ?? null;
      const committed = this.store(update, key, origin.kind === 'server');
      if (key) row = { key, committed };
    } else if (origin.storedBy === 'here') {
      this.store(update, null);
    } else if (origin.storedBy === 'sender') {
      // Its sender stores it (docs/architecture.md, "More than one process"): one row per update.
      this.awaitStoredElsewhere(origin.durable);
    }
    const from = origin.kind === 'connection' ? origin : undefined;
    // Framed only when someone receives it: an import's update is megabytes.
    if (this.receivers(from) > 0) this.outgoing.add(update, from);
    this.events?.emit('change', [this, update, origin, row]);
  };

  /**
   * Appends to the log; returns the commit of this update alone. The server's own changes do not
   * wait for company: a REST write or an import is answered only once committed (a dashboard's few
   * a second come along; docs/architecture.md, "Durability").
   */
  private store(update: Uint8Array, key: UpdateKey | null, awaited = false): Promise<void> {
    const appended = this.log.append(this.name, update, key ? updateKeyText(key) : undefined, awaited);
    this.latestCommit = this.storedElsewhere ? settledTogether(appended, this.storedElsewhere) : appended;
    return appended;
  }

  private awaitStoredElsewhere(durable: Promise<void>): void {
    const all = this.storedElsewhere ? settledTogether(this.storedElsewhere, durable) : durable;
    this.storedElsewhere = all;
    const done = () => {
      if (this.storedElsewhere === all) this.storedElsewhere = null;
    };
    all.then(done, done);
    this.latestCommit = settledTogether(this.latestCommit, durable);
  }

  /** Our state vector as sync step 1, shared by every joiner until the document changes. */
  syncStep1(): Uint8Array {
    if (this.stored) return encodeSyncMessage(SyncMessageType.step1, Y.encodeStateVectorFromUpdate(this.stored));
    return (this.step1Message ??= encodeSyncMessage(SyncMessageType.step1, Y.encodeStateVector(this.ydoc)));
  }

  /**
   * What a client with `stateVector` lacks, as sync step 2, in two parts: `head` then `body`. While
   * the stored state waits (not integrated), an empty client lacks all of it: `body` is the stored
   * bytes themselves, not copied into a message (a fresh 4 MB buffer cost ~13 ms of page faults on
   * a cold join; frames.ts writes the parts as one frame). Otherwise `body` is `syncStep2For`'s
   * message and `head` is empty.
   */
  syncStep2PartsFor(stateVector: Uint8Array): { head: readonly number[]; body: Uint8Array } {
    if (this.stored && isEmptyStateVector(stateVector)) return { head: syncPrefix(SyncMessageType.step2, this.stored.length), body: this.stored };
    return { head: [], body: this.syncStep2For(stateVector) };
  }

  /** What a client with `stateVector` lacks, as sync step 2; cached so a crowd of joiners shares one encoding. */
  syncStep2For(stateVector: Uint8Array): Uint8Array {
    const key = isEmptyStateVector(stateVector) ? EMPTY_STATE_VECTOR_KEY : Buffer.from(stateVector).toString('latin1');
    let message = this.step2Cache.get(key);
    if (!message) {
      const stored = this.stored;
      let missing: Uint8Array;
      if (stored === null) missing = Y.encodeStateAsUpdate(this.ydoc, stateVector);
      // An empty client lacks the whole stored update; diffUpdate would parse and re-encode it (~150 ms for 4 MB).
      else if (key === EMPTY_STATE_VECTOR_KEY) missing = stored;
      else missing = Y.diffUpdate(stored, stateVector);
      message = encodeSyncMessage(SyncMessageType.step2, missing);
      if (this.step2Cache.size >= STEP2_CACHE_ENTRIES) {
        const oldest = this.step2Cache.keys().next().value;
        if (oldest !== undefined) this.step2Cache.delete(oldest);
      }
      this.step2Cache.set(key, message);
    }
    return message;
  }

  /**
   * Sends to every peer but `except`; the frame is built once when there are several receivers
   * (or given, already built, as `prebuilt`).
   */
  broadcast(message: Uint8Array, except?: ConnectionOrigin, prebuilt?: Buffer): void {
    const receivers = this.receivers(except);
    if (receivers <= 0) return;
    const frame = prebuilt ?? (receivers > 1 ? binaryFrame(message) : undefined);
    for (const peer of this.peers) {
      if (peer !== except) peer.send(message, frame);
    }
  }

  private receivers(except?: ConnectionOrigin): number {
    return this.peers.size - (except && this.peers.has(except as Peer) ? 1 : 0);
  }

  /** Presence from a peer: applied now, sent to the others with this turn's (presence-batch.ts). Throws on a policy breach. */
  applyAwareness(from: Peer, update: Uint8Array): void {
    this.presence.changed(this.awareness.applyFrom(from, update, Date.now()), from);
  }

  /** A new peer's greeting: everyone's presence, with the next batch (presence-batch.ts). */
  greetPresence(peer: Peer): void {
    this.presence.join(peer);
  }

  /** Presence another process published: sent to every local peer, not published again. */
  applyRemoteAwareness(update: Uint8Array): void {
    const message = this.awareness.applyRemote(update, Date.now());
    if (!message) return;
    this.broadcast(message);
    this.events?.emit('awareness', [this, message, 'remote']);
  }

  removePeer(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    const clientId = this.awareness.removeOwner(peer, Date.now());
    this.presence.changed(clientId === null ? null : [clientId], null);
    this.presence.departLater();
  }

  sweepAwareness(now: number): void {
    this.presence.changed(this.awareness.sweep(now), null);
  }

  /** Drops every cache and the Y.Doc. The registry calls it only once the log holds everything. */
  destroy(): void {
    if (this.isDestroyed) return;
    // Presence still queued goes out now: its event tells other processes who left.
    this.outgoing.flush();
    this.presence.flush();
    this.isDestroyed = true;
    this.stored = null;
    this.step1Message = null;
    this.step2Cache.clear();
    this.ydoc.off('update', this.onUpdate);
    this.ydoc.destroy();
  }
}
