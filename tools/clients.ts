/**
 * Real y-websocket clients for tests: the stock `WebsocketProvider` over a real socket.
 * BroadcastChannel is off: in one Node process, providers of the same room would otherwise sync
 * through it and hide whether the server relays anything.
 */
import * as Y from 'yjs';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';

export interface TestClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  destroy(): void;
}

export function connectClient(
  serverUrl: string,
  docName: string,
  opts: { doc?: Y.Doc; params?: Record<string, string>; connect?: boolean } = {},
): TestClient {
  const doc = opts.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(`${serverUrl.replace(/^http/, 'ws')}/sync`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect: opts.connect ?? true,
    maxBackoffTime: 200,
    ...(opts.params ? { params: opts.params } : {}),
  });
  return {
    doc,
    provider,
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/**
 * Resolves when the provider has received the server's state (sync step 2). Rejects at once when
 * the server refuses the socket (a 44xx close: the stock client will not retry), and after
 * `timeoutMs`, so a test fails with a reason instead of hanging.
 */
export function synced(provider: WebsocketProvider, timeoutMs = 15_000): Promise<void> {
  if (provider.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`not synced within ${timeoutMs} ms`)), timeoutMs);
    const onSync = (isSynced: boolean) => {
      if (isSynced) finish();
    };
    const onClose = (event: CloseEvent | null) => {
      if (event && event.code >= 4000 && event.code < 4500) finish(new Error(`refused with ${event.code} ${event.reason}`));
    };
    const finish = (err?: Error) => {
      clearTimeout(timer);
      provider.off('sync', onSync);
      provider.off('connection-close', onClose);
      if (err) reject(err);
      else resolve();
    };
    provider.on('sync', onSync);
    provider.on('connection-close', onClose);
  });
}

/** Resolves with the close event of the provider's socket (code and reason). */
export function nextClose(provider: WebsocketProvider): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    const onClose = (event: CloseEvent | null) => {
      provider.off('connection-close', onClose);
      resolve({ code: event?.code ?? 0, reason: event?.reason ?? '' });
    };
    provider.on('connection-close', onClose);
  });
}

/** A raw socket to the sync endpoint, for sending what no stock client would. */
export function rawSocket(serverUrl: string, docName: string, query = ''): Promise<WebSocket> {
  const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/sync/${docName}${query}`);
  ws.binaryType = 'nodebuffer';
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves with the close code and reason of a raw socket. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: 'already closed' });
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
