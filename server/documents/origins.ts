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

/** An update another process published: stored here too (it may die before its commit), broadcast locally, not republished. */
export interface RedisOrigin {
  readonly kind: 'redis';
}

export type ChangeOrigin = ConnectionOrigin | ServerOrigin | PersistenceOrigin | RedisOrigin;

export const persistenceOrigin: PersistenceOrigin = { kind: 'persistence' };
export const redisOrigin: RedisOrigin = { kind: 'redis' };

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
