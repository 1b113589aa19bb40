/**
 * The documents held in memory. Loads are single-flight (concurrent opens of one document share
 * one load, as Hocuspocus does); a failed load is never cached, so the next open tries again and
 * nothing is ever written back from a document that did not load. A document with no peers and no
 * holders leaves memory after `idleUnloadMs`, and only once every update it received is committed.
 *
 *   const doc = await registry.acquire(parseDocName('session:abc')!)
 *   try { … } finally { registry.release(doc) }
 */
import * as Y from 'yjs';
import { LiveDocument, type LiveDocumentHooks } from './live-document.ts';
import { serverOrigin, type ChangeOrigin } from './origins.ts';
import { TooManyRequestsError, UnavailableError } from './errors.ts';
import type { DocName } from './wire.ts';
import type { Limits } from './config.ts';
import type { UpdateLog } from '../persistence/update-log.ts';
import type { DocStore, MergedDocument } from '../persistence/doc-store.ts';
import type { Logger } from '../persistence/logger.ts';

const AWARENESS_SWEEP_MS = 3_000;

export interface DocRegistryDeps {
  store: DocStore;
  log: UpdateLog;
  limits: Limits;
  /** Compact a document's log into its snapshot once this many rows were written since the last one. */
  compactAfterRows: number;
  logger: Logger;
  hooks?: LiveDocumentHooks;
  /**
   * Runs after a document was read from the database and before anyone gets it (the Redis fan-out
   * brings over what other processes hold and have not committed yet). Must not throw.
   */
  prepare?(doc: LiveDocument): Promise<void>;
}

export class DocRegistry {
  private readonly docs = new Map<string, LiveDocument>();
  private readonly loading = new Map<string, Promise<LiveDocument>>();
  private readonly compacting = new Map<string, Promise<void>>();
  private readonly deps: DocRegistryDeps;
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;
  /** How many loads reached the database (tests check that concurrent opens share one). */
  loads = 0;

  constructor(deps: DocRegistryDeps) {
    this.deps = deps;
    this.sweepTimer = setInterval(() => this.sweepAwareness(), AWARENESS_SWEEP_MS);
    this.sweepTimer.unref();
  }

  get size(): number {
    return this.docs.size;
  }

  get(name: string): LiveDocument | undefined {
    return this.docs.get(name);
  }

  all(): IterableIterator<LiveDocument> {
    return this.docs.values();
  }

  /** The document, loaded if needed, held until `release`. */
  async acquire(docName: DocName): Promise<LiveDocument> {
    if (this.closed) throw new UnavailableError('server is shutting down');
    let doc = this.docs.get(docName.name);
    if (!doc) {
      let load = this.loading.get(docName.name);
      if (!load) {
        load = this.load(docName);
        this.loading.set(docName.name, load);
        const forget = () => this.loading.delete(docName.name);
        load.then(forget, forget);
      }
      doc = await load;
    }
    doc.holds++;
    this.cancelUnload(doc);
    return doc;
  }

  release(doc: LiveDocument): void {
    doc.holds--;
    this.scheduleUnload(doc);
  }

  attach(doc: LiveDocument, peer: Parameters<LiveDocument['peers']['add']>[0]): void {
    doc.peers.add(peer);
    this.cancelUnload(doc);
  }

  detach(doc: LiveDocument, peer: Parameters<LiveDocument['peers']['add']>[0]): void {
    doc.removePeer(peer);
    this.scheduleUnload(doc);
  }

  /**
   * A server-side change (REST, import): applied to the live document in one transaction, sent to
   * every peer, and resolved only once its update is committed.
   */
  async transact<T>(docName: DocName, actor: string, change: (ydoc: Y.Doc, origin: ChangeOrigin) => T): Promise<T> {
    const doc = await this.acquire(docName);
    try {
      const origin = serverOrigin(actor);
      let result!: T;
      doc.ydoc.transact(() => {
        result = change(doc.ydoc, origin);
      }, origin);
      await Promise.all(origin.commits);
      return result;
    } finally {
      this.release(doc);
    }
  }

  /** Reads a live document (loaded if needed) without changing it. */
  async read<T>(docName: DocName, reader: (ydoc: Y.Doc, doc: LiveDocument) => T): Promise<T> {
    const doc = await this.acquire(docName);
    try {
      return reader(doc.ydoc, doc);
    } finally {
      this.release(doc);
    }
  }

