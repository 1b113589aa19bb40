/**
 * Stock `y-websocket` clients for the benchmarks, identical for every server under test.
 *
 *   const client = openClient(server, 'session:bench-1');
 *   await waitSynced(client);
 *   client.doc.getMap('bench').set('t', performance.now());
 *   closeClient(client);
 *
 * `disableBc` is set because providers in one process on one room would otherwise sync each other
 * through BroadcastChannel and bypass the server being measured.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { benchAdminToken, ensureRoom } from './annosync-rooms.ts';
import type { BenchServer } from './server-process.ts';

/** What a client needs of a server; plain data, so it can be handed to a worker process. */
export type ServerAddress = Pick<BenchServer, 'kind' | 'host' | 'port' | 'serverUrl'>;

export interface Client {
  doc: Y.Doc;
  provider: WebsocketProvider;
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

/**
 * Seam for authentication: the provider `params` (query string) a client of `server` needs.
 * annosync will take `?token=…` once auth lands; the reference takes nothing.
 */
export function connectParams(server: ServerAddress): Record<string, string> {
  return server.kind === 'annosync' ? { token: benchAdminToken } : {};
}

export interface OpenOptions {
  doc?: Y.Doc;
  /** Called for every message the socket receives, before the provider handles it. */
  onMessage?: (bytes: number) => void;
}

export function openClient(server: ServerAddress, room: string, options: OpenOptions = {}): Client {
  const doc = options.doc ?? new Y.Doc();
  let polyfill: unknown = WebSocket;
  if (options.onMessage !== undefined) {
    const onMessage: (bytes: number) => void = options.onMessage;
    // Registered in the constructor, so it runs before the provider's own `onmessage`.
    polyfill = class TimedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.addEventListener('message', (event) => {
          const data = event.data;
          onMessage(data instanceof ArrayBuffer ? data.byteLength : Buffer.byteLength(String(data)));
        });
      }
    };
  }
  const provider = new WebsocketProvider(server.serverUrl, room, doc, {
    params: connectParams(server),
    // ws implements the browser WebSocket surface the provider uses.
    WebSocketPolyfill: polyfill as typeof globalThis.WebSocket,
    disableBc: true,
    connect: false,
  });
  // annosync serves only sessions that exist: create the room first (once; later opens of the
  // same room connect after a resolved promise, within the same tick).
  void ensureRoom(server, room).then(
    () => provider.connect(),
    (err: unknown) => process.stderr.write(`bench: could not create ${room}: ${String(err)}\n`),
  );
  return { doc, provider };
}

export function closeClient(client: Client): void {
  client.provider.destroy();
  // The provider leaves its Awareness running (a 3 s interval), which would keep the bench alive.
  client.provider.awareness.destroy();
  client.doc.destroy();
}

/** Resolves when `client` is synced; rejects after `timeoutMs`. */
export function waitSynced(client: Client, timeoutMs = 30_000): Promise<void> {
  if (client.provider.synced) return Promise.resolve();
  return nextSynced(client, timeoutMs);
}

/** Resolves on the next transition to synced (set up before forcing a reconnect). */
export function nextSynced(client: Client, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSync = (state: boolean): void => {
      if (!state) return;
      clearTimeout(timer);
      client.provider.off('sync', onSync);
      resolve();
    };
    const timer = setTimeout(() => {
      client.provider.off('sync', onSync);
      reject(new WaitTimeoutError(`${client.provider.roomname}: not synced within ${timeoutMs} ms`));
    }, timeoutMs);
    client.provider.on('sync', onSync);
  });
}

/**
 * Resolves once `condition()` holds, re-checking after every update of `doc` (an event, not a
 * sleep); rejects after `timeoutMs`.
 */
export function waitForDoc(doc: Y.Doc, condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onUpdate = (): void => {
      if (!condition()) return;
      clearTimeout(timer);
      doc.off('afterTransaction', onUpdate);
      resolve();
    };
    const timer = setTimeout(() => {
      doc.off('afterTransaction', onUpdate);
      reject(new WaitTimeoutError(`${what}: not reached within ${timeoutMs} ms`));
    }, timeoutMs);
    doc.on('afterTransaction', onUpdate);
  });
}

/** A counter whose `reach(n)` resolves when it has been incremented to at least n. */
export interface Counter {
  count: number;
  add: (n?: number) => void;
  reach: (target: number, what: string, timeoutMs?: number) => Promise<void>;
}

export function createCounter(): Counter {
  let waiter: { target: number; resolve: () => void } | null = null;
  const counter: Counter = {
    count: 0,
    add(n = 1) {
      counter.count += n;
      if (waiter !== null && counter.count >= waiter.target) {
        const { resolve } = waiter;
        waiter = null;
        resolve();
      }
    },
    reach(target, what, timeoutMs = 30_000) {
      if (counter.count >= target) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new WaitTimeoutError(`${what}: ${counter.count}/${target} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
  };
  return counter;
}
