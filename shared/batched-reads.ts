/**
 * Reads by key, batched: the reads asked for during one turn of the event loop go together at its
 * end, and a read asked for while `maxInFlight` others run waits; then the waiting keys (up to
 * `maxBatch`) are read by ONE call of `readMany`. A lone read waits for nothing but the end of its
 * turn; a crowd (a reconnect storm, 1 000 sockets opening 1 000 documents) costs a few queries
 * instead of one per key. Concurrent reads of one key share its read.
 *
 * Why the end of the turn: sockets upgraded in one poll of the event loop each ask for their
 * document in a callback of their own. Sent as they came while a slot was free, the loads of 1 000
 * documents opened at once took 336 statements of ~3 documents on Postgres; gathered per turn, 63
 * to 178 (docs/architecture.md, "Loading").
 * persistence/stored-reads.ts and server/services/session-cache.ts read this way.
 *
 *   const read = batchedReads((ids) => repo.getMany(ids), { maxBatch: 100, maxInFlight: 2 })
 *   const value = await read(id)
 *
 * `readMany` answers every key it is given (a Map holding each); when it rejects, every read of
 * that batch rejects with its error, and nothing is remembered.
 */
export interface BatchOptions {
  /** Keys per `readMany` call. */
  maxBatch: number;
  /** `readMany` calls running at once; reads asked for meanwhile wait for one to end. */
  maxInFlight: number;
}

interface Waiter<V> {
  resolve: (value: V) => void;
  reject: (err: unknown) => void;
}

/** Node's setImmediate; a browser, which has none, ends the turn with a timer (shared/ stays browser-safe). */
const afterThisTurn: (run: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (run) => void globalThis.setImmediate(run) : (run) => void setTimeout(run, 0);

export function batchedReads<K, V>(readMany: (keys: K[]) => Promise<Map<K, V>>, opts: BatchOptions): (key: K) => Promise<V> {
  const waiting = new Map<K, Waiter<V>[]>();
  let inFlight = 0;
  let pumpScheduled = false;

  /** `pump` once the current turn's callbacks have run (setImmediate: the loop's check phase, after its I/O). */
  const pumpLater = (): void => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    afterThisTurn(() => {
      pumpScheduled = false;
      pump();
    });
  };

  const pump = (): void => {
    while (inFlight < opts.maxInFlight && waiting.size > 0) {
      const batch = new Map<K, Waiter<V>[]>();
      for (const [key, waiters] of waiting) {
        if (batch.size >= opts.maxBatch) break;
        batch.set(key, waiters);
        waiting.delete(key);
      }
      inFlight++;
      readMany([...batch.keys()])
        .then(
          (values) => {
            for (const [key, waiters] of batch) for (const w of waiters) w.resolve(values.get(key) as V);
          },
          (err: unknown) => {
            for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
          },
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };

  return (key) =>
    new Promise<V>((resolve, reject) => {
      const waiters = waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(key, [{ resolve, reject }]);
      pumpLater();
    });
}
