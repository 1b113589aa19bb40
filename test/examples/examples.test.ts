/**
 * Every example in examples/ runs: the Node scripts against a real server, the browser annotator
 * bundled for the browser (test/browser/ drives it in Chromium), against the client `npm test`
 * builds before any test runs (`pretest`).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { newSessionDoc } from '../../tools/api.ts';

const root = path.resolve(import.meta.dirname, '../..');

function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const test = suite<{ storage: TestStorage; app: TestServer }>('examples');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage);
});

test.after(async (ctx) => {
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

test('examples/rest-export.ts builds a session over REST and exports it as COCO', async (ctx) => {
  const { code, output } = await runScript('examples/rest-export.ts', [], { ANNOSYNC_URL: ctx.app.url, ANNOSYNC_TOKEN: ctx.app.adminToken });
  assert.is(code, 0, output);
  assert.match(output, /COCO with 11 images, 12 boxes/);
});

test('examples/offline-rejoin.ts converges after an offline edit and a concurrent relabel', async (ctx) => {
  const { sessionId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const { code, output } = await runScript('examples/offline-rejoin.ts', [sessionId], {
    ANNOSYNC_URL: ctx.app.url,
    ANNOSYNC_TOKEN: ctx.app.adminToken,
  });
  assert.is(code, 0, output);
  assert.match(output, /converged: 2 annotations; the box kept Bob's move \[12,12,50,40\] and Alice's label 'person'/);
});

test('examples/annotator builds against the built annosync/client package, with nothing Node-only in it', async () => {
  const result = await build({
    entryPoints: [path.join(root, 'examples/annotator/main.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  assert.is(result.errors.length, 0);
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.includes('dist/client/index.js'), "'annosync/client' resolves to the package's build");
  assert.equal(inputs.filter((p) => /^(docs-model|client|server|persistence)\//.test(p)), [], 'no relative imports into the repository');
  const code = result.outputFiles[0]!.text;
  assert.ok(code.includes('WebsocketProvider') && code.includes('IndexeddbPersistence'), 'the provider and the offline store are in the bundle');
  assert.not.match(code, /require\("(node:)?(fs|net|http|crypto)"\)/);
});

test.run();
