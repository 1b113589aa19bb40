/**
 * Start cost of the server: spawn → "listening" and RSS once listening (and 3 s later), per
 * entry, alternating entries so drift on a shared machine hits all alike.
 *
 *   npx tsx bench/start.ts                                   # server/main.ts (tsx) vs dist/server/main.js
 *   npx tsx bench/start.ts --runs 5 --postgres
 *   npx tsx bench/start.ts --main ../old/server/main.ts --main dist/server/main.js
 *
 * A .js entry runs on plain node (as `npm start`), a .ts one under tsx (as `npm run dev`). Each run
 * starts on a fresh PGlite directory (or Postgres), so the first start's initdb is included, as
 * on the first `npm start` of a new install; `--restart` reports a second start on that directory.
 * With prom-client's default metrics it also prints the main thread's V8 heap and external memory.
 */
import { resolve } from 'node:path';
import { readRssBytes, removeTempDirs, killAllSync, startServer, stopServer } from './lib/server-process.ts';
import { median } from './lib/stats.ts';
import { BENCH_AUTH_SECRET } from './lib/annosync-rooms.ts';
import { benchSchema, dropSchema } from './lib/postgres-schema.ts';

const usage = `usage: npx tsx bench/start.ts [--runs N] [--postgres] [--restart] [--main <entry>]...`;
const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(usage);
  process.exit(0);
}
let runs = 3;
let postgres = false;
let restart = false;
const mains: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--runs') runs = Number(argv[++i]);
  else if (arg === '--postgres') postgres = true;
  else if (arg === '--restart') restart = true;
  else if (arg === '--main') mains.push(resolve(argv[++i] ?? ''));
  else throw new Error(`unknown argument ${arg}\n${usage}`);
}
if (mains.length === 0) mains.push(resolve('server/main.ts'), resolve('dist/server/main.js'));

interface Sample {
  readyMs: number;
  rssMiB: number;
  rssLaterMiB: number;
  heapMiB: number | null;
  externalMiB: number | null;
}

const metric = (text: string, name: string): number | null => {
  const match = new RegExp(`^\\w*${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return match?.[1] === undefined ? null : Number(match[1]) / 2 ** 20;
};

async function once(main: string): Promise<Sample> {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  // On Postgres each start migrates a fresh schema, as a fresh PGlite directory is initialised.
  const schema = benchSchema();
  const env = { AUTH_SECRET: BENCH_AUTH_SECRET, ...(postgres ? { DATABASE_SCHEMA: schema } : {}) };
  const options = { kind: 'annosync' as const, main, env, readyTimeoutMs: 180_000, ...(postgres ? { databaseUrl } : {}) };
  try {
    return await measure(options);
  } finally {
    if (postgres) await dropSchema(databaseUrl, schema);
  }
}

async function measure(options: Parameters<typeof startServer>[0]): Promise<Sample> {
  let server = await startServer(options);
  if (restart) {
    await stopServer(server);
    server = await startServer({ ...options, dataDir: server.dataDir });
  }
  const rssMiB = readRssBytes(server.pid) / 2 ** 20;
  await new Promise((r) => setTimeout(r, 3000));
  const rssLaterMiB = readRssBytes(server.pid) / 2 ** 20;
  const metrics = await fetch(`http://${server.host}:${server.port}/metrics`).then((r) => r.text(), () => '');
  const sample = {
    readyMs: server.readyMs,
    rssMiB,
    rssLaterMiB,
    heapMiB: metric(metrics, 'nodejs_heap_size_used_bytes'),
    externalMiB: metric(metrics, 'nodejs_external_memory_bytes'),
  };
  await stopServer(server);
  return sample;
}

const samples = new Map<string, Sample[]>(mains.map((m) => [m, []]));
try {
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? mains : [...mains].reverse();
    for (const main of order) samples.get(main)?.push(await once(main));
  }
} finally {
  killAllSync();
  removeTempDirs();
}
const fmt = (v: number | null): string => (v === null ? '–' : v.toFixed(0));
console.log(`server ${restart ? 'restart' : 'start'} on ${postgres ? 'Postgres' : restart ? 'an existing PGlite directory' : 'a fresh PGlite directory'}, median of ${runs} (all runs in brackets)`);
for (const [main, list] of samples) {
  const col = (pick: (s: Sample) => number | null): string => {
    const values = list.map(pick).filter((v): v is number => v !== null);
    return values.length === 0 ? '–' : `${fmt(median(values))} [${values.map(fmt).join(' ')}]`;
  };
  console.log(
    `${main}\n  ready ${col((s) => s.readyMs)} ms | RSS at ready ${col((s) => s.rssMiB)} MiB | 3 s later ${col((s) => s.rssLaterMiB)} MiB | V8 heap used ${col((s) => s.heapMiB)} MiB | external ${col((s) => s.externalMiB)} MiB`,
  );
}
