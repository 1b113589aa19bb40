/**
 * The annotator example in a real Chromium, driven by real mouse and keyboard gestures, against a
 * real annosync server (a child process): two annotators on one session, offline work with a
 * reload while offline, "saved" surviving a SIGKILL, undo that never touches another's work, and
 * presence. The same scenarios on the package API are in client-api.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'puppeteer-core';
import { browserSkipReason } from '../../tools/browser.ts';
import { waitFor } from '../../tools/databases.ts';
import { openAnnotator, startHarness, type Annotator, type Harness } from '../../tools/browser-harness.ts';

type Box = { key: string; bbox: number[]; label: string };
type Pt = [number, number];

const skip = browserSkipReason();
const test = suite<{ h: Harness; open: Annotator[] }>('annotator in Chromium');

test.before(async (ctx) => {
  if (skip) return;
  ctx.h = await startHarness();
  ctx.open = [];
});
test.after.each(async (ctx) => {
  for (const a of ctx.open ?? []) await a.context.close().catch(() => undefined);
  ctx.open = [];
});
test.after(async (ctx) => ctx.h?.close());

const open = async (ctx: { h: Harness; open: Annotator[] }, sessionId: string, name: string) => {
  const a = await openAnnotator(ctx.h, sessionId, name);
  ctx.open.push(a);
  return a;
};

/** Image pixels → page pixels over the canvas. */
const toPage = (page: Page, [x, y]: Pt): Promise<Pt> =>
  page.$eval('#canvas', (c, x, y) => {
    const canvas = c as HTMLCanvasElement;
    const r = canvas.getBoundingClientRect();
    return [r.left + (x * r.width) / canvas.width, r.top + (y * r.height) / canvas.height] as Pt;
  }, x, y);

const drag = async (page: Page, from: Pt, to: Pt) => {
  const [a, b] = [await toPage(page, from), await toPage(page, to)];
  await page.mouse.move(...a);
  await page.mouse.down();
  await page.mouse.move(...b, { steps: 6 });
  await page.mouse.up();
};

const click = async (page: Page, at: Pt) => {
  await page.mouse.click(...(await toPage(page, at)));
};

const boxes = (page: Page): Promise<Box[]> =>
  page.evaluate(() =>
    (window as unknown as { annotator: { workspace: { boxes(): Box[] } } }).annotator.workspace
      .boxes()
      .map(({ key, bbox, label }) => ({ key, bbox: bbox.map(Math.round), label }))
      .sort((a, b) => a.bbox[0]! - b.bbox[0]! || a.bbox[1]! - b.bbox[1]!),
  );

const status = (page: Page) => page.$eval('#status', (e) => e.textContent ?? '');

const waitForBoxes = (page: Page, count: number, timeout = 5000) =>
  page.waitForFunction((n) => (window as unknown as { annotator: { workspace: { boxes(): unknown[] } } }).annotator.workspace.boxes().length === n, { timeout }, count);

/**
 * Waits until the page draws exactly these boxes (as `boxes` reports them), else fails showing what
 * it drew: a count alone can be met by a peer's older state, before its latest keyframe arrived.
 */
const waitForBboxes = async (page: Page, expected: number[][]): Promise<void> => {
  let drawn: number[][] = [];
  const matches = async () => JSON.stringify((drawn = (await boxes(page)).map((b) => b.bbox))) === JSON.stringify(expected);
  await waitFor(matches).catch(() => assert.equal(drawn, expected));
};

const waitForStatus = (page: Page, text: string, timeout = 5000) =>
  page.waitForFunction((t) => document.getElementById('status')?.textContent === t, { timeout }, text);

const key = async (page: Page, combo: string[]) => {
  const last = combo[combo.length - 1]!;
  for (const k of combo.slice(0, -1)) await page.keyboard.down(k as never);
  await page.keyboard.press(last as never);
  for (const k of combo.slice(0, -1).reverse()) await page.keyboard.up(k as never);
};

