/**
 * Who stores a fanned-out update (docs/architecture.md, "More than one process"): once, by the
 * process that received it from a client or made it, and by another process only when that one
 * may have died before its commit.
 *
 * - The sender writes its row under a key (`<process id>:<seq>`, server/documents/update-keys.ts)
 *   and, once the row is committed, publishes "stored up to seq" on the document's channel: one
 *   notice per document per group commit, since its log commits in append order.
 * - A receiver applies the update without storing it and keeps it pending. A notice covering it
 *   drops it. One still pending after `storeAfterMs` (its sender died, or its notice was lost in a
 *   Redis outage), or when this process closes, is appended to this process's log under the
 *   sender's key: if the sender's row is there after all, the INSERT skips it.
 * - A row compacted away before such a late store is written again (the key is gone with it). That
 *   needs a lost or late notice, a timeout and a compaction in between; the copy costs one row, and
 *   Yjs applies an update twice as once. `onStoredInPlace` counts every store made here.
 *
 *   const stores = createFanoutStores({ log, storeAfterMs, publishStored, logger })
 *   const durable = stores.received(docName, senderId, seq, update)   // for redisSenderOrigin
 *   stores.noticed(docName, senderId, seq)                            // a `stored` notice came
 *   stores.sent(docName, row)                                         // our own keyed row
 *   await stores.close()                                              // stores what is pending
 */
import type { Logger } from '../../shared/logger.ts';
import type { UpdateLog } from '../../persistence/update-log.ts';
import { updateKeyText, type KeyedRow } from '../documents/update-keys.ts';

/** Default wait for a sender's notice: its group commit (20 ms) and a Redis round trip, many times over. */
export const DEFAULT_STORE_AFTER_MS = 5_000;

/** How long close() waits for the last notices. */
const CLOSE_NOTICES_MS = 1_000;

export interface FanoutStoresDeps {
  log: UpdateLog;
  /** How long a received update waits for its sender's notice before this process stores it. */
  storeAfterMs: number;
  /** Publishes "every update of `docName` this process sent up to `seq` is committed". */
  publishStored(docName: string, seq: number): void;
  logger: Logger;
  /** Counts the updates this process stored for another (for /metrics and the tests). */
  onStoredInPlace?(): void;
}

export interface FanoutStores {
  /** An update another process sent; resolves once it is durable (noticed, or stored here). */
  received(docName: string, sender: string, seq: number, update: Uint8Array): Promise<void>;
  /** The sender's notice: everything it sent of `docName` up to `seq` is committed. */
  noticed(docName: string, sender: string, seq: number): void;
  /** A row this process wrote for its own change: noticed on the channel once committed. */
  sent(docName: string, row: KeyedRow): void;
  /** Updates waiting for a notice (tests). */
  pending(): number;
  /** Stores everything pending and sends the notices due; idempotent. */
  close(): Promise<void>;
}

interface Pending {
  seq: number;
  update: Uint8Array;
  receivedAt: number;
  resolve(): void;
  reject(err: unknown): void;
}

export function createFanoutStores(deps: FanoutStoresDeps): FanoutStores {
  /** sender → document → its updates in seq order (Redis keeps one publisher's order on a channel). */
  const waiting = new Map<string, Map<string, Pending[]>>();
  /** document → the highest committed seq of our own rows, announced at the next turn. */
  const unnoticed = new Map<string, number>();
  /** Our own rows not committed yet (close() waits for them, briefly). */
  const uncommitted = new Set<Promise<void>>();
  let pendingCount = 0;
  let closed = false;

  function storeInPlace(docName: string, sender: string, entry: Pending): void {
    deps.onStoredInPlace?.();
    pendingCount--;
    deps.log.append(docName, entry.update, updateKeyText({ writer: sender, seq: entry.seq })).then(entry.resolve, entry.reject);
  }

  /** Stores what waited longer than `storeAfterMs`, or everything when `all`. */
  function sweep(all: boolean): void {
    const due = performance.now() - deps.storeAfterMs;
    for (const [sender, docs] of waiting) {
      let stored = 0;
      for (const [docName, queue] of docs) {
        let n = 0;
        while (n < queue.length && (all || queue[n]!.receivedAt <= due)) storeInPlace(docName, sender, queue[n++]!);
        stored += n;
        if (n === 0) continue;
        if (n === queue.length) docs.delete(docName);
        else docs.set(docName, queue.slice(n));
      }
      if (docs.size === 0) waiting.delete(sender);
      if (stored > 0 && !all) {
        deps.logger.warn(
          { sender, updates: stored, source: 'redis' },
          `no "stored" notice within ${deps.storeAfterMs} ms for updates of another process (gone, or its notices lost): stored here`,
        );
      }
    }
  }

  const sweeper = setInterval(() => sweep(false), Math.max(10, Math.min(1000, deps.storeAfterMs / 4)));
  sweeper.unref();

  /**
   * The rows of one INSERT resolve in one synchronous loop, so their reactions all run before the
   * next macrotask: announcing there sends one notice per document per commit, with the highest
   * seq, which covers every earlier row since the log commits in append order.
   */
  function committed(docName: string, seq: number): void {
    const scheduled = unnoticed.get(docName);
    unnoticed.set(docName, Math.max(scheduled ?? 0, seq));
    if (scheduled !== undefined) return;
    setImmediate(() => {
      const upTo = unnoticed.get(docName) ?? seq;
      unnoticed.delete(docName);
      deps.publishStored(docName, upTo);
    });
  }

  return {
    received(docName, sender, seq, update) {
      return new Promise<void>((resolve, reject) => {
        const entry: Pending = { seq, update, receivedAt: performance.now(), resolve, reject };
        if (closed) {
          pendingCount++;
          storeInPlace(docName, sender, entry);
          return;
        }
        let docs = waiting.get(sender);
        if (!docs) waiting.set(sender, (docs = new Map()));
        const queue = docs.get(docName);
        if (queue) queue.push(entry);
        else docs.set(docName, [entry]);
        pendingCount++;
      });
    },

    noticed(docName, sender, seq) {
      const docs = waiting.get(sender);
      const queue = docs?.get(docName);
      if (!docs || !queue) return;
      let n = 0;
      while (n < queue.length && queue[n]!.seq <= seq) queue[n++]!.resolve();
      pendingCount -= n;
      if (n === queue.length) {
        docs.delete(docName);
        if (docs.size === 0) waiting.delete(sender);
      } else if (n > 0) {
        docs.set(docName, queue.slice(n));
      }
    },

    sent(docName, row) {
      const settled = row.committed.then(
        () => committed(docName, row.key.seq),
        () => undefined, // the log closed without storing it: nothing to announce
      );
      uncommitted.add(settled);
      void settled.then(() => uncommitted.delete(settled));
    },

    pending: () => pendingCount,

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      sweep(true);
      // The server flushed its log before closing the fan-out, so these end within a commit or two;
      // bounded all the same (a database gone away): a notice not sent costs the others a store.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_NOTICES_MS)));
      await Promise.race([Promise.all(uncommitted), bound]);
      clearTimeout(timer);
      // The notices those commits scheduled.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}
