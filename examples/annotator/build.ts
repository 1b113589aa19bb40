/**
 * Builds the annotator into `examples/annotator/dist/`: one ES module bundle and the static
 * files. `annosync/client` resolves like in any app that installed the package — through this
 * package's `exports` to the built `dist/client/index.js` (built first by `npm run build:client`).
 *
 *   npx tsx examples/annotator/build.ts   # or: import { buildAnnotator } from './build.ts'
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

const here = import.meta.dirname;
const root = path.resolve(here, '../..');
export const ANNOTATOR_DIST = path.join(here, 'dist');

/** Runs `npm run build:client` (the package the example installs). */
export function buildClient(): void {
  execFileSync('npm', ['run', '--silent', 'build:client'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Builds into `opts.outdir` (default examples/annotator/dist). Tests build into a directory of
 * their own and skip the client build (`npm test` builds the client once, before any test runs), so
 * that test processes running side by side never write the same files.
 */
export async function buildAnnotator(opts: { buildClientFirst?: boolean; minify?: boolean; outdir?: string } = {}): Promise<string> {
  if (opts.buildClientFirst ?? true) buildClient();
  if (!existsSync(path.join(root, 'dist/client/index.js'))) throw new Error('dist/client/index.js is missing: run npm run build:client');
  const outdir = opts.outdir ?? ANNOTATOR_DIST;
  mkdirSync(outdir, { recursive: true });
  const browser = { bundle: true, platform: 'browser', target: 'es2022', logLevel: 'warning', absWorkingDir: root } as const;
  await build({
    ...browser,
    entryPoints: [path.join(here, 'main.ts')],
    outfile: path.join(outdir, 'annotator.js'),
    format: 'esm',
    sourcemap: true,
    minify: opts.minify ?? false,
  });
  // The service worker is a script of its own, served from the page's folder (its scope).
  await build({ ...browser, entryPoints: [path.join(here, 'sw.ts')], outfile: path.join(outdir, 'sw.js'), format: 'iife' });
  for (const file of ['index.html', 'style.css']) copyFileSync(path.join(here, file), path.join(outdir, file));
  return outdir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(here, 'build.ts')) {
  void buildAnnotator().then((dir) => process.stdout.write(`built ${dir}\n`));
}
