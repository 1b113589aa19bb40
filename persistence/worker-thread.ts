/**
 * Starts one of persistence's worker-thread entries (`merge-worker-thread`, `pglite-thread`) both
 * under tsx (dev, tests, `npm run dev`: the entry is TypeScript next to this file) and compiled
 * (`npm run build` bundles every entry flat into `dist/`, beside the server that imports this).
 *
 *   const worker = startThread('merge-worker-thread')
 *   const worker = startThread('pglite-thread', { workerData: { dataDir } })
 *
 * An entry imports packages and node: modules only, never another file of the project: under tsx
 * it runs as one transpiled file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

interface EsbuildTransform {
  transformSync(source: string, options: { loader: 'ts'; format: 'cjs'; target: string }): { code: string };
}

const transpiled = new Map<string, string>();

/**
 * Under tsx the entry is TypeScript, and Node 20 ignores loader flags passed in a Worker's
 * `execArgv` (nodejs/node#47747, tsx#354). Registering tsx inside each worker worked but cost
 * ~0.5 s per thread (it starts its own loader-hooks thread), paid again for every database a test
 * opens; instead the entry is transpiled once per process with esbuild (tsx's own compiler) and
 * evaluated as CommonJS, its `require` resolving from the entry's directory.
 */
function transpiledEntry(url: URL): string {
  const path = fileURLToPath(url);
  let code = transpiled.get(path);
  if (code === undefined) {
    const esbuild = createRequire(import.meta.url)('esbuild') as EsbuildTransform;
    code = esbuild.transformSync(readFileSync(path, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20' }).code;
    transpiled.set(path, code);
  }
  return (
    `const { createRequire } = require('node:module');` +
    `(function (require, module, exports) {\n${code}\n})(createRequire(${JSON.stringify(path)}), { exports: {} }, {});`
  );
}

export function startThread(entry: string, options: WorkerOptions = {}): Worker {
  const compiled = import.meta.url.endsWith('.js');
  const url = new URL(`./${entry}${compiled ? '.js' : '.ts'}`, import.meta.url);
  if (compiled) return new Worker(url, options);
  return new Worker(transpiledEntry(url), { ...options, eval: true });
}
