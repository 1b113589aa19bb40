/**
 * Starts one of persistence's worker-thread entries (`merge-worker-thread`, `pglite-thread`) both
 * under tsx (dev, tests, `npm run dev`: the entry is TypeScript next to this file) and compiled
 * (`npm run build` bundles every entry flat into `dist/`, beside the server that imports this).
 *
 *   const worker = startThread('merge-worker-thread')
 *   const worker = startThread('pglite-thread', { workerData: { dataDir } })
 *
 * Under tsx an entry and the few persistence/ files it imports are bundled once per process, on the
 * main thread (a few ms: they import packages, which stay `require`s). An entry that needs a large
 * part of the project (the format converters of docs-model/) starts with `startBundledThread`
 * instead: under tsx the worker bundles it with esbuild itself, off the main thread.
 *
 *   const worker = startBundledThread('import-parse-thread', new URL('.', import.meta.url))
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type WorkerOptions } from 'node:worker_threads';

interface EsbuildBuild {
  buildSync(options: {
    entryPoints: string[];
    bundle: true;
    write: false;
    format: 'cjs';
    platform: 'node';
    target: string;
    packages: 'external';
    logLevel: 'warning';
  }): { outputFiles: Array<{ text: string }> };
}

const bundled = new Map<string, string>();

/**
 * Under tsx the entry is TypeScript, and Node 20 ignores loader flags passed in a Worker's
 * `execArgv` (nodejs/node#47747, tsx#354). Registering tsx inside each worker worked but cost
 * ~0.5 s per thread (it starts its own loader-hooks thread), paid again for every database a test
 * opens; instead the entry is bundled once per process with esbuild (tsx's own compiler) and
 * evaluated as CommonJS, its `require` resolving from the entry's directory.
 */
const esbuild = (): EsbuildBuild => createRequire(import.meta.url)('esbuild') as EsbuildBuild;

/** CommonJS `code` evaluated in a worker, its `require` resolving from `path`'s directory. */
const evaluated = (path: string, code: string): string =>
  `const { createRequire } = require('node:module');` +
  `(function (require, module, exports) {\n${code}\n})(createRequire(${JSON.stringify(path)}), { exports: {} }, {});`;

function bundledEntry(url: URL): string {
  const path = fileURLToPath(url);
  let code = bundled.get(path);
  if (code === undefined) {
    const options = { bundle: true, write: false, format: 'cjs', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' } as const;
    code = esbuild().buildSync({ entryPoints: [path], ...options }).outputFiles[0]!.text;
    bundled.set(path, code);
  }
  return evaluated(path, code);
}

/**
 * The bootstrap of a bundled entry: the worker itself bundles the entry with esbuild's synchronous
 * API and evaluates it, so the main thread pays nothing (an asynchronous build still decoded its
 * output on the main thread: ~0.2 s held on the first import under load).
 */
const bundlingBootstrap = (path: string): string =>
  `const { createRequire } = require('node:module');` +
  `const entryRequire = createRequire(${JSON.stringify(path)});` +
  `const out = entryRequire('esbuild').buildSync({ entryPoints: [${JSON.stringify(path)}], bundle: true, write: false, format: 'cjs',` +
  ` platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' });` +
  `new Function('require', 'module', 'exports', out.outputFiles[0].text)(entryRequire, { exports: {} }, {});`;

export function startThread(entry: string, options: WorkerOptions = {}): Worker {
  const compiled = import.meta.url.endsWith('.js');
  const url = new URL(`./${entry}${compiled ? '.js' : '.ts'}`, import.meta.url);
  if (compiled) return new Worker(url, options);
  return new Worker(bundledEntry(url), { ...options, eval: true });
}

/**
 * Starts an entry that imports other files of the project. `sourceDir` is the directory of the
 * entry's TypeScript source (the caller's `new URL('.', import.meta.url)`); compiled, every entry
 * lies flat beside the server bundle (scripts/build.ts).
 */
export function startBundledThread(entry: string, sourceDir: URL, options: WorkerOptions = {}): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL(`./${entry}.js`, import.meta.url), options);
  return new Worker(bundlingBootstrap(fileURLToPath(new URL(`./${entry}.ts`, sourceDir))), { ...options, eval: true });
}

/**
 * How long a worker may sit idle before it is ended (a new one starts with the next job). V8
 * collects a thread's garbage when it allocates, and an idle worker does not, so its heap keeps
 * what its work left: three merges of 10 000-annotation documents held ~320 MB of the process's
 * RSS (501 → 179 MiB once the merge worker ended), three COCO imports of 10 000 annotations ~80 MB
 * (201 → 119 MiB). The next job's worker starts with its JIT cold: a 10 000-annotation merge took
 * 1.15 s against 0.75 s, a COCO import of 10 000 452 against 152 ms (under tsx, which also bundles
 * the entry). 30 s: documents unload 30 s after their last use, so this is a server at rest
 * (docs/architecture.md, "Memory").
 */
export const IDLE_WORKER_MS = 30_000;

/**
 * Ends a pool's worker once it has had nothing to do for `idleMs`.
 *
 *   const idle = new IdleWorkerEnd(idleMs, () => takeWorkerIfIdle())   // null: keep it
 *   idle.idle()    // nothing queued: the worker ends in idleMs unless busy() comes first
 *   idle.busy()    // work arrived
 *   idle.stop()    // the pool closes
 *
 * `take` hands over the worker to end (the pool forgets it) or null. `ended` counts workers
 * that have stopped, their heap freed.
 */
export class IdleWorkerEnd {
  ended = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly idleMs: number;
  private readonly take: () => Worker | null;

  constructor(idleMs: number, take: () => Worker | null) {
    this.idleMs = idleMs;
    this.take = take;
  }

  idle(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const worker = this.take();
      if (worker) void worker.terminate().then(() => this.ended++, () => undefined);
    }, this.idleMs).unref();
  }

  busy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.busy();
  }
}

/**
 * An ArrayBuffer holding exactly `bytes`, to transfer to a worker: their own when they span all of
 * it, else a copy (a small Buffer lies in Node's shared pool; a SharedArrayBuffer cannot be
 * transferred). Copied with the Uint8Array constructor: Buffer#slice is a view. A transferred
 * buffer is detached here, so the caller gives `bytes` up.
 */
export function transferableBuffer(bytes: Uint8Array): ArrayBuffer {
  return ownBuffer(bytes) ?? new Uint8Array(bytes).buffer;
}

/** The ArrayBuffer under `bytes` when they span all of it, else null (a view, a SharedArrayBuffer). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer | null {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? buffer : null;
}

/**
 * Frees the memory under `bytes` now rather than at a major garbage collection, which a process
 * that has just started may not run for minutes. A transferred buffer moves into its message, and
 * a message still queued when its channel closes is dropped with it (Node's worker_threads docs,
 * `port.close()`). Only a buffer of its own: a small Buffer can be a view of a pool shared with
 * others, and is left alone. `bytes` is detached; resolves once the memory is released.
 */
export function freeNow(bytes: Uint8Array): Promise<void> {
  const buffer = ownBuffer(bytes);
  if (buffer === null) return Promise.resolve();
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [buffer]);
  // Closing one port alone leaves the other, and its queue, open: both are closed, and the buffer
  // is freed when the receiving port's queue goes.
  const released = new Promise<void>((resolve) => port2.once('close', resolve));
  port1.close();
  port2.close();
  return released;
}
