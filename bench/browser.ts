/**
 * `npx tsx bench/browser.ts [--runs=3]`: the annotator in Chromium (the built example, a real
 * annosync server in a child process, see tools/browser-harness.ts). Prints:
 *
 *   1. 1 000 boxes on one frame: one render's JS time, and the frame rate while a box is dragged
 *      with the mouse, measured in the page (requestAnimationFrame timestamps and the renders
 *      done during the drag);
 *   2. a 10 000-annotation session opened from the network in a fresh browser context: time from
 *      navigation start to the first rendered frame with the session's content;
 *   3. the same session reloaded with the network off (DevTools offline emulation; the page from
 *      the service worker, the session from IndexedDB): time to the first rendered frame.
 *
 * Prints numbers; not a test. The machine may be shared: compare runs made back to back.
 */
import { loadavg } from 'node:os';
import type { Page } from 'puppeteer-core';
import { jsonClient } from '../tools/http.ts';
import { browserSkipReason, newAnnotatorPage } from '../tools/browser.ts';
import { startHarness, type Harness } from '../tools/browser-harness.ts';

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 3);
if (browserSkipReason()) process.exit(1);

type W = Window & {
  annotator: { workspace: { boxes(): unknown[]; renderNow(): void; stats: { renders: number; firstContentRenderAt: number | null } } };
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

/** A session whose frames hold `perFrame` boxes each, on `frames` frames, made over REST. */
async function seededSession(h: Harness, frames: number, perFrame: number): Promise<string> {
  const { sessionId } = await h.newSession();
  const http = jsonClient(h.serverUrl, h.adminToken);
  const all = [];
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < perFrame; i++) {
      all.push({ frame: f, bbox: [(i % 40) * 15 + 2, Math.floor(i / 40) * 18 + 2, 12, 14], label: i % 3 === 0 ? 'person' : 'car' });
    }
  }
  for (let i = 0; i < all.length; i += 5000) {
    const res = await http.post(`/api/sessions/${sessionId}/annotations`, all.slice(i, i + 5000));
    if (res.status !== 201) throw new Error(`seed: ${res.status} ${res.text.slice(0, 300)}`);
  }
  return sessionId;
}

async function openPage(h: Harness, page: Page, sessionId: string): Promise<void> {
  const token = await h.token('bench', 'Bench');
  await page.goto(`${h.pageUrl}/#${new URLSearchParams({ server: h.serverUrl, token, name: 'Bench', session: sessionId })}`);
}

/** ms from navigation start: first rendered frame, and the page's marks on the way (main.ts). */
async function firstRender(page: Page): Promise<{ total: number; open: number; loaded: number }> {
  await page.waitForFunction(() => (window as unknown as W).annotator?.workspace.stats.firstContentRenderAt ?? false, { timeout: 60_000, polling: 50 });
  return page.evaluate(() => ({
    total: (window as unknown as W).annotator.workspace.stats.firstContentRenderAt!,
    open: performance.getEntriesByName('annotator:open')[0]?.startTime ?? NaN,
    loaded: performance.getEntriesByName('annotator:loaded')[0]?.startTime ?? NaN,
  }));
}
const phases = (xs: Array<{ total: number; open: number; loaded: number }>) => {
  const m = (f: (x: { total: number; open: number; loaded: number }) => number) => ms(median(xs.map(f)));
  return `${m((x) => x.total)} (median of ${xs.length}: page and bundle ${m((x) => x.open)}, session loaded +${m((x) => x.loaded - x.open)}, first render +${m((x) => x.total - x.loaded)}; runs ${xs.map((x) => ms(x.total)).join(', ')})`;
};

