/**
 * Every constant that crosses the socket, in one place, browser-safe: the server, the durable-ack
 * helper and any client import these (docs/architecture.md, "Protocol").
 *
 * Message types 0–3 are y-protocols' (as y-websocket numbers them); ours start at 100 so they can
 * never collide with a future y-protocols type, and stock clients — which ignore unknown types
 * with a console warning — only receive them when they asked for them (`?acks=1`).
 */

/** y-websocket top-level message types. */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  /**
   * annosync, server → client: "N of your update messages are now durable in the database" (varUint
   * N, cumulative, counted from the connection's start or from the client's last reset).
   * Client → server (only with `?acks=1`): varUint 0, "count from here" — a tracker attached to an
   * open connection cannot know how many update messages went out before it.
   */
  durableAck: 100,
} as const;

/** y-protocols sync sub-messages. */
export const SyncMessageType = {
  step1: 0,
  step2: 1,
  update: 2,
} as const;

/** y-protocols auth sub-messages: `permissionDenied` carries a reason string. */
export const AuthMessageType = {
  permissionDenied: 0,
} as const;

/**
 * WebSocket close codes. 1xxx are RFC 6455's; 4xxx are ours and mirror HTTP statuses so a browser
 * (which cannot read the HTTP status of a refused upgrade) can tell why it was refused.
 */
export const CloseCode = {
  /** Server shutting down, after pending writes were flushed. Clients reconnect elsewhere/later. */
  goingAway: 1001,
  /** A broken WebSocket frame (e.g. RSV1 set without an extension); sent by `ws` itself. */
  protocolError: 1002,
  /** A message that cannot be decoded as y-websocket (bad varint, unknown type, bad update). */
  invalidPayload: 1007,
  /** A policy breach: speaking for another client's awareness, exceeding the message rate, a state too deep. */
  policyViolation: 1008,
  /** A frame or decoded update larger than the configured limit. */
  messageTooBig: 1009,
  /** A bug on our side; the process keeps serving the others. */
  internalError: 1011,
  /** Too many connections on this document or for this user right now; retry later. */
  tryAgainLater: 1013,
  /** The document name is not `session:`, `test-run:` or `dashboard:` followed by a safe id. */
  badDocumentName: 4400,
  /** No token, a token that does not verify, or one whose `exp` passed while connected. */
  unauthorized: 4401,
  /** The browser's Origin is not allowed. (No role on the project answers 4404, as a missing document does.) */
  forbidden: 4403,
  /** No such document (e.g. a session that was never created, or was deleted). */
  notFound: 4404,
  /** The document could not be loaded from the database; the client should retry. */
  unavailable: 4503,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Document name kinds, as `kind:id`. */
export const DOC_KINDS = ['session', 'test-run', 'dashboard'] as const;
export type DocKind = (typeof DOC_KINDS)[number];

/** Ids are what our REST API mints (uuids) or what a user could reasonably pick: no separators, no paths. */
const DOC_NAME = /^(session|test-run|dashboard):([A-Za-z0-9_-]{1,64})$/;

export interface DocName {
  name: string;
  kind: DocKind;
  id: string;
}

/** `docName('session', id)` → `session:<id>`; the id must be safe (see DOC_NAME), else null. */
export function docName(kind: DocKind, id: string): DocName | null {
  return parseDocName(`${kind}:${id}`);
}

/** Parses `session:<id>` and friends; returns null for anything else. */
export function parseDocName(name: string): DocName | null {
  const match = DOC_NAME.exec(name);
  if (!match) return null;
  return { name, kind: match[1] as DocKind, id: match[2] as string };
}

/*
 * Between server processes over Redis (server/followers/redis-fanout.ts): a message on a document's
 * channel is `varUint FANOUT_FORMAT_VERSION, varString senderId, varUint FanoutMessage, …`.
 */

/** What travels on a document's channel, after the sender's id. */
export const FanoutMessage = {
  /**
   * An update the sender applied (from its sockets, REST, imports): `varUint seq, varUint8Array
   * update`. The sender stores it under the key `<senderId>:<seq>`; the others store it only if
   * no `stored` notice covering it comes in time, under the same key.
   */
  update: 0,
  /** "Send me what I lack": the sender's state vector. */
  stateVector: 1,
  /** The answer to `stateVector`, addressed to the process that asked. */
  missing: 2,
  /** Presence of the sender's own connections (a y-protocols awareness update). */
  awareness: 3,
  /** "Send me your connections' presence": a process that just loaded the document. */
  awarenessQuery: 4,
  /** `varUint seq`: every update of this document the sender published up to `seq` is committed. */
  stored: 5,
} as const;

/** Bumped when the layout of a fan-out message changes; other versions are ignored. */
export const FANOUT_FORMAT_VERSION = 2;

/** Flags of a `stateVector` message. */
export const FanoutAsk = {
  /** Send me your state vector too, so I can send what *you* lack. */
  yours: 1,
  /** Answer even when I lack nothing (a loading process counts the answers it waits for). */
  always: 2,
} as const;
