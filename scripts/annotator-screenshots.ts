/**
 * Screenshots of the annotator for the README: two annotators (Ada and Bob) on one session in
 * Chromium, each drawing boxes with the mouse, Bob with one selected and on another frame; Ada's
 * view shows both annotators' boxes, Bob's selection outlined in his color, and the presence list.
 * Writes docs/annotator-two-annotators.png and docs/annotator-track-mode.png.
 *
 *   npx tsx scripts/annotator-screenshots.ts
 */
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { jsonClient } from '../tools/http.ts';
import { browserSkipReason } from '../tools/browser.ts';
import { openAnnotator, startHarness } from '../tools/browser-harness.ts';

if (process.argv.includes('--help')) {
  process.stdout.write('npx tsx scripts/annotator-screenshots.ts — writes docs/annotator-*.png (needs Chromium)\n');
  process.exit(0);
}
const skip = browserSkipReason();
if (skip) process.exit(1);

const docs = path.resolve(import.meta.dirname, '../docs');
const h = await startHarness();
try {
  const http = jsonClient(h.serverUrl, h.adminToken);
  const project = await http.post<{ id: string }>('/api/projects', {
    name: 'Street scenes',
    labels: [{ name: 'car', color: '#e5484d' }, { name: 'person', color: '#3e63dd' }, { name: 'bike', color: '#30a46c' }],
  });
  const video = await http.post<{ id: string }>('/api/videos', { name: 'street-001', uri: 'file:///no-media.mp4', width: 1280, height: 720, fps: 25, frameCount: 250 });
  await http.post(`/api/projects/${project.body.id}/videos`, { videoIds: [video.body.id] });
  const session = await http.post<{ id: string }>(`/api/projects/${project.body.id}/sessions`, { videoId: video.body.id });
  const sessionId = session.body.id;

  const ada = await openAnnotator(h, sessionId, 'Ada');
  const bob = await openAnnotator(h, sessionId, 'Bob');
  const toPage = (page: Page, x: number, y: number) =>
    page.$eval('#canvas', (c, x, y) => {
      const canvas = c as HTMLCanvasElement;
      const r = canvas.getBoundingClientRect();
      return [r.left + (x * r.width) / canvas.width, r.top + (y * r.height) / canvas.height] as [number, number];
    }, x, y);
  const draw = async (page: Page, label: string, [x, y, w, hh]: number[]) => {
    await page.keyboard.press('Escape'); // nothing selected: the label is for the new box
    await page.select('#label', label);
    await page.mouse.move(...(await toPage(page, x!, y!)));
    await page.mouse.down();
    await page.mouse.move(...(await toPage(page, x! + w!, y! + hh!)), { steps: 5 });
    await page.mouse.up();
  };
  await draw(ada.page, 'car', [120, 380, 300, 170]);
  await draw(ada.page, 'car', [520, 400, 240, 140]);
  await draw(ada.page, 'person', [860, 300, 90, 240]);
  await draw(bob.page, 'bike', [980, 360, 160, 150]);
  await draw(bob.page, 'person', [1160, 310, 80, 220]);
  await bob.page.mouse.click(...(await toPage(bob.page, 600, 470))); // Bob selects one of Ada's cars
  await ada.page.waitForFunction(() => document.querySelectorAll('#peers li .sel').length === 1 && document.querySelector('#peers li .sel')?.textContent !== '');
  await ada.page.waitForFunction(() => (window as unknown as { annotator: { workspace: { boxes(): unknown[] } } }).annotator.workspace.boxes().length === 5);
  await ada.page.mouse.click(...(await toPage(ada.page, 900, 420))); // Ada selects her person
  await ada.page.waitForFunction(() => document.getElementById('status')?.textContent === 'saved');
  await ada.page.screenshot({ path: path.join(docs, 'annotator-two-annotators.png') });

  // Track mode: a keyframe on frame 0 and one on frame 40; frame 20 shows the interpolated box.
  await ada.page.click('#track-mode');
  await draw(ada.page, 'car', [100, 120, 200, 110]);
  await ada.page.$eval('#frame', (el) => {
    (el as HTMLInputElement).value = '40';
    el.dispatchEvent(new Event('change'));
  });
  const [fx, fy] = await toPage(ada.page, 200, 175);
  await ada.page.mouse.move(fx, fy);
  await ada.page.mouse.down();
  await ada.page.mouse.move(...(await toPage(ada.page, 700, 255)), { steps: 5 });
  await ada.page.mouse.up();
  await ada.page.$eval('#frame', (el) => {
    (el as HTMLInputElement).value = '20';
    el.dispatchEvent(new Event('change'));
  });
  await ada.page.waitForFunction(() => document.getElementById('status')?.textContent === 'saved');
  await ada.page.screenshot({ path: path.join(docs, 'annotator-track-mode.png') });
  process.stdout.write(`wrote ${path.join(docs, 'annotator-two-annotators.png')} and annotator-track-mode.png\n`);
} finally {
  await h.close();
}
