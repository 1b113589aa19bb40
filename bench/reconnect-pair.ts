/**
 * Two (or more) builds of annosync and the reference, side by side on `bench:sync`'s reconnect
 * (`docs` documents × `per-doc` synced clients, all dropping their sockets at once and reconnecting),
 * repeated with the servers alternated. Per server: the median wall time and server CPU of a round
 * (and this process's own CPU, the stock clients': on a 2-core machine they compete with the server),
 * and, per reconnecting client, the write and read syscalls and bytes the server made (from
 * /proc/PID/io: the number of socket writes a reconnect costs, which CPU per round is too noisy here
 * to show; docs/architecture.md, "Who hears a change").
 *
 *   npx tsx bench/reconnect-pair.ts --main=.tmp/old/dist/server/main.js --main=dist/server/main.js
 *   npx tsx bench/reconnect-pair.ts --main=dist/server/main.js --reps=6 --rounds=40 --pglite
 *
 * Options: --docs=20, --per-doc=10, --annotations=100 (brought by each document's first client),
 * --rounds=20 per repetition (after 5 unmeasured), --reps=4, --no-reference, --pglite (default
 * Postgres at postgres://postgres@127.0.0.1:5432/test), --node-args="…" (for every server's node).
 * Build an old tree into .tmp with `npx tsx scripts/build.ts --outdir .tmp/old/dist/server`.
 */
import { readFileSync } from 'node:fs';
import { stopServer, killAllSync, readCpuMs, removeTempDirs, type BenchServer } from './lib/server-process.ts';
import { openReconnectGroup, type ReconnectGroup } from './lib/sync-scenarios.ts';
import { median } from './lib/stats.ts';
import { pairArgs, startPairServers } from './lib/pair-bench.ts';

const { option, flag, mains } = pairArgs(
  'usage: npx tsx bench/reconnect-pair.ts --main=A.js [--main=B.js …] [--docs=20] [--per-doc=10] [--annotations=100] [--rounds=20] [--reps=4] [--no-reference] [--pglite] [--node-args="…"]',
);
const shape = { docs: Number(option('docs', '20')), perDoc: Number(option('per-doc', '10')), annotations: Number(option('annotations', '100')) };
const rounds = Number(option('rounds', '20'));
const reps = Number(option('reps', '4'));
const nodeArgs = option('node-args', '').split(' ').filter(Boolean);

/** The counters of /proc/PID/io (rchar, wchar, syscr, syscw, …). */
function readIo(pid: number): Record<string, number> {
  const lines = readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n');
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')), Number(line.slice(line.indexOf(':') + 1))]));
}

interface Entry {
  name: string;
  server: BenchServer;
  group: ReconnectGroup | null;
  ms: number[];
  /** Server CPU per round, one per repetition. */
  cpuMs: number[];
  /** This process's CPU per round (the 200 stock clients), one per repetition. */
  clientCpuMs: number[];
  /** Per reconnecting client, one per repetition. */
  writes: number[];
  bytesOut: number[];
  reads: number[];
}

const entries: Entry[] = [];
const fresh = (name: string, server: BenchServer): Entry => ({ name, server, group: null, ms: [], cpuMs: [], clientCpuMs: [], writes: [], bytesOut: [], reads: [] });
try {
  for (const { name, server } of await startPairServers({ mains, nodeArgs, pglite: flag('pglite'), reference: !flag('no-reference') })) {
    entries.push(fresh(name, server));
  }
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  for (const entry of entries) {
    entry.group = await openReconnectGroup(entry.server, { ...shape, roomPrefix: `session:reconnect-pair-${tag}-${entry.server.port}` });
    for (let i = 0; i < 5; i++) await entry.group.round();
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const entry of rep % 2 === 0 ? entries : [...entries].reverse()) {
      const group = entry.group!;
      const before = readIo(entry.server.pid);
      // Over the whole repetition: /proc counts CPU in 10 ms ticks, coarse for one round.
      const cpuBefore = readCpuMs(entry.server.pid);
      const clientBefore = process.cpuUsage();
      for (let i = 0; i < rounds; i++) entry.ms.push((await group.round()).ms);
      entry.cpuMs.push((readCpuMs(entry.server.pid) - cpuBefore) / rounds);
      const client = process.cpuUsage(clientBefore);
      entry.clientCpuMs.push((client.user + client.system) / 1000 / rounds);
      const after = readIo(entry.server.pid);
      const perClient = (key: string): number => ((after[key] ?? 0) - (before[key] ?? 0)) / (rounds * group.clients);
      entry.writes.push(perClient('syscw'));
      entry.bytesOut.push(perClient('wchar'));
      entry.reads.push(perClient('syscr'));
    }
  }
  const clients = shape.docs * shape.perDoc;
  console.log(`reconnect of ${clients} clients on ${shape.docs} documents, ${rounds} rounds × ${reps} alternated repetitions (${flag('pglite') ? 'PGlite' : 'Postgres'})`);
  for (const { name, ms, cpuMs, clientCpuMs, writes, bytesOut, reads } of entries) {
    console.log(
      `${name.padEnd(42)} round ${median(ms).toFixed(1)} ms, server CPU per round ${median(cpuMs).toFixed(1)} ms, ` +
        `clients' CPU ${median(clientCpuMs).toFixed(1)} ms (medians)  ` +
        `per client: ${median(writes).toFixed(2)} writes, ${median(bytesOut).toFixed(0)} bytes out, ${median(reads).toFixed(2)} reads`,
    );
  }
} finally {
  for (const { group } of entries) group?.close();
  for (const { server } of entries) await stopServer(server);
  killAllSync();
  removeTempDirs();
}
