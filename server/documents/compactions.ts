/**
 * Compactions of documents' update logs into their snapshots (persistence/doc-store.ts): at most
 * one per document at a time, each started once everything the document wrote before it is
 * committed, a failure logged and left for the next one.
 *
 * A loaded document's compactions are paced: at most one per `compactMinIntervalMs` (from its load,
 * whose merge just read those rows, or from its last one); asked for sooner, it runs when the
 * interval ends, plus up to half an interval drawn at random (`SPREAD`). Each costs a transaction
 * of several statements and a merge in the worker however few rows it takes in: at 500 rows of a
 * busy document (100 documents, two typists each, bench:sync's throughput), one every ~2 s per
 * document; in 2 s repetitions the server's CPU per delivery was 36-40 µs with them and 26-27
 * without. Paced to 10 s, over 25-30 s, Postgres's own CPU per delivery went from 13 to 8 µs
 * (docs/architecture.md). Hocuspocus debounces its stores the same way (at most every 2 s, at
 * least every 10 s). An unload compacts at once.
 *
 * An unloading document that is small compacts from its own state when this process holds
 * everything stored for its documents (no Redis: docs/architecture.md, "Loading"): its Y.Doc,
 * encoded here in a few ms, becomes the snapshot and its rows are deleted without being read back
 * or merged (a cold merge worker took ~48 ms of CPU for 1 100 small rows). A new load of that
 * document waits for it (`unloadSettled`): its own rows, appended meanwhile, would be deleted
 * without their content being in the snapshot.
 *
 *   compactions.loaded(doc, logRows)   // its rows count from here, and its first compaction waits
 *   compactions.counted(doc)           // one more row: compacts at `compactAfterRows`, paced
 *   compactions.unloaded(doc)          // compacts what is left, at once (call before doc.destroy())
 *   await compactions.unloadSettled(name)   // before loading `name` again
 *   await compactions.settled()        // tests and shutdown
 */
import * as Y from 'yjs';
import type { DocStore } from '../../persistence/doc-store.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LiveDocument } from './live-document.ts';

interface CompactionDeps {
  store: Pick<DocStore, 'compact' | 'compactFrom'>;
  logger: Logger;
  /** Compact once this many log rows were written since the document's last compaction (or its load). */
  compactAfterRows: number;
  /** Between two compactions of one loaded document (default 0: no pacing). */
  compactMinIntervalMs?: number;
  /** This process holds everything stored for its documents (no Redis): small unloads compact from their state. */
  compactFromState?: boolean;
}

/**
 * Up to this many structs, an unloading document's state is encoded on the event loop: 16 000
 * (1 000 annotations) took 7 ms, 160 000 (10 000) 63 ms.
 */
const MAX_STATE_STRUCTS = 10_000;

/**
 * Encoding time allowed per turn of the event loop: documents whose clients left together unload
 * in the same turn (their timers expire together; a load at the document limit unloads every idle
 * one at once), and 200 of them encoded back to back would hold the loop for a long while. Past
 * it, the rest merge in the worker as before.
 */
const ENCODE_MS_PER_TURN = 10;

/** The document's whole content as one update, when it is small enough to encode now; else null. */
function smallState(doc: LiveDocument): Uint8Array | null {
  // Pending structs (missing their dependencies) would be merged in by Y.mergeUpdates here, on the
  // event loop: such a document takes the merge worker's path, under its time budget.
  const { store } = doc.ydoc;
  if (!doc.integrated || doc.destroyed || store.pendingStructs || store.pendingDs) return null;
  let structs = 0;
  for (const list of store.clients.values()) structs += list.length;
  return structs <= MAX_STATE_STRUCTS ? Y.encodeStateAsUpdate(doc.ydoc) : null;
}

/**
 * A deferred compaction waits up to this share of the interval more, drawn at random. Documents
 * opened together and written at the same pace (a class of annotators starting together) would
 * otherwise all reach the end of their interval in the same moment, every interval: a burst of
 * transactions and merges where a spread of small ones would do.
 */
const SPREAD = 0.5;

/** What is kept about each loaded document, from its load to its unload. */
interface Tracked {
  /** Log rows written since its last compaction, or since its load (what the load merged). */
  rows: number;
  /** When it loaded or its last compaction was asked for (performance.now()). */
  last: number;
  deferred: NodeJS.Timeout | null;
}

