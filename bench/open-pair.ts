/**
 * Two (or more) builds of annosync and the reference, side by side on `bench:sync`'s opening of
 * documents (`docs` clients at once, each on a document of its own that nobody holds), repeated
 * with the servers alternated. Per server: the median wall time of an opening, its CPU and this
 * process's (the stock clients', which share the two cores with the server), and how many connections the kernel's listen queue dropped during it (bench/lib/listen-overflows.ts:
 * each one adds ~1 s to the opening, whatever the server does afterwards).
 *
 *   npx tsx bench/open-pair.ts --main=.tmp/old/dist/server/main.js --main=dist/server/main.js
 *   npx tsx bench/open-pair.ts --main=dist/server/main.js --reps=8 --pglite
 *
 * Options: --docs=1000, --reps=6, --no-reference, --pglite (default Postgres at
 * postgres://postgres@127.0.0.1:5432/test), --node-args="…" (for annosync's node).
 * Build an old tree into .tmp with `npx tsx scripts/build.ts --outdir .tmp/old/dist/server`.
 */
import { stopServer, killAllSync, removeTempDirs, type BenchServer } from './lib/server-process.ts';
import { openMany } from './lib/sync-scenarios.ts';
import { median } from './lib/stats.ts';
import { pairArgs, startPairServers } from './lib/pair-bench.ts';

const { option, flag, mains } = pairArgs(
  'usage: npx tsx bench/open-pair.ts --main=A.js [--main=B.js …] [--docs=1000] [--reps=6] [--no-reference] [--pglite] [--node-args="…"]',
);
const docs = Number(option('docs', '1000'));
const reps = Number(option('reps', '6'));
const nodeArgs = option('node-args', '').split(' ').filter(Boolean);

interface Entry {
  name: string;
  server: BenchServer;
  ms: number[];
  cpuMs: number[];
  /** This process's CPU (the stock clients'): on a 2-core machine they compete with the server. */
  clientCpuMs: number[];
  overflows: number[];
}

const entries: Entry[] = [];
try {
  for (const { name, server } of await startPairServers({ mains, nodeArgs, pglite: flag('pglite'), reference: !flag('no-reference') })) {
    entries.push({ name, server, ms: [], cpuMs: [], clientCpuMs: [], overflows: [] });
  }
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  // One unmeasured opening each: the first runs V8's compiles of the upgrade and load paths.
  for (const { server } of entries) await openMany(server, { roomPrefix: `session:open-pair-${tag}-${server.port}-warm`, docs });
  for (let rep = 0; rep < reps; rep++) {
    for (const entry of rep % 2 === 0 ? entries : [...entries].reverse()) {
      const result = await openMany(entry.server, { roomPrefix: `session:open-pair-${tag}-${entry.server.port}-${rep}`, docs });
      entry.overflows.push(result.listenOverflows);
      entry.ms.push(result.ms);
      entry.cpuMs.push(result.serverCpuMs);
      entry.clientCpuMs.push(result.clientCpuMs);
    }
  }
  console.log(`opening ${docs} documents at once, ${reps} alternated repetitions (${flag('pglite') ? 'PGlite' : 'Postgres'})`);
  const reference = entries.find((entry) => entry.server.kind === 'reference');
  for (const { name, ms, cpuMs, clientCpuMs, overflows } of entries) {
    const ratio = reference ? `  (× reference: ${(median(ms) / median(reference.ms)).toFixed(2)}, CPU ${(median(cpuMs) / median(reference.cpuMs)).toFixed(2)})` : '';
    console.log(
      `${name.padEnd(42)} ms ${ms.map((x) => x.toFixed(0)).join(' ')}  median ${median(ms).toFixed(0)}; ` +
        `server CPU median ${median(cpuMs).toFixed(0)} ms, clients' ${median(clientCpuMs).toFixed(0)} ms; listen-queue overflows ${overflows.join(' ')}${ratio}`,
    );
  }
} finally {
  for (const { server } of entries) await stopServer(server);
  killAllSync();
  removeTempDirs();
}
