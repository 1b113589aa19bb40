/**
 * The two addresses of an annosync server, from the one URL an app is configured with
 * (`http://host:1234`, `https://host`, `ws://host:1234/sync`, with or without a trailing slash).
 *
 *   syncUrl('https://annosync.example.com') // → 'wss://annosync.example.com/sync'
 *   apiUrl('ws://127.0.0.1:1234/sync')      // → 'http://127.0.0.1:1234'
 */

const trimmed = (url: string): URL => {
  const parsed = new URL(url);
  parsed.pathname = parsed.pathname.replace(/\/+$/, '').replace(/\/sync$/, '');
  parsed.search = '';
  parsed.hash = '';
  return parsed;
};

const swapScheme = (url: URL, secure: string, plain: string): string => {
  const secureNow = url.protocol === 'https:' || url.protocol === 'wss:';
  return `${secureNow ? secure : plain}//${url.host}${url.pathname}`;
};

/** The WebSocket endpoint the provider connects to (the document name is appended by y-websocket). */
export const syncUrl = (url: string): string => `${swapScheme(trimmed(url), 'wss:', 'ws:')}/sync`;

/** The HTTP base of the REST API (`${apiUrl(url)}/api/...`). */
export const apiUrl = (url: string): string => swapScheme(trimmed(url), 'https:', 'http:');
