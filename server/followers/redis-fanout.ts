/**
 * Several processes, one set of documents (docs/architecture.md, "More than one process"): with
 * `REDIS_URL` set, each process publishes its documents' updates and its connections' presence on
 * a Redis channel per document, and applies what the others publish, so annotators connected to
 * different processes edit one document together.
 *
 *   const Redis = await loadRedisClient()
 *   const fanout = createRedisFanout({ redisUrl, Redis, namespace, registry, store, log, keys, logger })  // follows its events
 *   await fanout.ready                  // tests: both connections are up
 *   await fanout.close()
 *
 * The update log stays the source of truth; Redis only carries what is new, at most once:
 * - A process that loads a document subscribes to its channel, then asks the others for what it
 *   lacks with a sync step 1 (its state vector); whoever holds the document answers with a step 2.
 *   That covers updates another process holds but has not committed yet, which a load from the
 *   database cannot see (Hocuspocus's Redis extension does the same).
 * - A process that lost Redis for a while, on reconnecting, reads each loaded document back from the
 *   database and asks the others again: nothing published meanwhile is lost.
 * - Publishing never waits: while Redis is down updates are not queued (they would pile up in
 *   memory without bound); the catch-up above brings them over instead.
 * - Each update is stored once: by its sender, which says so on the channel once committed; the
 *   others store it under the sender's key only if that notice does not come (fanout-stores.ts).
 *
 * Dashboards are not fanned out: each process computes its own `dashboard:` documents from the
 * shared database and the fanned-out sessions and presence.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import type { DocStore } from '../../persistence/doc-store.ts';
import type { UpdateLog } from '../../persistence/update-log.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { LiveDocument } from '../documents/live-document.ts';
import { redisAnswerOrigin, redisSenderOrigin, redisStoredOrigin } from '../documents/origins.ts';
import type { UpdateKeys } from '../documents/update-keys.ts';
import { createFanoutStores, DEFAULT_STORE_AFTER_MS } from './fanout-stores.ts';
import { awarenessUpdateOf } from '../../docs-model/awareness.ts';
import { FANOUT_FORMAT_VERSION, FanoutAsk, FanoutMessage } from '../../docs-model/protocol.ts';

/**
 * How long a load waits for the other processes' answers. They normally come within a Redis round
 * trip (~1–2 ms); past this the load goes on, and a late answer is applied (and sent to the clients)
 * when it comes.
 */
const ANSWER_TIMEOUT_MS = 500;

/** ioredis's client class, as `loadRedisClient` hands it over. */
export type RedisClient = typeof Redis;

/** REDIS_URL is set, but the Redis client package could not be loaded. */
export class RedisClientLoadError extends Error {
  readonly code = 'redis_client_unavailable';
  override readonly name = 'RedisClientLoadError';
}

/**
 * ioredis, loaded only by a process that has REDIS_URL: a default start without it did not need
 * the package and its dependencies, ~2 MB of V8 heap and their code (bench/start.ts). Called by
 * `createServer` before anything is opened, so a missing or broken package fails the start, naming it.
 */
export async function loadRedisClient(): Promise<RedisClient> {
  try {
    return (await import('ioredis')).Redis;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RedisClientLoadError(`REDIS_URL is set, but the Redis client (ioredis) could not be loaded: ${reason}`, { cause: err });
  }
}

export interface RedisFanoutDeps {
  redisUrl: string;
  /** From `loadRedisClient()`. */
  Redis: RedisClient;
  /** Keeps processes of different deployments (or test schemas) on one Redis apart. */
  namespace: string;
  /** The documents to share: the fan-out follows their events and brings each load up to date. */
  registry: DocRegistry;
  store: DocStore;
  /** Where another process's update is stored when its sender's notice does not come. */
  log: UpdateLog;
  /** The keys the registry's documents write their rows with; `keys.writer` is this process's id on the channels. */
  keys: UpdateKeys;
  /** How long a received update waits for its sender's "stored" notice (default 5 s). */
  storeAfterMs?: number;
  logger: Logger;
  /** Counts for /metrics. */
  onMessage?(direction: 'published' | 'received'): void;
  onCatchUp?(): void;
  onStoredInPlace?(): void;
}

