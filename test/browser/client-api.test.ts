/**
 * The `annosync/client` package API in a real Chromium (the built package, bundled as an app
 * bundles it: test/browser/client-page.ts), against a real annosync server in a child process:
 * the five scenarios of the annotator tests as a contract for any frontend, and a token that
 * expires on an open connection answered with a fresh one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'puppeteer-core';
import type * as Client from '../../client/index.ts';
import type * as Yjs from 'yjs';
import { browserSkipReason, newAnnotatorPage } from '../../tools/browser.ts';
import { startHarness, type Harness } from '../../tools/browser-harness.ts';

/** What the page has on `window` (see client-page.ts), and the session a test opened there. */
type PageWindow = Window & { annosync: { client: typeof Client; Y: typeof Yjs }; s: Client.AnnotationSession; flags: Record<string, number> };
type Ctx = { h: Harness; closers: Array<() => Promise<void>> };
type Row = { id: string; bbox: number[]; label: string };

const skip = browserSkipReason();
const test = suite<Ctx>('annosync/client in Chromium');

test.before(async (ctx) => {
  if (skip) return;
  ctx.h = await startHarness();
  ctx.closers = [];
});
test.after.each(async (ctx) => {
  for (const close of ctx.closers ?? []) await close().catch(() => undefined);
  ctx.closers = [];
});
test.after(async (ctx) => ctx.h?.close());

/** A browser context on api.html, the package loaded. */
async function apiPage(ctx: Ctx): Promise<Page> {
  const { context, page } = await newAnnotatorPage(ctx.h.browser);
  ctx.closers.push(() => context.close());
  await page.goto(`${ctx.h.pageUrl}/api.html`);
  await page.waitForFunction(() => 'annosync' in window);
  return page;
}

/** A browser context on api.html with a session opened through the package. */
async function client(ctx: Ctx, sessionId: string, name: string, opts: { offline?: boolean; expiresIn?: string } = {}): Promise<Page> {
  const page = await apiPage(ctx);
  await openIn(page, ctx.h.serverUrl, sessionId, await ctx.h.token(name.toLowerCase(), name, opts), name, opts.offline ?? false);
  return page;
}

const openIn = (page: Page, url: string, sessionId: string, token: string, name: string, offline: boolean) =>
  page.evaluate(
    async (url, sessionId, token, name, offline) => {
      const w = window as unknown as PageWindow;
      w.flags = {};
      w.s = await w.annosync.client.openSession({ url, sessionId, token, offline, user: { name } });
      w.s.on('tokenExpired', () => (w.flags.tokenExpired = (w.flags.tokenExpired ?? 0) + 1));
      await w.s.whenLoaded;
    },
    url,
    sessionId,
    token,
    name,
    offline,
  );

const synced = (page: Page) => page.evaluate(() => (window as unknown as PageWindow).s.whenSynced);

const add = (page: Page, x: number, y = 10) =>
  page.evaluate(
    (x, y) => {
      const { s, annosync } = window as unknown as PageWindow;
      s.undo.stopCapturing();
      return annosync.client.addAnnotation(s.doc, { frame: 0, bbox: [x, y, 20, 20], label: 'car' }, { by: 'me' }).id;
    },
    x,
    y,
  );

const rows = (page: Page): Promise<Row[]> =>
  page.evaluate(() => {
    const { s, annosync } = window as unknown as PageWindow;
    return annosync.client.listAnnotations(s.doc).map(({ id, bbox, label }) => ({ id, bbox, label }));
  });

const waitForCount = (page: Page, n: number, timeout = 5000) =>
  page.waitForFunction((n) => {
    const { s, annosync } = window as unknown as PageWindow;
    return annosync.client.listAnnotations(s.doc).length === n;
  }, { timeout }, n);

const waitSaved = (page: Page, timeout = 10_000) =>
  page.waitForFunction(() => (window as unknown as PageWindow).s.connected && (window as unknown as PageWindow).s.acks.unsavedCount === 0, { timeout });

test('1. an annotation added in one browser reaches the other within 1 s; a move and a relabel of it both survive', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const [a, b] = [await client(ctx, sessionId, 'Ada'), await client(ctx, sessionId, 'Bob')];
  await Promise.all([synced(a), synced(b)]);
  const id = await add(a, 10);
  await waitForCount(b, 1, 1000);
  await Promise.all([
    a.evaluate((id) => { const { s, annosync } = window as unknown as PageWindow; annosync.client.updateAnnotation(s.doc, id, { bbox: [50, 60, 20, 20] }, { by: 'ada' }); }, id),
    b.evaluate((id) => { const { s, annosync } = window as unknown as PageWindow; annosync.client.updateAnnotation(s.doc, id, { label: 'person' }, { by: 'bob' }); }, id),
  ]);
  for (const page of [a, b]) {
    await page.waitForFunction((id) => {
      const { s, annosync } = window as unknown as PageWindow;
      const x = annosync.client.getAnnotation(s.doc, id);
      return x?.bbox[0] === 50 && x.label === 'person';
    }, {}, id);
  }
});

