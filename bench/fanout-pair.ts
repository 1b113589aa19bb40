/**
 * Two (or more) builds of annosync and the reference, side by side on one scenario: the fan-out of
 * `bench:sync` (one writer, the others receive every update), repeated with the servers alternated,
 * printing server CPU per delivery and the p99 of every repetition. `bench:sync` takes one build;
 * this compares a change against the build before it back to back, as the machine's noise needs.
 *
 *   npx tsx bench/fanout-pair.ts --main=.tmp/old/dist/server/main.js --main=dist/server/main.js
 *   npx tsx bench/fanout-pair.ts --main=dist/server/main.js --clients=50 --reps=8 --pglite
 *   npx tsx bench/fanout-pair.ts --main=dist/server/main.js --perf     # perf record of the last repetition
 *
 * Options: --floor (also the relay of bench/lib/sync-floor.ts, which no server can beat), --clients=10 (writer included), --updates=3000 per repetition, --reps=8, --warm-rooms=4
 * and --warm=1000 (fan-outs of that many updates, each in a room of its own, before measuring: a
 * new room brings new client ids and connections, and with a single warm-up room the first
 * measured repetitions still ran TurboFan compiles), --no-reference, --pglite (default Postgres at
 * postgres://postgres@127.0.0.1:5432/test), --node-args="…" (for annosync's node), --perf
 * (`perf record -g` of each server's last repetition into /tmp/perf-<port>.data; annosync runs with
 * --perf-basic-prof, and NODE_OPTIONS=--perf-basic-prof names the reference's functions too).
 * Build an old tree into .tmp with `npx tsx scripts/build.ts --outdir .tmp/old/dist/server`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stopServer, killAllSync, removeTempDirs, type BenchServer } from './lib/server-process.ts';
import { fanOut } from './lib/sync-scenarios.ts';
import { median } from './lib/stats.ts';
import { pairArgs, startPairServers } from './lib/pair-bench.ts';

const { option, flag, mains } = pairArgs(
  'usage: npx tsx bench/fanout-pair.ts --main=A.js [--main=B.js …] [--clients=10] [--updates=3000] [--reps=8] [--warm-rooms=4] [--warm=1000] [--no-reference] [--floor] [--pglite] [--node-args="…"] [--perf]',
);
const clients = Number(option('clients', '10'));
const updates = Number(option('updates', '3000'));
const reps = Number(option('reps', '8'));
const warmRooms = Number(option('warm-rooms', '4'));
const warm = Number(option('warm', '1000'));
const perf = flag('perf');
const nodeArgs = [...option('node-args', '').split(' ').filter(Boolean), ...(perf ? ['--perf-basic-prof'] : [])];

interface Entry {
  name: string;
  server: BenchServer;
  cpu: number[];
  p99: number[];
}

const entries: Entry[] = [];
const stopPerf = async (recorder: ChildProcess | null): Promise<void> => {
  if (!recorder) return;
  recorder.kill('SIGINT');
  await new Promise((done) => recorder.once('exit', done));
};
try {
  for (const { name, server } of await startPairServers({ mains, nodeArgs, pglite: flag('pglite'), reference: !flag('no-reference'), floor: flag('floor') })) {
    entries.push({ name, server, cpu: [], p99: [] });
  }
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  for (let w = 0; w < warmRooms; w++) {
    for (const { server } of entries) await fanOut(server, { room: `session:pair-warm-${tag}-${server.port}-${w}`, clients, updates: 1, warmup: warm, processes: 0 });
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const entry of rep % 2 === 0 ? entries : [...entries].reverse()) {
      const { server } = entry;
      const recorder = perf && rep === reps - 1 ? spawn('perf', ['record', '-F', '4000', '-g', '-p', String(server.pid), '-o', `/tmp/perf-${server.port}.data`], { stdio: 'ignore' }) : null;
      try {
        const result = await fanOut(server, { room: `session:pair-${tag}-${server.port}-${rep}`, clients, updates, warmup: 100, processes: 0 });
        entry.cpu.push((result.serverCpuMs * 1000) / result.deliveries);
        entry.p99.push(result.p99Ms);
      } finally {
        await stopPerf(recorder);
      }
      if (recorder) console.log(`perf record of ${entry.name}: /tmp/perf-${server.port}.data`);
    }
  }
  console.log(`fan-out to ${clients} clients, ${updates} updates, ${reps} alternated repetitions (${flag('pglite') ? 'PGlite' : 'Postgres'})`);
  const reference = entries.find((e) => e.server.kind === 'reference');
  for (const { name, cpu, p99 } of entries) {
    const against = reference === undefined ? '' : `  (× reference: CPU ${(median(cpu) / median(reference.cpu)).toFixed(2)}, p99 ${(median(p99) / median(reference.p99)).toFixed(2)})`;
    console.log(`${name.padEnd(42)} CPU per delivery µs ${cpu.map((v) => v.toFixed(1)).join(' ')}  median ${median(cpu).toFixed(2)}  p99 median ${median(p99).toFixed(2)} ms${against}`);
  }
} finally {
  for (const { server } of entries) await stopServer(server);
  killAllSync();
  removeTempDirs();
}
