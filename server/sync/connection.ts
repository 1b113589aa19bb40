/**
 * One socket on one document: decodes y-websocket messages, applies them to the live document, and
 * answers. Anything it cannot decode closes this connection only (1007), with the code of the
 * typed error otherwise; the process keeps serving everyone else.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { WebSocket } from 'ws';
import { Outbox } from './outbox.ts';
import { writeFrameOfIfIdle } from '../documents/frames.ts';
import { AuthMessageType, CloseCode, MessageType, SyncMessageType, type CloseCodeValue } from '../../docs-model/protocol.ts';
import { AppError, InvalidMessageError, MessageTooBigError, PolicyViolationError, toCloseEvent } from '../base/errors.ts';
import type { LiveDocument, Peer } from '../documents/live-document.ts';
import type { Limits } from '../config.ts';
import type { Logger } from '../../shared/logger.ts';

export interface Principal {
  /** The token's subject; 'anonymous' before auth is configured. */
  id: string;
  name: string;
  /** Viewers sync read-only: their document updates are never applied. */
  readOnly: boolean;
  /** The token's `exp` (ms since epoch): the connection closes with 4401 then. None: no expiry. */
  expiresAt?: number;
}

export interface ConnectionOptions {
  principal: Principal;
  /** `?acks=1`: the client wants durable acknowledgements (MessageType.durableAck). */
  wantsAcks: boolean;
  /** Set while the document is still loading (DocRegistry.acquireForSync); null once it is loaded. */
  loaded?: Promise<void> | null;
  limits: Limits;
  logger: Logger;
  onClose(connection: Connection): void;
}

let nextConnectionId = 1;

/** Decoding past the end, an integer above 2^53, a bad length: all mean "not y-websocket". */
function decodeError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new InvalidMessageError(err instanceof Error ? err.message : 'undecodable message');
}

/** Sync step 1 (both varuints are single bytes): a message answered even while the document loads. */
function isSyncStep1(data: Buffer): boolean {
  return data.length >= 2 && data[0] === MessageType.sync && data[1] === SyncMessageType.step1;
}

/** The answer to a client's "count from here": a durable-ack message with count 0. */
const COUNTING_FROM_HERE = new Uint8Array([MessageType.durableAck, 0]);

export class Connection implements Peer {
  readonly kind = 'connection' as const;
  readonly id = nextConnectionId++;
  readonly principalId: string;
  readonly ws: WebSocket;
  readonly doc: LiveDocument;
  private readonly opts: ConnectionOptions;
  /** Update messages received (sync step 2 and update), for durable acknowledgements. */
  private updatesReceived = 0;
  private updatesAcked = 0;
  /** Update messages received before the client's last "count from here" (acks are relative to it). */
  private ackBase = 0;
  private deniedOnce = false;
  private tokens: number;
  private tokensAt = Date.now();
  private closed = false;
  /**
   * Messages received while the document loads (all but sync step 1, answered from the stored
   * state at once: `loading`) or while a staged change holds it (`doc.busy`: half-written until
   * then), handled in order afterwards. Bounded by the rate limit.
   */
  private backlog: Buffer[] | null = null;
  private loading = false;
  /** Whether our sync step 1 waits with the backlog (sent first when it is handled). */
  private greetingWaits = false;
  /** This turn's messages to the socket, written together (outbox.ts). */
  private readonly outbox: Outbox;

