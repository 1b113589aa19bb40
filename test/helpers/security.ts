/**
 * Helpers for the security tests: sockets whose close and messages are recorded from the
 * moment they are created (a refused socket may close right after it opens), y-websocket messages
 * built by hand, updates of an exact size, a liveness probe, and one token per role.
 *
 *   const s = openSocket(t.url, docName, { token, origin: 'https://app.example' })
 *   assert.is((await s.closed).code, 4403)
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import type { TestServer } from '../../tools/server.ts';

export interface RecordedSocket {
  ws: WebSocket;
  /** Resolves on open; rejects if the socket errors before opening. */
  opened: Promise<void>;
  /** Resolves with the close code and reason, whenever it comes. */
  closed: Promise<{ code: number; reason: string }>;
  /** Every binary message received, in order. */
  messages: Buffer[];
  /** True once the socket closed. */
  isClosed(): boolean;
}

export function openSocket(serverUrl: string, docName: string, opts: { token?: string; query?: string; origin?: string } = {}): RecordedSocket {
  const params = new URLSearchParams(opts.query ?? '');
  if (opts.token !== undefined) params.set('token', opts.token);
  const search = params.toString();
  const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/sync/${docName}${search ? `?${search}` : ''}`, {
    ...(opts.origin === undefined ? {} : { origin: opts.origin }),
    // Our own frames may be large (the frame-size tests); only the server's limit should apply.
    maxPayload: 256 * 1024 * 1024,
  });
  ws.binaryType = 'nodebuffer';
  const messages: Buffer[] = [];
  let isClosed = false;
  ws.on('message', (data: Buffer) => messages.push(data));
  ws.on('error', () => undefined);
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  opened.catch(() => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
    }),
  );
  return { ws, opened, closed, messages, isClosed: () => isClosed };
}

export const encode = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
};

/** A y-websocket sync message: 0, sub-type (0 step 1, 1 step 2, 2 update), payload. */
export const syncMessage = (subType: number, payload: Uint8Array): Uint8Array =>
  encode((e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, subType);
    encoding.writeVarUint8Array(e, payload);
  });

/** A y-websocket awareness message carrying the given states (JSON text, 'null' removes). */
export const awarenessMessage = (states: Array<[clientId: number, clock: number, json: string]>): Uint8Array =>
  encode((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(
      e,
      encode((inner) => {
        encoding.writeVarUint(inner, states.length);
        for (const [clientId, clock, json] of states) {
          encoding.writeVarUint(inner, clientId);
          encoding.writeVarUint(inner, clock);
          encoding.writeVarString(inner, json);
        }
      }),
    );
  });

/** A sync step 1 with an empty state vector: the server always answers it with a sync step 2. */
export const probeMessage = (): Uint8Array => syncMessage(0, Y.encodeStateVector(new Y.Doc()));

/** Is this a sync step 2 (the answer to a probe)? */
export const isSyncStep2 = (m: Buffer): boolean => m[0] === 0 && m[1] === 1;

/** Is this the y-protocols permission-denied auth message (2, 0, reason)? */
export const isPermissionDenied = (m: Buffer): boolean => m[0] === 2 && m[1] === 0;

/**
 * Sends a probe and resolves true once the server answers it (the connection lives on), false if
 * the socket closes first. Counts sync step 2 messages, so it may be called repeatedly.
 */
export function alive(s: RecordedSocket, timeoutMs = 5000): Promise<boolean> {
  if (s.isClosed()) return Promise.resolve(false);
  const before = s.messages.filter(isSyncStep2).length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`probe not answered within ${timeoutMs} ms`))), timeoutMs);
    const onMessage = () => {
      if (s.messages.filter(isSyncStep2).length > before) finish(() => resolve(true));
    };
    const onClose = () => finish(() => resolve(false));
    const finish = (done: () => void) => {
      clearTimeout(timer);
      s.ws.off('message', onMessage);
      s.ws.off('close', onClose);
      done();
    };
    // Registered after openSocket's own listener, so `messages` already holds the new one.
    s.ws.on('message', onMessage);
    s.ws.on('close', onClose);
    s.ws.send(probeMessage());
  });
}

let updateCounter = 0;

/**
 * A Yjs update from a new client (fixed client id, so the size is deterministic) whose encoding,
 * after `wrap`, is exactly `bytes` long: a map entry whose string value is grown until the length
 * is right. Each call uses a new key and client id. Returns the update, the message and the key.
 */
export function updateOfSize(bytes: number, wrap: (update: Uint8Array) => Uint8Array = (u) => u): { update: Uint8Array; message: Uint8Array; key: string } {
  const n0 = ++updateCounter;
  const key = `k${n0}`;
  for (let n = 0; n <= bytes; n++) {
    const doc = new Y.Doc();
    doc.clientID = 100_000 + n0;
    doc.getMap('probe').set(key, 'x'.repeat(n));
    const update = Y.encodeStateAsUpdate(doc);
    const message = wrap(update);
    doc.destroy();
    if (message.length === bytes) return { update, message, key };
    if (message.length > bytes) break;
  }
  throw new Error(`no update of exactly ${bytes} bytes`);
}

export type RoleName = 'viewer' | 'annotator' | 'manager' | 'admin' | 'stranger';
export const ROLE_NAMES: readonly RoleName[] = ['viewer', 'annotator', 'manager', 'admin', 'stranger'];

/** One token per role on `projectId`; the stranger has a role on another project only. */
export async function roleTokens(app: Pick<TestServer, 'token'>, projectId: string): Promise<Record<RoleName, string>> {
  return {
    viewer: await app.token({ sub: 'vera', name: 'Vera Viewer', projects: { [projectId]: 'viewer' } }),
    annotator: await app.token({ sub: 'anna', name: 'Anna Annotator', projects: { [projectId]: 'annotator' } }),
    manager: await app.token({ sub: 'max', name: 'Max Manager', projects: { [projectId]: 'manager' } }),
    admin: await app.token({ sub: 'ada', name: 'Ada Admin', admin: true }),
    stranger: await app.token({ sub: 'sam', name: 'Sam Stranger', projects: { 'some-other-project': 'manager' } }),
  };
}
