/**
 * A real Chromium for the browser tests: the system's (Debian's `chromium` package), driven by
 * puppeteer-core, one fresh profile per launch. Without Chromium the tests say why they skipped;
 * in CI (`CI=true`) a missing Chromium is a failure.
 *
 *   const chromium = browserAvailability()
 *   if (chromium.skip) { console.log(`browser tests skipped: ${chromium.skip}`) } else { const b = await launchBrowser() }
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let announced = false;

/** Why the browser tests cannot run here (null: they can). Throws in CI, where nothing skips. */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const why = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run in CI: ${why}`);
  if (!announced) {
    announced = true;
    process.stderr.write(`browser tests skipped: ${why}\n`);
  }
  return why;
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'annosync-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    args: [...ARGS, `--user-data-dir=${profile}`],
    headless: true,
    defaultViewport: { width: 1280, height: 900 },
    protocolTimeout: 60_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page in a context of its own (own IndexedDB, own cookies): one annotator. */
export async function newAnnotatorPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('dialog', (dialog) => void dialog.dismiss());
  return { context, page, errors };
}