export interface RedisFanout {
  /** Resolves once both connections are ready (first connect only). */
  readonly ready: Promise<void>;
  /** Whether both connections are up now (for /health). */
  connected(): boolean;
  /** This process's id on the channels. */
  readonly processId: string;
  /** For tests: the subscribing connection, to cut it and see the catch-up. */
  readonly subscriber: Redis;
  /** Resolves after the catch-up that follows the next reconnect (tests). */
  nextCatchUp(): Promise<void>;
  /** Updates received from other processes still waiting for their sender's notice (tests). */
  pendingStores(): number;
  close(): Promise<void>;
}

function fannedOut(doc: LiveDocument): boolean {
  return doc.kind !== 'dashboard';
}

export function createRedisFanout(deps: RedisFanoutDeps): RedisFanout {
  const { Redis } = deps;
  const processId = deps.keys.writer;
  const prefix = `annosync:${deps.namespace}:doc:`;
  const channelOf = (docName: string) => `${prefix}${docName}`;
  // Publishing while disconnected fails at once instead of queueing (see the header).
  const publisher = new Redis(deps.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  const subscriber = new Redis(deps.redisUrl, { lazyConnect: true, connectionName: `annosync-sub-${processId}` });
  let closed = false;
  let everReady = false;
  let catchUpWaiters: Array<() => void> = [];
  const subscribed = new Set<string>();

  const swallow = (what: string) => (err: unknown) => {
    if (!closed) deps.logger.warn({ err, source: 'redis' }, what);
  };
  // ioredis retries a lost connection for ever and reports every failed attempt: one warning per
  // outage and connection is enough (the reconnect is logged by onReconnect).
  const connectionErrors = (connection: Redis, name: string) => {
    let reported = false;
    connection.on('error', (err: unknown) => {
      if (reported || closed) return;
      reported = true;
      deps.logger.warn({ err, source: 'redis' }, `redis ${name} connection lost; retrying (documents stay served from this process)`);
    });
    connection.on('ready', () => (reported = false));
  };
  connectionErrors(publisher, 'publisher');
  connectionErrors(subscriber, 'subscriber');

  function frame(kind: number, write: (encoder: encoding.Encoder) => void): Buffer {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, FANOUT_FORMAT_VERSION);
    encoding.writeVarString(encoder, processId);
    encoding.writeVarUint(encoder, kind);
    write(encoder);
    return Buffer.from(encoding.toUint8Array(encoder));
  }

  function publish(docName: string, message: Buffer): void {
    if (publisher.status !== 'ready' || (closed && !closing)) return;
    publisher.publish(channelOf(docName), message).catch(swallow('redis publish failed'));
    deps.onMessage?.('published');
  }

  /** While close() sends the last notices. */
  let closing = false;
  const stores = createFanoutStores({
    log: deps.log,
    storeAfterMs: deps.storeAfterMs ?? DEFAULT_STORE_AFTER_MS,
    logger: deps.logger,
    publishStored: (docName, seq) => publish(docName, frame(FanoutMessage.stored, (e) => encoding.writeVarUint(e, seq))),
    ...(deps.onStoredInPlace ? { onStoredInPlace: deps.onStoredInPlace } : {}),
  });

  const stateVectorFrame = (doc: LiveDocument, flags: number): Buffer =>
    frame(FanoutMessage.stateVector, (e) => {
      encoding.writeUint8(e, flags);
      encoding.writeVarUint8Array(e, Y.encodeStateVector(doc.ydoc));
    });

  function askForMissing(doc: LiveDocument): void {
    publish(doc.name, stateVectorFrame(doc, FanoutAsk.yours));
    publish(doc.name, frame(FanoutMessage.awarenessQuery, () => {}));
  }

  /** Documents between their load from the database and the end of `prepare`: not in the registry yet. */
  const preparing = new Map<string, LiveDocument>();
  /** Loads waiting for answers. `expected` is known once PUBLISH replied; answers may come first. */
  const awaiting = new Map<string, { received: number; expected: number | null; done: () => void }>();
  const docOf = (docName: string) => preparing.get(docName) ?? deps.registry.get(docName);

  async function subscribe(doc: LiveDocument): Promise<void> {
    const channel = channelOf(doc.name);
    if (subscribed.has(channel)) return;
    subscribed.add(channel);
    try {
      await subscriber.subscribe(channel);
    } catch (err) {
      swallow('redis subscribe failed')(err);
      return;
    }
    // Only once subscribed: an answer sent before would be missed.
    if (!doc.destroyed) askForMissing(doc);
  }

  /**
   * Before a loaded document is handed out: subscribes to its channel and waits (at most
   * ANSWER_TIMEOUT_MS) until every other process holding it has sent what this one lacks, so the
   * first client's sync and the first REST read include edits not committed yet elsewhere. Never
   * throws; does not wait while Redis is down.
   */
  async function prepare(doc: LiveDocument): Promise<void> {
    if (!fannedOut(doc) || closed) return;
    if (subscriber.status !== 'ready' || publisher.status !== 'ready') return; // onLoad subscribes; the reconnect catches up
    const channel = channelOf(doc.name);
    preparing.set(doc.name, doc);
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ANSWER_TIMEOUT_MS);
      awaiting.set(doc.name, { received: 0, expected: null, done: resolve });
    });
    try {
      subscribed.add(channel);
      await Promise.race([subscriber.subscribe(channel), answered]);
      // PUBLISH answers how many subscribers got the message: the other processes, and us.
      const receivers = await Promise.race([publisher.publish(channel, stateVectorFrame(doc, FanoutAsk.yours | FanoutAsk.always)), answered.then(() => 0)]);
      deps.onMessage?.('published');
      publish(doc.name, frame(FanoutMessage.awarenessQuery, () => {}));
      const wait = awaiting.get(doc.name);
      if (wait) {
        wait.expected = receivers - 1;
        if (wait.received >= wait.expected) wait.done();
      }
      await answered;
    } catch (err) {
      swallow('redis: asking the other processes for a loaded document failed')(err);
    } finally {
      clearTimeout(timer);
      awaiting.delete(doc.name);
      preparing.delete(doc.name);
    }
  }

  function onMessage(channel: Buffer, message: Buffer): void {
    const docName = channel.toString('utf8').slice(prefix.length);
    try {
      const decoder = decoding.createDecoder(message);
      if (decoding.readVarUint(decoder) !== FANOUT_FORMAT_VERSION) return;
      const sender = decoding.readVarString(decoder);
      if (sender === processId) return; // our own, echoed by Redis
      deps.onMessage?.('received');
      const kind = decoding.readVarUint(decoder);
      // Even for a document unloaded meanwhile: its updates may still wait for this notice.
      if (kind === FanoutMessage.stored) return stores.noticed(docName, sender, decoding.readVarUint(decoder));
      const doc = docOf(docName);
      if (!doc || doc.destroyed) return;
      switch (kind) {
        case FanoutMessage.update: {
          const seq = decoding.readVarUint(decoder);
          const update = decoding.readVarUint8Array(decoder);
          // 0: its sender keys no rows, so it cannot say it stored it; stored here, as an answer is.
          Y.applyUpdate(doc.ydoc, update, seq === 0 ? redisAnswerOrigin : redisSenderOrigin(stores.received(docName, sender, seq, update)));
          break;
        }
        case FanoutMessage.stateVector: {
          const flags = decoding.readUint8(decoder);
          const missing = Y.encodeStateAsUpdate(doc.ydoc, decoding.readVarUint8Array(decoder));
          // An empty update is 2 bytes: the asker lacks nothing we hold.
          if (missing.length > 2 || flags & FanoutAsk.always) {
            publish(docName, frame(FanoutMessage.missing, (e) => {
              encoding.writeVarString(e, sender);
              encoding.writeVarUint8Array(e, missing);
            }));
          }
          // With no flags: an answer must not ask for another answer.
          if (flags & FanoutAsk.yours) publish(docName, stateVectorFrame(doc, 0));
          break;
        }
        case FanoutMessage.missing: {
          if (decoding.readVarString(decoder) !== processId) return; // an answer to someone else
          // What the answering process holds and we lack may be uncommitted there: stored here.
          Y.applyUpdate(doc.ydoc, decoding.readVarUint8Array(decoder), redisAnswerOrigin);
          const wait = awaiting.get(docName);
          if (wait && ++wait.received >= (wait.expected ?? Number.POSITIVE_INFINITY)) wait.done();
          break;
        }
        case FanoutMessage.awareness:
          doc.applyRemoteAwareness(decoding.readVarUint8Array(decoder));
          break;
        case FanoutMessage.awarenessQuery: {
          const owned = doc.awareness.encodeOwned();
          if (owned) publish(docName, frame(FanoutMessage.awareness, (e) => encoding.writeVarUint8Array(e, innerAwareness(owned))));
          break;
        }
        default:
          return;
      }
    } catch (err) {
      // Another process of ours sent it: a bug there, not a reason to stop applying the rest.
      deps.logger.warn({ err, doc: docName, source: 'redis' }, 'a fanned-out message could not be applied');
    }
  }

  subscriber.on('messageBuffer', onMessage);

  async function catchUp(): Promise<void> {
    deps.onCatchUp?.();
    const docs = [...deps.registry.all()].filter((doc) => fannedOut(doc) && !doc.destroyed);
    // ioredis resubscribes what it knew; a subscribe that failed while down is retried here.
    const channels = docs.map((doc) => channelOf(doc.name));
    for (const channel of channels) subscribed.add(channel);
    if (channels.length > 0) await subscriber.subscribe(...channels);
    for (const doc of docs) {
      try {
        const stored = await deps.store.loadMerged(doc.name);
        // Broadcast to our clients, not stored again.
        if (stored.update && !doc.destroyed) Y.applyUpdate(doc.ydoc, stored.update, redisStoredOrigin);
      } catch (err) {
        deps.logger.warn({ err, doc: doc.name, source: 'redis' }, 'catch-up from the database failed');
      }
      if (!doc.destroyed) askForMissing(doc);
    }
  }

  const ready = Promise.all([publisher.connect(), subscriber.connect()]).then(() => {
    everReady = true;
  });
  ready.catch(swallow('redis connect failed'));
  // Either connection may have missed something while down: what we published, or what we heard.
  // The first connect too: documents loaded while Redis was not up yet published nothing.
  const onReconnect = () => {
    // Once both are up: after a Redis restart both reconnect, and one catch-up (a database read
    // per loaded document) is enough.
    if (closed || publisher.status !== 'ready' || subscriber.status !== 'ready') return;
    if (everReady) deps.logger.info({ source: 'redis' }, 'redis reconnected: catching up from the database and the other processes');
    void catchUp()
      .catch(swallow('redis catch-up failed'))
      .finally(() => {
        const waiters = catchUpWaiters;
        catchUpWaiters = [];
        for (const resolve of waiters) resolve();
      });
  };
  subscriber.on('ready', onReconnect);
  publisher.on('ready', onReconnect);

  deps.registry.on('prepare', (doc, waitFor) => waitFor(prepare(doc)));
  deps.registry.on('load', (doc) => {
    // prepare() subscribed already, unless Redis was down then.
    if (fannedOut(doc)) void subscribe(doc);
  });
  deps.registry.on('change', (doc, update, origin, row) => {
    if (origin.kind === 'redis' || !fannedOut(doc)) return;
    publish(
      doc.name,
      frame(FanoutMessage.update, (e) => {
        encoding.writeVarUint(e, row?.key.seq ?? 0);
        encoding.writeVarUint8Array(e, update);
      }),
    );
    if (row) stores.sent(doc.name, row);
  });
  deps.registry.on('awareness', (doc, message, source) => {
    if (source !== 'local' || !fannedOut(doc)) return;
    publish(doc.name, frame(FanoutMessage.awareness, (e) => encoding.writeVarUint8Array(e, innerAwareness(message))));
  });
  deps.registry.on('unload', (doc) => {
    const channel = channelOf(doc.name);
    if (!subscribed.delete(channel) || closed) return;
    subscriber.unsubscribe(channel).catch(swallow('redis unsubscribe failed'));
  });

  return {
    processId,
    subscriber,
    ready,
    connected: () => publisher.status === 'ready' && subscriber.status === 'ready',
    nextCatchUp: () => new Promise<void>((resolve) => catchUpWaiters.push(resolve)),
    pendingStores: () => stores.pending(),
    close: async () => {
      if (closed) return;
      closed = true;
      closing = true;
      subscriber.disconnect();
      try {
        // What others sent and did not notice yet is stored here (under their keys); our last
        // notices go out, so the others need not store ours.
        await stores.close();
        if (publisher.status === 'ready') await Promise.race([publisher.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      } catch (err) {
        deps.logger.warn({ err, source: 'redis' }, 'redis: closing the fan-out failed');
      } finally {
        closing = false;
        publisher.disconnect();
      }
    },
  };
}

/** The y-protocols awareness update inside a `[MessageType.awareness, update]` socket message. */
function innerAwareness(message: Uint8Array): Uint8Array {
  const update = awarenessUpdateOf(message);
  if (!update) throw new Error('not an awareness message');
  return update;
}
