/**
 * Every change to a live document carries one of these as its Yjs transaction origin, so "store
 * it? broadcast it? to whom? publish it?" is a switch on `origin.kind` (as Hocuspocus does).
 */

/** A socket's update: stored, broadcast to every other connection, published. */
export interface ConnectionOrigin {
  readonly kind: 'connection';
  readonly id: number;
}

/** A change the server makes (REST, import, test-run progress): stored, broadcast to all, published. */
export interface ServerOrigin {
  readonly kind: 'server';
  /** Who asked for it, for logs and activity. */
  readonly actor: string;
  /** How it came: a REST write (default), an import, or a model's output promoted to a draft. */
  readonly via?: 'rest' | 'import' | 'model';
}

/** Content read back from the database while loading: neither stored again nor broadcast. */
export interface PersistenceOrigin {
  readonly kind: 'persistence';
}

/**
 * Something another process published: broadcast locally, not republished. Who stores it
 * (docs/architecture.md, "More than one process"):
 * - `sender`: a live update. Its sender stores it and says so on the channel once committed; the
 *   fan-out stores it here only if that notice does not come in time (the sender may have died
 *   before its commit), under the sender's key so it is never stored twice. `durable` resolves
 *   once either happened: the document's `lastCommit` waits for it, so an acknowledgement or a
 *   REST answer never covers content that is only in memory.
 * - `here`: an answer to this process's load or catch-up, which may hold what the answering
 *   process has not committed yet: stored at once, as any local change.
 * - `database`: read back from the database by a catch-up: stored already.
 */
export type RedisOrigin =
  | { readonly kind: 'redis'; readonly storedBy: 'sender'; readonly durable: Promise<void> }
  | { readonly kind: 'redis'; readonly storedBy: 'here' | 'database' };

export type ChangeOrigin = ConnectionOrigin | ServerOrigin | PersistenceOrigin | RedisOrigin;

export const persistenceOrigin: PersistenceOrigin = { kind: 'persistence' };
/** An answer to this process's load or catch-up: stored here. */
export const redisAnswerOrigin: RedisOrigin = { kind: 'redis', storedBy: 'here' };
/** Read back from the database by a catch-up: stored already. */
export const redisStoredOrigin: RedisOrigin = { kind: 'redis', storedBy: 'database' };

/** A live update from another process, durable once `durable` resolves. */
export function redisSenderOrigin(durable: Promise<void>): RedisOrigin {
  return { kind: 'redis', storedBy: 'sender', durable };
}

export function serverOrigin(actor: string, via?: ServerOrigin['via']): ServerOrigin {
  return via === undefined ? { kind: 'server', actor } : { kind: 'server', actor, via };
}

/** Yjs hands back whatever origin a transaction was given; anything unknown counts as the server's. */
export function asChangeOrigin(origin: unknown): ChangeOrigin {
  if (typeof origin === 'object' && origin !== null && 'kind' in origin) {
    const kind = (origin as { kind: unknown }).kind;
    if (kind === 'connection' || kind === 'server' || kind === 'persistence' || kind === 'redis') {
      return origin as ChangeOrigin;
    }
  }
  return serverOrigin('unknown');
}
