/**
 * `ws(s)://HOST:PORT/sync/<docName>`: the y-websocket endpoint.
 *
 * Everything that can refuse a socket happens before a single WebSocket frame is read: the name is
 * parsed, the caller authorised and the document loaded while the upgrade request waits, so there
 * is no pre-auth message queue to bound (Hocuspocus GHSA-xwhh-v746-pj9m). A refused socket is
 * accepted and closed at once with a 44xx code, because a browser cannot read the HTTP status of a
 * failed upgrade but can read a close code; nothing it sends is read.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection, type Principal } from './connection.ts';
import { CloseCode, parseDocName, type DocName } from './wire.ts';
import { AppError, TooManyRequestsError, toAppError } from './errors.ts';
import type { DocRegistry } from './doc-registry.ts';
import type { Limits } from './config.ts';
import type { Logger } from '../persistence/logger.ts';

export const SYNC_PATH_PREFIX = '/sync/';

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

  constructor(deps: SyncEndpointDeps) {
    this.deps = deps;
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
      const appError = toAppError(err);
      this.refuse(request, socket, head, appError.closeCode, appError.expose ? appError.message : 'internal error');
      return;
    }
    let doc;
    try {
      doc = await this.deps.registry.acquire(docName);
    } catch (err) {
      const appError = toAppError(err);
      if (!(err instanceof AppError)) this.deps.logger.error({ err, doc: docName.name }, 'acquire failed');
      this.refuse(request, socket, head, appError.closeCode, appError.expose ? appError.message : 'internal error');
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
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, doc, principal, url));
    } catch (err) {
      const appError = toAppError(err);
      this.refuse(request, socket, head, appError.closeCode, appError.message);
    } finally {
      this.deps.registry.release(doc);
    }
  }

  private accept(ws: WebSocket, doc: NonNullable<ReturnType<DocRegistry['get']>>, principal: Principal, url: URL): void {
    const connection = new Connection(ws, doc, {
      principal,
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
    connection.start();
  }

  /** Completes the upgrade only to close at once with a code the browser can read. */
  private refuse(request: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
    if (socket.destroyed) return;
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.close(code, reason.slice(0, 120));
      this.deps.onClose?.(code);
    });
  }

  /** Stops taking new sockets and closes every open one with 1001. */
  closeAll(): void {
    this.accepting = false;
    for (const connection of this.connections) connection.close(CloseCode.goingAway, 'server shutting down');
    this.connections.clear();
  }
}
