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
 *   compactions.loaded(doc, logRows)   // its rows count from here, and its first compaction waits
 *   compactions.counted(doc)           // one more row: compacts at `compactAfterRows`, paced
 *   compactions.unloaded(doc)          // compacts what is left, at once
 *   await compactions.settled()        // tests and shutdown
 */
import type { DocStore } from '../../persistence/doc-store.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LiveDocument } from './live-document.ts';

interface CompactionDeps {
  store: Pick<DocStore, 'compact'>;
  logger: Logger;
  /** Compact once this many log rows were written since the document's last compaction (or its load). */
  compactAfterRows: number;
  /** Between two compactions of one loaded document (default 0: no pacing). */
  compactMinIntervalMs?: number;
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

  /** `doc` left memory: compacted at once if it wrote rows since its last one, unless `closing`; forgotten either way. */
  unloaded(doc: LiveDocument, closing = false): void {
    const entry = this.tracked.get(doc);
    if (!entry) return;
    if (entry.deferred) clearTimeout(entry.deferred);
    // Even one row: a load with log rows merges in the worker (under its time budget), a load of
    // the snapshot alone does not — cheaper paid once here, off any load's path.
    if (entry.rows > 0 && !closing) this.now(doc, entry);
    this.tracked.delete(doc);
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
    await Promise.all(this.running.values());
  }
}
