/**
 * `ws(s)://HOST:PORT/sync/<docName>`: the y-websocket endpoint.
 *
 * Everything that can refuse a socket happens before a single WebSocket frame is read: the name is
 * parsed, the caller authorised and the document's stored state read while the upgrade request
 * waits, so there is no pre-auth message queue to bound (Hocuspocus GHSA-xwhh-v746-pj9m). A cold
 * document may still be integrating when the socket opens: the connection answers sync step 1
 * from the stored state and holds the rest until the load ends (connection.ts). A refused socket is
 * accepted and closed at once with a 44xx code, because a browser cannot read the HTTP status of a
 * failed upgrade but can read a close code; nothing it sends is read.
 *
 * Auth happens once, so a token's `exp` is enforced afterwards: an accepted connection whose token
 * expires is closed with 4401 at `exp` (see ExpiryQueue), and a revoked annotator cannot keep
 * editing for as long as the socket stays open.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection, type Principal } from './connection.ts';
import { uncorkAfterFlush } from './outbox.ts';
import { CloseCode, parseDocName, type DocName } from '../../docs-model/protocol.ts';
import { TooManyRequestsError, toCloseEvent } from '../base/errors.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { LiveDocument } from '../documents/live-document.ts';
import type { Limits } from '../config.ts';
import type { Logger } from '../../shared/logger.ts';

export const SYNC_PATH_PREFIX = '/sync/';

/** setTimeout fires at once (with a warning) past 2^31 - 1 ms; a later expiry re-arms on waking. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Below this many entries the queue never compacts: stale entries of that few cost nothing. */
const MIN_COMPACT_ENTRIES = 64;

interface Expiry<T> {
  at: number;
  item: T;
}

/**
 * When each item expires, with ONE timer for all of them, armed for the earliest expiry: a binary
 * min-heap on `at`. Not a timer per connection: a document may hold thousands of sockets, each of
 * which would keep a Timeout and re-arm the timer list on every reconnect of a storm. Not a
 * periodic sweep: it would close up to a period late and scan every connection each period, where
 * the heap closes at `exp` and touches only the connections that expire.
 *
 * Items that went away early (a closed connection) are not removed: they are skipped when they
 * reach the top (`isLive`), and the heap drops them all once it doubled since it last did, so it
 * holds at most about twice the live items and each add costs O(log n) amortised.
 */
export class ExpiryQueue<T> {
  private heap: Array<Expiry<T>> = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires; it only ever gets re-armed earlier. */
  private armedFor = Infinity;
  private compactAt = MIN_COMPACT_ENTRIES;
  private readonly isLive: (item: T) => boolean;
  private readonly onExpired: (item: T) => void;

