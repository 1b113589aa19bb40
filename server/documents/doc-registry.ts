/**
 * The documents held in memory, and the one event source for their life (events.ts). Loads are
 * single-flight (concurrent opens of one document share one load, as Hocuspocus does); a failed
 * load is never cached, so the next open tries again and nothing is ever written back from a
 * document that did not load. A document with no peers and no holders leaves memory after
 * `idleUnloadMs`, and only once every update it received is committed. Each document's lifecycle
 * (holds, unload timer) is this class's own state; when it compacts is compactions.ts's.
 *
 *   const registry = new DocRegistry({ store, log, limits, compactAfterRows, logger })
 *   registry.on('change', (doc, update, origin) => …)       // followers subscribe
 *   const doc = await registry.acquire(parseDocName('session:abc')!)
 *   try { … } finally { registry.release(doc) }
 */
import * as Y from 'yjs';
import { ObservableV2 } from 'lib0/observable';
import { LiveDocument, type Peer } from './live-document.ts';
import { serverOrigin, type ChangeOrigin, type ServerOrigin } from './origins.ts';
import type { DocumentEvents } from './events.ts';
import type { UpdateKeys } from './update-keys.ts';
import { oneStep, transactInSteps } from './staged-change.ts';
import { Compactions } from './compactions.ts';
import { TooManyRequestsError, UnavailableError } from '../base/errors.ts';
import type { StagedWrite } from '../../docs-model/staged-write.ts';
import { CloseCode, type DocName } from '../../docs-model/protocol.ts';
import type { Limits } from '../config.ts';
import type { UpdateLog } from '../../persistence/update-log.ts';
import type { DocStore, MergedDocument } from '../../persistence/doc-store.ts';
import type { Logger } from '../../shared/logger.ts';

const AWARENESS_SWEEP_MS = 3_000;
/**
 * How long a load keeps its stored state unintegrated when nobody asks for it (a joiner's flushed
 * answer or any `acquire` asks at once): a joiner that never sends its sync step 1 waits this long.
 */
const INTEGRATION_DEFER_MS = 200;

export interface DocRegistryDeps {
  store: DocStore;
  log: UpdateLog;
  limits: Limits;
  /** Compact a document's log into its snapshot once this many rows were written since the last one. */
  compactAfterRows: number;
  /** A loaded document compacts at most once per this long (compactions.ts); default 0. */
  compactMinIntervalMs?: number;
  logger: Logger;
  /**
   * Whether `acquireForSync` may answer joiners from the stored state before the load ends. Off with
   * Redis: another process may hold what is not stored yet, which `prepare` fetches and a joiner's
   * first sync must include (docs/architecture.md, "More than one process").
   */
  answerFromStored?: boolean;
  /** With Redis: this process's update keys (update-keys.ts), so no update is stored twice. */
  keys?: UpdateKeys | null;
  /** Folds a staged change's updates into one, off the event loop (staged-change.ts); Y.mergeUpdates here when absent. */
  mergeUpdates?: (updates: Uint8Array[]) => Promise<Uint8Array>;
  /** Between two steps of a staged change (tests hold one open here). */
  betweenSteps?: () => Promise<void>;
}

/** What the registry keeps about each loaded document. */
interface Lifecycle {
  readonly doc: LiveDocument;
  /** Callers (a connecting socket, a REST request) that need the document to stay loaded. */
  holds: number;
  unloadTimer: NodeJS.Timeout | null;
  /** `performance.now()` when it was last released, detached or loaded: idle since then if unused. */
  idleSince: number;
}

/** One load in flight: its stored state read first, then the document loaded. */
interface Load {
  readonly stored: Promise<Lifecycle>;
  readonly loaded: Promise<LiveDocument>;
}

/** What `acquireForSync` hands a joiner: the document, and the load it may still be in. */
export interface SyncAcquisition {
  doc: LiveDocument;
  /** Null when the document was loaded already; else resolves once it is (rejects if the load fails). */
  loaded: Promise<void> | null;
}

export class DocRegistry extends ObservableV2<DocumentEvents> {
  private readonly docs = new Map<string, Lifecycle>();
  private readonly loading = new Map<string, Load>();
  /** Documents read from the database and not loaded yet (integrating, or `prepare` running). */
  private readonly preparing = new Map<string, Lifecycle>();
  private readonly compactions: Compactions;
  private readonly deps: DocRegistryDeps;
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;
  /** How many loads reached the database (tests check that concurrent opens share one). */
  loads = 0;