test('1. a box drawn in one browser appears in the other within 1 s; a move and a relabel of it both survive', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const ada = await open(ctx, sessionId, 'Ada');
  const bob = await open(ctx, sessionId, 'Bob');
  await drag(ada.page, [100, 100], [200, 180]);
  const drawnAt = Date.now();
  await waitForBoxes(bob.page, 1, 1000);
  assert.ok(Date.now() - drawnAt < 1000);
  assert.equal((await boxes(bob.page))[0]!.bbox, [100, 100, 100, 80]);

  // Ada moves the box while Bob relabels it.
  await drag(ada.page, [150, 140], [180, 160]);
  await click(bob.page, [150, 140]);
  await bob.page.select('#label', 'person');
  for (const page of [ada.page, bob.page]) {
    await page.waitForFunction(
      () => {
        const [b] = (window as unknown as { annotator: { workspace: { boxes(): Box[] } } }).annotator.workspace.boxes();
        return b && Math.round(b.bbox[0]!) === 130 && Math.round(b.bbox[1]!) === 120 && b.label === 'person';
      },
      { timeout: 5000 },
    );
  }
  assert.equal(ada.errors.concat(bob.errors), []);
});

test('2. offline: five boxes and a move of the other\'s box survive a reload while offline, then everyone converges', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const ada = await open(ctx, sessionId, 'Ada');
  const bob = await open(ctx, sessionId, 'Bob');
  await drag(bob.page, [20, 20], [60, 60]);
  await waitForBoxes(ada.page, 1);
  await waitForStatus(bob.page, 'saved');
  await ada.page.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  await ada.page.setOfflineMode(true);
  await waitForStatus(ada.page, 'offline — 0 kept on this device');
  for (let i = 0; i < 5; i++) await drag(ada.page, [100 + i * 90, 200], [170 + i * 90, 260]);
  await drag(ada.page, [40, 40], [240, 90]); // Bob's box, 200 right and 50 down
  await waitForStatus(ada.page, 'offline — 6 kept on this device');

  await ada.page.reload();
  await ada.page.waitForFunction(() => (window as unknown as { annotator?: unknown }).annotator !== undefined);
  await waitForBoxes(ada.page, 6);
  assert.is(await status(ada.page), 'offline — 6 kept on this device');
  assert.equal((await boxes(bob.page)).length, 1, 'nothing reached Bob while Ada was offline');
  assert.equal((await ctx.h.storedAnnotations(sessionId)).length, 1, 'nothing reached the server');

  await ada.page.setOfflineMode(false);
  await waitForStatus(ada.page, 'saved', 10_000);
  await waitForBoxes(bob.page, 6);
  const seenByAda = await boxes(ada.page);
  assert.equal(await boxes(bob.page), seenByAda);
  assert.ok(seenByAda.some((b) => b.bbox.join() === '220,70,40,40'), "Bob's box moved by Ada");
  const stored = (await ctx.h.storedAnnotations(sessionId)).map((a) => ({ key: a.id, bbox: a.bbox.map(Math.round), label: a.label }));
  assert.equal(stored.sort((a, b) => a.bbox[0]! - b.bbox[0]! || a.bbox[1]! - b.bbox[1]!), seenByAda);
});

test('3. "saved" shows only after the commit, and a box shown saved is there after SIGKILL and restart', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const ada = await open(ctx, sessionId, 'Ada');
  await ada.page.evaluate(() => {
    const seen: string[] = [];
    new MutationObserver(() => seen.push(document.getElementById('status')!.textContent ?? '')).observe(document.getElementById('status')!, { childList: true, characterData: true, subtree: true });
    Object.assign(window, { statusSeen: seen });
  });
  await drag(ada.page, [300, 200], [380, 260]);
  await waitForStatus(ada.page, 'saved');
  const seen = await ada.page.evaluate(() => (window as unknown as { statusSeen: string[] }).statusSeen);
  assert.ok(seen.indexOf('1 unsaved') >= 0 && seen.indexOf('1 unsaved') < seen.lastIndexOf('saved'), seen.join(' → '));
  const [box] = await boxes(ada.page);
  await ada.context.close(); // nobody can send the box again after the kill
  ctx.open = [];

  await ctx.h.killAndRestart();
  const stored = await ctx.h.storedAnnotations(sessionId);
  assert.equal(stored.map((a) => a.id), [box!.key]);
  const again = await open(ctx, sessionId, 'Ada');
  await waitForBoxes(again.page, 1);
});

