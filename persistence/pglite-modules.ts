/**
 * PGlite's two WebAssembly programs (the server and initdb), compiled once per process and handed
 * to every thread that runs PGlite (pglite-thread.ts; an in-memory database runs its initdb there,
 * while a new directory is made by a child process, database.ts): a
 * compiled `WebAssembly.Module` crosses to a worker without being compiled again, while PGlite's
 * own cache of it is per thread. The compile runs on V8's background threads.
 *
 *   const modules = await pgliteModules()
 *   new Worker(entry, { workerData: { dataDir, modules } })
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import v8 from 'node:v8';
import { freeNow } from './worker-thread.ts';
import type { PgliteModules } from './pglite-thread.ts';

let compiled: Promise<PgliteModules> | null = null;
/** The files read to compile the modules, until `releaseWasmFiles`. */
const readBytes: Uint8Array[] = [];

export function pgliteModules(): Promise<PgliteModules> {
  compiled ??= (async () => {
    // V8 compiles WebAssembly with Liftoff and, by default, recompiles the functions that get hot
    // with TurboFan on its background threads. Postgres's functions are large: those compiles left
    // ~100 MB in the threads' malloc arenas of a server on PGlite (292 → 205 MB RSS at start,
    // bench/start.ts --restart), while a workload of inserts, loads and counts took less CPU without
    // them (bench/pglite-wasm.ts). Read when a module is compiled, so set before the first one; it
    // concerns WebAssembly only, and a process on Postgres never gets here.
    v8.setFlagsFromString('--liftoff-only');
    const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    const compile = async (file: string) => {
      const bytes = await readFile(join(dist, file));
      try {
        return await WebAssembly.compile(bytes);
      } finally {
        readBytes.push(bytes);
      }
    };
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compile('pglite.wasm'), compile('initdb.wasm')]);
    return { pgliteWasmModule, initdbWasmModule };
  })();
  // A failed compile (a missing file) is not cached: the next open tries again and reports it.
  compiled.catch(() => (compiled = null));
  return compiled;
}

/**
 * Frees the files read to compile the modules (9 MB: a compiled module keeps its own copy), at once
 * rather than at a major garbage collection. Called once the first PGlite thread is ready, not right
 * after the compile: glibc raises its mmap threshold to the size of a freed mmapped block (mallopt(3),
 * M_MMAP_THRESHOLD), so freed earlier, the thread's own start (pglite.data: 6 MB) went to a malloc
 * arena that is not given back. Server RSS at start on PGlite, median of 10 alternated runs:
 * 166 MiB freed after the compile, 163 freed here, 170-175 not freed (bench/start.ts --restart).
 */
export function releaseWasmFiles(): Promise<void> {
  return Promise.all(readBytes.splice(0).map(freeNow)).then(() => undefined);
}