  constructor(deps: DocRegistryDeps) {
    super();
    this.deps = deps;
    // A lone process holds everything stored for its documents, so a small one that unloads can
    // compact from its own state (compactions.ts).
    this.compactions = new Compactions({ ...deps, compactFromState: deps.answerFromStored === true });
    this.sweepTimer = setInterval(() => this.sweepAwareness(), AWARENESS_SWEEP_MS);
    this.sweepTimer.unref();
    // First listener: every stored change counts towards the next compaction.
    this.on('change', (doc) => this.compactions.counted(doc));
  }

  get size(): number {
    return this.docs.size;
  }

  get(name: string): LiveDocument | undefined {
    return this.docs.get(name)?.doc;
  }

  *all(): IterableIterator<LiveDocument> {
    for (const state of this.docs.values()) yield state.doc;
  }

  /** Whether a loaded document is held or has peers; undefined when it is not loaded. */
  inUse(name: string): boolean | undefined {
    const state = this.docs.get(name);
    return state ? this.used(state) : undefined;
  }

  /** The document, loaded if needed, held until `release`. */
  async acquire(docName: DocName): Promise<LiveDocument> {
    if (this.closed) throw new UnavailableError('server is shutting down');
    let state = this.docs.get(docName.name);
    if (!state) {
      const load = this.startLoad(docName);
      // This caller needs the whole Y.Doc: no reason to keep its integration waiting.
      load.stored.then((early) => early.doc.requestIntegration(), () => undefined);
      const doc = await load.loaded;
      state = this.docs.get(doc.name);
      // Unloaded again between its load and this caller's turn (limit pressure): load once more.
      if (!state || state.doc !== doc) return this.acquire(docName);
    }
    return this.hold(state);
  }

  /**
   * For a joiner: the document once its stored state is read, held until `release`, while the
   * load goes on. Until `loaded` resolves only `syncStep2For` (answered from the stored bytes) and
   * presence may be used; the joiner's updates wait (server/sync/connection.ts queues them).
   */
  async acquireForSync(docName: DocName): Promise<SyncAcquisition> {
    if (this.closed) throw new UnavailableError('server is shutting down');
    if (!this.deps.answerFromStored) return { doc: await this.acquire(docName), loaded: null };
    const state = this.docs.get(docName.name);
    if (state) return { doc: this.hold(state), loaded: null };
    const load = this.startLoad(docName);
    const early = await load.stored;
    const loadedState = this.docs.get(docName.name);
    if (loadedState?.doc === early.doc) return { doc: this.hold(loadedState), loaded: null };
    // Failed, or loaded and unloaded again before this caller's turn: start over.
    if (this.preparing.get(docName.name) !== early) return this.acquireForSync(docName);
    early.holds++;
    return { doc: early.doc, loaded: load.loaded.then(() => undefined) };
  }

  /** The load of `docName` in flight, started if none is (concurrent opens share one). */
  private startLoad(docName: DocName): Load {
    const running = this.loading.get(docName.name);
    if (running) return running;
    let storedRead!: (state: Lifecycle) => void;
    let storedFailed!: (err: unknown) => void;
    const stored = new Promise<Lifecycle>((resolve, reject) => {
      storedRead = resolve;
      storedFailed = reject;
    });
    stored.catch(() => undefined);
    const loaded = this.load(docName, storedRead);
    // A load that fails before its stored state is read fails both; after, rejecting is a no-op.
    loaded.catch(storedFailed);
    const load: Load = { stored, loaded };
    this.loading.set(docName.name, load);
    const forget = () => this.loading.delete(docName.name);
    loaded.then(forget, forget);
    return load;
  }

  private hold(state: Lifecycle): LiveDocument {
    state.holds++;
    return state.doc;
  }

  release(doc: LiveDocument): void {
    const state = this.stateOf(doc);
    if (!state) return;
    state.holds--;
    this.scheduleUnload(state);
  }

  attach(doc: LiveDocument, peer: Peer): void {
    doc.peers.add(peer);
  }

  detach(doc: LiveDocument, peer: Peer): void {
    doc.removePeer(peer);
    const state = this.stateOf(doc);
    if (state) this.scheduleUnload(state);
  }

