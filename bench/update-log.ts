/**
 * How many updates per second the group-committed update log absorbs, and how long an append
 * waits for its commit, at the default 20 ms interval — on PGlite (a temp directory, as the
 * server runs it) and on Postgres when DATABASE_URL is set.
 *
 *   npx tsx bench/update-log.ts                                   # PGlite only
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/update-log.ts
 *   BENCH_SECONDS=5 npx tsx bench/update-log.ts
 *
 * Offered load: appends at a fixed rate spread over 200 documents, 40–200 byte updates (a
 * keystroke to a box move). "absorbed" is what committed per second of the run; when it falls
 * below "offered", the log is the bottleneck. The burst line appends 100 000 updates at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../persistence/database.ts';
import { createUpdateLog, type CommitInfo } from '../persistence/update-log.ts';
import { percentile, seededRandom } from './lib/stats.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rates = [1000, 5000, 10_000, 20_000, 40_000];
const documents = 200;
const random = seededRandom(42);
/** A pool of update payloads, so generating bytes does not compete with the log for the CPU. */
const payloads = Array.from({ length: 4096 }, () => randomBytes(40 + Math.floor(random() * 160)));

interface Outcome {
  offered: number;
  absorbed: number;
  p50: number;
  p99: number;
  max: number;
  commits: number;
  rowsPerCommit: number;
}

async function sustained(db: Database, rate: number): Promise<Outcome> {
  const commits: CommitInfo[] = [];
  const log = createUpdateLog({ knex: db.knex, onCommit: (info) => commits.push(info) });
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  const start = performance.now();
  let produced = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.min(Math.floor((rate * elapsed) / 1000), rate * seconds);
      for (; produced < due; produced++) {
        const at = performance.now();
        const docName = `session:bench-${produced % documents}`;
        const append = log.append(docName, payloads[produced % payloads.length]!);
        pending.push(append.then(() => void latencies.push(performance.now() - at)));
      }
      if (produced >= rate * seconds) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  await log.close();
  return {
    offered: rate,
    absorbed: produced / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    commits: commits.length,
    rowsPerCommit: produced / commits.length,
  };
}

async function burst(db: Database, count: number): Promise<{ perSecond: number; commits: number }> {
  let commits = 0;
  const log = createUpdateLog({ knex: db.knex, onCommit: () => commits++ });
  const start = performance.now();
  const appends = Array.from({ length: count }, (_, i) =>
    log.append(`session:burst-${i % documents}`, payloads[i % payloads.length]!),
  );
  await Promise.all(appends);
  const perSecond = count / ((performance.now() - start) / 1000);
  await log.close();
  return { perSecond, commits };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(9);

async function run(label: string, db: Database): Promise<void> {
  console.log(`\n${label}: ${seconds} s per rate, ${documents} documents, default 20 ms interval`);
  console.log('  offered/s  absorbed/s   p50 ms   p99 ms   max ms  commits  rows/commit');
  for (const rate of rates) {
    const o = await sustained(db, rate);
    console.log(
      `${fmt(o.offered, 0)}  ${fmt(o.absorbed, 0)}  ${fmt(o.p50)}${fmt(o.p99)}${fmt(o.max)}${fmt(o.commits, 0)}  ${fmt(o.rowsPerCommit)}`,
    );
    await db.knex.raw('truncate yjs_updates');
  }
  const b = await burst(db, 100_000);
  console.log(`  burst: 100000 appends at once committed at ${b.perSecond.toFixed(0)}/s in ${b.commits} INSERTs`);
  await db.knex.raw('truncate yjs_updates');
}

const dir = mkdtempSync(path.join(tmpdir(), 'annosync-bench-'));
try {
  const pglite = await openDatabase({ dataDir: dir });
  try {
    await run('PGlite (temp directory)', pglite);
  } finally {
    await pglite.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (process.env.DATABASE_URL) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const pg = await openDatabase({ databaseUrl: process.env.DATABASE_URL, schema });
  try {
    await run(`Postgres (${new URL(process.env.DATABASE_URL).host})`, pg);
  } finally {
    await pg.knex.raw('drop schema ?? cascade', [schema]);
    await pg.close();
  }
} else {
  console.log('\nPostgres skipped: DATABASE_URL is not set');
}
