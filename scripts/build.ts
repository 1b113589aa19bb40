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
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Output name → source, relative to the project root. */
export const serverEntries: Record<string, string> = {
  main: 'server/main.ts',
  'merge-worker-thread': 'persistence/merge-worker-thread.ts',
  'pglite-thread': 'persistence/pglite-thread.ts',
  'import-parse-thread': 'server/services/import-parse-thread.ts',
};

export async function buildServer(outdir = resolve(root, 'dist/server')): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(serverEntries).map(([name, source]) => [name, resolve(root, source)])),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
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
