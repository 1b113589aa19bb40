/**
 * The one event source for document life (docs/architecture.md, "Who hears a change"). The
 * registry emits these on itself (lib0's `ObservableV2`); every follower — projection, test-run
 * events, dashboards, Redis fan-out, metrics — subscribes to it, in the order `createServer`
 * builds them. Listeners run synchronously inside the emitting code: a `change` listener runs
 * inside the Yjs `update` event, so it must not block and must not throw.
 *
 *   registry.on('change', (doc, update, origin) => { if (origin.kind !== 'redis') publish(update) })
 */
import type { ObservableV2 } from 'lib0/observable';
import type { LiveDocument } from './live-document.ts';
import type { ChangeOrigin } from './origins.ts';
import type { KeyedRow } from './update-keys.ts';

export interface DocumentEvents {
  /**
   * A document was read from the database and nobody has it yet. A listener that must finish
   * something first (the Redis fan-out asks the other processes for what they hold) passes a
   * promise to `waitFor`; the document is handed out once all of them settled. They must not reject.
   */
  prepare(doc: LiveDocument, waitFor: (work: Promise<void>) => void): void;
  /** Once per load, after `prepare`, before anyone uses the document. */
  load(doc: LiveDocument): void;
  /**
   * After a change was applied, queued for storage (unless another process stores it) and sent to
   * the peers. Never for the database's own content. `row`: the log row this process writes for
   * its own change when it keys its rows (with Redis; update-keys.ts); null otherwise.
   */
  change(doc: LiveDocument, update: Uint8Array, origin: ChangeOrigin, row: KeyedRow | null): void;
  /**
   * After a presence change was sent to the local peers: `local` from this process's connections,
   * `remote` from another process (the Redis fan-out republishes only the local ones).
   */
  awareness(doc: LiveDocument, message: Uint8Array, source: 'local' | 'remote'): void;
  /** Once, when the document leaves memory (unload or shutdown). */
  unload(doc: LiveDocument): void;
}

export type DocumentEventSource = ObservableV2<DocumentEvents>;
