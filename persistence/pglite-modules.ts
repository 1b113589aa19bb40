/**
 * PGlite's two WebAssembly programs (the server and initdb), compiled once per process and handed
 * to every thread that runs PGlite (pglite-thread.ts): a compiled `WebAssembly.Module` crosses to a
 * worker without being compiled again, while PGlite's own cache of it is per thread. The compile
 * runs on V8's background threads. initdb only for an in-memory database, which runs its initdb in
 * the thread; a new directory is made by a child process (database.ts).
 *
 *   const modules = await pgliteModules({ initdb: dataDir === null })
 *   new Worker(entry, { workerData: { dataDir, modules } })
 */
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import v8 from 'node:v8';
import { freeNow } from './worker-thread.ts';
import type { PgliteModules } from './pglite-thread.ts';

const compiled = new Map<string, Promise<WebAssembly.Module>>();
/** The files read to compile the modules, until `releaseWasmFiles`. */
const readBytes: Uint8Array[] = [];

/**
 * `initdb`: whether the thread runs initdb (an in-memory database); a directory is made by a child
 * process (database.ts), so a server on one never compiles initdb.wasm.
 */
export async function pgliteModules(options: { initdb: boolean }): Promise<PgliteModules> {
  const pgliteWasmModule = await compiledModule('pglite.wasm');
  return options.initdb ? { pgliteWasmModule, initdbWasmModule: await compiledModule('initdb.wasm') } : { pgliteWasmModule };
}

function compiledModule(file: string): Promise<WebAssembly.Module> {
  let module = compiled.get(file);
  if (module === undefined) {
    // V8 compiles WebAssembly with Liftoff and, by default, recompiles the functions that get hot
    // with TurboFan on its background threads. Postgres's functions are large: those compiles left
    // ~100 MB in the threads' malloc arenas of a server on PGlite (292 → 205 MB RSS at start,
    // bench/start.ts --restart), while a workload of inserts, loads and counts took less CPU without
    // them (bench/pglite-wasm.ts). Read when a module is compiled, so set before each; it concerns
    // WebAssembly only, and a process on Postgres never gets here.
    v8.setFlagsFromString('--liftoff-only');
    module = (async () => {
      const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
      const { whole, bytes } = await readLarge(join(dist, file));
      try {
        return await WebAssembly.compile(bytes);
      } finally {
        readBytes.push(whole);
      }
    })();
    compiled.set(file, module);
    // A failed compile (a missing file) is not cached: the next open tries again and reports it.
    module.catch(() => compiled.delete(file));
  }
  return module;
}

/**
 * Larger than the largest mmap threshold glibc sets itself (32 MiB on 64 bits, mallopt(3)
 * M_MMAP_THRESHOLD): a freed mmapped block of at most that size raises the threshold to its own
 * size, and every later malloc below it comes from arenas that are not given back. pglite.wasm
 * (9 MB), read into a buffer of its size and freed, did that to the whole process: the threshold
 * ended at 9 MB; read into this one it ends at the 1.7 MB of V8's own compiler zones (read with gdb,
 * `mp_.mmap_threshold`, once the server listens). Server RSS at start on PGlite (bench/start.ts,
 * 5 runs, two alternated pairs): medians 149 and 150 MiB before, 148 and 146 after; with the
 * threshold fixed by MALLOC_MMAP_THRESHOLD_, which only the environment can set, 141-143.
 */
const READ_BUFFER_BYTES = 33 * 1024 * 1024;

/**
 * A file read into the start of a buffer of at least READ_BUFFER_BYTES (`whole`; its pages past the
 * file are never touched, so never resident), and the file's bytes as a view of it.
 */
async function readLarge(path: string): Promise<{ whole: Uint8Array<ArrayBuffer>; bytes: Uint8Array<ArrayBuffer> }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const whole = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(size, READ_BUFFER_BYTES)).buffer as ArrayBuffer);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(whole, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return { whole, bytes: whole.subarray(0, at) };
  } finally {
    await handle.close();
  }
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
