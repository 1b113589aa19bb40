/**
 * What every browser test needs: the built annotator and a page that loads the built client
 * package (`api.html`: `window.annosync = { client, Y }`, bundled as an app would bundle
 * `annosync/client`), served from one origin; a real annosync server as a child process on that
 * origin's allow-list (so a test can SIGKILL it and restart it on the same port and data);
 * Chromium; sessions and tokens.
 *
 * Offline: DevTools network emulation (`page.setOfflineMode`) fails every new request of the page
 * and tells it `navigator.onLine === false` — but leaves an open WebSocket alone, and a reload of a
 * page from the network fails. The annotator answers both as a real offline app must: the client
 * follows the browser's offline/online events, and the example's service worker keeps the app's
 * files, so the reload is served from it and the session from IndexedDB. Nothing in the test
 * reaches around the emulation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { buildAnnotator } from '../examples/annotator/build.ts';
import { serveStatic, type StaticServer } from '../examples/annotator/static-server.ts';
import { jsonClient } from './http.ts';
import { newSessionDoc } from './api.ts';
import { launchBrowser, newAnnotatorPage, type TestBrowser } from './browser.ts';
import { createTestStorage, startChildServer, testTokens, type ChildServer, type TestStorage } from './server.ts';

const root = path.resolve(import.meta.dirname, '..');

export interface Harness {
  browser: Browser;
  /** The page origin: `/` the annotator, `/api.html` the bare client package. */
  pageUrl: string;
  /** The annosync server (same URL after a restart). */
  serverUrl: string;
  adminToken: string;
  token(sub: string, name: string, opts?: { expiresIn?: number | string }): Promise<string>;
  newSession(): Promise<{ sessionId: string; projectId: string }>;
  /** SIGKILLs the server and starts it again on the same port and data. */
  killAndRestart(): Promise<void>;
  /** The session's annotations as the server has them (REST). */
  storedAnnotations(sessionId: string): Promise<Array<{ id: string; frame: number; bbox: number[]; label: string }>>;
  close(): Promise<void>;
}

/** Builds the pages into a temp dir: the annotator, plus api.html over a bundle of the built package. */
async function buildPages(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'annosync-pages-'));
  await buildAnnotator({ outdir: dir, buildClientFirst: false });
  const entry = path.join(root, 'test/browser/client-page.ts');
  await build({ entryPoints: [entry], outfile: path.join(dir, 'client-page.js'), bundle: true, format: 'esm', platform: 'browser', logLevel: 'warning', absWorkingDir: root });
  writeFileSync(path.join(dir, 'api.html'), '<!doctype html><meta charset="utf-8"><title>annosync/client</title><script type="module" src="client-page.js"></script>');
  return dir;
}

export async function startHarness(): Promise<Harness> {
  const dir = await buildPages();
  const pages: StaticServer = await serveStatic(dir);
  const storage: TestStorage = await createTestStorage('pglite');
  // A commit interval long enough that "N unsaved" is on screen before "saved" (scenario 3).
  const env = { ...storage.env, ALLOWED_ORIGINS: pages.url, COMMIT_INTERVAL_MS: '150', LOG_LEVEL: 'error' };
  let server: ChildServer = await startChildServer(env);
  const port = new URL(server.url).port;
  const chromium: TestBrowser = await launchBrowser();
  const adminToken = await testTokens.sign({ sub: 'test-admin', name: 'Admin', admin: true });
  return {
    browser: chromium.browser,
    pageUrl: pages.url,
    serverUrl: server.url,
    adminToken,
    token: (sub, name, opts = {}) => testTokens.sign({ sub, name, admin: true }, opts.expiresIn === undefined ? {} : { expiresIn: opts.expiresIn }),
    newSession: async () => {
      const { sessionId, projectId } = await newSessionDoc(server.url, adminToken);
      return { sessionId, projectId };
    },
    killAndRestart: async () => {
      server.process.kill('SIGKILL');
      await server.exited;
      server = await startChildServer({ ...env, PORT: port });
    },
    storedAnnotations: async (sessionId) => {
      const res = await jsonClient(server.url, adminToken).get<{ items: Array<{ id: string; frame: number; bbox: number[]; label: string }> }>(
        `/api/sessions/${sessionId}/annotations?limit=500`,
      );
      if (res.status !== 200) throw new Error(`annotations: ${res.status} ${res.text}`);
      return res.body.items.map(({ id, frame, bbox, label }) => ({ id, frame, bbox, label }));
    },
    close: async () => {
      await chromium.close();
      server.process.kill('SIGKILL');
      await server.exited;
      await pages.close();
      await storage.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Annotator {
  context: BrowserContext;
  page: Page;
  errors: string[];
  /** The session address in the page's URL (kept across reloads). */
  url: string;
}

/** Opens the annotator on a session in a context of its own, and waits until it is synced. */
export async function openAnnotator(h: Harness, sessionId: string, name: string, opts: { context?: BrowserContext } = {}): Promise<Annotator> {
  const fresh = opts.context ? { context: opts.context, page: await opts.context.newPage(), errors: [] as string[] } : await newAnnotatorPage(h.browser);
  const token = await h.token(name.toLowerCase(), name);
  const url = `${h.pageUrl}/#${new URLSearchParams({ server: h.serverUrl, token, name, session: sessionId })}`;
  await fresh.page.goto(url);
  await fresh.page.waitForFunction(() => {
    const a = (window as unknown as { annotator?: { session: { connected: boolean } } }).annotator;
    return a?.session.connected && document.getElementById('status')?.textContent === 'saved';
  });
  return { ...fresh, url };
}
