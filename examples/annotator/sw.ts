/**
 * The annotator's service worker: keeps the app's own files (page, bundle, styles) so a reload
 * while offline still opens the page, which then reads the session from IndexedDB. Network
 * first — a developer always gets the fresh build when the server is there — and the kept copy
 * when the network fails. The annosync server's REST and sync traffic is not touched.
 */
/// <reference lib="webworker" />
export {};

declare const self: ServiceWorkerGlobalScope;

const CACHE = 'annosync-annotator-v1';
const SHELL = ['./', 'index.html', 'annotator.js', 'style.css'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          void caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(async () => (await caches.match(event.request, { ignoreSearch: true })) ?? (await caches.match('index.html')) ?? Response.error()),
  );
});