async function dragBench(h: Harness): Promise<void> {
  const sessionId = await seededSession(h, 1, 1000);
  const { context, page } = await newAnnotatorPage(h.browser);
  await openPage(h, page, sessionId);
  await page.waitForFunction(() => (window as unknown as W).annotator?.workspace.boxes().length === 1000, { timeout: 60_000 });
  // tsx compiles the functions passed to evaluate with esbuild's keepNames helper.
  await page.evaluate('window.__name = (f) => f');
  const renderMs = await page.evaluate(() => {
    const w = (window as unknown as W).annotator.workspace;
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) w.renderNow();
    return (performance.now() - t0) / 50;
  });
  const rect = await page.$eval('#canvas', (c) => {
    const r = c.getBoundingClientRect();
    return { left: r.left, top: r.top, scale: r.width / (c as HTMLCanvasElement).width };
  });
  const at = (x: number, y: number): [number, number] => [rect.left + x * rect.scale, rect.top + y * rect.scale];
  const results: Array<{ fps: number; p95: number; renders: number }> = [];
  for (let run = 0; run < runs; run++) {
    await page.evaluate(() => {
      const w = window as unknown as { benchFrames: number[]; benchStop: boolean; rendersBefore: number } & W;
      w.benchFrames = [];
      w.benchStop = false;
      w.rendersBefore = w.annotator.workspace.stats.renders;
      const loop = (t: number) => {
        w.benchFrames.push(t);
        if (!w.benchStop) requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
    });
    // Box 0 of the grid is at (2, 2, 12, 14): grab its middle and drag it across the frame.
    await page.mouse.move(...at(8, 9));
    await page.mouse.down();
    const t0 = Date.now();
    await page.mouse.move(...at(600, 400), { steps: 240 });
    const dragMs = Date.now() - t0;
    const m = await page.evaluate(() => {
      const w = window as unknown as { benchFrames: number[]; benchStop: boolean; rendersBefore: number } & W;
      w.benchStop = true;
      const gaps = w.benchFrames.slice(1).map((t, i) => t - w.benchFrames[i]!);
      gaps.sort((a, b) => a - b);
      return { renders: w.annotator.workspace.stats.renders - w.rendersBefore, span: w.benchFrames[w.benchFrames.length - 1]! - w.benchFrames[0]!, p95: gaps[Math.floor(gaps.length * 0.95)] ?? 0 };
    });
    await page.mouse.up();
    results.push({ fps: (m.renders * 1000) / Math.max(m.span, dragMs), p95: m.p95, renders: m.renders });
    await page.mouse.move(...at(600, 400));
    await page.mouse.down();
    await page.mouse.move(...at(8, 9), { steps: 20 });
    await page.mouse.up();
  }
  process.stdout.write(
    `1 000 boxes on one frame: one render ${renderMs.toFixed(2)} ms of JS; dragging a box: ${median(results.map((r) => r.fps)).toFixed(0)} renders/s ` +
      `(median of ${runs}; runs ${results.map((r) => r.fps.toFixed(0)).join(', ')}), p95 frame interval ${median(results.map((r) => r.p95)).toFixed(1)} ms\n`,
  );
  await context.close();
}

async function openBench(h: Harness): Promise<void> {
  const sessionId = await seededSession(h, 100, 100);
  const network: Array<{ total: number; open: number; loaded: number }> = [];
  const local: typeof network = [];
  for (let run = 0; run < runs; run++) {
    const { context, page } = await newAnnotatorPage(h.browser);
    await openPage(h, page, sessionId);
    network.push(await firstRender(page));
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'saved', { timeout: 60_000 });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.setOfflineMode(true);
    await page.reload();
    local.push(await firstRender(page));
    const count = await page.evaluate(() => (window as unknown as W).annotator.workspace.boxes().length);
    if (count !== 100) throw new Error(`from IndexedDB: ${count} boxes on frame 0, expected 100`);
    await context.close();
  }
  process.stdout.write(
    `10 000 annotations (100 on each of 100 frames), navigation start → first rendered frame:\n` +
      `  from the network: ${phases(network)}\n` +
      `  from IndexedDB, network off: ${phases(local)}\n`,
  );
}

const h = await startHarness();
try {
  process.stdout.write(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (2 cores, shared)\n`);
  await dragBench(h);
  await openBench(h);
} finally {
  await h.close();
}
