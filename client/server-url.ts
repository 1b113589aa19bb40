/**
 * The two addresses of an annosync server, from the one URL an app is configured with
 * (`http://host:1234`, `https://host`, `ws://host:1234/sync`, with or without a trailing slash).
 *
 *   syncUrl('https://annosync.example.com') // → 'wss://annosync.example.com/sync'
 *   apiUrl('ws://127.0.0.1:1234/sync')      // → 'http://127.0.0.1:1234'
 */

/** Scheme, host and the path below `/sync` (no trailing slash), of any of the accepted forms. */
const parts = (url: string): { secure: boolean; host: string; base: string } => {
  const parsed = new URL(url);
  return {
    secure: parsed.protocol === 'https:' || parsed.protocol === 'wss:',
    host: parsed.host,
    base: parsed.pathname.replace(/\/+$/, '').replace(/\/sync$/, ''),
  };
};

const withScheme = (url: string, secure: string, plain: string): string => {
  const p = parts(url);
  return `${p.secure ? secure : plain}//${p.host}${p.base}`;
};

/** The WebSocket endpoint the provider connects to (the document name is appended by y-websocket). */
export const syncUrl = (url: string): string => `${withScheme(url, 'wss:', 'ws:')}/sync`;

/** The HTTP base of the REST API (`${apiUrl(url)}/api/...`). */
export const apiUrl = (url: string): string => withScheme(url, 'https:', 'http:');