test('4. Ctrl+Z removes only this annotator\'s boxes, newest first, never the other\'s; Ctrl+Shift+Z brings one back', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const ada = await open(ctx, sessionId, 'Ada');
  const bob = await open(ctx, sessionId, 'Bob');
  await drag(ada.page, [20, 20], [80, 80]);
  await waitForBoxes(bob.page, 1);
  await drag(bob.page, [200, 20], [260, 80]);
  await waitForBoxes(ada.page, 2);
  await drag(ada.page, [400, 20], [460, 80]);
  await waitForBoxes(bob.page, 3);

  await key(ada.page, ['Control', 'z']);
  await waitForBoxes(bob.page, 2);
  assert.equal((await boxes(ada.page)).map((b) => b.bbox[0]), [20, 200]);
  await key(ada.page, ['Control', 'z']);
  await waitForBoxes(bob.page, 1);
  await key(ada.page, ['Control', 'z']); // nothing of Ada's left to undo
  await key(ada.page, ['Control', 'Shift', 'z']);
  await waitForBoxes(bob.page, 2);
  assert.equal((await boxes(bob.page)).map((b) => b.bbox[0]), [20, 200]);
  assert.equal((await boxes(ada.page)).map((b) => b.bbox[0]), [20, 200]);
});

test('5. presence: each sees the other\'s frame change within 1 s, and the other leaves the list when its browser closes', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const ada = await open(ctx, sessionId, 'Ada');
  const bob = await open(ctx, sessionId, 'Bob');
  const peerOn = (page: Page, name: string, frame: number, timeout: number) =>
    page.waitForFunction(
      (name, frame) => [...document.querySelectorAll('#peers li')].some((li) => li.querySelector('b')?.textContent === name && (li as HTMLElement).dataset.frame === String(frame)),
      { timeout },
      name,
      frame,
    );
  await peerOn(ada.page, 'Bob', 0, 5000);
  await peerOn(bob.page, 'Ada', 0, 5000);
  for (let i = 0; i < 3; i++) await bob.page.keyboard.press('ArrowRight');
  await peerOn(ada.page, 'Bob', 3, 1000);
  await ada.page.keyboard.press('ArrowRight');
  await peerOn(bob.page, 'Ada', 1, 1000);

  await bob.context.close();
  ctx.open = [ada];
  await ada.page.waitForFunction(() => document.querySelectorAll('#peers li').length === 0, { timeout: 5000 });
});

test('track mode: a box becomes a keyframe, frames between keyframes show the interpolated box, an outside keyframe ends the track', async (ctx) => {
  if (skip) return;
  const { sessionId } = await ctx.h.newSession();
  const ada = await open(ctx, sessionId, 'Ada');
  const bob = await open(ctx, sessionId, 'Bob');
  await ada.page.click('#track-mode');
  await drag(ada.page, [100, 100], [140, 140]); // keyframe on frame 0: [100, 100, 40, 40]
  await key(ada.page, ['Shift', 'ArrowRight']); // frame 10: the box held from frame 0
  assert.equal((await boxes(ada.page)).map((b) => b.bbox), [[100, 100, 40, 40]]);
  await drag(ada.page, [120, 120], [220, 220]); // moved: a keyframe on frame 10 at [200, 200]
  for (let i = 0; i < 5; i++) await ada.page.keyboard.press('ArrowLeft'); // frame 5, halfway
  await ada.page.waitForFunction(() => document.querySelector<HTMLInputElement>('#frame')?.value === '5');
  assert.equal((await boxes(ada.page)).map((b) => b.bbox), [[150, 150, 40, 40]]);
  // Bob, on frame 20, sees the track held from its last keyframe, then ended by Ada's outside keyframe.
  await bob.page.$eval('#frame', (el) => {
    (el as HTMLInputElement).value = '20';
    el.dispatchEvent(new Event('change'));
  });
  await waitForBboxes(bob.page, [[200, 200, 40, 40]]);
  for (let i = 0; i < 10; i++) await ada.page.keyboard.press('ArrowRight'); // frame 15
  await click(ada.page, [220, 220]);
  await ada.page.click('#outside');
  await waitForBoxes(bob.page, 0);
  await waitForBoxes(ada.page, 0);
  for (let i = 0; i < 5; i++) await ada.page.keyboard.press('ArrowLeft'); // frame 10 still shows its keyframe
  await waitForBoxes(ada.page, 1);
});

test.run();
