/**
 * Compactions of documents' update logs into their snapshots (persistence/doc-store.ts): at most
 * one per document at a time, each started once everything the document wrote before it is
 * committed, a failure logged and left for the next one.
 *
 *   compactions.soon(doc, (mergedRows) => …)   // no-op while `doc` is compacting
 *   await compactions.settled()                // tests and shutdown
 */
import type { DocStore } from '../../persistence/doc-store.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LiveDocument } from './live-document.ts';

interface CompactionDeps {
  store: Pick<DocStore, 'compact'>;
  logger: Logger;
}

export class Compactions {
  private readonly running = new Map<string, Promise<void>>();
  private readonly deps: CompactionDeps;

  constructor(deps: CompactionDeps) {
    this.deps = deps;
  }

  /** Compacts `doc` once its updates so far are committed; `merged` gets how many log rows the snapshot took in. */
  soon(doc: LiveDocument, merged: (rows: number) => void): void {
    if (this.running.has(doc.name)) return;
    const run = doc.lastCommit
      .then(() => this.deps.store.compact(doc.name))
      .then(({ mergedRows }) => merged(mergedRows))
      .catch((err: unknown) => this.deps.logger.warn({ err, doc: doc.name }, 'compaction failed; will retry later'))
      .finally(() => this.running.delete(doc.name));
    this.running.set(doc.name, run);
  }

  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