export class Compactions {
  private readonly running = new Map<string, Promise<void>>();
  /** Compactions from an unloaded document's state, by name: a load of that name waits for its own. */
  private readonly fromState = new Map<string, Promise<void>>();
  /** Time spent encoding states in this turn of the event loop, reset by an immediate once set. */
  private encodedMs = 0;
  private resetScheduled = false;
  private readonly tracked = new Map<LiveDocument, Tracked>();
  private readonly deps: CompactionDeps;

  constructor(deps: CompactionDeps) {
    this.deps = deps;
  }

  /** `doc` was read from the database with `logRows` rows beyond its snapshot. */
  loaded(doc: LiveDocument, logRows: number): void {
    this.tracked.set(doc, { rows: logRows, last: performance.now(), deferred: null });
  }

  /** `doc` stored one more row: compacted once there are enough, paced. */
  counted(doc: LiveDocument): void {
    const entry = this.tracked.get(doc);
    if (!entry) return;
    entry.rows++;
    if (entry.rows < this.deps.compactAfterRows || entry.deferred || this.running.has(doc.name)) return;
    const interval = this.deps.compactMinIntervalMs ?? 0;
    const wait = entry.last + interval - performance.now();
    if (wait <= 0) return this.now(doc, entry);
    entry.deferred = setTimeout(
      () => {
        entry.deferred = null;
        if (this.tracked.get(doc) === entry) this.now(doc, entry);
      },
      wait + Math.random() * interval * SPREAD,
    );
    entry.deferred.unref();
  }

  /**
   * `doc` left memory: compacted at once if it wrote rows since its last one, unless `closing`;
   * forgotten either way. Call before `doc.destroy()`. `halfWritten`: its Y.Doc holds what was
   * never stored (a staged change that failed midway), so its rows are merged, never its state.
   */
  unloaded(doc: LiveDocument, { closing = false, halfWritten = false }: { closing?: boolean; halfWritten?: boolean } = {}): void {
    const entry = this.tracked.get(doc);
    if (!entry) return;
    if (entry.deferred) clearTimeout(entry.deferred);
    this.tracked.delete(doc);
    // Even one row: a load with log rows merges in the worker (under its time budget), a load of
    // the snapshot alone does not — cheaper paid once here, off any load's path.
    if (entry.rows === 0 || closing) return;
    const state = this.deps.compactFromState && !halfWritten && this.encodedMs < ENCODE_MS_PER_TURN ? this.timed(() => smallState(doc)) : null;
    if (state) this.fromOwnState(doc, state);
    else this.now(doc, entry);
  }

  private timed<T>(encode: () => T): T {
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(() => {
        this.encodedMs = 0;
        this.resetScheduled = false;
      }).unref();
    }
    const started = performance.now();
    try {
      return encode();
    } finally {
      this.encodedMs += performance.now() - started;
    }
  }

  /** Resolves once a compaction of `docName` from its unloaded document's state has ended. */
  unloadSettled(docName: string): Promise<void> {
    return this.fromState.get(docName) ?? Promise.resolve();
  }

  private fromOwnState(doc: LiveDocument, state: Uint8Array): void {
    const run: Promise<void> = doc.lastCommit
      .then(() => this.deps.store.compactFrom(doc.name, state))
      .then(
        () => undefined,
        (err: unknown) => this.deps.logger.warn({ err, doc: doc.name }, 'compaction failed; will retry later'),
      )
      .finally(() => {
        if (this.fromState.get(doc.name) === run) this.fromState.delete(doc.name);
      });
    this.fromState.set(doc.name, run);
  }

  /** Compacts `doc` once its updates so far are committed; no-op while it is compacting. */
  private now(doc: LiveDocument, entry: Tracked): void {
    if (this.running.has(doc.name)) return;
    entry.last = performance.now();
    const rowsBefore = entry.rows;
    const run = doc.lastCommit
      .then(() => this.deps.store.compact(doc.name))
      .then(({ mergedRows }) => {
        entry.rows = Math.max(0, entry.rows - Math.min(mergedRows, rowsBefore));
      })
      .catch((err: unknown) => this.deps.logger.warn({ err, doc: doc.name }, 'compaction failed; will retry later'))
      .finally(() => this.running.delete(doc.name));
    this.running.set(doc.name, run);
  }

  async settled(): Promise<void> {
    await Promise.all([...this.running.values(), ...this.fromState.values()]);
  }
}