test('2. offline: edits survive a reload with the network off (IndexedDB), count as unsaved, and converge when it returns', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const b = await client(ctx, sessionId, 'Bob');
  await synced(b);
  const bobsBox = await add(b, 5, 5);
  await waitSaved(b);
  const a = await client(ctx, sessionId, 'Ada', { offline: true });
  await waitForCount(a, 1);
  // This page registers the example's service worker, and has it keep this page's files too,
  // so the reload below is served without the network, like the annotator's.
  await a.evaluate(async () => {
    await navigator.serviceWorker.register('sw.js');
    await navigator.serviceWorker.ready;
    await (await caches.open('annosync-annotator-v1')).addAll(['api.html', 'client-page.js']);
  });

  await a.setOfflineMode(true);
  await a.waitForFunction(() => !(window as unknown as PageWindow).s.connected);
  await a.evaluate((bobsBox) => {
    const { s, annosync } = window as unknown as PageWindow;
    for (let i = 0; i < 5; i++) annosync.client.addAnnotation(s.doc, { frame: 0, bbox: [100 + 30 * i, 100, 20, 20], label: 'car' }, { by: 'ada' });
    annosync.client.updateAnnotation(s.doc, bobsBox, { bbox: [300, 300, 20, 20] }, { by: 'ada' });
  }, bobsBox);
  // Kept on the device: the document by y-indexeddb, the six unacknowledged edits next to it.
  await a.waitForFunction(async () => {
    const { s, annosync } = window as unknown as PageWindow;
    return s.acks.unsavedCount === 6 && (await annosync.client.keptEdits(s.persistence!)).length === 6;
  });

  await a.reload();
  await a.waitForFunction(() => 'annosync' in window);
  await openIn(a, ctx.h.serverUrl, sessionId, await ctx.h.token('ada', 'Ada'), 'Ada', true);
  const reloaded = await a.evaluate(() => {
    const { s, annosync } = window as unknown as PageWindow;
    return { count: annosync.client.listAnnotations(s.doc).length, unsaved: s.acks.unsavedCount, connected: s.connected };
  });
  assert.equal(reloaded, { count: 6, unsaved: 6, connected: false });
  assert.is((await rows(b)).length, 1, 'nothing reached Bob while Ada was offline');

  await a.setOfflineMode(false);
  await waitSaved(a);
  await waitForCount(b, 6);
  await b.waitForFunction((id) => {
    const { s, annosync } = window as unknown as PageWindow;
    return annosync.client.getAnnotation(s.doc, id)?.bbox[0] === 300;
  }, {}, bobsBox);
  const byId = (list: Row[]) => [...list].sort((x, y) => (x.id < y.id ? -1 : 1));
  const seen = byId(await rows(a));
  assert.equal(byId(await rows(b)), seen);
  assert.equal(byId((await ctx.h.storedAnnotations(sessionId)).map(({ id, bbox, label }) => ({ id, bbox, label }))), seen);
});

test('3. acks: saved only after the commit, and what was saved survives SIGKILL and restart', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const a = await client(ctx, sessionId, 'Ada');
  await synced(a);
  await a.evaluate(() => {
    const { s } = window as unknown as PageWindow;
    const w = window as unknown as PageWindow;
    const seen: number[] = [];
    s.acks.on('change', (n) => seen.push(n));
    Object.assign(w, { seen });
  });
  const id = await add(a, 40);
  await waitSaved(a);
  assert.equal(await a.evaluate(() => (window as unknown as { seen: number[] }).seen), [1, 0], 'unsaved, then saved once acknowledged');
  for (const close of ctx.closers) await close();
  ctx.closers = [];
  await ctx.h.killAndRestart();
  assert.equal((await ctx.h.storedAnnotations(sessionId)).map((r) => r.id), [id]);
});

test("4. undo removes only this client's last annotation, never another's", async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const [a, b] = [await client(ctx, sessionId, 'Ada'), await client(ctx, sessionId, 'Bob')];
  await Promise.all([synced(a), synced(b)]);
  const a1 = await add(a, 10);
  await waitForCount(b, 1);
  const b1 = await add(b, 50);
  await waitForCount(a, 2);
  await add(a, 90);
  await waitForCount(b, 3);
  const undo = () => a.evaluate(() => (window as unknown as PageWindow).s.undo.undo() !== null);
  assert.ok(await undo());
  await waitForCount(b, 2);
  assert.equal((await rows(b)).map((r) => r.id).sort(), [a1, b1].sort());
  assert.ok(await undo());
  assert.not.ok(await undo(), "nothing of Ada's left to undo");
  await waitForCount(b, 1);
  assert.equal((await rows(a)).map((r) => r.id), [b1]);
});