  constructor(ws: WebSocket, doc: LiveDocument, opts: ConnectionOptions) {
    this.ws = ws;
    this.outbox = new Outbox(ws);
    this.doc = doc;
    this.opts = opts;
    this.principalId = opts.principal.id;
    this.tokens = opts.limits.messageBurst;
    if (opts.loaded) {
      this.backlog = [];
      this.loading = this.greetingWaits = true;
      opts.loaded.then(
        () => this.onLoaded(),
        (err: unknown) => {
          const close = toCloseEvent(err);
          this.close(close.code, close.reason);
        },
      );
    }
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onSocketClosed());
    ws.on('error', (err) => {
      // `ws` reports frame-level problems (RSV1 without an extension, oversize frames) here and
      // closes the socket itself with 1002/1009; we only log.
      opts.logger.debug({ err: err.message, doc: doc.name, connection: this.id }, 'socket error');
    });
  }

  /** The greeting y-websocket servers send: our state vector and everyone's presence. */
  start(): void {
    // While the document loads, our state vector would be the stored one and the client's answer
    // would have to wait anyway: it goes out with the backlog (onLoaded); so too while it is busy.
    if (!this.backlog && this.doc.busy) {
      this.greetingWaits = true;
      this.waitForDocument();
    }
    if (!this.backlog) this.send(this.doc.syncStep1());
    this.doc.greetPresence(this);
  }

  private onLoaded(): void {
    this.loading = false;
    this.handleBacklog();
  }

  /** Queues what comes next until the staged change holding the document ends. */
  private waitForDocument(): Buffer[] {
    this.doc.busy?.then(() => this.handleBacklog());
    return (this.backlog ??= []);
  }

  private handleBacklog(): void {
    if (this.closed) return;
    // Dropped by a staged change that failed midway (DocRegistry.transactInSteps): reconnect to a fresh load.
    if (this.doc.destroyed) return this.close(CloseCode.internalError, 'document reloaded');
    if (this.doc.busy) return void this.waitForDocument();
    const backlog = this.backlog ?? [];
    this.backlog = null;
    if (this.greetingWaits) this.send(this.doc.syncStep1());
    this.greetingWaits = false;
    for (const message of backlog) {
      if (this.closed) return;
      this.dispatch(message);
    }
  }

  /** Messages waiting for the document (loading, or busy with a staged change). */
  get queued(): number {
    return this.backlog?.length ?? 0;
  }

  send(message: Uint8Array, frame?: Buffer): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.outbox.add(message, frame);
  }

  /** Sends the message `head` + `body` (see `syncStep2PartsFor`) and calls `done` once it is written. */
  private sendThen({ head, body }: { head: readonly number[]; body: Uint8Array }, done: () => void): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return done();
    // Written now, after what this turn queued, so the socket's order stays the order of sends.
    this.outbox.flush();
    if (writeFrameOfIfIdle(this.ws, head, body, done)) return;
    const message = head.length === 0 ? body : Buffer.concat([Uint8Array.from(head), body]);
    this.ws.send(message, { binary: true }, () => done());
  }

  close(code: CloseCodeValue, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    // What this turn queued goes out before the close frame.
    this.outbox.flush();
    this.ws.close(code, reason.slice(0, 120));
    this.opts.onClose(this);
  }

  /**
   * The token's `exp` passed: closes with 4401, so the stock client stops reconnecting with it.
   * Every message handled before now was applied as usual, and its update stays queued in the
   * update log, which commits it whether or not its sender is still connected.
   */
  expire(): void {
    if (this.closed) return;
    const { expiresAt } = this.opts.principal;
    this.opts.logger.info(
      { doc: this.doc.name, connection: this.id, principal: this.principalId, expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt).toISOString() },
      'token expired: connection closed',
    );
    this.close(CloseCode.unauthorized, 'token expired');
  }

  private onSocketClosed(): void {
    this.outbox.discard();
    if (this.closed) return;
    this.closed = true;
    this.opts.onClose(this);
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    if (this.closed) return;
    // The endpoint's timer closes us at `exp`, but a busy event loop may run it late: nothing that
    // is read after `exp` is applied, whatever the timer's delay.
    const { expiresAt } = this.opts.principal;
    if (expiresAt !== undefined && Date.now() >= expiresAt) {
      this.expire();
      return;
    }
    if (!isBinary || !Buffer.isBuffer(data)) {
      this.close(CloseCode.invalidPayload, 'binary y-websocket messages only');
      return;
    }
    if (!this.takeToken()) {
      this.close(CloseCode.policyViolation, 'message rate limit exceeded');
      return;
    }
    if (this.backlog) {
      // Only while loading is a sync step 1 answered at once (from the stored state).
      if (this.loading && isSyncStep1(data)) this.dispatch(data);
      else this.backlog.push(data);
      return;
    }
    if (this.doc.busy) this.waitForDocument().push(data);
    else this.dispatch(data);
  }

  private dispatch(data: Buffer): void {
    try {
      this.handle(data);
    } catch (err) {
      const close = toCloseEvent(err);
      if (close.internal) this.opts.logger.error({ err, doc: this.doc.name, connection: this.id }, 'bug while handling a message');
      this.close(close.code, close.reason);
    }
  }

  /** Token bucket: `messageBurst` at once, refilled at `messagesPerSecond`. */
  private takeToken(): boolean {
    const { messagesPerSecond, messageBurst } = this.opts.limits;
    const now = Date.now();
    this.tokens = Math.min(messageBurst, this.tokens + ((now - this.tokensAt) * messagesPerSecond) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private handle(message: Uint8Array): void {
    const decoder = decoding.createDecoder(message);
    let type: number;
    try {
      type = decoding.readVarUint(decoder);
    } catch (err) {
      throw decodeError(err);
    }
    switch (type) {
      case MessageType.sync:
        this.handleSync(decoder);
        return;
      case MessageType.awareness: {
        let update: Uint8Array;
        try {
          update = decoding.readVarUint8Array(decoder);
          this.doc.applyAwareness(this, update);
        } catch (err) {
          throw decodeError(err);
        }
        return;
      }
      case MessageType.queryAwareness:
        // What it asks for is what a joiner is greeted with: every state, at clocks it has not seen.
        this.doc.greetPresence(this);
        return;
      case MessageType.auth:
        return; // clients never send auth messages that mean anything to us
      case MessageType.durableAck: {
        // "Count from here" (see wire.ts): the only thing a client says with this type.
        let value: number;
        try {
          value = decoding.readVarUint(decoder);
        } catch (err) {
          throw decodeError(err);
        }
        if (value !== 0) throw new InvalidMessageError('unexpected durable-ack message');
        if (!this.opts.wantsAcks) return; // a tracker on a connection that did not ask: nothing to count
        this.ackBase = this.updatesReceived;
        // "Counting from here": acks the client receives before this one are for messages it sent
        // before its reset, and none for those come after it (see ackWhenDurable).
        this.send(COUNTING_FROM_HERE);
        return;
      }
      default:
        throw new InvalidMessageError(`unknown message type ${type}`);
    }
  }

  private handleSync(decoder: decoding.Decoder): void {
    let subType: number;
    let payload: Uint8Array;
    try {
      subType = decoding.readVarUint(decoder);
      payload = decoding.readVarUint8Array(decoder);
    } catch (err) {
      throw decodeError(err);
    }
    switch (subType) {
      case SyncMessageType.step1:
        try {
          Y.decodeStateVector(payload);
        } catch (err) {
          throw decodeError(err);
        }
        if (this.doc.integrated) {
          this.send(this.doc.syncStep2For(payload));
        } else {
          // Answered from the stored state; the document integrates it once this left the process.
          this.sendThen(this.doc.syncStep2PartsFor(payload), () => this.doc.requestIntegration());
        }
        return;
      case SyncMessageType.step2:
      case SyncMessageType.update:
        this.receiveUpdate(payload, subType === SyncMessageType.update);
        return;
      default:
        throw new InvalidMessageError(`unknown sync message type ${subType}`);
    }
  }

  private receiveUpdate(payload: Uint8Array, isUpdate: boolean): void {
    if (this.opts.principal.readOnly) {
      // Viewers: a reply to our sync step 1 is dropped quietly; an edit is refused once, the
      // y-protocols way, so the client can tell its user.
      if (isUpdate && !this.deniedOnce) {
        this.deniedOnce = true;
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MessageType.auth);
        encoding.writeVarUint(encoder, AuthMessageType.permissionDenied);
        encoding.writeVarString(encoder, 'read-only: your role cannot edit this document');
        this.send(encoding.toUint8Array(encoder));
      }
      return;
    }
    if (payload.length > this.opts.limits.maxUpdateBytes) {
      throw new MessageTooBigError(`update of ${payload.length} bytes exceeds the limit of ${this.opts.limits.maxUpdateBytes}`);
    }
    // Copy: the payload is a view into the socket's buffer, and Yjs may keep references to it.
    const update = Uint8Array.prototype.slice.call(payload);
    try {
      // Decoded whole before it touches the document: Y.applyUpdate integrates structs as it reads
      // them, so an update that breaks off midway, or carries a zero-length struct, left the live
      // document half-changed and unable to encode itself — every joiner after got 1011 (found by
      // test/server/fuzz.test.ts). The decode costs about as much as reading the update once more.
      if (Y.decodeUpdate(update).structs.some((struct) => struct.length <= 0)) throw new Error('a struct of length 0');
      if (isUpdate) this.doc.applyPeerUpdate(update, this);
      else Y.applyUpdate(this.doc.ydoc, update, this);
    } catch (err) {
      throw new InvalidMessageError(`update could not be applied: ${err instanceof Error ? err.message : 'invalid'}`);
    }
    if (this.doc.ydoc.store.pendingStructs !== null || this.doc.ydoc.store.pendingDs !== null) {
      // An update whose dependencies never arrive would sit in memory for ever. Stock clients
      // send causally complete updates; a gap means a broken or hostile client.
      const pending = this.doc.ydoc.store.pendingStructs?.update.length ?? 0;
      if (pending > this.opts.limits.maxUpdateBytes) {
        // Drop what waits before closing the sender (found by test/security): left in the
        // document, it tripped this check on every later update from anyone, so one hostile client
        // locked every editor out until the document unloaded. Pending content was neither applied
        // nor stored; a stock client never leaves any, and re-sends what is missing on its next sync.
        this.doc.ydoc.store.pendingStructs = null;
        this.doc.ydoc.store.pendingDs = null;
        throw new PolicyViolationError('too much update content waiting for missing dependencies');
      }
    }
    this.updatesReceived++;
    if (this.opts.wantsAcks) this.ackWhenDurable(this.updatesReceived);
  }

  /**
   * Once the latest commit of the document resolves, everything this client sent up to now is
   * durable: either its own update was in that commit or in an earlier one, or it changed nothing.
   */
  private ackWhenDurable(count: number): void {
    const base = this.ackBase;
    this.doc.lastCommit.then(
      () => {
        if (count <= this.updatesAcked || this.closed) return;
        this.updatesAcked = count;
        // Messages from before the client's reset are not its tracker's to count.
        if (base !== this.ackBase || count <= this.ackBase) return;
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MessageType.durableAck);
        encoding.writeVarUint(encoder, count - this.ackBase);
        this.send(encoding.toUint8Array(encoder));
      },
      () => undefined,
    );
  }
}
