/**
 * `npm pack` gives a tarball a frontend installs: it holds the browser build and the declarations
 * of `annosync/client` (and nothing of the server), and an esbuild project that has it in
 * node_modules, next to its own yjs / y-websocket / y-protocols / lib0 / y-indexeddb (the peer
 * dependencies), bundles `import … from 'annosync/client'` with one copy of Yjs. The packages are
 * linked from this repository's node_modules instead of installed from the registry, so the test
 * runs offline; `npm install <tarball>` in a fresh project was checked by hand (README, "Browser client").
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');
const PEERS = ['yjs', 'y-websocket', 'y-protocols', 'lib0', 'y-indexeddb'];

const test = suite<{ dir: string; files: string[] }>('client package');

test.before((ctx) => {
  ctx.dir = mkdtempSync(path.join(tmpdir(), 'annosync-pack-'));
  // Packs the build `npm test` made before any test ran (`pretest`): `prepare`, which npm pack would
  // run, rewrites dist/ while other test processes read it.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', ctx.dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  ctx.files = info!.files.map((f) => f.path);
  const pkgDir = path.join(ctx.dir, 'app/node_modules/annosync');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(ctx.dir, info!.filename), '-C', pkgDir, '--strip-components=1']);
  for (const peer of PEERS) symlinkSync(path.join(root, 'node_modules', peer), path.join(ctx.dir, 'app/node_modules', peer), 'dir');
});

test.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

test('the tarball holds the client build and its declarations and the bundled command line, nothing of the server', (ctx) => {
  for (const file of ['package.json', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/client/session.d.ts', 'dist/docs-model/index.d.ts', 'cli/annosync.mjs', 'dist/cli/main.js']) {
    assert.ok(ctx.files.includes(file), `${file} is in the tarball`);
  }
  assert.equal(ctx.files.filter((f) => /^(server|persistence|migrations|test)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
  const pkg = JSON.parse(readFileSync(path.join(ctx.dir, 'app/node_modules/annosync/package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
  assert.equal(Object.keys(pkg.peerDependencies).sort(), ['lib0', 'y-protocols', 'y-websocket', 'yjs']);
});

test("an esbuild project bundles `import … from 'annosync/client'` with the app's own single Yjs", async (ctx) => {
  const app = path.join(ctx.dir, 'app');
  writeFileSync(
    path.join(app, 'main.js'),
    [
      "import * as Y from 'yjs'",
      "import { openSession, addAnnotation, listAnnotations, initSession } from 'annosync/client'",
      'const doc = new Y.Doc()',
      "initSession(doc, { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 100, height: 100, fps: 25, frameCount: 10 }, labels: { car: {} } })",
      "addAnnotation(doc, { frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' })",
      'export const ready = listAnnotations(doc).length === 1 && typeof openSession === "function"',
    ].join('\n'),
  );
  const result = await build({ entryPoints: [path.join(app, 'main.js')], absWorkingDir: app, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  const inputs = Object.keys(result.metafile.inputs);
  const packages = new Set(inputs.filter((p) => p.includes('node_modules/')).map((p) => p.split('node_modules/')[1]!.split('/')[0]));
  assert.equal([...packages].sort(), ['annosync', ...PEERS].sort());
  assert.equal(inputs.filter((p) => p.includes('annosync/')), ['node_modules/annosync/dist/client/index.js'], 'the built client, not the sources');
  assert.is(inputs.filter((p) => /yjs\/dist\/yjs\.mjs$/.test(p)).length, 1, 'one Yjs for the app and the client');
});

test.run();