test("5. presence: peers() shows the other's frame and selection within 1 s, and drops it when its browser closes", async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const [a, b] = [await client(ctx, sessionId, 'Ada'), await client(ctx, sessionId, 'Bob')];
  await Promise.all([synced(a), synced(b)]);
  const bobIs = (frame: number, selection: string[], timeout: number) =>
    a.waitForFunction(
      (frame, selection) => (window as unknown as PageWindow).s.peers().some((p) => p.name === 'Bob' && p.frame === frame && p.selection.join() === selection),
      { timeout },
      frame,
      selection.join(),
    );
  await bobIs(0, [], 5000);
  await b.evaluate(() => (window as unknown as PageWindow).s.setFrame(7));
  await bobIs(7, [], 1000);
  await b.evaluate(() => (window as unknown as PageWindow).s.setSelection(['x1']));
  await bobIs(7, ['x1'], 1000);
  await ctx.closers.pop()!();
  await a.waitForFunction(() => (window as unknown as PageWindow).s.peers().length === 0, { timeout: 5000 });
});

test('a large session arrives held in less memory than a plain decode of the same content', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const writer = await client(ctx, sessionId, 'Ada');
  await synced(writer);
  await writer.evaluate(() => {
    const { s, annosync } = window as unknown as PageWindow;
    const boxes = Array.from({ length: 2000 }, (_, i) => ({ frame: i % 100, bbox: [i % 600, i % 400, 20, 30] as [number, number, number, number], label: 'car' }));
    annosync.client.addAnnotations(s.doc, boxes, { by: 'ada' });
  });
  await waitSaved(writer);
  const page = await apiPage(ctx);
  const cdp = await page.createCDPSession();
  const heapUsed = async (): Promise<number> => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
  const empty = await heapUsed();
  await openIn(page, ctx.h.serverUrl, sessionId, await ctx.h.token('bob', 'Bob'), 'Bob', false);
  await synced(page);
  await waitForCount(page, 2000);
  const opened = await heapUsed();
  await page.evaluate(() => {
    const w = window as unknown as PageWindow & { plain: Yjs.Doc };
    w.plain = new w.annosync.Y.Doc();
    w.annosync.Y.applyUpdate(w.plain, w.annosync.Y.encodeStateAsUpdate(w.s.doc));
  });
  const plain = (await heapUsed()) - opened;
  const session = opened - empty;
  // The session's figure also holds its provider, presence and undo manager.
  assert.ok(session < plain * 0.85, `session ${session} bytes, a plain decode ${plain}`);
});

test('warnBeforeUnload asks before leaving while an edit exists only in this page, and not once it is saved', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const a = await client(ctx, sessionId, 'Ada');
  await synced(a);
  await a.evaluate(() => {
    const { s, annosync } = window as unknown as PageWindow;
    annosync.client.warnBeforeUnload(s);
  });
  await a.mouse.click(10, 10); // browsers ask only on pages the user interacted with
  const asked: string[] = [];
  a.removeAllListeners('dialog');
  a.on('dialog', (dialog) => {
    asked.push(dialog.type());
    void dialog.dismiss(); // stay on the page
  });
  await a.setOfflineMode(true);
  await a.waitForFunction(() => !(window as unknown as PageWindow).s.connected);
  await add(a, 10);
  await a.goto('about:blank', { timeout: 2000 }).catch(() => undefined);
  assert.equal(asked, ['beforeunload'], 'asked while the edit was unsaved');
  await a.setOfflineMode(false);
  await waitSaved(a);
  await a.goto('about:blank');
  assert.equal(asked, ['beforeunload'], 'not asked again once saved');
});

test('a token that expires on an open connection raises tokenExpired; a fresh token reconnects and nothing is lost', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const b = await client(ctx, sessionId, 'Bob');
  const a = await client(ctx, sessionId, 'Ada', { expiresIn: '2s' });
  await synced(a);
  await a.waitForFunction(() => (window as unknown as PageWindow).flags.tokenExpired === 1, { timeout: 10_000 });
  assert.not.ok(await a.evaluate(() => (window as unknown as PageWindow).s.connected), 'the expired connection stays closed');
  await add(a, 70); // made while disconnected
  const fresh = await ctx.h.token('ada', 'Ada');
  await a.evaluate((t) => (window as unknown as PageWindow).s.setToken(t), fresh);
  await waitSaved(a);
  await waitForCount(b, 1);
});

test.run();
