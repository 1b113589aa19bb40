/**
 * docs-model must run in a browser unchanged (docs/architecture.md, "Layers"): bundling its public
 * entry for the browser must not reach any Node builtin, directly or through yjs/lib0. The same
 * holds for the client package (`annosync/client`), which adds only the browser's Yjs providers.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../docs-model/index.ts', import.meta.url));
const CLIENT_ENTRY = fileURLToPath(new URL('../../client/index.ts', import.meta.url));
const BUILTINS = new Set(builtinModules);

/** Fails the build on any `node:*` import or bare builtin name (fs, crypto, fs/promises, …). */
const noNodeBuiltins: esbuild.Plugin = {
  name: 'no-node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.split('/')[0] ?? args.path;
      if (args.path.startsWith('node:') || BUILTINS.has(args.path) || BUILTINS.has(bare)) {
        return { errors: [{ text: `Node builtin '${args.path}' imported by ${args.importer || '<entry>'}` }] };
      }
      return undefined;
    });
  },
};

const bundle = (options: esbuild.BuildOptions): Promise<esbuild.BuildResult> =>
  esbuild.build({
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    plugins: [noNodeBuiltins],
    ...options,
  });

/** The builtin-related messages of a rejected build, or null if it succeeded. */
const rejection = async (options: esbuild.BuildOptions): Promise<string[] | null> => {
  try {
    await bundle(options);
    return null;
  } catch (e) {
    const errors = (e as { errors?: esbuild.Message[] }).errors ?? [];
    return errors.map((m) => m.text);
  }
};

const browser = suite('docs-model browser bundle');

browser('docs-model/index.ts bundles for the browser without any Node builtin', async () => {
  const result = await bundle({ entryPoints: [ENTRY], metafile: true });
  assert.is(result.errors.length, 0);
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  assert.ok(inputs.some((p) => p.includes('node_modules/yjs/')), 'yjs is inside the bundle');
  assert.ok(inputs.some((p) => p.includes('node_modules/lib0/')), 'lib0 is inside the bundle');
  const outsideDeps = inputs.filter((p) => !p.startsWith('docs-model/') && !/node_modules\/(yjs|lib0)\//.test(p));
  assert.equal(outsideDeps, [], 'docs-model imports only yjs and lib0');
});

browser('client/index.ts bundles for the browser without any Node builtin, from docs-model and the Yjs packages only', async () => {
  const result = await bundle({ entryPoints: [CLIENT_ENTRY], metafile: true });
  assert.is(result.errors.length, 0);
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  for (const dep of ['yjs', 'y-websocket', 'y-protocols', 'y-indexeddb', 'lib0']) {
    assert.ok(inputs.some((p) => p.includes(`node_modules/${dep}/`)), `${dep} is inside the bundle`);
  }
  const outside = inputs.filter(
    (p) => !/^(client|docs-model)\//.test(p) && !/node_modules\/(yjs|lib0|y-websocket|y-protocols|y-indexeddb)\//.test(p),
  );
  assert.equal(outside, [], 'the client imports only docs-model and the Yjs packages');
});

browser("the check rejects a module that imports 'node:fs'", async () => {
  const messages = await rejection({
    stdin: { contents: "import { readFileSync } from 'node:fs'; export const read = readFileSync;", resolveDir: ROOT, loader: 'ts' },
  });
  assert.ok(messages, 'the build must fail');
  assert.ok(messages.some((m) => m.includes("'node:fs'")), messages.join('\n'));
});

browser("the check rejects bare builtin names too ('crypto', 'fs/promises')", async () => {
  for (const name of ['crypto', 'fs/promises']) {
    const messages = await rejection({
      stdin: { contents: `import * as m from '${name}'; export default m;`, resolveDir: ROOT, loader: 'ts' },
    });
    assert.ok(messages?.some((m) => m.includes(`'${name}'`)), `${name} must be refused`);
  }
});

browser.run();
