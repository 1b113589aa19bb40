/**
 * The pg driver is loaded only for Postgres, and without Node's fetch implementation (undici),
 * which pg's Cloudflare probe would otherwise load on Node 20 (persistence/pg-driver.ts). Each case
 * runs in a fresh process: what a process has loaded cannot be unloaded.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { inFreshProcess } from '../helpers/fresh-process.ts';

const test = suite('pg driver');
const source = (file: string): string => JSON.stringify(fileURLToPath(new URL(`../../persistence/${file}`, import.meta.url)));

interface Loaded {
  pg: boolean;
  undici: boolean;
  navigator: string;
  extra?: unknown;
}

/** Runs `body` in a fresh process and reports what it loaded (`extra`: a value it sets). */
async function loadedBy(body: string): Promise<Loaded> {
  return JSON.parse(
    await inFreshProcess(`
    import { createRequire } from 'node:module';
    ${body}
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify({
      pg: loaded.some((file) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]lib[\\\\/]index\\.js$/.test(file)),
      undici: process.moduleLoadList.some((name) => name.includes('undici')),
      navigator: typeof globalThis.navigator,
      extra: typeof extra === 'undefined' ? undefined : extra,
    }));`),
  ) as Loaded;
}

test('loadPg loads the driver without undici and leaves no navigator behind', async () => {
  const before = await loadedBy('');
  const after = await loadedBy(`
    const { loadPg } = await import(${source('pg-driver.ts')});
    const extra = typeof loadPg().Client;`);
  assert.is(after.pg, true, 'pg is loaded');
  assert.is(after.extra, 'function', 'and usable');
  assert.is(after.undici, false, 'undici is not');
  assert.is(after.navigator, before.navigator, 'navigator is as the process had it');
});

test('a server on PGlite starts, answers and closes without loading pg', async () => {
  const loaded = await loadedBy(`
    import { get } from 'node:http';
    const { createServer } = await import(${source('../server/create-server.ts')});
    const { configFromEnv } = await import(${source('../server/config.ts')});
    const server = await createServer(configFromEnv({ DATA_DIR: 'memory://', HOST: '127.0.0.1', PORT: '0', AUTH_SECRET: 'pg-driver-test-'.repeat(3) }));
    const { url } = await server.listen();
    // node:http, not fetch: fetch is undici.
    const extra = await new Promise((resolve, reject) => get(url + '/health', (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject));
    await server.close();`);
  assert.is(loaded.extra, 200, 'the server answered');
  assert.is(loaded.pg, false, 'pg is not loaded');
  assert.is(loaded.undici, false, 'nor undici');
});

test.run();