  constructor(opts: { isLive(item: T): boolean; onExpired(item: T): void }) {
    this.isLive = opts.isLive;
    this.onExpired = opts.onExpired;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Calls `onExpired(item)` at `at` (ms since epoch), unless `isLive(item)` turned false by then. */
  add(item: T, at: number): void {
    if (this.heap.length >= this.compactAt) this.compact();
    this.heap.push({ at, item });
    this.up(this.heap.length - 1);
    this.arm();
  }

  /** Stops the timer; nothing expires afterwards (shutdown). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    this.heap = [];
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.armedFor = Infinity;
    const now = Date.now();
    while (this.heap.length > 0 && (this.heap[0] as Expiry<T>).at <= now) {
      const { item } = this.pop();
      if (this.isLive(item)) this.onExpired(item);
    }
    this.arm();
  };

  private arm(): void {
    // Expired-early items at the top would wake the timer for nothing.
    while (this.heap.length > 0 && !this.isLive((this.heap[0] as Expiry<T>).item)) this.pop();
    const next = this.heap[0];
    if (!next || next.at >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, next.at - Date.now()), MAX_TIMER_MS);
    this.armedFor = Date.now() + delay;
    this.timer = setTimeout(this.fire, delay);
    // Expiries alone must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private compact(): void {
    this.heap = this.heap.filter(({ item }) => this.isLive(item));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
    this.compactAt = Math.max(MIN_COMPACT_ENTRIES, this.heap.length * 2);
  }

  private pop(): Expiry<T> {
    const top = this.heap[0] as Expiry<T>;
    const last = this.heap.pop() as Expiry<T>;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i] as Expiry<T>;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as Expiry<T>;
      if (above.at <= entry.at) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = entry;
  }

  private down(i: number): void {
    const heap = this.heap;
    const entry = heap[i] as Expiry<T>;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heap.length) break;
      const right = child + 1;
      if (right < heap.length && (heap[right] as Expiry<T>).at < (heap[child] as Expiry<T>).at) child = right;
      const below = heap[child] as Expiry<T>;
      if (below.at >= entry.at) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = entry;
  }
}

/** Decides who may open a document; throws UnauthorizedError / ForbiddenError / NotFoundError. */
export type Authorize = (request: IncomingMessage, docName: DocName, url: URL) => Promise<Principal>;

export const allowEveryone: Authorize = async () => ({ id: 'anonymous', name: 'anonymous', readOnly: false });

export interface SyncEndpointDeps {
  registry: DocRegistry;
  limits: Limits;
  logger: Logger;
  authorize: Authorize;
  /** Called for every close, with its code (metrics). */
  onClose?(code: number): void;
}

export class SyncEndpoint {
  private readonly wss: WebSocketServer;
  private readonly deps: SyncEndpointDeps;
  readonly connections = new Set<Connection>();
  /** Open connections per principal (token subject), for the per-user limit. */
  private readonly perUser = new Map<string, number>();
  private accepting = true;
  /** Connections whose token has an `exp`; closed with 4401 when it passes. */
  private readonly expiries: ExpiryQueue<Connection>;

  constructor(deps: SyncEndpointDeps) {
    this.deps = deps;
    this.expiries = new ExpiryQueue<Connection>({
      isLive: (connection) => this.connections.has(connection),
      onExpired: (connection) => {
        try {
          connection.expire();
        } catch (err) {
          // A timer callback that throws would take the process down, and the other expiries with it.
          deps.logger.error({ err, doc: connection.doc.name, connection: connection.id }, 'closing an expired connection failed');
        }
      },
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.limits.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** The `upgrade` listener of the HTTP server. */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (err) => this.deps.logger.debug({ err: err.message }, 'upgrade socket error'));
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(SYNC_PATH_PREFIX) || !this.accepting) {
      socket.end(`HTTP/1.1 ${this.accepting ? '404 Not Found' : '503 Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    let rawName: string;
    try {
      rawName = decodeURIComponent(url.pathname.slice(SYNC_PATH_PREFIX.length));
    } catch {
      rawName = '';
    }
    const docName = parseDocName(rawName);
    if (!docName) {
      this.refuse(request, socket, head, CloseCode.badDocumentName, 'document names are session:<id>, test-run:<id> or dashboard:<id>');
      return;
    }
    void this.open(request, socket, head, docName, url);
  };

  private async open(request: IncomingMessage, socket: Duplex, head: Buffer, docName: DocName, url: URL): Promise<void> {
    let principal: Principal;
    try {
      principal = await this.deps.authorize(request, docName, url);
    } catch (err) {
      const close = toCloseEvent(err);
      this.refuse(request, socket, head, close.code, close.reason);
      return;
    }
    let doc: LiveDocument;
    let loaded: Promise<void> | null;
    try {
      ({ doc, loaded } = await this.deps.registry.acquireForSync(docName));
    } catch (err) {
      const close = toCloseEvent(err);
      if (close.internal) this.deps.logger.error({ err, doc: docName.name }, 'acquire failed');
      this.refuse(request, socket, head, close.code, close.reason);
      return;
    }
    try {
      if (doc.peers.size >= this.deps.limits.maxConnectionsPerDocument) {
        throw new TooManyRequestsError(`${doc.peers.size} connections on this document, the limit`);
      }
      if ((this.perUser.get(principal.id) ?? 0) >= this.deps.limits.maxConnectionsPerUser) {
        throw new TooManyRequestsError(`${this.deps.limits.maxConnectionsPerUser} connections of this user, the limit`);
      }
      if (socket.destroyed || !this.accepting) return;
      this.upgrade(request, socket, head, (ws) => this.accept(ws, doc, loaded, principal, url));
    } catch (err) {
      const close = toCloseEvent(err);
      this.refuse(request, socket, head, close.code, close.reason);
    } finally {
      this.deps.registry.release(doc);
    }
  }

  private accept(ws: WebSocket, doc: LiveDocument, loaded: Promise<void> | null, principal: Principal, url: URL): void {
    const connection = new Connection(ws, doc, {
      principal,
      loaded,
      wantsAcks: url.searchParams.get('acks') === '1',
      limits: this.deps.limits,
      logger: this.deps.logger,
      onClose: (closed) => {
        this.connections.delete(closed);
        const left = (this.perUser.get(principal.id) ?? 1) - 1;
        if (left <= 0) this.perUser.delete(principal.id);
        else this.perUser.set(principal.id, left);
        this.deps.registry.detach(closed.doc, closed);
      },
    });
    ws.on('close', (code) => this.deps.onClose?.(code));
    this.connections.add(connection);
    this.perUser.set(principal.id, (this.perUser.get(principal.id) ?? 0) + 1);
    this.deps.registry.attach(doc, connection);
    // Auth may have waited on a document load while the token ran out: then this fires at once.
    if (principal.expiresAt !== undefined) this.expiries.add(connection, principal.expiresAt);
    connection.start();
  }

  /** Completes the upgrade only to close at once with a code the browser can read. */
  private refuse(request: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
    if (socket.destroyed) return;
    this.upgrade(request, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.close(code, reason.slice(0, 120));
      this.deps.onClose?.(code);
    });
  }

  /**
   * Completes the upgrade so that `ws`'s 101 response and what `then` queues in this turn (the
   * greeting, or a refusal's close frame) leave in one write: a reconnecting crowd otherwise costs
   * a write per socket more than it needs (outbox.ts; docs/architecture.md, "Who hears a change").
   */
  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, then: (ws: WebSocket) => void): void {
    socket.cork();
    try {
      this.wss.handleUpgrade(request, socket, head, then);
    } finally {
      uncorkAfterFlush(socket);
    }
  }

  /** Stops taking new sockets and closes every open one with 1001. */
  closeAll(): void {
    this.accepting = false;
    this.expiries.clear();
    for (const connection of this.connections) connection.close(CloseCode.goingAway, 'server shutting down');
    this.connections.clear();
  }
}