  /**
   * A server-side change (REST, import): applied to the live document in one transaction, sent to
   * every peer, and resolved only once its update is committed. Updates commit in order, so the
   * document's latest commit after the transaction covers every update it produced.
   */
  transact<T>(docName: DocName, actor: string, change: (ydoc: Y.Doc, origin: ChangeOrigin) => T, via?: ServerOrigin['via']): Promise<T> {
    return this.transactInSteps(docName, actor, (ydoc, origin) => oneStep(() => change(ydoc, origin)), via, false);
  }

  /** `transact` for a large change: planned in a turn of its own, a step per transaction with turns between them (staged-change.ts). */
  transactInSteps<T>(docName: DocName, actor: string, plan: (ydoc: Y.Doc, origin: ChangeOrigin) => StagedWrite<T>, via?: ServerOrigin['via'], planLater = true): Promise<T> {
    const { mergeUpdates, betweenSteps } = this.deps;
    const access = { acquire: (name: DocName) => this.acquireIdle(name), release: (doc: LiveDocument) => this.release(doc), mergeUpdates, betweenSteps, planLater };
    return transactInSteps({ ...access, halfWritten: (doc, err) => this.discard(doc, err) }, docName, serverOrigin(actor, via), plan);
  }

  /** `acquire`, once no staged change holds the document; loaded again if one left it discarded. */
  async acquireIdle(docName: DocName): Promise<LiveDocument> {
    const doc = await this.acquire(docName);
    if (!doc.busy) return doc;
    this.release(doc);
    await doc.busy;
    return this.acquireIdle(docName);
  }

  /** Drops a half-written document (staged-change.ts): its peers closed, out of memory once what it stored is committed. */
  private async discard(doc: LiveDocument, err: unknown): Promise<void> {
    this.deps.logger.error({ err, doc: doc.name }, 'a staged change failed midway; the document is reloaded');
    for (const peer of [...doc.peers]) peer.close(CloseCode.internalError, 'document reloaded');
    await doc.lastCommit.catch(() => undefined);
    const state = this.docs.get(doc.name);
    // Its Y.Doc holds the change's first steps, which were never stored: not a state to keep.
    if (state?.doc === doc) this.unload(state, { halfWritten: true });
  }

  /** Reads a live document (loaded if needed) without changing it. */
  async read<T>(docName: DocName, reader: (ydoc: Y.Doc, doc: LiveDocument) => T): Promise<T> {
    const doc = await this.acquireIdle(docName);
    try {
      return reader(doc.ydoc, doc);
    } finally {
      this.release(doc);
    }
  }

  private stateOf(doc: LiveDocument): Lifecycle | undefined {
    const state = this.docs.get(doc.name) ?? this.preparing.get(doc.name);
    return state?.doc === doc ? state : undefined;
  }

  private used(state: Lifecycle): boolean {
    return state.holds > 0 || state.doc.peers.size > 0;
  }

  private async load(docName: DocName, storedRead: (state: Lifecycle) => void): Promise<LiveDocument> {
    // Loads in flight count too: a joiner's socket opens before its document's load ends
    // (acquireForSync), so the next one may start while it is still out of `docs`.
    const held = () => this.docs.size + this.loading.size;
    if (held() >= this.deps.limits.maxDocuments) this.unloadIdleNow();
    if (held() >= this.deps.limits.maxDocuments) {
      throw new TooManyRequestsError(`${this.docs.size} documents are loaded, the limit`, 1);
    }
    // One update merged by the store (in a worker, under a time budget, rows that cannot be merged
    // in time set aside: docs/architecture.md, "Loading"), so this thread applies only a
    // Yjs-produced update.
    let stored: MergedDocument;
    try {
      // Its last instance's compaction from its own state deletes every row it finds: none of ours may be there yet.
      await this.compactions.unloadSettled(docName.name);
      stored = await this.deps.store.loadMerged(docName.name);
    } catch (err) {
      this.deps.logger.error({ err, doc: docName.name }, 'document load failed');
      throw new UnavailableError('the document could not be loaded; try again');
    }
    this.loads++;
    const doc = new LiveDocument(docName, { log: this.deps.log, limits: this.deps.limits, events: this, keys: this.deps.keys ?? null, ...(stored.update ? { stored: stored.update } : {}) });
    const state: Lifecycle = { doc, holds: 0, unloadTimer: null, idleSince: performance.now() };
    this.compactions.loaded(doc, stored.logRows);
    const waiting: Promise<void>[] = [];
    this.preparing.set(docName.name, state);
    try {
      storedRead(state);
      if (!doc.integrated) await doc.integrationRequestedWithin(INTEGRATION_DEFER_MS);
      if (this.closed) throw new UnavailableError('server is shutting down');
      try {
        doc.integrate();
      } catch (err) {
        this.deps.logger.error({ err, doc: docName.name }, 'stored updates could not be applied');
        throw new UnavailableError('the document could not be loaded');
      }
      this.emitSafely('prepare', [doc, (work) => waiting.push(work)]);
      if (waiting.length > 0) await Promise.all(waiting);
      if (this.closed) throw new UnavailableError('server is shutting down');
    } catch (err) {
      this.compactions.unloaded(doc, { closing: true });
      doc.destroy();
      throw err;
    } finally {
      this.preparing.delete(docName.name);
    }
    this.docs.set(docName.name, state);
    this.emitSafely('load', [doc]);
    this.scheduleUnload(state); // joiners may have come and gone while it loaded
    return doc;
  }

