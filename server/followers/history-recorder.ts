/**
 * Turns the field changes of session documents (docs-model/field-changes.ts) into annotation
 * history entries (docs/history.md), coalesced so that a drag — dozens of transactions moving one
 * box — is one entry: changes of one annotation or track by one author from one origin within
 * `windowMs` of the entry's first change merge (the first `from`, the last `to` of each field).
 * Entries are written in batches once their window has closed; `flush()` writes everything now.
 *
 *   const recorder = createHistoryRecorder({ history, logger })
 *   recorder.record('s1', changes, { by: 'ada', origin: 'socket' })
 */
import type { EntityChange } from '../../docs-model/field-changes.ts';
import type { Logger } from '../../shared/logger.ts';
import type { HistoryOrigin, HistoryRepository, NewHistoryEntry } from '../../persistence/repositories/annotation-history.ts';

export interface ChangeAuthor {
  by: string;
  origin: HistoryOrigin;
}

export interface HistoryRecorder {
  record(sessionId: string, changes: readonly EntityChange[], author: ChangeAuthor, at?: number): void;
  /** Writes every pending entry, window closed or not. */
  flush(): Promise<void>;
  /** Flushes and stops. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  entry: NewHistoryEntry;
  opened: number;
}

export function createHistoryRecorder(deps: {
  history: HistoryRepository;
  logger: Logger;
  windowMs?: number;
  retryMs?: number;
}): HistoryRecorder {
  const windowMs = deps.windowMs ?? 1000;
  const retryMs = deps.retryMs ?? 1000;
  /** Open entries by session, entity and id, in the order they were opened. */
  const open = new Map<string, Pending>();
  /** Closed entries not yet written (kept across a failed write). */
  let ready: NewHistoryEntry[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  let closed = false;

  function close(key: string): void {
    const pending = open.get(key);
    if (!pending) return;
    open.delete(key);
    ready.push(pending.entry);
  }

  function closeExpired(now: number): void {
    for (const [key, pending] of open) if (now - pending.opened >= windowMs) close(key);
  }

  async function write(): Promise<void> {
    while (ready.length > 0) {
      // A few hundred at a time on PGlite, each its own transaction, so the update log's commits
      // and everything else go in between (statement-size.ts, `rowsPerTransaction`). Taken off
      // now, so that a flush writing meanwhile takes the next ones; put back first if it fails.
      const batch = ready.splice(0, deps.history.entriesPerAppend);
      try {
        await deps.history.append(batch);
      } catch (err) {
        ready = batch.concat(ready);
        throw err;
      }
    }
  }

  function tick(): void {
    timer = null;
    closeExpired(Date.now());
    writing ??= write()
      .catch((err: unknown) => deps.logger.error({ err, entries: ready.length }, 'annotation history write failed; retrying'))
      .finally(() => {
        writing = null;
      });
    if (!closed && (open.size > 0 || ready.length > 0)) schedule(ready.length > 0 && open.size === 0 ? retryMs : windowMs);
  }

  function schedule(ms: number): void {
    if (timer || closed) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  }

  return {
    record(sessionId, changes, author, at = Date.now()) {
      if (closed) return;
      for (const change of changes) {
        const key = `${sessionId}\u0000${change.entity}\u0000${change.id}`;
        const pending = open.get(key);
        const mergeable =
          pending !== undefined &&
          change.kind === 'changed' &&
          pending.entry.kind !== 'deleted' &&
          pending.entry.by === author.by &&
          pending.entry.origin === author.origin &&
          at - pending.opened < windowMs;
        if (pending && mergeable) {
          for (const [name, field] of Object.entries(change.fields)) {
            const before = pending.entry.fields[name];
            pending.entry.fields[name] = { from: before ? before.from : field.from, to: field.to };
          }
          continue;
        }
        close(key);
        open.set(key, {
          opened: at,
          entry: {
            sessionId,
            ...(change.entity === 'annotation' ? { annotationId: change.id } : { trackId: change.id }),
            at: new Date(at),
            by: author.by,
            origin: author.origin,
            kind: change.kind,
            fields: { ...change.fields },
          },
        });
      }
      schedule(windowMs);
    },
    async flush() {
      for (const key of [...open.keys()]) close(key);
      await writing;
      await write();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const key of [...open.keys()]) close(key);
      await writing;
      await write().catch((err: unknown) => deps.logger.error({ err, lost: ready.length }, 'annotation history entries not written at close'));
    },
  };
}
