/**
 * Session rows as the annotation routes see them, cached for a moment: every annotation request
 * needs its session (archived? which project?), and one frame of a busy session is read
 * thousands of times a second (p99 < 20 ms with 50 concurrent readers), where a database
 * round trip per request would queue behind the projection's writes on PGlite's one connection.
 *
 * Writes through this process update the cache at once; another process's change (archive,
 * status) is seen within `ttlMs` and the one read that follows. Concurrent misses share one query,
 * whether they ask for one session or many. Absent rows are not cached, so a session created
 * elsewhere is found immediately.
 *
 * A row past its age (`ttlMs`, or the caller's `maxAgeMs`) is read again in the background and
 * served meanwhile, up to `staleMs` past it (stale-while-revalidate, RFC 5861): on PGlite the read
 * queues behind whatever the one connection is writing, and every reader of the session waited for
 * it. After three bulk creates of 10 000 annotations (`bench:rest`), the first 50 frame GETs each
 * waited 1.6-1.7 s, the history of 30 000 annotations being written then; on Postgres 0.13-0.24 s.
 * A read that was under way when this process wrote the row (`set`, `forget`) does not replace it:
 * it may have been answered before the write.
 *
 *   const session = await cache.get(id)   // SessionRecord | null
 *   cache.set(updated)                    // after a write
 */
import type { SessionRecord } from '../../persistence/rows.ts';
import type { SessionRepository } from '../../persistence/repositories/sessions.ts';
import { batchedReads } from '../../shared/batched-reads.ts';

export interface SessionCache {
  /**
   * `maxAgeMs` overrides the cache's ttl for callers that tolerate older rows (socket auth). A row
   * up to `staleMs` older than that is returned at once while it is read again.
   */
  get(id: string, maxAgeMs?: number): Promise<SessionRecord | null>;
  set(session: SessionRecord): void;
  forget(id: string): void;
}

/** Misses read by one query (concurrent ones): a crowd of sockets opening different sessions. */
const MAX_BATCH = 100;
/** Queries in flight at once; a miss asked for meanwhile waits and joins the next one. */
const MAX_IN_FLIGHT = 2;

export function createSessionCache(repo: SessionRepository, opts: { ttlMs?: number; staleMs?: number; maxEntries?: number } = {}): SessionCache {
  const ttlMs = opts.ttlMs ?? 2_000;
  const staleMs = opts.staleMs ?? 10_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { session: SessionRecord; at: number }>();
  const loading = new Map<string, Promise<SessionRecord | null>>();
  /** Bumped by every write through this process, so that a read begun before it does not undo it. */
  const written = new Map<string, number>();
  const wrote = (id: string): void => void written.set(id, (written.get(id) ?? 0) + 1);

  const store = (session: SessionRecord): void => {
    entries.delete(session.id);
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(session.id, { session, at: Date.now() });
  };
  const set = (session: SessionRecord): void => {
    wrote(session.id);
    store(session);
  };

  /**
   * A lone miss is read at the end of its turn; misses asked for in one turn, or while
   * MAX_IN_FLIGHT reads run, go together (one query per MAX_BATCH). 1 000 sockets opening 1 000 sessions cost a query each
   * before, most of the database work of opening them.
   */
  const read = batchedReads(
    async (ids: string[]) => {
      const found = new Map((await repo.getMany(ids)).map((session) => [session.id, session]));
      return new Map(ids.map((id) => [id, found.get(id) ?? null]));
    },
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT },
  );

  return {
    async get(id, maxAgeMs = ttlMs) {
      const hit = entries.get(id);
      if (hit) {
        const age = Date.now() - hit.at;
        if (age < maxAgeMs) return hit.session;
        if (age < maxAgeMs + staleMs) {
          // A failed read keeps the row it would have replaced; the next get past its age tries again.
          load(id).catch(() => undefined);
          return hit.session;
        }
      }
      return load(id);
    },
    set,
    forget: (id) => {
      wrote(id);
      entries.delete(id);
    },
  };

  /** Reads `id` (joining a read of it already in flight) and caches what it finds. */
  function load(id: string): Promise<SessionRecord | null> {
    let pending = loading.get(id);
    if (!pending) {
      const before = written.get(id);
      pending = read(id).then((session) => {
        // Written meanwhile: not cached; its callers asked before the write ended, and get the row
        // written if there is one, else what was read.
        if (written.get(id) !== before) return entries.get(id)?.session ?? session;
        written.delete(id);
        if (session) store(session);
        else entries.delete(id);
        return session;
      });
      loading.set(id, pending);
      const done = () => loading.delete(id);
      pending.then(done, done);
    }
    return pending;
  }
}
