/**
 * The embedded PGlite's cost in CPU and memory under a server-like workload, per checkout: appends
 * through the update log to 200 documents, loads of each through the doc store (merged in the merge
 * worker) and counts, repeated. Each run is a child process on a fresh PGlite directory; CPU is the
 * child's whole process (every thread: the PGlite thread and V8's compile threads too), so settings
 * of the WebAssembly engine or of Postgres (persistence/pglite-modules.ts, pglite-thread.ts) can be
 * compared back to back, alternating, as drift on a shared machine hits both alike.
 *
 *   npx tsx bench/pglite-wasm.ts                                # this checkout
 *   npx tsx bench/pglite-wasm.ts --root ../main --root .        # before vs after
 *   npx tsx bench/pglite-wasm.ts --runs 3 --rounds 16
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Y from 'yjs';
import { median } from './lib/stats.ts';

const usage = 'usage: npx tsx bench/pglite-wasm.ts [--runs N] [--rounds N] [--root <checkout>]...';

interface Sample {
  cpuMs: number;
  wallMs: number;
  rssEndMiB: number;
  maxRssMiB: number;
}

/** The workload, run in the child on `root`'s persistence modules. */
async function child(root: string, rounds: number): Promise<Sample> {
  const load = (file: string) => import(pathToFileURL(join(root, 'persistence', file)).href);
  const { openDatabase } = await load('database.ts');
  const { createUpdateLog } = await load('update-log.ts');
  const { createDocStore } = await load('doc-store.ts');
  const { createMergePool } = await load('merge-worker.ts');
  const dir = mkdtempSync(join(tmpdir(), 'annosync-pglite-wasm-'));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const db = await openDatabase({ dataDir: join(dir, 'pglite') });
  const pool = createMergePool({});
  const log = createUpdateLog({ knex: db.knex, intervalMs: 5 });
  const store = createDocStore({ knex: db.knex, merge: pool.merge });
  try {
    for (let round = 0; round < rounds; round++) {
      const writes: Promise<void>[] = [];
      for (let d = 0; d < 200; d++) {
        const doc = new Y.Doc();
        const map = doc.getMap('a');
        for (let i = 0; i < 20; i++) {
          const before = Y.encodeStateVector(doc);
          map.set(`k${round}-${i}`, i);
          writes.push(log.append(`session:${d}`, Y.encodeStateAsUpdate(doc, before)));
        }
      }
      await Promise.all(writes);
      for (let d = 0; d < 200; d++) await store.loadMerged(`session:${d}`);
      for (let i = 0; i < 300; i++) await db.knex.raw('select count(*) from yjs_updates where doc_name = ?', [`session:${i % 200}`]);
    }
    const cpu = process.cpuUsage(cpu0);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - t0,
      rssEndMiB: process.memoryUsage().rss / 2 ** 20,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await log.close();
    await pool.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(root: string, rounds: number): Promise<Sample> {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ['--import', 'tsx', self, '--child', root, '--rounds', String(rounds)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((done, fail) =>
    proc.once('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0) done(JSON.parse(line) as Sample);
      else fail(new Error(`the run on ${root} exited with ${code}: ${out}`));
    }),
  );
}

async function main(argv: string[]): Promise<void> {
  let runs = 2;
  let rounds = 4;
  let childRoot: string | null = null;
  const roots: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs') runs = Number(argv[++i]);
    else if (arg === '--rounds') rounds = Number(argv[++i]);
    else if (arg === '--root') roots.push(resolve(argv[++i] ?? ''));
    else if (arg === '--child') childRoot = argv[++i] ?? '';
    else if (arg === '--help') return console.log(usage);
    else throw new Error(`unknown argument ${arg}\n${usage}`);
  }
  if (childRoot !== null) {
    console.log(JSON.stringify(await child(childRoot, rounds)));
    return;
  }
  if (roots.length === 0) roots.push(resolve(fileURLToPath(new URL('..', import.meta.url))));
  const samples = new Map<string, Sample[]>(roots.map((r) => [r, []]));
  for (let r = 0; r < runs; r++) {
    for (const root of r % 2 === 0 ? roots : [...roots].reverse()) samples.get(root)?.push(await runChild(root, rounds));
  }
  console.log(`PGlite workload: ${rounds} rounds of 4 000 appends, 200 loads and 300 counts; median of ${runs} (all runs in brackets)`);
  for (const [root, list] of samples) {
    const col = (pick: (s: Sample) => number): string => `${median(list.map(pick)).toFixed(0)} [${list.map((s) => pick(s).toFixed(0)).join(' ')}]`;
    console.log(`${root}\n  CPU ${col((s) => s.cpuMs)} ms | wall ${col((s) => s.wallMs)} ms | RSS at end ${col((s) => s.rssEndMiB)} MiB | peak ${col((s) => s.maxRssMiB)} MiB`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