  private async load(docName: DocName): Promise<LiveDocument> {
    if (this.docs.size >= this.deps.limits.maxDocuments) this.unloadIdleNow();
    if (this.docs.size >= this.deps.limits.maxDocuments) {
      throw new TooManyRequestsError(`${this.docs.size} documents are loaded, the limit`, 1);
    }
    // Issue 5: one update merged by the store (in a worker, under a time budget, rows that cannot
    // be merged in time set aside), so this thread applies only a Yjs-produced update.
    let stored: MergedDocument;
    try {
      stored = await this.deps.store.loadMerged(docName.name);
    } catch (err) {
      this.deps.logger.error({ err, doc: docName.name }, 'document load failed');
      throw new UnavailableError('the document could not be loaded; try again');
    }
    this.loads++;
    const doc = new LiveDocument(docName, { log: this.deps.log, limits: this.deps.limits, hooks: this.wrapHooks() });
    try {
      doc.applyStored(stored.update ? [stored.update] : []);
    } catch (err) {
      doc.destroy();
      this.deps.logger.error({ err, doc: docName.name }, 'stored updates could not be applied');
      throw new UnavailableError('the document could not be loaded');
    }
    doc.rowsSinceCompaction = stored.logRows;
    if (this.deps.prepare) {
      await this.deps.prepare(doc);
      if (this.closed) {
        doc.destroy();
        throw new UnavailableError('server is shutting down');
      }
    }
    this.docs.set(docName.name, doc);
    try {
      this.deps.hooks?.onLoad?.(doc);
    } catch (err) {
      this.deps.logger.error({ err, doc: docName.name }, 'onLoad hook failed');
    }
    return doc;
  }

  private wrapHooks(): LiveDocumentHooks {
    const outer = this.deps.hooks ?? {};
    return {
      onChange: (doc, update, origin) => {
        if (doc.rowsSinceCompaction >= this.deps.compactAfterRows) this.compactSoon(doc);
        outer.onChange?.(doc, update, origin);
      },
      ...(outer.onAwareness ? { onAwareness: outer.onAwareness } : {}),
      ...(outer.onLoad ? { onLoad: outer.onLoad } : {}),
    };
  }

  /** Merges the document's log into its snapshot once what was written so far is committed. */
  private compactSoon(doc: LiveDocument): void {
    if (this.compacting.has(doc.name)) return;
    const rowsBefore = doc.rowsSinceCompaction;
    const run = doc.lastCommit
      .then(() => this.deps.store.compact(doc.name))
      .then(({ mergedRows }) => {
        doc.rowsSinceCompaction = Math.max(0, doc.rowsSinceCompaction - Math.min(mergedRows, rowsBefore));
      })
      .catch((err: unknown) => this.deps.logger.warn({ err, doc: doc.name }, 'compaction failed; will retry later'))
      .finally(() => this.compacting.delete(doc.name));
    this.compacting.set(doc.name, run);
  }

  private cancelUnload(doc: LiveDocument): void {
    if (doc.unloadTimer) {
      clearTimeout(doc.unloadTimer);
      doc.unloadTimer = null;
    }
  }

  private scheduleUnload(doc: LiveDocument): void {
    if (doc.inUse || doc.unloadTimer || doc.destroyed || this.closed) return;
    doc.unloadTimer = setTimeout(() => void this.tryUnload(doc), this.deps.limits.idleUnloadMs);
    doc.unloadTimer.unref();
  }

  private async tryUnload(doc: LiveDocument): Promise<void> {
    doc.unloadTimer = null;
    if (doc.inUse || doc.destroyed) return;
    if (this.deps.log.pending(doc.name) > 0) {
      // Never drop updates that are not in the database yet: wait for their commit (which the log
      // retries as long as it takes), then look again.
      await doc.lastCommit.catch(() => undefined);
      this.scheduleUnload(doc);
      return;
    }
    this.unload(doc);
  }

  private unload(doc: LiveDocument): void {
    this.docs.delete(doc.name);
    this.notifyUnload(doc);
    doc.destroy();
    // Even one row: a load with log rows merges in the worker (under the issue-5 budget), a load of
    // the snapshot alone does not — cheaper paid once here, off any load's path.
    if (doc.rowsSinceCompaction > 0 && !this.closed) this.compactSoon(doc);
  }

  /** Unloads, right now, every document nobody uses whose updates are all committed. */
  private unloadIdleNow(): void {
    for (const doc of this.docs.values()) {
      if (!doc.inUse && this.deps.log.pending(doc.name) === 0) this.unload(doc);
    }
  }

  private notifyUnload(doc: LiveDocument): void {
    try {
      this.deps.hooks?.onUnload?.(doc);
    } catch (err) {
      this.deps.logger.error({ err, doc: doc.name }, 'onUnload hook failed');
    }
  }

  private sweepAwareness(): void {
    const now = Date.now();
    for (const doc of this.docs.values()) doc.sweepAwareness(now);
  }

  /** Waits for running compactions (tests and shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.compacting.values());
  }

  /** Flushes the log, waits for compactions, drops every document. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.deps.log.flush();
    await this.settled();
    for (const doc of this.docs.values()) {
      this.notifyUnload(doc);
      doc.destroy();
    }
    this.docs.clear();
  }
}
