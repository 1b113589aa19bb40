/**
 * `npm run build` (also run by `npm install`, through `prepare`): bundles the server into
 * `dist/server/` for `npm start`, which runs it on plain node — no TypeScript compiled at start.
 *
 *   npm run build                              # dist/server/main.js
 *   npx tsx scripts/build.ts --outdir .tmp/x   # elsewhere (tests); must be inside the project so
 *                                              # node_modules resolves from it
 *
 * One bundle per entry: the server (from server/main.ts, wherever its modules live) and each
 * worker-thread entry, flat beside it, where persistence/worker-thread.ts looks for them.
 * Packages stay external: they load from node_modules as under tsx (PGlite finds its .wasm and
 * .data files beside its own module, swagger-ui-dist its assets).
 */
import { build } from 'esbuild';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Output name → source, relative to the project root. */
export const serverEntries: Record<string, string> = {
  main: 'server/main.ts',
  'merge-worker-thread': 'persistence/merge-worker-thread.ts',
  'pglite-thread': 'persistence/pglite-thread.ts',
  'import-parse-thread': 'server/services/import-parse-thread.ts',
  'ground-truth-thread': 'server/services/ground-truth-thread.ts',
};

export async function buildServer(outdir = resolve(root, 'dist/server')): Promise<void> {
  await removeOldBuild(outdir);
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(serverEntries).map(([name, source]) => [name, resolve(root, source)])),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // server/main.ts imports the server dynamically, to load it after it has set a V8 flag: in a
    // chunk of its own, since bundled into main.js the server's package imports would be hoisted
    // above the entry's code. Code shared by the entries goes into chunks too.
    splitting: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  await asciiOnly(outdir);
}

/** Chunks are named by their content's hash: each build would otherwise leave the last one's beside it. */
async function removeOldBuild(outdir: string): Promise<void> {
  const names = await readdir(outdir).catch(() => [] as string[]);
  for (const name of names) if (/\.js(\.map)?$/.test(name)) await rm(join(outdir, name));
}

/**
 * esbuild escapes non-ASCII characters in code but keeps some comments as written. V8 holds a
 * script's source for as long as it runs, one byte per character when every character is Latin-1,
 * two otherwise: seven dashes and arrows in comments made main.js take 1.3 MB of heap instead of
 * 0.65. Escaped as `\uXXXX` (inside a comment, only its text changes).
 */
async function asciiOnly(outdir: string): Promise<void> {
  for (const name of await readdir(outdir)) {
    if (!name.endsWith('.js')) continue;
    const file = join(outdir, name);
    const code = await readFile(file, 'utf8');
    const ascii = code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (ascii !== code) await writeFile(file, ascii);
  }
}

const usage = `usage: npm run build [-- --outdir <dir>]

Bundles server/main.ts and its worker-thread entries into dist/server/ (or <dir>), for
\`npm start\` (node dist/server/main.js), and (without --outdir) the command line into dist/cli/.`;

async function main(argv: string[]): Promise<void> {
  let outdir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      return;
    }
    if (arg === '--outdir' && argv[i + 1] !== undefined) outdir = resolve(argv[++i] as string);
    else {
      console.error(`unknown argument ${arg}\n${usage}`);
      process.exit(2);
    }
  }
  await buildServer(outdir);
  if (outdir === undefined) await buildCli();
}

/** The `annosync` command for an installed package, which ships no TypeScript (cli/annosync.mjs loads it). */
export async function buildCli(outfile = resolve(root, 'dist/cli/main.js')): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: [resolve(root, 'cli/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