  /**
   * Load, prepare and unload listeners are followers: one that throws is logged, not the load's
   * failure (and, as for any emit, the listeners after it miss this one event).
   */
  private emitSafely<K extends 'prepare' | 'load' | 'unload'>(name: K, args: Parameters<DocumentEvents[K]>): void {
    try {
      this.emit(name, args);
    } catch (err) {
      this.deps.logger.error({ err, doc: args[0].name }, `${name} listener failed`);
    }
  }

  private cancelUnload(state: Lifecycle): void {
    clearTimeout(state.unloadTimer ?? undefined);
    state.unloadTimer = null;
  }

  /**
   * Unloads it once unused for `idleUnloadMs`. A running timer is kept, not cleared and set again
   * at every hold and release (two timer calls per REST read); it waits out the rest when it fires.
   */
  private scheduleUnload(state: Lifecycle): void {
    // A document still loading is unloaded, if unused, once its load finished (see `load`).
    if (this.docs.get(state.doc.name) !== state) return;
    state.idleSince = performance.now();
    if (this.used(state) || state.unloadTimer || state.doc.destroyed || this.closed) return;
    this.armUnload(state, this.deps.limits.idleUnloadMs);
  }

  private armUnload(state: Lifecycle, ms: number): void {
    state.unloadTimer = setTimeout(() => void this.tryUnload(state), ms).unref();
  }

  private async tryUnload(state: Lifecycle): Promise<void> {
    state.unloadTimer = null;
    const { doc } = state;
    if (this.used(state) || doc.destroyed) return; // set again at the next release or detach
    const left = state.idleSince + this.deps.limits.idleUnloadMs - performance.now();
    if (left > 0) return this.armUnload(state, left);
    if (this.deps.log.pending(doc.name) > 0) {
      // Never drop updates that are not in the database yet: wait for their commit (which the log
      // retries as long as it takes), then look again.
      await doc.lastCommit.catch(() => undefined);
      return this.scheduleUnload(state);
    }
    this.unload(state);
  }

  private unload(state: Lifecycle, { halfWritten = false } = {}): void {
    const { doc } = state;
    this.docs.delete(doc.name);
    this.cancelUnload(state);
    this.emitSafely('unload', [doc]);
    // Before destroy: a small document compacts from its own state.
    this.compactions.unloaded(doc, { closing: this.closed, halfWritten });
    doc.destroy();
  }

  /** Unloads, right now, every document nobody uses whose updates are all committed. */
  private unloadIdleNow(): void {
    for (const state of this.docs.values()) {
      if (!this.used(state) && this.deps.log.pending(state.doc.name) === 0) this.unload(state);
    }
  }

  private sweepAwareness(): void {
    const now = Date.now();
    for (const { doc } of this.docs.values()) doc.sweepAwareness(now);
  }

  /** Waits for running compactions (tests and shutdown). */
  settled(): Promise<void> {
    return this.compactions.settled();
  }

  /** Flushes the log, waits for compactions, drops every document. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.deps.log.flush();
    await this.settled();
    for (const state of this.docs.values()) {
      this.cancelUnload(state);
      this.emitSafely('unload', [state.doc]);
      state.doc.destroy();
      this.compactions.unloaded(state.doc, { closing: true });
    }
    this.docs.clear();
  }
}
