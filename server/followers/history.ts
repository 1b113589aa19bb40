/**
 * The annotation history follower (docs/history.md): every loaded session document is watched for
 * field changes (docs-model/field-changes.ts), each told with who made it and how — a socket's
 * token subject, or the actor of a REST write, an import or a model promotion — to the recorder,
 * which coalesces and stores them. Changes that arrive from another process (Redis) are recorded
 * there, by the process that received them; content read back from the database is not a change.
 *
 *   createHistory({ registry, recorder })   // follows load and unload
 */
import { observeFieldChanges } from '../../docs-model/field-changes.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { LiveDocument } from '../documents/live-document.ts';
import { asChangeOrigin } from '../documents/origins.ts';
import type { ChangeAuthor, HistoryRecorder } from './history-recorder.ts';

/** Who made a change and how, or null when it is not this process's to record. */
export function authorOf(origin: unknown): ChangeAuthor | null {
  const o = asChangeOrigin(origin);
  switch (o.kind) {
    case 'connection': {
      const principal = (origin as { principalId?: unknown }).principalId;
      return { by: typeof principal === 'string' ? principal : `connection ${o.id}`, origin: 'socket' };
    }
    case 'server':
      return { by: o.actor, origin: o.via ?? 'rest' };
    default:
      return null;
  }
}

export function createHistory(deps: { registry: DocRegistry; recorder: HistoryRecorder }): void {
  const stops = new WeakMap<LiveDocument, () => void>();
  deps.registry.on('load', (doc) => {
    if (doc.kind !== 'session') return;
    const sessionId = doc.id;
    stops.set(
      doc,
      observeFieldChanges(doc.ydoc, (changes, origin) => {
        const author = authorOf(origin);
        if (author) deps.recorder.record(sessionId, changes, author);
      }),
    );
  });
  deps.registry.on('unload', (doc) => {
    stops.get(doc)?.();
    stops.delete(doc);
  });
}
