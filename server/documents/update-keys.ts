/**
 * Keys of the update-log rows a process writes when it shares its documents over Redis
 * (docs/architecture.md, "More than one process"; migrations/20261204_0008_update_keys.ts). A key
 * is the process's id and a sequence number counted in append order; the fan-out publishes the
 * number with the update, so a process that stores the update in its sender's place writes the
 * same key, and the log skips whichever row comes second.
 *
 *   const keys = createUpdateKeys()           // one per process, before the registry and the fan-out
 *   const key = keys.next()                   // { writer, seq }
 *   log.append(doc, update, updateKeyText(key))
 */
import { randomUUID } from 'node:crypto';

export interface UpdateKey {
  /** The process that received the update from a client or made it (REST, imports). */
  readonly writer: string;
  /** Counted from 1 per process, in the order its updates are appended to the log. */
  readonly seq: number;
}

/** The log row a process writes for one of its own changes, when it keys its rows. */
export interface KeyedRow {
  readonly key: UpdateKey;
  /** Resolves once the row is committed (or found stored already); rejects as `UpdateLog.append` does. */
  readonly committed: Promise<void>;
}

export interface UpdateKeys {
  readonly writer: string;
  next(): UpdateKey;
}

export function createUpdateKeys(writer: string = randomUUID()): UpdateKeys {
  let seq = 0;
  return { writer, next: () => ({ writer, seq: ++seq }) };
}

/** The form stored in `yjs_updates.update_key`. */
export function updateKeyText(key: UpdateKey): string {
  return `${key.writer}:${key.seq}`;
}
